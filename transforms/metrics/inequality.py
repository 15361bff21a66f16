"""Participation inequality: 90-9-1 shares, top-1% share of contributions, Gini coefficients.

Over a period (all weeks of the frame, or ``[start, end]``), each person's contribution count
is the sum of ``actions_contribution`` over their eligible weeks; a person belongs to the
population of their last eligible week in the period. With ``N`` eligible people and ``T``
contributions:

- ``lurker_share``: people with 0 contributions / N (the "90"; non-users included).
- ``heavy_contributor_share``: the heavy group / N (the "1"), the heavy group being the FEWEST
  top contributors who together made at least ``heavy_volume_share`` (default 0.5) of T.
- ``light_contributor_share``: the other contributors / N (the "9").
- ``top1pct_contribution_share``: contributions of the top ceil(N/100) people / T; null when
  that group is smaller than ``min_group_size`` (it would describe too few people) or T = 0.
- ``gini_eligible`` over all N people (zeros included) and ``gini_contributors`` over people with
  at least one contribution: G = 2 * sum(i * x_(i)) / (n * sum x) - (n + 1) / n with x sorted
  ascending and i = 1..n; null when sum x = 0.

Kind: activity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from transforms.metrics.populations import aggregate_by_population, require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_cells

__all__ = ["participation_inequality"]

_VALUES = (
    "eligible", "contributors", "contributions", "lurker_share", "light_contributor_share",
    "heavy_contributor_share", "heavy_contributors", "top1pct_contribution_share", "gini_eligible",
    "gini_contributors",
)


def _gini(x: pl.Expr) -> pl.Expr:
    """Gini of the values of ``x`` within the group."""
    x = x.sort()
    n = x.len()
    i = pl.int_range(1, n + 1)
    total = x.sum()
    return pl.when(total > 0).then(2 * (i * x).sum() / (n * total) - (n + 1) / n).otherwise(None)


@table_function(
    kind=MetricKind.ACTIVITY,
    metrics=("lurker_share", "light_contributor_share", "heavy_contributor_share", "top1pct_contribution_share",
             "gini_eligible", "gini_contributors"),
    grain="population x period",
)
def participation_inequality(
    person_week: pl.DataFrame,
    *,
    populations: Sequence[str] = ("organisation",),
    start: dt.date | None = None,
    end: dt.date | None = None,
    heavy_volume_share: float = 0.5,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """90-9-1 shares, top-1% share and Gini coefficients of contributions per population over a period.

    Grain: one row per population over the period ``[start, end]`` (week_start bounds, inclusive;
    default all weeks). Denominators: people eligible at any time in the period (shares, Gini over
    all), contributors (Gini among contributors), all contributions (top-1% share). Populations
    with fewer than ``min_group_size`` eligible people are suppressed (complementary within a type);
    the Gini among contributors is null where fewer than ``min_group_size`` people contributed, and
    the top-1% share where the top 1% holds fewer than ``min_group_size`` people.
    """
    require_columns(person_week, ["person_key", "week_start", "actions_contribution"], table="person_week")
    if not 0 < heavy_volume_share <= 1:
        raise ValueError(f"heavy_volume_share must be in (0, 1], got {heavy_volume_share}")
    rows = person_week
    if start is not None:
        rows = rows.filter(pl.col("week_start") >= start)
    if end is not None:
        rows = rows.filter(pl.col("week_start") <= end)
    period_start, period_end = rows["week_start"].min(), rows["week_start"].max()
    people = aggregate_by_population(
        rows, populations, keep=("person_key", "week_start", "actions_contribution"),
        aggregate=lambda long: long.sort("week_start")
        .group_by("population_type", "person_key")
        .agg(pl.col("population").last(), pl.col("actions_contribution").fill_null(0).sum().alias("x")),
    ).with_columns(pl.col("x").cast(pl.Float64))
    ranked = people.sort("x", descending=True).with_columns(
        (pl.col("x").cum_sum().over("population_type", "population") - pl.col("x")).alias("__before"),
        pl.col("x").sum().over("population_type", "population").alias("__total"),
        pl.int_range(1, pl.len() + 1).over("population_type", "population").alias("__rank_desc"),
        pl.len().over("population_type", "population").alias("__n"),
    ).with_columns(
        ((pl.col("x") > 0) & (pl.col("__before") < heavy_volume_share * pl.col("__total"))).alias("__heavy"),
        (pl.col("__rank_desc") <= (pl.col("__n") / 100).ceil()).alias("__top1"),
    )
    cells = (
        ranked.group_by("population_type", "population")
        .agg(
            pl.len().cast(pl.Int64).alias("eligible"),
            (pl.col("x") > 0).sum().cast(pl.Int64).alias("contributors"),
            pl.col("x").sum().alias("contributions"),
            pl.col("__heavy").sum().cast(pl.Int64).alias("heavy_contributors"),
            pl.col("__top1").sum().cast(pl.Int64).alias("__top1_n"),
            pl.col("x").filter(pl.col("__top1")).sum().alias("__top1_x"),
            _gini(pl.col("x")).alias("gini_eligible"),
            _gini(pl.col("x").filter(pl.col("x") > 0)).alias("gini_contributors"),
        )
        .with_columns(
            ((pl.col("eligible") - pl.col("contributors")) / pl.col("eligible")).alias("lurker_share"),
            ((pl.col("contributors") - pl.col("heavy_contributors")) / pl.col("eligible"))
            .alias("light_contributor_share"),
            (pl.col("heavy_contributors") / pl.col("eligible")).alias("heavy_contributor_share"),
            pl.when((pl.col("__top1_n") >= min_group_size) & (pl.col("contributions") > 0))
            .then(pl.col("__top1_x") / pl.col("contributions"))
            .otherwise(None)
            .alias("top1pct_contribution_share"),
            # the Gini among contributors describes the contributors only: with 2 of them it gives
            # the ratio of their two counts, so it needs min_group_size contributors of its own
            pl.when(pl.col("contributors") >= min_group_size).then(pl.col("gini_contributors"))
            .alias("gini_contributors"),
        )
    )
    published = suppress_cells(
        cells, size_column="eligible", value_columns=list(_VALUES), partition_by=["population_type"],
        min_group_size=min_group_size, order_by=["population"],
    )
    return with_kind(
        published.with_columns(
            pl.lit(period_start, dtype=pl.Date).alias("period_start"),
            pl.lit(period_end, dtype=pl.Date).alias("period_end"),
        )
        .sort("population_type", "population")
        .select("period_start", "period_end", "population_type", "population", *_VALUES, "suppressed"),
        MetricKind.ACTIVITY,
    )
