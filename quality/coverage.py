"""Data for the report's "quality and coverage" section: tidy frames, one function per question.

- :func:`source_row_flow` — per source and table, rows in / kept / rejected / filtered;
- :func:`identity_match` — per source, accounts matched to employees, against the threshold;
- :func:`weeks_covered` — per source, the weeks it covers and the weeks missing inside its span;
- :func:`missing_days` — working days with no or far fewer events than usual;
- :func:`hr_completeness` — share of employees whose profile has a manager, site, department, email;
- :func:`kpi_feed_freshness` — per KPI, its latest period against the activity data's last week;
- :func:`rejects_summary` — quarantined rows counted per source, contract and reason.

All functions read the warehouse and never write; a table that does not exist yields an empty
frame with the documented columns. :data:`COVERAGE_TABLES` names the tables the pipeline stores
them in (``quality.*``) for the report's "quality and coverage" section and the notebooks.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

import duckdb
import polars as pl

from quality.anomalies import daily_event_volumes, export_day_gaps, kpi_freshness
from quality.outcome import CheckContext
from quality.run_summary import build_run_summary
from quality.warehouse import discover_sources, load_context, quote, table_exists, table_schema

log = logging.getLogger(__name__)

#: Profile fields whose completeness the report shows (DESIGN: rich directory profiles).
PROFILE_FIELDS: tuple[str, ...] = ("manager_id", "site", "department", "email")


def source_row_flow(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Rows in, kept, rejected and filtered (duplicates, automated) per source and table.

    Grain: one row per (source, table). ``rows_in = kept + rejected + filtered``; ``balanced``
    says whether the platform events' conservation holds. Denominator of any share: ``rows_in``.
    """
    return build_run_summary(con).with_columns(
        pl.when(pl.col("rows_in") > 0).then(pl.col("rejected") / pl.col("rows_in")).alias("rejected_share"),
        pl.when(pl.col("rows_in") > 0).then(pl.col("filtered") / pl.col("rows_in")).alias("filtered_share"),
    )


def identity_match(con: duckdb.DuckDBPyConnection, context: CheckContext | None = None) -> pl.DataFrame:
    """quality.identity_match_report with the threshold and a ``below_threshold`` flag.

    Grain: one row per platform source. Denominator of ``match_rate``: the source's human accounts
    (as counted by the identity layer).
    """
    ctx = context or load_context(con)
    if not table_exists(con, "quality.identity_match_report"):
        return pl.DataFrame(schema={"source": pl.Utf8, "match_rate": pl.Float64, "threshold": pl.Float64,
                                    "below_threshold": pl.Boolean})
    report = con.execute("SELECT * FROM quality.identity_match_report ORDER BY source").pl()
    return report.with_columns(
        pl.lit(ctx.identity_match_threshold).alias("threshold"),
        (pl.col("match_rate") < ctx.identity_match_threshold).alias("below_threshold"),
    )


def _source_weeks(con: duckdb.DuckDBPyConnection, time_zone: str) -> pl.DataFrame:
    """(source, kind, week_start) for every week with data, across the kinds of input."""
    parts: list[str] = []
    sources = discover_sources(con)
    tz = time_zone.replace("'", "''")
    if table_exists(con, "clean.event_counts"):
        parts.append("SELECT DISTINCT source, 'events' AS kind, week_start FROM clean.event_counts")
    else:
        parts += [f"SELECT DISTINCT '{s}' AS source, 'events' AS kind, "
                  f"date_trunc('week', timezone('{tz}', to_timestamp(quarter * 900)))::DATE AS week_start "
                  f"FROM (SELECT DISTINCT epoch_us(occurred_at) // 900000000 AS quarter FROM raw.{s}_events)"
                  for s in sources["events"]]
    parts += [
        f"SELECT DISTINCT '{s}' AS source, 'activity_counts' AS kind, "
        f"unnest(generate_series(date_trunc('week', period_start)::TIMESTAMP, period_end::TIMESTAMP, "
        f"INTERVAL 7 DAY))::DATE AS week_start FROM (SELECT DISTINCT period_start, period_end FROM raw.{s}_activity_counts)"
        for s in sources["activity_counts"]
    ]
    parts += [f"SELECT DISTINCT '{s}' AS source, 'hr_snapshots' AS kind, "
              f"date_trunc('week', snapshot_date)::DATE AS week_start FROM raw.{s}_hr_snapshots"
              for s in sources["hr_snapshots"]]
    if table_exists(con, "raw.kpi_values"):
        parts.append(
            "SELECT DISTINCT 'kpi_feed' AS source, 'kpi_values' AS kind, unnest(generate_series("
            "date_trunc('week', period_start)::TIMESTAMP, period_end::TIMESTAMP, INTERVAL 7 DAY))::DATE AS week_start "
            "FROM (SELECT DISTINCT period_start, period_end FROM raw.kpi_values)"
        )
    if not parts:
        return pl.DataFrame(schema={"source": pl.Utf8, "kind": pl.Utf8, "week_start": pl.Date})
    return con.execute(f"SELECT DISTINCT * FROM ({' UNION ALL '.join(parts)})").pl()


def weeks_covered(con: duckdb.DuckDBPyConnection, context: CheckContext | None = None) -> pl.DataFrame:
    """Per source: first and last ISO week with data, weeks spanned, weeks with data, and the ISO
    labels of the weeks missing inside the span.

    Grain: one row per (source, kind) where kind is events, activity_counts, hr_snapshots or
    kpi_values. Denominator of ``coverage``: ``weeks_spanned`` (first to last week inclusive).
    """
    ctx = context or load_context(con)
    weeks = _source_weeks(con, ctx.time_zone)
    if weeks.height == 0:
        return pl.DataFrame(schema={"source": pl.Utf8, "kind": pl.Utf8, "first_week": pl.Date, "last_week": pl.Date,
                                    "weeks_spanned": pl.Int64, "weeks_with_data": pl.Int64, "coverage": pl.Float64,
                                    "missing_weeks": pl.List(pl.Utf8)})
    spans = weeks.group_by("source", "kind").agg(
        pl.col("week_start").min().alias("first_week"),
        pl.col("week_start").max().alias("last_week"),
        pl.col("week_start").n_unique().cast(pl.Int64).alias("weeks_with_data"),
    )
    calendar = spans.select(
        "source", "kind",
        pl.date_ranges("first_week", "last_week", interval="1w").alias("week_start"),
    ).explode("week_start", empty_as_null=True)
    missing = (
        calendar.join(weeks, on=["source", "kind", "week_start"], how="anti")
        .group_by("source", "kind")
        .agg(pl.col("week_start").sort().dt.strftime("%G-W%V").alias("missing_weeks"))
    )
    return (
        spans.join(missing, on=["source", "kind"], how="left")
        .with_columns(
            ((pl.col("last_week") - pl.col("first_week")).dt.total_days() // 7 + 1).cast(pl.Int64).alias("weeks_spanned"),
            pl.col("missing_weeks").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
        )
        .with_columns((pl.col("weeks_with_data") / pl.col("weeks_spanned")).alias("coverage"))
        .select("source", "kind", "first_week", "last_week", "weeks_spanned", "weeks_with_data", "coverage",
                "missing_weeks")
        .sort("source", "kind")
    )


def missing_days(con: duckdb.DuckDBPyConnection, context: CheckContext | None = None) -> pl.DataFrame:
    """Working days whose events fall under a quarter of the same weekday's typical volume
    (median of the neighbouring three weeks), improbably so (chance under 1e-5 under a negative
    binomial calibrated on the source's over-dispersion), per source; ``kind`` = no events / low
    volume.

    Grain: one row per suspicious (source, day). The rule is the ``missing_export_days`` check's.
    """
    ctx = context or load_context(con)
    return export_day_gaps(daily_event_volumes(con, time_zone=ctx.time_zone))


def hr_completeness(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | None = None,
    by: str | None = None,
    fields: Sequence[str] = PROFILE_FIELDS,
    min_group_size: int | None = None,
) -> pl.DataFrame:
    """Share of employees whose directory profile has each of ``fields`` filled, as of a date.

    Grain: one row per field (and per group of ``by``, e.g. ``"site"``). Denominator: employees in
    clean.hr_directory valid on ``as_of`` (default: the latest ``valid_from``) and not terminated
    by then. ``manager_id`` is legitimately empty for the top of the hierarchy. Groups of fewer than
    ``min_group_size`` employees (default: the settings' value) are suppressed (counts and share null).
    """
    columns = {"field": pl.Utf8, "employees": pl.Int64, "filled": pl.Int64, "share": pl.Float64,
               "suppressed": pl.Boolean}
    if by:
        columns = {by: pl.Utf8, **columns}
    if not table_exists(con, "clean.hr_directory"):
        return pl.DataFrame(schema=columns)
    present = set(table_schema(con, "clean.hr_directory").names())
    wanted = [f for f in fields if f in present]
    if by and by not in present:
        raise ValueError(f"clean.hr_directory has no column {by!r} to group by; columns: {', '.join(sorted(present))}")
    k = min_group_size if min_group_size is not None else load_context(con).min_group_size
    day = as_of or con.execute("SELECT max(valid_from) FROM clean.hr_directory").fetchone()[0]
    if day is None or not wanted:
        return pl.DataFrame(schema=columns)
    group = f"{quote(by)}::VARCHAR AS {quote(by)}, " if by else ""
    filled = ", ".join(
        f"count_if({quote(f)} IS NOT NULL AND trim({quote(f)}::VARCHAR) <> '')::BIGINT AS {quote(f)}" for f in wanted
    )
    wide = con.execute(
        f"""
        SELECT {group}count(DISTINCT employee_id) AS employees, {filled}
        FROM clean.hr_directory
        WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)
          AND (termination_date IS NULL OR termination_date > ?)
        GROUP BY ALL
        """,
        [day, day, day],
    ).pl()
    keys = [by] if by else []
    long = wide.unpivot(index=[*keys, "employees"], on=wanted, variable_name="field", value_name="filled")
    small = pl.col("employees") < k
    return (
        long.with_columns(
            small.alias("suppressed"),
            pl.when(small).then(None).otherwise(pl.col("filled")).cast(pl.Int64).alias("filled"),
            pl.when(small).then(None).otherwise(pl.col("filled") / pl.col("employees")).alias("share"),
            pl.when(small).then(None).otherwise(pl.col("employees")).cast(pl.Int64).alias("employees"),
        )
        .select(list(columns))
        .sort([*keys, "field"])
    )


def kpi_feed_freshness(con: duckdb.DuckDBPyConnection, context: CheckContext | None = None) -> pl.DataFrame:
    """Per KPI: latest period end, the end of the activity data's last week, the delay in days, the
    registry's ``max_delay_days`` and ``late``. Grain: one row per KPI (registered or in the feed)."""
    return kpi_freshness(con, context or load_context(con))


def rejects_summary(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Quarantined rows per source, contract and reason, most frequent first (no row-level excerpt).

    Grain: one row per (source, contract, reason). ``rows``: rows of ``quality.rejects``.
    """
    if not table_exists(con, "quality.rejects"):
        return pl.DataFrame(schema={"source": pl.Utf8, "contract": pl.Utf8, "reason": pl.Utf8, "rows": pl.Int64})
    return con.execute(
        "SELECT source, contract, reason, count(*)::BIGINT AS rows FROM quality.rejects "
        "GROUP BY ALL ORDER BY rows DESC, source, contract, reason"
    ).pl()


#: The report's data-quality tables and the function computing each from the warehouse.
COVERAGE_TABLES: dict[str, Callable[[duckdb.DuckDBPyConnection], pl.DataFrame]] = {
    "quality.coverage": source_row_flow,
    "quality.match_rates": identity_match,
    "quality.weeks_covered": weeks_covered,
    "quality.hr_completeness": hr_completeness,
    "quality.kpi_freshness": kpi_feed_freshness,
    "quality.rejects_summary": rejects_summary,
}

