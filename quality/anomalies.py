"""Anomaly checks (severity ``warn``, never blocking): things a human should look at before trusting
a week's figures, though no contract is broken.

- a missing export day: a working day with no (or far fewer) events than the same weekday in the
  neighbouring weeks, improbably so for that volume;
- an identity match rate under ``settings.identity_match_threshold``;
- managers missing from the directory, and cycles in the manager chain (recursive CTE);
- person-weeks resting on HR employment back-filled before the first extract (from hire dates);
- a late KPI feed, an unregistered KPI, a KPI whose scale jumps (a unit slip) or leaves its range.

Each check is ``(con, context) -> CheckOutcome``; the tidy frames behind them are public so the
report's quality section shows the same numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

import duckdb
import numpy as np
import polars as pl

from quality.outcome import CheckContext, CheckOutcome
from quality.warehouse import (
    discover_sources,
    examples,
    head,
    missing_table,
    sql_literal,
    table_exists,
    table_schema,
)
from transforms.warehouse import register_frame

log = logging.getLogger(__name__)

#: Defaults of the missing-export-day rule.
NEIGHBOUR_WEEKS = 3
LOW_VOLUME_RATIO = 0.25
#: A day is flagged only if a count at the typical rate would fall that low less often than this,
#: under a negative binomial with the source's over-dispersion (see :func:`export_day_gaps`). With
#: steady activity (Poisson) and a typical volume of 12 events or more, a day with none is flagged;
#: with 4, it is not.
MAX_CHANCE = 1e-5
#: Median of a chi-square distribution with one degree of freedom.
CHI2_1_MEDIAN = 0.4549364
#: A day's deviation from the median of its 2 x NEIGHBOUR_WEEKS neighbours also carries the
#: median's own noise: Var(x - median) ~ Var(x) (1 + pi / (2 n)).
MEDIAN_NOISE = 1 + math.pi / (2 * 2 * NEIGHBOUR_WEEKS)
#: A KPI period whose median is this many times above or below the KPI's usual level is a unit slip.
SCALE_JUMP_FACTOR = 10.0

_FAR_FUTURE = "DATE '9999-12-31'"


# ---------------------------------------------------------------------------------------------
# missing export days
# ---------------------------------------------------------------------------------------------


def daily_event_volumes(
    con: duckdb.DuckDBPyConnection,
    *,
    time_zone: str = "UTC",
    table: str = "clean.events",
    neighbour_weeks: int = NEIGHBOUR_WEEKS,
) -> pl.DataFrame:
    """Events per source and local day, every day from the source's first to its last included.

    Grain: one row per source and calendar day (organisation's time zone). Columns: ``source``,
    ``day``, ``weekday`` (ISO, 1 = Monday), ``events`` (0 on days without any), ``typical``,
    ``first_day``, ``last_day``. ``typical`` is, for a day with events, the lower of two medians of
    the same weekday, over the ``neighbour_weeks`` weeks before and the ``neighbour_weeks`` weeks
    after (the one available at a source's edges): a low day is a dip against both sides, and a
    quiet week before a roll-out is not one; for a day without any event, the median of the same
    weekday within ``neighbour_weeks`` weeks either side (nobody at all acting is judged against
    the whole neighbourhood). ``quietest_around``: the fewest events of the same weekday within
    ``neighbour_weeks`` weeks either side (the day excluded).
    """
    if not table_exists(con, table):
        return pl.DataFrame(schema={"source": pl.Utf8, "day": pl.Date, "weekday": pl.Int64, "events": pl.Int64,
                                    "typical": pl.Float64, "first_day": pl.Date, "last_day": pl.Date,
                                    "quietest_around": pl.Int64})
    tz = sql_literal(time_zone)
    span = 7 * neighbour_weeks
    if table == "clean.events" and table_exists(con, "clean.event_days"):
        # the clean layer counted its kept events per source and local day as it built them
        per_day = "SELECT source, occurred_on AS day, sum(events)::BIGINT AS events FROM clean.event_days GROUP BY ALL"
    else:  # offsets are multiples of 15 min: convert once per quarter-hour
        per_day = f"""
            SELECT source, timezone({tz}, to_timestamp(quarter * 900))::DATE AS day, sum(events)::BIGINT AS events
            FROM (SELECT source, epoch_us(occurred_at) // 900000000 AS quarter, count(*) AS events
                  FROM {table} GROUP BY ALL) GROUP BY ALL
        """
    return con.execute(
        f"""
        WITH per_day AS ({per_day}),
        source_span AS (
            SELECT source, min(day) AS first_day, max(day) AS last_day FROM per_day GROUP BY source
        ),
        calendar AS (
            SELECT source, first_day, last_day,
                   unnest(generate_series(first_day::TIMESTAMP, last_day::TIMESTAMP, INTERVAL 1 DAY))::DATE AS day
            FROM source_span
        ),
        every_day AS (
            SELECT c.source, c.day, isodow(c.day) AS weekday, coalesce(p.events, 0) AS events,
                   c.first_day, c.last_day
            FROM calendar c LEFT JOIN per_day p USING (source, day)
        ),
        sides AS (
            SELECT source, day, weekday, events, first_day, last_day,
                   min(events) OVER (
                       PARTITION BY source, weekday ORDER BY day
                       RANGE BETWEEN INTERVAL {span} DAY PRECEDING AND INTERVAL {span} DAY FOLLOWING
                       EXCLUDE CURRENT ROW
                   ) AS quietest_around,
                   median(events) OVER (
                       PARTITION BY source, weekday ORDER BY day
                       RANGE BETWEEN INTERVAL {span} DAY PRECEDING AND INTERVAL 1 DAY PRECEDING
                   )::DOUBLE AS before,
                   median(events) OVER (
                       PARTITION BY source, weekday ORDER BY day
                       RANGE BETWEEN INTERVAL 1 DAY FOLLOWING AND INTERVAL {span} DAY FOLLOWING
                   )::DOUBLE AS after,
                   median(events) OVER (
                       PARTITION BY source, weekday ORDER BY day
                       RANGE BETWEEN INTERVAL {span} DAY PRECEDING AND INTERVAL {span} DAY FOLLOWING
                       EXCLUDE CURRENT ROW
                   )::DOUBLE AS around
            FROM every_day
        )
        SELECT source, day, weekday, events,
               CASE WHEN events = 0 THEN around
                    ELSE least(coalesce(before, after), coalesce(after, before)) END AS typical,
               first_day, last_day, quietest_around
        FROM sides
        ORDER BY source, day
        """
    ).pl()


def source_dispersion(volumes: pl.DataFrame, *, ratio: float = LOW_VOLUME_RATIO, count: str = "events",
                      typical: str = "typical", by: tuple[str, ...] = ("source",)) -> pl.DataFrame:
    """Each source's over-dispersion of daily counts on working days, robustly estimated.

    Grain: one row per source. ``dispersion`` is k in Var = mu + k mu^2 (negative binomial; 0 =
    Poisson), with mu a day's ``typical`` volume: the median over the source's working days with
    a typical volume of ((events - mu)^2 / (m c) - mu) / mu^2, floored at 0, where m = 0.4549 is
    the median of a chi-square with one degree of freedom (so the median estimates k rather than
    half of it) and c = 1 + pi / 12 the extra variance of a deviation from a median of a few
    neighbouring weeks (approximately). ``count`` / ``typical`` name the count and its typical value. Every working day
    counts, the low ones too (a source that is active one week and silent the next is bursty, and
    that is what its silent days show), but through a median: a few missing days or spikes do not
    move it. ``by`` groups the estimate (``("source", "weekday")``: one per weekday, for sources
    active on some weekdays only every other week). ``ratio`` is not used (kept for symmetry).
    """
    mu = pl.col(typical)
    return (
        volumes.filter((pl.col("weekday") <= 5) & (mu > 0))
        .group_by(*by)
        .agg((((pl.col(count) - mu) ** 2 / (CHI2_1_MEDIAN * MEDIAN_NOISE) - mu) / mu**2).median()
             .clip(lower_bound=0)
             .alias("dispersion"))
        .sort(*by)
    )


def _dispersion(volumes: pl.DataFrame) -> pl.DataFrame:
    """Per source and weekday, the larger of the source's over-dispersion and that weekday's."""
    overall = source_dispersion(volumes).rename({"dispersion": "__all"})
    weekday = source_dispersion(volumes, by=("source", "weekday"))
    return weekday.join(overall, on="source", how="left").select(
        "source", "weekday", pl.max_horizontal("dispersion", pl.col("__all").fill_null(0.0)).alias("dispersion"))


def _nb_cdf(counts: np.ndarray, mean: np.ndarray, k: np.ndarray) -> np.ndarray:
    """P(X <= count) for a negative binomial of ``mean`` and over-dispersion ``k`` (Var = mean +
    k mean^2); Poisson where k is 0."""
    from scipy.stats import nbinom, poisson

    out = poisson.cdf(counts, mean)
    bursty = k > 0
    if bursty.any():
        size = 1.0 / k[bursty]  # n = 1/k, p = n / (n + mean)
        out[bursty] = nbinom.cdf(counts[bursty], size, size / (size + mean[bursty]))
    return out


def export_day_gaps(
    volumes: pl.DataFrame,
    *,
    ratio: float = LOW_VOLUME_RATIO,
    max_chance: float = MAX_CHANCE,
    overdispersion: bool = True,
) -> pl.DataFrame:
    """Working days (Monday-Friday, strictly inside the source's span) whose events fall under
    ``ratio`` x the typical volume of that weekday *and* so low that a count at the typical rate
    would do so with probability under ``max_chance``.

    The count is modelled as negative binomial with mean ``typical`` and over-dispersion k
    (:func:`source_dispersion`; Var = mu + k mu^2, k = 0 is Poisson), the larger of the source's
    and that weekday's (a source active every other Tuesday has ordinary empty Tuesdays). A bursty
    community (a Monday at 0 whose neighbours had 1, 72 and 17 events) then has ordinary quiet
    days. A day without any event is a day on which nobody acted: when no neighbouring week of
    that weekday was quiet (``quietest_around`` at or above ``ratio`` x typical, or unknown) it is
    judged as a plain Poisson count (bursts of heavy users make busy days swing, not silent ones);
    when one was (the issue's Monday at 0 beside a Monday at 1), empty days happen there and the
    over-dispersed law stands. ``overdispersion=False`` is the plain
    Poisson rule, kept for comparison (``benchmarks/missing_export_days.py``).

    Grain: one row per suspicious source-day; ``kind`` is ``no events`` or ``low volume``;
    ``chance`` is the model's probability of a count that low; ``dispersion`` the k used.
    """
    per_source = _dispersion(volumes)
    if not overdispersion:
        per_source = per_source.with_columns(pl.lit(0.0).alias("dispersion"))
    mu = pl.col("typical")
    candidates = (
        volumes.filter(
            (pl.col("weekday") <= 5)
            & (pl.col("day") > pl.col("first_day"))
            & (pl.col("day") < pl.col("last_day"))
            & (mu > 0)
            & (pl.col("events") < ratio * mu)
        )
        .join(per_source, on=["source", "weekday"], how="left")
        .with_columns(pl.col("dispersion").fill_null(0.0))
    )
    chance = _nb_cdf(candidates["events"].to_numpy(), candidates["typical"].to_numpy(),
                     candidates["dispersion"].to_numpy())
    # A day without any event, in a neighbourhood without any quiet day of that weekday: the bursts
    # of heavy users that make active days swing say nothing about a day on which nobody at all
    # acted, so that day is judged as a plain count (Poisson). When a neighbouring week was itself
    # quiet (under ``ratio`` x typical), empty days happen here: the over-dispersed law stands.
    quiet_around = (pl.col("quietest_around") < ratio * pl.col("typical")).fill_null(False) \
        if "quietest_around" in candidates.columns else pl.lit(False)
    steady_empty = candidates.select((pl.col("events") == 0) & ~quiet_around).to_series().to_numpy()
    if overdispersion and steady_empty.any():
        chance[steady_empty] = _nb_cdf(np.zeros(int(steady_empty.sum())), candidates["typical"].to_numpy()[steady_empty],
                                       np.zeros(int(steady_empty.sum())))
    return (
        candidates.with_columns(pl.Series("chance", chance, dtype=pl.Float64))
        .filter(pl.col("chance") < max_chance)
        .with_columns(
            pl.when(pl.col("events") == 0).then(pl.lit("no events")).otherwise(pl.lit("low volume")).alias("kind")
        )
        .select("source", "day", "weekday", "events", "typical", "dispersion", "chance", "kind")
    )


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def missing_export_days(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """A working day with no events, or under a quarter of the same weekday's median in the three
    weeks either side and improbably low for that median (chance < 1e-5 under a negative binomial
    calibrated on the source's over-dispersion): likely a missing export day."""
    if not table_exists(con, "clean.events"):
        return missing_table("clean.events", required=False)
    gaps = export_day_gaps(daily_event_volumes(con, time_zone=ctx.time_zone))
    meta = {"suspicious_days": gaps.height}
    if gaps.height == 0:
        return CheckOutcome(True, "no working day is missing or far below its weekday's volume", meta)
    described = "; ".join(
        f"{r['source']} {r['day']} ({_WEEKDAYS[r['weekday'] - 1]}): {r['events']} events vs typically "
        f"{r['typical']:.0f}" for r in gaps.head(5).iter_rows(named=True)
    )
    more = f"; and {gaps.height - 5} more" if gaps.height > 5 else ""
    return CheckOutcome(False, f"possible missing export day(s): {described}{more}", meta, head(gaps, 50))


# ---------------------------------------------------------------------------------------------
# identity
# ---------------------------------------------------------------------------------------------


#: A source with fewer human accounts than this is not judged on its match rate (too few to tell).
MIN_ACCOUNTS_FOR_MATCH_RATE = 20


def identity_match_rate(
    con: duckdb.DuckDBPyConnection, ctx: CheckContext, *, min_accounts: int = MIN_ACCOUNTS_FOR_MATCH_RATE
) -> CheckOutcome:
    """Each source's ``match_rate`` in quality.identity_match_report at or above
    ``settings.identity_match_threshold``. Sources with fewer than ``min_accounts`` human accounts
    (``human_accounts`` column, when the report has it) are listed but not judged: one unmatched
    guest among three accounts says nothing about the matching rules."""
    table = "quality.identity_match_report"
    if not table_exists(con, table):
        return missing_table(table, required=table_exists(con, "clean.identity_map"))
    report = con.execute(f"SELECT * FROM {table} ORDER BY source").pl()
    if "match_rate" not in report.columns:
        return CheckOutcome(False, f"{table} has no match_rate column", {})
    threshold = ctx.identity_match_threshold
    judged = pl.col("match_rate").is_not_null()
    if "human_accounts" in report.columns:
        judged = judged & (pl.col("human_accounts") >= min_accounts)
    report = report.with_columns(judged.alias("judged"))
    low = report.filter(pl.col("judged") & (pl.col("match_rate") < threshold))
    meta: dict[str, object] = {"threshold": threshold, **{
        f"match_rate: {s}": r for s, r in report.select("source", "match_rate").iter_rows() if r is not None}}
    too_small = report.filter(~pl.col("judged") & pl.col("match_rate").is_not_null())["source"].to_list()
    note = f" ({', '.join(too_small)}: under {min_accounts} human accounts, not judged)" if too_small else ""
    if low.height == 0:
        return CheckOutcome(True, f"every source matches at least {threshold:.0%} of its accounts{note}", meta, report)
    described = ", ".join(f"{s} {r:.1%}" for s, r in low.select("source", "match_rate").iter_rows())
    return CheckOutcome(False, f"identity match rate below {threshold:.0%}: {described}{note}", meta, report)


# ---------------------------------------------------------------------------------------------
# manager chain
# ---------------------------------------------------------------------------------------------


def missing_managers(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Directory rows whose ``manager_id`` is nobody in the directory during that row's validity.

    Grain: one row per (employee_id, valid_from) interval with a dangling manager. Intervals
    back-filled before the first extract are not judged: their manager is an assumption (the first
    extract's), not HR's word about that time.
    """
    judged = "NOT coalesce(d.backfilled, false)" if "backfilled" in table_schema(con, "clean.hr_directory").names() else "true"
    return con.execute(
        f"""
        SELECT d.employee_id, d.manager_id, d.valid_from, d.valid_to,
               EXISTS (SELECT 1 FROM clean.hr_directory a WHERE a.employee_id = d.manager_id) AS known_at_other_times
        FROM clean.hr_directory d
        WHERE d.manager_id IS NOT NULL
          AND {judged}
          AND NOT EXISTS (
              SELECT 1 FROM clean.hr_directory m
              WHERE m.employee_id = d.manager_id
                AND m.valid_from < coalesce(d.valid_to, {_FAR_FUTURE})
                AND coalesce(m.valid_to, {_FAR_FUTURE}) > d.valid_from
          )
        ORDER BY d.manager_id, d.employee_id, d.valid_from
        """
    ).pl()


def managers_missing(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """Every ``manager_id`` in clean.hr_directory is an employee of the directory at an overlapping
    time: teams whose manager is absent from HR lose their manager-relay analysis."""
    if not table_exists(con, "clean.hr_directory"):
        return missing_table("clean.hr_directory", required=False)
    dangling = missing_managers(con)
    meta = {"intervals": dangling.height, "employees": dangling["employee_id"].n_unique(),
            "missing_managers": dangling["manager_id"].n_unique()}
    if dangling.height == 0:
        return CheckOutcome(True, "every manager_id is in the directory", meta)
    return CheckOutcome(
        False,
        f"{meta['employees']} employee(s) report to {meta['missing_managers']} manager_id(s) not in the directory "
        f"at the time (e.g. {examples(dangling, ['employee_id', 'manager_id', 'valid_from'])})",
        meta,
        head(dangling),
    )


def backfilled_person_weeks(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Eligible person-weeks whose HR record is back-filled before the first extract, per week.

    Grain: one row per week with any. Columns: ``week_start``, ``backfilled`` (eligible
    person-weeks resting on a back-filled interval), ``eligible`` (all eligible person-weeks).
    Reads ``clean.employee_week``.
    """
    return con.execute(
        """
        SELECT week_start, count(*) FILTER (hr_backfilled) AS backfilled, count(*) AS eligible
        FROM clean.employee_week WHERE is_eligible
        GROUP BY ALL HAVING count(*) FILTER (hr_backfilled) > 0 ORDER BY week_start
        """
    ).pl()


def hr_backfilled_weeks(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """How many eligible person-weeks rest on employment back-filled before the first HR extract
    (from ``hire_date``, with the first extract's attributes): a warning whenever any does, since
    their denominators and HR breakdowns are assumed, not delivered."""
    table = "clean.employee_week"
    if not table_exists(con, table):
        return missing_table(table, required=False)
    if "hr_backfilled" not in table_schema(con, table).names():
        return CheckOutcome(False, f"{table} has no hr_backfilled column; rebuild it", {"table": table})
    weeks = backfilled_person_weeks(con)
    total = con.execute(f"SELECT count(*) FROM {table} WHERE is_eligible").fetchone()[0]
    assumed = int(weeks["backfilled"].sum()) if weeks.height else 0
    first_extract = (
        con.execute("SELECT min(snapshot_date) FROM clean.hr_extracts").fetchone()[0]
        if table_exists(con, "clean.hr_extracts") else None
    )
    meta = {"backfilled_person_weeks": assumed, "eligible_person_weeks": int(total), "weeks": weeks.height,
            "first_extract": str(first_extract) if first_extract else None}
    if assumed == 0:
        return CheckOutcome(True, "no eligible person-week rests on back-filled HR data", meta)
    share = assumed / total if total else 0.0
    return CheckOutcome(
        False,
        f"{assumed} of {total} eligible person-weeks ({share:.0%}), in {weeks.height} week(s) from "
        f"{weeks['week_start'].min()} to {weeks['week_start'].max()}, rest on employment back-filled before "
        f"the first HR extract ({first_extract}) from hire_date, with that extract's attributes: add earlier "
        "HR extracts to replace the assumption",
        meta,
        head(weeks, 60),
    )


def manager_chain_cycles(con: duckdb.DuckDBPyConnection, *, max_depth: int = 64) -> pl.DataFrame:
    """Cycles in the manager chain of clean.hr_directory, over time.

    A recursive CTE walks up from every directory interval, intersecting validity intervals as it
    goes, and stops at the top (no manager), at a person already on the path, or after
    ``max_depth`` steps; a walk that comes back to where it started is a cycle. Grain: one row per
    distinct cycle (its members, sorted), with the span of dates when it existed.
    """
    return con.execute(
        f"""
        WITH RECURSIVE
        edges AS (
            SELECT employee_id, manager_id, valid_from AS lo, coalesce(valid_to, {_FAR_FUTURE}) AS hi
            FROM clean.hr_directory WHERE manager_id IS NOT NULL
        ),
        walk(start_id, current_id, lo, hi, path, depth) AS (
            SELECT employee_id, manager_id, lo, hi, [employee_id], 1 FROM edges
            UNION ALL
            SELECT w.start_id, e.manager_id, greatest(w.lo, e.lo), least(w.hi, e.hi),
                   list_append(w.path, w.current_id), w.depth + 1
            FROM walk w JOIN edges e
              ON e.employee_id = w.current_id AND e.lo < w.hi AND e.hi > w.lo
            WHERE w.current_id <> w.start_id
              AND NOT list_contains(w.path, w.current_id)
              AND w.depth < {int(max_depth)}
        ),
        closed AS (
            SELECT list_sort(path) AS members, lo, hi FROM walk WHERE current_id = start_id
        )
        SELECT members, len(members) AS length, min(lo) AS first_seen,
               nullif(max(hi), {_FAR_FUTURE}) AS last_seen_before
        FROM closed GROUP BY members ORDER BY length, members
        """
    ).pl()


def manager_cycles(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """No manager chain loops back on itself (A reports to B who reports, eventually, to A)."""
    if not table_exists(con, "clean.hr_directory"):
        return missing_table("clean.hr_directory", required=False)
    cycles = manager_chain_cycles(con)
    meta = {"cycles": cycles.height}
    if cycles.height == 0:
        return CheckOutcome(True, "no cycle in the manager chain", meta)
    described = "; ".join(
        " -> ".join(r["members"]) + f" (from {r['first_seen']})" for r in cycles.head(3).iter_rows(named=True)
    )
    return CheckOutcome(False, f"{cycles.height} manager cycle(s): {described}", meta,
                        head(cycles.with_columns(pl.col("members").list.join(", "))))


# ---------------------------------------------------------------------------------------------
# KPI feed
# ---------------------------------------------------------------------------------------------


def activity_last_day(con: duckdb.DuckDBPyConnection, *, time_zone: str = "UTC") -> dt.date | None:
    """The last day covered by any platform's raw activity (events or activity counters)."""
    sources = discover_sources(con)
    parts = [f"SELECT timezone({sql_literal(time_zone)}, max(occurred_at))::DATE AS d FROM raw.{s}_events"
             for s in sources["events"]]
    parts += [f"SELECT max(period_end) AS d FROM raw.{s}_activity_counts" for s in sources["activity_counts"]]
    if not parts:
        return None
    return con.execute(f"SELECT max(d) FROM ({' UNION ALL '.join(parts)})").fetchone()[0]


def kpi_freshness(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> pl.DataFrame:
    """Per registered KPI: its latest ``period_end``, the activity data's last week, the delay in
    days and whether that exceeds the registry's ``max_delay_days``.

    Grain: one row per KPI of the registry (and any unregistered KPI of the feed). The reference is
    the Sunday ending the last ISO week with platform activity; ``late`` is ``latest_period_end <
    reference - max_delay_days`` (or no value at all).
    """
    last = activity_last_day(con, time_zone=ctx.time_zone)
    reference = last + dt.timedelta(days=6 - last.weekday()) if last else None
    registry = pl.DataFrame(
        [{"kpi": k.name, "max_delay_days": k.max_delay_days, "grain": k.grain}
         for k in (ctx.kpi_registry.kpis if ctx.kpi_registry else [])],
        schema={"kpi": pl.Utf8, "max_delay_days": pl.Int64, "grain": pl.Utf8},
    )
    if table_exists(con, "raw.kpi_values"):
        feed = con.execute(
            "SELECT kpi, max(period_end) AS latest_period_end, count(*) AS rows FROM raw.kpi_values GROUP BY kpi"
        ).pl()
    else:
        feed = pl.DataFrame(schema={"kpi": pl.Utf8, "latest_period_end": pl.Date, "rows": pl.Int64})
    out = registry.join(feed, on="kpi", how="full", coalesce=True).with_columns(
        pl.lit(reference, dtype=pl.Date).alias("data_last_week_end"),
    )
    return out.with_columns(
        (pl.col("data_last_week_end") - pl.col("latest_period_end")).dt.total_days().alias("delay_days"),
    ).with_columns(
        (
            pl.col("data_last_week_end").is_not_null()
            & pl.col("max_delay_days").is_not_null()
            & (pl.col("latest_period_end").is_null() | (pl.col("delay_days") > pl.col("max_delay_days")))
        ).alias("late"),
        pl.col("rows").fill_null(0),
    ).sort("kpi")


def kpi_feed_late(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """Each registered KPI's latest period ends no more than ``max_delay_days`` before the end of the
    activity data's last week: a late feed makes the latest weeks look like "no effect"."""
    if ctx.kpi_registry is None:
        return CheckOutcome(True, "no KPI registry: not checked", {}, skipped=True)
    fresh = kpi_freshness(con, ctx)
    if fresh.height == 0:
        return CheckOutcome(True, "no KPI registered or delivered", {})
    if fresh["data_last_week_end"].is_null().all():
        return CheckOutcome(True, "no platform activity to compare the KPI feed with: not checked", {}, fresh,
                            skipped=True)
    late = fresh.filter(pl.col("late"))
    reference = fresh["data_last_week_end"][0]
    meta = {"data_last_week_end": str(reference), "late_kpis": late.height}
    if late.height == 0:
        return CheckOutcome(True, f"every KPI is within its max_delay_days of {reference}", meta, fresh)
    described = "; ".join(
        f"{r['kpi']}: " + (
            "no values at all" if r["latest_period_end"] is None else
            f"latest period ends {r['latest_period_end']}, {r['delay_days']} days before {reference} "
            f"(max {r['max_delay_days']})"
        )
        for r in late.iter_rows(named=True)
    )
    return CheckOutcome(False, f"late KPI feed: {described}", meta, fresh)


def kpi_unregistered(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """Every KPI of the feed is declared in the registry (its unit, direction and range are known)."""
    if not table_exists(con, "raw.kpi_values"):
        return missing_table("raw.kpi_values", required=False)
    names = [k.name for k in ctx.kpi_registry.kpis] if ctx.kpi_registry else []
    unknown = con.execute(
        "SELECT kpi, count(*) AS rows FROM raw.kpi_values WHERE NOT list_contains(?, kpi) GROUP BY kpi ORDER BY kpi",
        [names],
    ).pl()
    meta = {"unregistered_kpis": unknown.height}
    if unknown.height == 0:
        return CheckOutcome(True, "every KPI of the feed is in the registry", meta)
    return CheckOutcome(False, f"KPI(s) not in kpi_registry.yaml: {', '.join(unknown['kpi'])}", meta, unknown)


def kpi_scale_report(
    con: duckdb.DuckDBPyConnection, ctx: CheckContext, *, factor: float = SCALE_JUMP_FACTOR
) -> pl.DataFrame:
    """Per KPI and period: the median value, the KPI's usual level (median of its period medians),
    their ratio, and how many values fall outside the registry's ``expected_range``.

    Grain: one row per (kpi, period_start). ``scale_jump`` flags a ratio >= ``factor`` or <=
    1/``factor`` (KPIs with a non-positive level are not judged on ratio); ``out_of_range`` counts
    values outside the range.
    """
    ranges = pl.DataFrame(
        [{"kpi": k.name, "range_low": k.expected_range[0], "range_high": k.expected_range[1]}
         for k in (ctx.kpi_registry.kpis if ctx.kpi_registry else []) if k.expected_range is not None],
        schema={"kpi": pl.Utf8, "range_low": pl.Float64, "range_high": pl.Float64},
    )
    with register_frame(con, "__kpi_ranges", ranges):
        return con.execute(
            f"""
            WITH per_period AS (
                SELECT v.kpi, v.period_start, median(v.value) AS period_median, count(*) AS values_,
                       count_if(v.value < r.range_low OR v.value > r.range_high)::BIGINT AS out_of_range,
                       any_value(r.range_low) AS range_low, any_value(r.range_high) AS range_high
                FROM raw.kpi_values v LEFT JOIN __kpi_ranges r USING (kpi)
                GROUP BY ALL
            ),
            leveled AS (
                SELECT *, median(period_median) OVER (PARTITION BY kpi) AS usual_level FROM per_period
            )
            SELECT kpi, period_start, values_ AS "values", period_median, usual_level,
                   CASE WHEN usual_level > 0 THEN period_median / usual_level END AS ratio,
                   coalesce(usual_level > 0 AND (period_median >= {factor} * usual_level
                                                 OR period_median <= usual_level / {factor}), false) AS scale_jump,
                   out_of_range, range_low, range_high
            FROM leveled ORDER BY kpi, period_start
            """
        ).pl()


def kpi_scale_jumps(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """KPI values inside the registry's ``expected_range``, and no period whose median sits >= 10x
    above or below the KPI's usual level (minutes delivered as hours shift the level ~60x)."""
    if not table_exists(con, "raw.kpi_values"):
        return missing_table("raw.kpi_values", required=False)
    report = kpi_scale_report(con, ctx)
    flagged = report.filter(pl.col("scale_jump") | (pl.col("out_of_range") > 0))
    meta = {"periods": report.height, "scale_jumps": int(report["scale_jump"].sum()),
            "values_out_of_range": int(report["out_of_range"].sum())}
    if flagged.height == 0:
        return CheckOutcome(True, "every KPI stays on its scale and inside its expected range", meta)
    parts = []
    for (kpi,), group in flagged.group_by(["kpi"], maintain_order=True):
        jumps = group.filter(pl.col("scale_jump"))
        if jumps.height:
            ratio = jumps["ratio"].median()
            parts.append(
                f"{kpi}: scale jump x{ratio:.3g} in {jumps.height} period(s) from {jumps['period_start'].min()} "
                f"(median {jumps['period_median'].median():.4g} vs usual {jumps['usual_level'][0]:.4g}; wrong unit?)"
            )
        out = int(group["out_of_range"].sum())
        if out:
            parts.append(
                f"{kpi}: {out} value(s) outside expected_range [{group['range_low'][0]:g}, {group['range_high'][0]:g}]"
            )
    return CheckOutcome(False, "; ".join(parts), meta, head(flagged, 50))


__all__ = [
    "activity_last_day",
    "daily_event_volumes",
    "export_day_gaps",
    "source_dispersion",
    "identity_match_rate",
    "kpi_feed_late",
    "kpi_freshness",
    "kpi_scale_jumps",
    "kpi_scale_report",
    "kpi_unregistered",
    "manager_chain_cycles",
    "manager_cycles",
    "managers_missing",
    "missing_export_days",
    "missing_managers",
]
