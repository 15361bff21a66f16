"""Who is left behind: never-active employees, the digital divide, and time to first activity.

All denominators are eligible headcount from HR (rows of ``marts.person_week``), never platform
accounts: an employee without an account is a non-user, not a missing row. Kind: activity.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import numpy as np
import polars as pl

from transforms.metrics.history import PERSON_WEEK_CORE, weeks_between, with_first_active
from transforms.metrics.populations import require_columns, with_populations
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_cells, suppress_small_arms
from transforms.weeks import week_start_expr, week_start_of

log = logging.getLogger(__name__)

__all__ = ["digital_divide", "never_active", "time_to_first_activity"]


@table_function(kind=MetricKind.ACTIVITY, metrics=("eligible", "never_active_rate"), grain="population at a week")
def never_active(
    person_week: pl.DataFrame,
    *,
    populations: Sequence[str] = ("organisation",),
    as_of: dt.date | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Eligible employees never active up to the ``as_of`` week (default: the last week), by population.

    Grain: one row per population at the as-of week. Denominator: ``eligible`` = people eligible
    in the as-of week (their population as of that week). ``never_active`` = those whose first
    active week ever is null or after the as-of week; ``without_account`` = those of them with no
    platform account resolved (context, never a denominator). Populations with fewer than
    ``min_group_size`` eligible are suppressed (complementary within a type).
    """
    require_columns(person_week, [*PERSON_WEEK_CORE, "has_account"], table="person_week")
    week = week_start_of(as_of) if as_of is not None else person_week["week_start"].max()
    rows = with_first_active(person_week).filter(pl.col("week_start") == week)
    if rows.height == 0:
        raise ValueError(f"person_week has no eligible rows in the as-of week {week}")
    never = (pl.col("first_active").is_null() | (pl.col("first_active") > pl.col("week_start")))
    long = with_populations(rows.with_columns(never.alias("__never")), populations)
    cells = long.group_by("population_type", "population").agg(
        pl.col("person_key").n_unique().cast(pl.Int64).alias("eligible"),
        pl.col("person_key").filter(pl.col("__never")).n_unique().cast(pl.Int64).alias("never_active"),
        pl.col("person_key").filter(pl.col("__never") & ~pl.col("has_account")).n_unique().cast(pl.Int64)
        .alias("never_active_without_account"),
    ).with_columns((pl.col("never_active") / pl.col("eligible")).alias("never_active_rate"))
    published = suppress_cells(
        cells, size_column="eligible",
        value_columns=["eligible", "never_active", "never_active_without_account", "never_active_rate"],
        partition_by=["population_type"], min_group_size=min_group_size, order_by=["population"],
    )
    return with_kind(
        published.with_columns(pl.lit(week, dtype=pl.Date).alias("as_of_week"))
        .sort("population_type", "population")
        .select("as_of_week", "population_type", "population", "eligible", "never_active",
                "never_active_without_account", "never_active_rate", "suppressed"),
        MetricKind.ACTIVITY,
    )


@table_function(kind=MetricKind.ACTIVITY, metrics=("active_rate", "frontline_gap_points"), grain="week")
def digital_divide(
    person_week: pl.DataFrame,
    *,
    attribute: str = "worker_type",
    reference: str = "office",
    focus: str = "frontline",
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """The gap in active rate between two groups (office vs frontline by default), week by week.

    Grain: one row per week, plus one pooled row (``week_start`` null, ``scope`` = 'pooled') over
    all weeks (active person-weeks / eligible person-weeks of each arm). Denominator of each arm's
    rate: its eligible headcount that week (pooled: its eligible person-weeks). ``gap_points`` =
    (reference rate - focus rate) x 100, positive when the focus group is behind. A row is
    suppressed when either arm has fewer than ``min_group_size`` eligible people (pooled: fewer than
    ``min_group_size`` distinct people).
    """
    require_columns(person_week, ["person_key", "week_start", "is_active", attribute], table="person_week")
    arms = person_week.filter(pl.col(attribute).cast(pl.Utf8).is_in([reference, focus])).with_columns(
        (pl.col(attribute).cast(pl.Utf8) == focus).alias("__focus")
    )

    def arm_stats(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        out = []
        for is_focus, prefix in ((False, "reference"), (True, "focus")):
            part = frame.filter(pl.col("__focus") == is_focus)
            agg = part.group_by(keys).agg(
                pl.col("person_key").n_unique().cast(pl.Int64).alias(f"{prefix}_people"),
                pl.len().cast(pl.Int64).alias(f"{prefix}_eligible"),
                pl.col("is_active").sum().cast(pl.Int64).alias(f"{prefix}_active"),
            ) if keys else part.select(
                pl.col("person_key").n_unique().cast(pl.Int64).alias(f"{prefix}_people"),
                pl.len().cast(pl.Int64).alias(f"{prefix}_eligible"),
                pl.col("is_active").sum().cast(pl.Int64).alias(f"{prefix}_active"),
            )
            out.append(agg)
        if keys:
            return out[0].join(out[1], on=keys, how="full", coalesce=True)
        return out[0].hstack(out[1])

    weekly = arm_stats(arms, ["week_start"]).with_columns(pl.lit("week").alias("scope"))
    pooled = arm_stats(arms, []).with_columns(
        pl.lit(None, dtype=pl.Date).alias("week_start"), pl.lit("pooled").alias("scope")
    )
    table = pl.concat([weekly, pooled.select(weekly.columns)], how="vertical").with_columns(
        pl.col("^(reference|focus)_(people|eligible|active)$").fill_null(0)
    ).with_columns(
        (pl.col("reference_active") / pl.col("reference_eligible")).alias("reference_active_rate"),
        (pl.col("focus_active") / pl.col("focus_eligible")).alias("focus_active_rate"),
    ).with_columns(
        ((pl.col("reference_active_rate") - pl.col("focus_active_rate")) * 100).alias("gap_points")
    )
    values = ["reference_eligible", "reference_active", "reference_active_rate", "focus_eligible", "focus_active",
              "focus_active_rate", "gap_points"]
    published = suppress_small_arms(
        table, size_columns=["reference_people", "focus_people"], value_columns=values, min_group_size=min_group_size
    )
    return with_kind(
        published.with_columns(
            pl.lit(attribute).alias("attribute"), pl.lit(reference).alias("reference"), pl.lit(focus).alias("focus")
        )
        .sort(pl.col("week_start"), nulls_last=True)
        .select("scope", "week_start", "attribute", "reference", "focus", *values, "suppressed"),
        MetricKind.ACTIVITY,
    )


@table_function(kind=MetricKind.ACTIVITY, metrics=("weeks_to_first_activity",), grain="population")
def time_to_first_activity(
    person_week: pl.DataFrame,
    *,
    populations: Sequence[str] = ("organisation",),
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Distribution of whole weeks from eligibility to first activity, by population.

    Grain: one row per population (the person's population in their first eligible week).
    Denominator: people eligible in the data. A person's clock starts at the earlier of the Monday
    of ``eligible_from`` and their first eligible week (the latter when ``eligible_from`` is null)
    and stops at their first active week; people active before eligibility count 0 weeks; people never active
    are right-censored at the last week they were eligible. Quartiles are Kaplan-Meier estimates
    (statsmodels ``SurvfuncRight``), null when not reached. ``share_within_4w`` / ``_12w`` are
    Kaplan-Meier shares adopted within 4 / 12 weeks. Populations below ``min_group_size`` people are
    suppressed (complementary within a type).
    """
    require_columns(person_week, [*PERSON_WEEK_CORE, "eligible_from"], table="person_week")
    rows = with_first_active(person_week).sort("week_start")
    people = rows.group_by("person_key").agg(
        pl.col("week_start").min().alias("first_week"),
        pl.col("week_start").max().alias("last_week"),
        pl.col("eligible_from").min(),
        pl.col("first_active").first(),
    )
    start = pl.min_horizontal(
        week_start_expr("eligible_from"),
        pl.col("first_week"),
    )
    people = people.with_columns(start.alias("clock_start")).with_columns(
        pl.col("first_active").is_not_null().alias("adopted"),
        pl.when(pl.col("first_active").is_not_null())
        .then(pl.max_horizontal(weeks_between(pl.col("clock_start"), pl.col("first_active")), pl.lit(0)))
        .otherwise(weeks_between(pl.col("clock_start"), pl.col("last_week")))
        .cast(pl.Float64)
        .alias("weeks"),
    )
    first_rows = rows.group_by("person_key").agg(pl.all().first())
    tagged = people.join(first_rows.drop("first_active", "eligible_from"), on="person_key", how="left")
    long = with_populations(tagged, populations)
    records = []
    for (ptype, pop), grp in long.group_by("population_type", "population", maintain_order=True):
        records.append({"population_type": ptype, "population": pop, **_km_summary(grp)})
    schema = {
        "population_type": pl.Utf8, "population": pl.Utf8, "people": pl.Int64, "adopted": pl.Int64,
        "censored": pl.Int64, "weeks_p25": pl.Float64, "weeks_median": pl.Float64, "weeks_p75": pl.Float64,
        "share_within_4w": pl.Float64, "share_within_12w": pl.Float64,
    }
    cells = pl.DataFrame(records, schema=schema)
    published = suppress_cells(
        cells, size_column="people", value_columns=[c for c in schema if c not in ("population_type", "population")],
        partition_by=["population_type"], min_group_size=min_group_size, order_by=["population"],
    )
    return with_kind(published.sort("population_type", "population"), MetricKind.ACTIVITY)


def _km_summary(grp: pl.DataFrame) -> dict[str, float | int | None]:
    """Kaplan-Meier quartiles and shares for one population's (weeks, adopted) pairs."""
    weeks = grp["weeks"].to_numpy().astype(float)
    event = grp["adopted"].to_numpy().astype(int)
    n, adopted = len(weeks), int(event.sum())
    out: dict[str, float | int | None] = {
        "people": n, "adopted": adopted, "censored": n - adopted, "weeks_p25": None, "weeks_median": None,
        "weeks_p75": None, "share_within_4w": 0.0, "share_within_12w": 0.0,
    }
    if adopted == 0:
        return out
    from statsmodels.duration.survfunc import SurvfuncRight  # heavy import, only when estimating

    sf = SurvfuncRight(weeks, event)
    times, surv = np.asarray(sf.surv_times), np.asarray(sf.surv_prob)

    def quantile(share_adopted: float) -> float | None:
        # smallest time at which the adopted share (1 - S) reaches the target
        hit = np.nonzero(1 - surv >= share_adopted - 1e-12)[0]
        return float(times[hit[0]]) if hit.size else None

    def adopted_by(w: float) -> float:
        idx = np.nonzero(times <= w)[0]
        return float(1 - surv[idx[-1]]) if idx.size else 0.0

    out.update(weeks_p25=quantile(0.25), weeks_median=quantile(0.5), weeks_p75=quantile(0.75),
               share_within_4w=adopted_by(4), share_within_12w=adopted_by(12))
    return out
