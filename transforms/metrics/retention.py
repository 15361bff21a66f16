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
from transforms.metrics.populations import population_expr, require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_cells
from transforms.weeks import week_start_expr

__all__ = ["CohortBy", "retention_triangle"]

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
    than ``min_group_size`` eligible members are suppressed, complementary across the cohorts of
    one population type and calendar week (their sum is the ever-active headcount of that week).
    """
    require_columns(person_week, PERSON_WEEK_CORE, table="person_week")
    if cohort_by not in ("first_active_week", "pilot_wave"):
        raise ValueError(f"cohort_by must be 'first_active_week' or 'pilot_wave', got {cohort_by!r}")
    rows = with_first_active(person_week)
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
    published = suppress_cells(
        table, size_column="eligible", value_columns=list(_VALUES),
        partition_by=["population_type", "week_start"], min_group_size=min_group_size,
        order_by=["population", "cohort"],
    )
    return with_kind(
        published.with_columns(pl.lit(cohort_by).alias("cohort_type"))
        .sort("population", "cohort_start", "weeks_since")
        .select("cohort_type", "population_type", "population", "cohort", "cohort_start", "weeks_since",
                "week_start", *_VALUES, "suppressed"),
        MetricKind.ACTIVITY,
    )

