"""What the quality checks need to know about a warehouse: which tables exist, their columns, the
configuration models, and which connectors wrote which raw tables. Read-only helpers."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import duckdb
import polars as pl

from quality.outcome import CheckContext, CheckOutcome
from transforms.contracts.config import KpiRegistry, Settings
from transforms.warehouse import relation_exists, sql_literal  # noqa: F401 - sql_literal re-exported

log = logging.getLogger(__name__)

#: Whether ``schema.table`` (a table or a view) exists: the warehouse's one helper, under the name
#: the checks use.
table_exists = relation_exists

#: Canonical raw tables a connector may write, as suffixes of ``raw.<connector>_<table>``.
RAW_TABLE_KINDS: tuple[str, ...] = ("activity_counts", "hr_snapshots", "accounts", "events", "survey_responses")


def split_name(table: str) -> tuple[str, str]:
    """``"raw.slack_events"`` -> ``("raw", "slack_events")``; a bare name is in schema ``main``."""
    schema, _, name = table.rpartition(".")
    return (schema or "main", name)


def table_schema(con: duckdb.DuckDBPyConnection, table: str) -> pl.Schema:
    """The Polars schema of a table (a ``LIMIT 0`` read: no data moves)."""
    return con.execute(f"SELECT * FROM {table} LIMIT 0").pl().schema


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def quote(name: str) -> str:
    """A SQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def missing_table(table: str, *, required: bool) -> CheckOutcome:
    """The outcome of a check whose table is absent: failed if the table must exist, else skipped."""
    if required:
        return CheckOutcome(False, f"{table} does not exist in the warehouse", {"table": table})
    return CheckOutcome(True, f"{table} not in the warehouse: not checked", {"table": table}, skipped=True)


def load_context(con: duckdb.DuckDBPyConnection, **overrides: object) -> CheckContext:
    """A :class:`CheckContext` with the settings and KPI registry from ``raw.settings`` (if present).

    Reads the JSON rows directly with the pydantic models of ``transforms.contracts.config``, so the
    quality package does not depend on the Dagster layer.
    """
    settings: Settings | None = None
    registry: KpiRegistry | None = None
    if table_exists(con, "raw.settings"):
        rows = dict(con.execute("SELECT name, body FROM raw.settings").fetchall())
        if "settings" in rows:
            settings = Settings.model_validate(json.loads(rows["settings"]))
        if "kpi_registry" in rows:
            registry = KpiRegistry.model_validate(json.loads(rows["kpi_registry"]))
    else:
        log.info("raw.settings not in the warehouse: checks use default settings")
    return CheckContext(settings=settings, kpi_registry=registry, **overrides)  # type: ignore[arg-type]


def discover_sources(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Connectors present in the warehouse, by the canonical raw table they wrote.

    ``{"events": ["mattermost", "slack"], "hr_snapshots": ["hr_csv"], ...}`` from the names
    ``raw.<connector>_<table>``.
    """
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY table_name"
    ).fetchall()]
    found: dict[str, list[str]] = {kind: [] for kind in RAW_TABLE_KINDS}
    for name in names:
        for kind in RAW_TABLE_KINDS:
            suffix = f"_{kind}"
            if name.endswith(suffix) and len(name) > len(suffix):
                found[kind].append(name[: -len(suffix)])
                break
    return found


def head(frame: pl.DataFrame | None, n: int = 20) -> pl.DataFrame | None:
    """At most ``n`` rows of ``frame`` (``None`` for an empty or absent frame)."""
    if frame is None or frame.height == 0:
        return None
    return frame.head(n)


def examples(frame: pl.DataFrame, columns: Sequence[str], n: int = 3) -> str:
    """``"a=1, b=2; a=3, b=4"`` from the first ``n`` rows, for messages."""
    rows = frame.select(columns).head(n).iter_rows(named=True)
    return "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in rows)

