"""Run the quality registry against a warehouse: every check (or a selection), each outcome stamped
with its check's identity, and a summary table. Used by ``uptake check`` and by the Dagster asset
checks (one check at a time, through :func:`evaluate`)."""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import duckdb
import polars as pl

from quality.outcome import CheckContext, CheckOutcome
from quality.registry import REGISTRY, QualityCheck, expand
from quality.warehouse import discover_sources, load_context

log = logging.getLogger(__name__)

SUMMARY_SCHEMA = {
    "check": pl.Utf8, "target": pl.Utf8, "severity": pl.Utf8, "blocking": pl.Boolean, "passed": pl.Boolean,
    "skipped": pl.Boolean, "message": pl.Utf8, "seconds": pl.Float64,
}


def evaluate(con: duckdb.DuckDBPyConnection, check: QualityCheck, ctx: CheckContext) -> CheckOutcome:
    """Run one concrete check; a check that raises becomes a failed outcome naming the exception."""
    bound = replace(ctx, source=check.source)
    started = time.perf_counter()
    try:
        outcome = check.fn(con, bound)
    except Exception as exc:  # a crashing check must fail loudly, not take the run down
        log.exception("check %s on %s raised", check.name, check.target)
        outcome = CheckOutcome(False, f"check raised {type(exc).__name__}: {exc}", {"exception": type(exc).__name__})
    seconds = time.perf_counter() - started
    return replace(
        outcome,
        check=check.name,
        target=check.target,
        severity=check.severity,
        blocking=check.blocking,
        metadata={**outcome.metadata, "seconds": round(seconds, 3)},
    )


def _selected(checks: Sequence[QualityCheck], only: Iterable[str] | None) -> list[QualityCheck]:
    if only is None:
        return list(checks)
    patterns = list(only)
    return [c for c in checks if any(fnmatch.fnmatchcase(c.name, p) or fnmatch.fnmatchcase(c.target, p)
                                     for p in patterns)]


def concrete_checks(
    con: duckdb.DuckDBPyConnection, *, sources: Mapping[str, Sequence[str]] | None = None
) -> list[QualityCheck]:
    """The registry expanded for the connectors present in the warehouse (or ``sources``)."""
    return expand(REGISTRY, sources if sources is not None else discover_sources(con))


def run_checks(
    con: duckdb.DuckDBPyConnection,
    *,
    only: Iterable[str] | None = None,
    sources: Mapping[str, Sequence[str]] | None = None,
    context: CheckContext | None = None,
) -> list[CheckOutcome]:
    """Run every registered check (or those whose name or target matches a pattern of ``only``,
    shell-style, e.g. ``["clean/*", "kpi_*"]``) and return their outcomes in registry order.

    ``sources`` overrides the connectors found in the warehouse (``{"events": [...], ...}``);
    ``context`` overrides the settings read from ``raw.settings``.
    """
    ctx = context or load_context(con)
    checks = _selected(concrete_checks(con, sources=sources), only)
    outcomes = [evaluate(con, c, ctx) for c in checks]
    failed = [o for o in outcomes if not o.passed]
    log.info("%d check(s) run, %d failed (%d errors)", len(outcomes), len(failed), sum(o.fails_run for o in failed))
    return outcomes


def summary_table(outcomes: Sequence[CheckOutcome]) -> pl.DataFrame:
    """One row per outcome: check, target, severity, blocking, passed, skipped, message, seconds."""
    return pl.DataFrame(
        [
            {
                "check": o.check, "target": o.target, "severity": o.severity.value, "blocking": o.blocking,
                "passed": o.passed, "skipped": o.skipped, "message": o.message,
                "seconds": float(o.metadata.get("seconds", 0.0)),
            }
            for o in outcomes
        ],
        schema=SUMMARY_SCHEMA,
    )


def exit_code(outcomes: Sequence[CheckOutcome]) -> int:
    """0 when no ``error`` check failed, else 1 (warnings never fail a run)."""
    return 1 if any(o.fails_run for o in outcomes) else 0
