"""Great Expectations 1.x suites for the canonical tables and the marts.

Suites are declared as data (:class:`Expect` = an expectation class name and its arguments), so
this module imports without Great Expectations; GX itself (about 4 s to import) is imported lazily
the first time a suite runs, with one ephemeral, in-memory, analytics-free context per process.

GX runs on a pandas batch: the table's referenced columns, whole when it has at most
``context.gx_sample_rows`` rows, else a reproducible reservoir sample of that size (the outcome's
metadata says which). Whole-table guarantees (required values, vocabularies, uniqueness) are the
DuckDB checks of :mod:`quality.sql_checks`; the suites add the finer, per-value expectations.
Columns a suite names but the table lacks are left to the schema checks and listed in metadata.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import duckdb
import polars as pl

from quality.outcome import CheckContext, CheckOutcome
from quality.warehouse import missing_table, quote, row_count, table_exists, table_schema
from transforms.contracts import ACTIONS
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE_TIME, TENURE_BANDS, WORKER_TYPES

log = logging.getLogger(__name__)

#: A lower-cased email address (the contracts lower-case every email).
LOWER_EMAIL = r"^[^@\sA-Z]+@[^@\sA-Z]+\.[^@\sA-Z]+$"
ISO_WEEK = r"^\d{4}-W\d{2}$"


@dataclass(frozen=True)
class Expect:
    """One expectation, by its GX 1.x class name (``gx.expectations.<type>``) and keyword arguments."""

    type: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        cols: list[str] = []
        for key in ("column", "column_A", "column_B"):
            if key in self.kwargs:
                cols.append(self.kwargs[key])
        cols.extend(self.kwargs.get("column_list", ()))
        return tuple(cols)

    def label(self) -> str:
        cols = ", ".join(self.columns)
        return f"{self.type}({cols})" if cols else self.type


def _not_null(*columns: str) -> list[Expect]:
    return [Expect("ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]


def _events(ctx: CheckContext) -> list[Expect]:
    latest = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    # required values and the vocabulary are also checked on the whole table in SQL
    return [
        *_not_null("event_id", "occurred_at", "account_id"),
        Expect("ExpectColumnValuesToBeInSet", {"column": "action", "value_set": list(ACTIONS)}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "body_chars", "min_value": 0}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "mention_count", "min_value": 0}),
        Expect("ExpectColumnValuesToBeBetween",
               {"column": "occurred_at", "min_value": EARLIEST_PLAUSIBLE_TIME, "max_value": latest}),
        Expect("ExpectColumnValuesToMatchRegex", {"column": "account_email", "regex": LOWER_EMAIL}),
    ]


def _hr_snapshots(ctx: CheckContext) -> list[Expect]:
    return [
        *_not_null("snapshot_date", "employee_id"),
        Expect("ExpectColumnValuesToMatchRegex", {"column": "email", "regex": LOWER_EMAIL}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "worker_type", "value_set": list(WORKER_TYPES)}),
        Expect("ExpectColumnValuesToMatchRegex", {"column": "country", "regex": r"^[A-Z]{2}$"}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "level", "min_value": 1}),
        Expect("ExpectColumnPairValuesAToBeGreaterThanB",
               {"column_A": "termination_date", "column_B": "hire_date", "or_equal": True,
                "ignore_row_if": "either_value_is_missing"}),
    ]


def _kpi_values(ctx: CheckContext) -> list[Expect]:
    return [
        *_not_null("kpi", "unit_type", "unit_id", "period_start", "period_end", "value"),
        Expect("ExpectColumnValuesToBeInSet", {"column": "unit_type", "value_set": ["employee", "team", "site"]}),
        Expect("ExpectColumnPairValuesAToBeGreaterThanB",
               {"column_A": "period_end", "column_B": "period_start", "or_equal": True,
                "ignore_row_if": "either_value_is_missing"}),
    ]


def _person_week(ctx: CheckContext) -> list[Expect]:
    return [
        *_not_null("person_key", "week_start", "iso_week", "is_manager", "direct_reports", "has_account",
                   "actions_total", "is_active", "is_engaged", "is_contributor"),
        Expect("ExpectColumnValuesToNotMatchRegex", {"column": "person_key", "regex": "@"}),
        Expect("ExpectColumnValuesToMatchRegex", {"column": "iso_week", "regex": ISO_WEEK}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "pilot_status", "value_set": ["pre", "during", "after"]}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "worker_type", "value_set": list(WORKER_TYPES)}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "tenure_band", "value_set": [label for label, _ in TENURE_BANDS]}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "actions_total", "min_value": 0}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "direct_reports", "min_value": 0}),
    ]


def _adoption_curve(ctx: CheckContext) -> list[Expect]:
    rates = ("active_rate", "engaged_rate", "contributor_rate", "ever_active_rate")
    counts = ("eligible", "active", "engaged", "contributors", "ever_active")
    return [
        *_not_null("week_start", "population_type", "population", "suppressed"),
        Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["week_start", "population_type", "population"]}),
        *(Expect("ExpectColumnValuesToBeBetween", {"column": r, "min_value": 0, "max_value": 1}) for r in rates),
        *(Expect("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0}) for c in counts),
    ]


def _pilot_effects(ctx: CheckContext) -> list[Expect]:
    return [
        *_not_null("cohort", "metric", "estimator"),
        Expect("ExpectColumnValuesToBeBetween", {"column": "se", "min_value": 0}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "pre_trend_p", "min_value": 0, "max_value": 1}),
        Expect("ExpectColumnPairValuesAToBeGreaterThanB",
               {"column_A": "ci_high", "column_B": "ci_low", "or_equal": True,
                "ignore_row_if": "either_value_is_missing"}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "n_treated", "min_value": ctx.min_group_size}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "n_control", "min_value": ctx.min_group_size}),
    ]


#: Every suite, by name: a function of the check context (for thresholds from settings).
SUITES: dict[str, Callable[[CheckContext], list[Expect]]] = {
    "events": _events,
    "hr_snapshots": _hr_snapshots,
    "kpi_values": _kpi_values,
    "person_week": _person_week,
    "adoption_curve": _adoption_curve,
    "pilot_effects": _pilot_effects,
}


@cache
def _gx_batch_definition() -> Any:
    """One ephemeral GX context per process, with a pandas data source (lazy import)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas("uptake_quality").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


def validate_frame(frame: Any, expectations: Sequence[Expect], *, suite_name: str) -> pl.DataFrame:
    """Validate a pandas frame against ``expectations`` with GX 1.x; one row per expectation.

    Columns: ``expectation``, ``columns``, ``success``, ``unexpected_count``, ``unexpected_percent``,
    ``examples`` (up to three unexpected values), ``observed``, ``error`` (an exception GX raised).
    """
    import great_expectations as gx

    batch_definition = _gx_batch_definition()  # the context must exist before a suite is built
    suite = gx.ExpectationSuite(name=suite_name)
    for e in expectations:
        suite.add_expectation(getattr(gx.expectations, e.type)(**e.kwargs))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 3})
    rows = []
    for r in result.results:
        info = r.result or {}
        kwargs = r.expectation_config.kwargs
        cols = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs] + list(kwargs.get("column_list", []))
        raised = (r.exception_info or {}).get("raised_exception")
        rows.append({
            "expectation": r.expectation_config.type,
            "columns": ", ".join(cols),
            "success": bool(r.success),
            "unexpected_count": info.get("unexpected_count"),
            "unexpected_percent": info.get("unexpected_percent"),
            "examples": ", ".join(repr(v) for v in (info.get("partial_unexpected_list") or [])[:3]),
            "observed": None if info.get("observed_value") is None else str(info.get("observed_value")),
            "error": (r.exception_info or {}).get("exception_message") if raised else None,
        })
    return pl.DataFrame(rows, schema={"expectation": pl.Utf8, "columns": pl.Utf8, "success": pl.Boolean,
                                      "unexpected_count": pl.Int64, "unexpected_percent": pl.Float64,
                                      "examples": pl.Utf8, "observed": pl.Utf8, "error": pl.Utf8})


def suite_frame(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], *, limit: int) -> tuple[Any, int]:
    """The pandas frame GX validates: ``columns`` of ``table``, a reservoir sample if over ``limit``
    rows; returns ``(frame, total rows)``."""
    total = row_count(con, table)
    cols = ", ".join(quote(c) for c in columns)
    sample = f" USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (17)" if total > limit else ""
    return con.execute(f"SELECT {cols} FROM {table}{sample}").df(), total


def run_suite(con: duckdb.DuckDBPyConnection, ctx: CheckContext, *, suite: str, table: str,
              rows: str | None = None) -> CheckOutcome:
    """Run the GX suite ``suite`` on ``table`` (``{source}`` bound from the context), or on its rows
    ``rows`` (a relation: the part not validated before, :mod:`quality.checked_files`)."""
    table = ctx.fmt(table)
    if not table_exists(con, table):
        return missing_table(table, required=False)
    present = set(table_schema(con, table).names())
    expectations = SUITES[suite](ctx)
    usable = [e for e in expectations if set(e.columns) <= present]
    left_out = sorted({c for e in expectations for c in e.columns} - present)
    columns = sorted({c for e in usable for c in e.columns})
    frame, total = suite_frame(con, rows or table, columns, limit=ctx.gx_sample_rows)
    meta: dict[str, object] = {
        "table": table, "suite": suite, "rows": total, "rows_validated": len(frame),
        "sampled": total > len(frame), "expectations": len(usable),
    }
    if left_out:
        meta["columns_absent"] = ", ".join(left_out)
    if not usable or total == 0:
        return CheckOutcome(True, f"{table}: {total} row(s), nothing to validate", meta)
    results = validate_frame(frame, usable, suite_name=f"{suite}:{table}")
    failed = results.filter(~pl.col("success"))
    meta["failed_expectations"] = failed.height
    scope = f"{len(frame)} sampled of {total}" if meta["sampled"] else f"{total}"
    if failed.height == 0:
        return CheckOutcome(True, f"{table}: {len(usable)} expectations met on {scope} row(s)", meta, results)
    described = "; ".join(
        f"{r['expectation']}({r['columns']}): "
        + (f"error {r['error']}" if r["error"] else
           f"{r['unexpected_count']} unexpected" + (f", e.g. {r['examples']}" if r["examples"] else "")
           if r["unexpected_count"] is not None else f"observed {r['observed']}")
        for r in failed.head(4).iter_rows(named=True)
    )
    return CheckOutcome(False, f"{table} ({scope} rows): {described}", meta, results)
