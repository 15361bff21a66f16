"""Stickiness: how many of the people active over four weeks are active in a typical week.

For week ``t`` and the people eligible in week ``t`` (rows of ``marts.person_week``), over the
CALENDAR weeks t-3..t (a week without a row counts as inactive):

- ``mean_weekly_active`` = (sum over the 4 weeks of the number of these people active that week) / 4
- ``four_week_active`` = these people active in at least one of the 4 weeks
- ``stickiness`` = ``mean_weekly_active`` / ``four_week_active`` (WAU / 4-week active), between
  1/4 (everyone active in just one week) and 1 (everyone active every week); null if nobody was
  active.

Kind: activity.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from transforms.metrics.populations import aggregate_by_population, population_source_columns, require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_cells

__all__ = ["stickiness"]

WINDOW_WEEKS = 4


@table_function(kind=MetricKind.ACTIVITY, metrics=("stickiness",), grain="week x population")
def stickiness(
    person_week: pl.DataFrame,
    *,
    populations: Sequence[str] = ("organisation",),
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Weekly active over 4-week active, per week and population.

    Grain: one row per week x population. Denominator: ``four_week_active`` = people eligible in
    week t (population as of week t) active at least once in weeks t-3..t; the numerator is
    their mean weekly active count over those 4 weeks. Populations with fewer than
    ``min_group_size`` eligible people in week t are suppressed (complementary within a type and
    week); the first three weeks of the data have a truncated window (``window_complete`` false).
    """
    require_columns(person_week, ["person_key", "week_start", "is_active"], table="person_week")
    narrow = person_week.select("person_key", "week_start", "is_active",
                                *population_source_columns(populations, person_week))
    base = narrow.sort("person_key", "week_start").with_columns(
        pl.col("is_active").cast(pl.Int32)
        .rolling_sum_by("week_start", window_size=f"{WINDOW_WEEKS}w")
        .over("person_key")
        .alias("__active_weeks")
    )
    first_week = person_week["week_start"].min()
    cells = aggregate_by_population(
        base, populations, keep=("person_key", "week_start", "__active_weeks"),
        aggregate=lambda long: long.group_by("week_start", "population_type", "population").agg(
            pl.col("person_key").n_unique().cast(pl.Int64).alias("eligible"),
            (pl.col("__active_weeks").sum() / WINDOW_WEEKS).alias("mean_weekly_active"),
            (pl.col("__active_weeks") > 0).sum().cast(pl.Int64).alias("four_week_active"),
        ),
    )
    cells = cells.with_columns(
        pl.when(pl.col("four_week_active") > 0)
        .then(pl.col("mean_weekly_active") / pl.col("four_week_active"))
        .otherwise(None)
        .alias("stickiness"),
        (pl.col("week_start") >= pl.lit(first_week) + pl.duration(weeks=WINDOW_WEEKS - 1)).alias("window_complete"),
    )
    published = suppress_cells(
        cells, size_column="eligible",
        value_columns=["eligible", "mean_weekly_active", "four_week_active", "stickiness"],
        partition_by=["week_start", "population_type"], min_group_size=min_group_size, order_by=["population"],
    )
    return with_kind(
        published.sort("week_start", "population_type", "population").select(
            "week_start", "population_type", "population", "eligible", "mean_weekly_active", "four_week_active",
            "stickiness", "window_complete", "suppressed",
        ),
        MetricKind.ACTIVITY,
    )
