"""``quality.run_summary``: rows in, kept, rejected and filtered per source and table, for the run
that built the warehouse, from whatever tables exist.

Grain: one row per (source, table). ``rows_in = kept + rejected + filtered`` holds by construction
except for platform events and activity counters, whose figures come from
``quality.event_conservation`` (the clean layer's de-duplication, bot and overlap filters) and are
checked (``balanced``); ``filtered`` sums every ``filtered_*`` column of that table. Other tables are counted from
their raw table and the source's rows of ``quality.rejects`` (matched on ``contract``); the KPI feed
appears as source ``kpi_feed``.
"""

from __future__ import annotations

import logging

import duckdb
import polars as pl

from quality.warehouse import discover_sources, quote, table_exists, table_schema
from transforms.warehouse import ensure_schemas, register_frame

log = logging.getLogger(__name__)

RUN_SUMMARY_TABLE = "quality.run_summary"
RUN_SUMMARY_SCHEMA = {
    "source": pl.Utf8, "table": pl.Utf8, "rows_in": pl.Int64, "kept": pl.Int64, "rejected": pl.Int64,
    "filtered_duplicate": pl.Int64, "filtered_automated": pl.Int64, "filtered": pl.Int64, "balanced": pl.Boolean,
}


def _rejects_by_contract(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    if not table_exists(con, "quality.rejects"):
        return pl.DataFrame(schema={"source": pl.Utf8, "table": pl.Utf8, "rejected": pl.Int64})
    # rejects found by the clean layer carry contract 'clean.<table>': they belong to that input
    return con.execute(
        "SELECT source, coalesce(regexp_replace(contract, '^clean\\.', ''), 'unknown') AS \"table\", "
        "count(*)::BIGINT AS rejected FROM quality.rejects GROUP BY ALL"
    ).pl()


def _conservation(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    empty = pl.DataFrame(schema=RUN_SUMMARY_SCHEMA)
    if not table_exists(con, "quality.event_conservation"):
        return empty
    cols = table_schema(con, "quality.event_conservation").names()
    if not {"source", "rows_in", "kept", "rejected"} <= set(cols):
        log.warning("quality.event_conservation lacks its counting columns; events counted from raw tables")
        return empty
    filtered = [c for c in cols if c.startswith("filtered_")]

    def col(name: str) -> str:
        return f"coalesce({quote(name)}, 0)::BIGINT" if name in cols else "0::BIGINT"

    total = " + ".join(f"coalesce({quote(c)}, 0)" for c in filtered) or "0"
    table = "input" if "input" in cols else "'events'"
    return con.execute(
        f"""
        SELECT source, {table} AS "table", rows_in::BIGINT AS rows_in, kept::BIGINT AS kept,
               rejected::BIGINT AS rejected, {col('filtered_duplicate')} AS filtered_duplicate,
               {col('filtered_automated')} AS filtered_automated, ({total})::BIGINT AS filtered,
               rows_in = kept + rejected + ({total}) AS balanced
        FROM quality.event_conservation
        """
    ).pl().cast(RUN_SUMMARY_SCHEMA)  # type: ignore[arg-type]


def build_run_summary(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Rows in, kept, rejected and filtered per source and table (see the module docstring)."""
    counts: list[str] = []
    for kind, sources in discover_sources(con).items():
        counts += [f"SELECT '{s}' AS source, '{kind}' AS \"table\", count(*)::BIGINT AS kept FROM raw.{s}_{kind}"
                   for s in sources]
    if table_exists(con, "raw.kpi_values"):
        counts.append("SELECT 'kpi_feed' AS source, 'kpi_values' AS \"table\", count(*)::BIGINT AS kept FROM raw.kpi_values")
    kept = (con.execute(" UNION ALL ".join(counts)).pl() if counts
            else pl.DataFrame(schema={"source": pl.Utf8, "table": pl.Utf8, "kept": pl.Int64}))
    rejects = _rejects_by_contract(con)
    counted = (
        kept.join(rejects, on=["source", "table"], how="full", coalesce=True)
        .with_columns(pl.col("kept").fill_null(0), pl.col("rejected").fill_null(0))
        .with_columns(
            (pl.col("kept") + pl.col("rejected")).alias("rows_in"),
            pl.lit(0, pl.Int64).alias("filtered_duplicate"),
            pl.lit(0, pl.Int64).alias("filtered_automated"),
            pl.lit(0, pl.Int64).alias("filtered"),
            pl.lit(True).alias("balanced"),
        )
        .select(list(RUN_SUMMARY_SCHEMA))
        .cast(RUN_SUMMARY_SCHEMA)  # type: ignore[arg-type]
    )
    conserved = _conservation(con)
    replaced = counted.join(conserved.select("source", "table"), on=["source", "table"], how="anti")
    return pl.concat([conserved, replaced]).sort("source", "table")


def write_run_summary(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Replace ``quality.run_summary`` with :func:`build_run_summary` (plus ``computed_at``); return it."""
    summary = build_run_summary(con)
    ensure_schemas(con)
    with register_frame(con, "__run_summary", summary) as view:
        con.execute(f"CREATE OR REPLACE TABLE {RUN_SUMMARY_TABLE} AS "
                    f"SELECT *, current_timestamp::TIMESTAMPTZ AS computed_at FROM {view}")
    return con.execute(f"SELECT * FROM {RUN_SUMMARY_TABLE} ORDER BY source, \"table\"").pl()
