"""The adoption curve (``marts.adoption_curve``): activity states per week and population.

Kind: activity. Denominator of every rate: eligible headcount (rows of ``marts.person_week``,
which holds one row per ELIGIBLE employee per week, zero-activity weeks included). Platform
accounts (``has_account``) never enter a denominator.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import polars as pl

from transforms.metrics.history import PERSON_WEEK_CORE, with_first_active
from transforms.metrics.populations import (
    DEFAULT_POPULATIONS,
    require_columns,
    require_unique_person_weeks,
    with_population,
)
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_cells

log = logging.getLogger(__name__)

__all__ = ["ADOPTION_CURVE_COLUMNS", "adoption_curve"]

COUNTS = ("eligible", "active", "engaged", "contributors", "ever_active")
RATES = ("active_rate", "engaged_rate", "contributor_rate", "ever_active_rate")
ADOPTION_CURVE_COLUMNS: tuple[str, ...] = (
    "week_start", "iso_week", "population_type", "population", *COUNTS, *RATES, "suppressed", "kind",
)


@table_function(
    kind=MetricKind.ACTIVITY,
    metrics=("eligible", "active_rate", "engaged_rate", "contributor_rate", "ever_active_rate"),
    grain="week x population",
)
def adoption_curve(
    person_week: pl.DataFrame,
    *,
    populations: Sequence[str] = DEFAULT_POPULATIONS,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Weekly adoption per population: eligible, active, engaged, contributors, ever active, and rates.

    Grain: one row per week x population type x population. Denominator of every rate: ``eligible``
    = distinct people with a person-week row (eligible headcount from HR) in that population and
    week. ``ever_active`` counts eligible people whose first active week ever is on or before the
    week. Cells with fewer than ``min_group_size`` eligible people are suppressed (counts and rates
    null, ``suppressed`` true), with complementary suppression across the populations of one type
    and week so that no suppressed cell can be recovered from the organisation total.
    """
    require_columns(person_week, [*PERSON_WEEK_CORE, "iso_week"], table="person_week")
    require_unique_person_weeks(person_week)
    if isinstance(populations, str):
        populations = (populations,)
    base = with_first_active(person_week).with_columns(
        (pl.col("first_active") <= pl.col("week_start")).fill_null(False).alias("ever")
    ).lazy()
    # one aggregate per population type (rows are unique person-weeks, so sums are head counts)
    per_type = [
        with_population(base, ptype)
        .group_by("week_start", "population_type", "population")
        .agg(
            pl.col("iso_week").first(),
            pl.len().alias("eligible"),
            pl.col("is_active").sum().alias("active"),
            pl.col("is_engaged").sum().alias("engaged"),
            pl.col("is_contributor").sum().alias("contributors"),
            pl.col("ever").sum().alias("ever_active"),
        )
        for ptype in populations
    ]
    counts = pl.concat(per_type, how="vertical").collect().with_columns(pl.col(c).cast(pl.Int64) for c in COUNTS)
    rated = counts.with_columns(
        (pl.col("active") / pl.col("eligible")).alias("active_rate"),
        (pl.col("engaged") / pl.col("eligible")).alias("engaged_rate"),
        (pl.col("contributors") / pl.col("eligible")).alias("contributor_rate"),
        (pl.col("ever_active") / pl.col("eligible")).alias("ever_active_rate"),
    )
    published = suppress_cells(
        rated,
        size_column="eligible",
        value_columns=[*COUNTS, *RATES],
        partition_by=["week_start", "population_type"],
        min_group_size=min_group_size,
        order_by=["population"],
    )
    log.debug("adoption_curve: %d cells, %d suppressed", published.height, published["suppressed"].sum())
    order = {p: i for i, p in enumerate(populations)}
    return (
        with_kind(published, MetricKind.ACTIVITY)
        .with_columns(pl.col("population_type").replace_strict(order, return_dtype=pl.Int32).alias("__o"))
        .sort("week_start", "__o", "population")
        .select(ADOPTION_CURVE_COLUMNS)
    )
