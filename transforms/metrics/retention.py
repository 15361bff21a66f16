"""Retention triangles: cohort x weeks since the cohort's start, "on" and "on or after".

Cohorts (``cohort_by``):

- ``first_active_week``: people whose first active week EVER is week ``c`` (cohorts starting
  before the first week of the data are left out: their start is not observed).
- ``pilot_wave``: the people assigned to a pilot wave (intent to treat: assignment, not use),
  starting at the wave's ``pilot_start_week``; every member counts, active or not.

For cohort ``c`` and ``k`` = 0, 1, ... weeks since its start (calendar weeks, up to the last
week of the data):

- ``retained_on``: members active IN week c+k; denominator ``eligible`` = members with a
  person-week row (eligible) in week c+k. Leavers drop out of the denominator.
- ``retained_on_or_after``: members active in week c+k OR ANY LATER week of the data;
  denominator ``eligible_on_or_after`` = members eligible in week c+k or later.

Kind: activity.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from transforms.metrics.history import PERSON_WEEK_CORE, weeks_between, with_first_active
from transforms.metrics.populations import population_expr, population_source_columns, require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, SUPPRESSED
from transforms.weeks import week_start_expr

__all__ = ["CohortBy", "retention_triangle", "suppress_cohort_tails"]

CohortBy = Literal["first_active_week", "pilot_wave"]

_VALUES = ("cohort_size", "eligible", "retained_on", "retention_on", "eligible_on_or_after",
           "retained_on_or_after", "retention_on_or_after")


def _iso(col: str) -> pl.Expr:
    return pl.format("{}-W{}", pl.col(col).dt.iso_year(), pl.col(col).dt.week().cast(pl.Utf8).str.zfill(2))


@table_function(
    kind=MetricKind.ACTIVITY,
    metrics=("retention_on", "retention_on_or_after"),
    grain="population x cohort x weeks since cohort start",
)
def retention_triangle(
    person_week: pl.DataFrame,
    *,
    cohort_by: CohortBy = "first_active_week",
    population: str = "organisation",
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Retention of cohorts, "on" and "on or after" each week since the cohort's start.

    Grain: one row per population x cohort x ``weeks_since`` (0 .. last week of data). Denominators:
    ``retention_on`` = ``retained_on`` / ``eligible`` (members eligible in week c+k);
    ``retention_on_or_after`` = ``retained_on_or_after`` / ``eligible_on_or_after`` (members
    eligible in week c+k or later). ``population`` (a population type) splits each cohort by the
    member's attribute in their first eligible week on or after the cohort start. Cells with fewer
    than ``min_group_size`` eligible members are suppressed, consistently per cohort and
    complementary across the cohorts of one calendar week: see :func:`suppress_cohort_tails`.
    """
    require_columns(person_week, PERSON_WEEK_CORE, table="person_week")
    if cohort_by not in ("first_active_week", "pilot_wave"):
        raise ValueError(f"cohort_by must be 'first_active_week' or 'pilot_wave', got {cohort_by!r}")
    # only the columns read below: the join to members copies every column it carries
    rows = with_first_active(person_week).select(list(dict.fromkeys([
        "person_key", "week_start", "is_active", "first_active",
        *[c for c in ("pilot_wave", "pilot_start_week") if c in person_week.columns],
        *population_source_columns([population], person_week),
    ])))
    if cohort_by == "first_active_week":
        members = (
            rows.filter(pl.col("first_active").is_not_null())
            .group_by("person_key")
            .agg(pl.col("first_active").first().alias("cohort_start"))
            .filter(pl.col("cohort_start") >= rows["week_start"].min())
            .with_columns(_iso("cohort_start").alias("cohort"))
        )
    else:
        require_columns(person_week, ["pilot_wave", "pilot_start_week"], table="person_week")
        members = (
            rows.filter(pl.col("pilot_wave").is_not_null() & pl.col("pilot_start_week").is_not_null())
            .group_by("person_key")
            .agg(pl.col("pilot_wave").last(), pl.col("pilot_start_week").min().alias("cohort_start"))
            .with_columns(pl.format("wave {}", pl.col("pilot_wave")).alias("cohort"))
            .drop("pilot_wave")
        )
        # the wave's start week is the Monday of its start date
        members = members.with_columns(
            week_start_expr("cohort_start").alias("cohort_start")
        )
    # population of each member: their attribute in the first eligible week on/after the cohort start
    on_after = rows.join(members, on="person_key", how="inner").filter(pl.col("week_start") >= pl.col("cohort_start"))
    member_pop = (
        on_after.sort("week_start")
        .group_by("person_key")
        .agg(population_expr(population).first().alias("population"))
    )
    members = members.join(member_pop, on="person_key", how="left").with_columns(
        pl.lit(population).alias("population_type"), pl.col("population").fill_null("(no eligible week)")
    )
    last_week = rows["week_start"].max()
    spans = on_after.group_by("person_key").agg(
        pl.col("week_start").max().alias("last_row"),
        pl.col("week_start").filter(pl.col("is_active")).max().alias("last_active"),
    )
    keys = ["population_type", "population", "cohort", "cohort_start"]
    grid = (
        members.with_columns(
            pl.int_ranges(0, weeks_between(pl.col("cohort_start"), pl.lit(last_week)) + 1).alias("weeks_since")
        )
        .explode("weeks_since", empty_as_null=False)
        .join(spans, on="person_key", how="left")
        .with_columns((pl.col("cohort_start") + pl.duration(weeks=pl.col("weeks_since"))).alias("week_start"))
    )
    on_or_after = grid.group_by(*keys, "weeks_since", "week_start").agg(
        pl.col("person_key").n_unique().alias("cohort_size"),
        pl.col("person_key").filter(pl.col("last_row") >= pl.col("week_start")).n_unique().alias("eligible_on_or_after"),
        pl.col("person_key").filter(pl.col("last_active") >= pl.col("week_start")).n_unique()
        .alias("retained_on_or_after"),
    )
    on = (
        on_after.join(members.select("person_key", *keys[:2]), on="person_key", how="inner")
        .with_columns(weeks_between(pl.col("cohort_start"), pl.col("week_start")).alias("weeks_since"))
        .group_by(*keys, "weeks_since")
        .agg(
            pl.col("person_key").n_unique().alias("eligible"),
            pl.col("person_key").filter(pl.col("is_active")).n_unique().alias("retained_on"),
        )
    )
    table = (
        on_or_after.join(on, on=[*keys, "weeks_since"], how="left")
        .with_columns(pl.col("eligible", "retained_on").fill_null(0))
        .with_columns(
            pl.col("cohort_size", "eligible", "retained_on", "eligible_on_or_after", "retained_on_or_after")
            .cast(pl.Int64),
            pl.col("weeks_since").cast(pl.Int32),
        )
        .with_columns(
            (pl.col("retained_on") / pl.col("eligible")).alias("retention_on"),
            (pl.col("retained_on_or_after") / pl.col("eligible_on_or_after")).alias("retention_on_or_after"),
        )
    )
    published = suppress_cohort_tails(table, min_group_size=min_group_size)
    return with_kind(
        published.with_columns(pl.lit(cohort_by).alias("cohort_type"))
        .sort("population", "cohort_start", "weeks_since")
        .select("cohort_type", "population_type", "population", "cohort", "cohort_start", "weeks_since",
                "week_start", *_VALUES, "suppressed"),
        MetricKind.ACTIVITY,
    )



_COHORT = ("population_type", "population", "cohort")
_CALENDAR_WEEK = ("population_type", "week_start")


def suppress_cohort_tails(table: pl.DataFrame, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> pl.DataFrame:
    """Suppress retention cells so that every cohort shows a run of weeks from its start and hides
    the rest ("hidden from week j on"), and no hidden cell can be recovered by difference.

    - A cohort whose size is under ``min_group_size`` is hidden whole (j = 0); otherwise it is
      hidden from the first week whose eligible members fall under it (leavers).
    - The cohorts present in one calendar week add up to that week's ever-active headcount
      (published with the adoption curve), so in every calendar week of a population type either
      no cell is hidden, or at least two are and they hold at least ``min_group_size`` people:
      further cells are hidden, smallest first (ties: population, cohort), each hiding its cohort
      from that week on. This repeats until nothing changes.

    A cohort is never hidden in its first weeks and shown later: its size, shown on every row,
    would give away a hidden first week (everyone in a first-active cohort is active in it).
    Values of hidden cells are nulled; ``suppressed`` flags them. Returns a new frame.
    """
    k = min_group_size
    if table.height == 0:
        return table.with_columns(pl.lit(False).alias(SUPPRESSED))
    size = pl.col("eligible").fill_null(0)
    hidden_from = (
        table.group_by(*_COHORT)
        .agg(
            pl.when(pl.col("cohort_size").max().fill_null(0) < k).then(pl.lit(0, pl.Int32))
            .otherwise(pl.col("weeks_since").filter(size < k).min()).alias("hidden_from")
        )
    )
    while True:
        staged = table.join(hidden_from, on=list(_COHORT), how="left").with_columns(
            (pl.col("weeks_since") >= pl.col("hidden_from")).fill_null(False).alias("__hidden"),
            size.alias("__size"),
        )
        partitions = staged.group_by(*_CALENDAR_WEEK).agg(
            pl.col("__hidden").sum().alias("__n_hidden"),
            pl.col("__size").filter(pl.col("__hidden")).sum().alias("__hidden_size"),
        ).filter((pl.col("__n_hidden") >= 1) & ((pl.col("__n_hidden") < 2) | (pl.col("__hidden_size") < k)))
        extra = (
            staged.filter(~pl.col("__hidden"))
            .join(partitions, on=list(_CALENDAR_WEEK), how="inner")
            .sort(*_CALENDAR_WEEK, "__size", "population", "cohort")
            .with_columns(
                pl.int_range(1, pl.len() + 1).over(_CALENDAR_WEEK).alias("__rank"),
                pl.col("__size").cum_sum().over(_CALENDAR_WEEK).alias("__cum"),
            )
        )
        if extra.height == 0:
            break
        enough = ((pl.col("__n_hidden") + pl.col("__rank")) >= 2) & ((pl.col("__hidden_size") + pl.col("__cum")) >= k)
        cut = pl.when(enough).then(pl.col("__rank")).min().over(_CALENDAR_WEEK).fill_null(pl.len().over(_CALENDAR_WEEK))
        chosen = (
            extra.filter(pl.col("__rank") <= cut)
            .group_by(*_COHORT).agg(pl.col("weeks_since").min().alias("__new_from"))
        )
        updated = hidden_from.join(chosen, on=list(_COHORT), how="left").with_columns(
            pl.min_horizontal("hidden_from", "__new_from").alias("hidden_from")
        ).drop("__new_from")
        if updated.sort(*_COHORT).equals(hidden_from.sort(*_COHORT)):
            break
        hidden_from = updated
    flagged = table.join(hidden_from, on=list(_COHORT), how="left", maintain_order="left").with_columns(
        (pl.col("weeks_since") >= pl.col("hidden_from")).fill_null(False).alias(SUPPRESSED)
    ).drop("hidden_from")
    return flagged.with_columns(
        [pl.when(pl.col(SUPPRESSED)).then(None).otherwise(pl.col(c)).alias(c) for c in _VALUES]
    )
