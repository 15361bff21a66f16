"""Lifecycle states per person and calendar week.

Exact definitions, for an eligible person (a row of ``marts.person_week``) in week ``t``:

- ``active(t)``: the row's ``is_active``. ``active(t-1)``: the person's row of the CALENDAR week
  before is active, or the person's first active week ever is ``t-1``; a week without a row
  (not eligible that week, a gap) is not active.
- ``first``: the first active week EVER (the earlier of the contract's ``first_active_week``,
  computed over all data, and the first active row), not the first active week of the window.

==================  ==========================================================================
state               rule
==================  ==========================================================================
``new``             active(t) and t = first
``returning``       active(t) and active(t-1)
``resurrecting``    active(t), not active(t-1), first < t-1 (active before, then a pause)
``dormant``         not active(t), active(t-1)
``lapsed``          not active(t), not active(t-1), first < t-1
``never_active``    not active(t) and (never active, or first > t)
==================  ==========================================================================

The states partition the eligible people of every week. Edge cases: a **leaver** has no state
after the last eligible week (they leave the denominator; they are not counted dormant); a
**late joiner** starts in ``never_active`` (or ``new`` in their first active week) and a person
whose first activity predates their eligibility (e.g. a pilot member before joining the scope)
enters as ``resurrecting`` or ``returning``, never ``new``; a person back after a **gap** in
eligibility is ``resurrecting`` if active on return (the missing week counted as inactive).

Kind: activity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from transforms.metrics.history import PERSON_WEEK_CORE, with_first_active
from transforms.metrics.populations import aggregate_by_population, population_source_columns, require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_cells

__all__ = ["LIFECYCLE_STATES", "lifecycle_shares", "lifecycle_states"]

LIFECYCLE_STATES: tuple[str, ...] = ("new", "returning", "resurrecting", "dormant", "lapsed", "never_active")


@table_function(kind=MetricKind.ACTIVITY, metrics=("lifecycle_state",), grain="person x week")
def lifecycle_states(person_week: pl.DataFrame) -> pl.DataFrame:
    """The lifecycle state of every person-week row (person-level, not for publication).

    Grain: one row per person_key x week_start of ``person_week``. Denominator: none (a label);
    shares are in :func:`lifecycle_shares`. Columns: person_key, week_start, is_active,
    active_prev_week, first_active, state, kind.
    """
    require_columns(person_week, PERSON_WEEK_CORE, table="person_week")
    base = with_first_active(person_week).select("person_key", "week_start", "is_active", "first_active")
    prev = base.select(
        "person_key",
        (pl.col("week_start") + dt.timedelta(weeks=1)).alias("week_start"),
        pl.col("is_active").alias("__prev_row_active"),
    )
    t = pl.col("week_start")
    first = pl.col("first_active")
    joined = base.join(prev, on=["person_key", "week_start"], how="left").with_columns(
        (pl.col("__prev_row_active").fill_null(False) | (first == t - dt.timedelta(weeks=1)).fill_null(False)).alias(
            "active_prev_week"
        )
    )
    active, prev_active = pl.col("is_active"), pl.col("active_prev_week")
    before = (first < t - dt.timedelta(weeks=1)).fill_null(False)
    state = (
        pl.when(active & (first == t)).then(pl.lit("new"))
        .when(active & prev_active).then(pl.lit("returning"))
        .when(active & before).then(pl.lit("resurrecting"))
        .when(~active & prev_active).then(pl.lit("dormant"))
        .when(~active & before).then(pl.lit("lapsed"))
        .when(~active).then(pl.lit("never_active"))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    )
    out = joined.with_columns(state.alias("state"))
    bad = out.filter(pl.col("state").is_null())
    if bad.height:  # only reachable with contradictory input (first active week after an active row)
        raise ValueError(f"person_week: {bad.height} row(s) have no lifecycle state, e.g. "
                         f"{bad.row(0, named=True)}; first_active_week is inconsistent with is_active")
    return with_kind(
        out.select("person_key", "week_start", "is_active", "active_prev_week", "first_active", "state"),
        MetricKind.ACTIVITY,
    )


@table_function(kind=MetricKind.ACTIVITY, metrics=("lifecycle_share",), grain="week x population x state")
def lifecycle_shares(
    person_week: pl.DataFrame,
    *,
    populations: Sequence[str] = ("organisation",),
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """People in each lifecycle state per week and population, and their share of eligible headcount.

    Grain: one row per week x population x state (all six states, zero-filled). Denominator:
    ``eligible`` = people with a person-week row in that population and week. Populations below
    ``min_group_size`` eligible are suppressed (complementary within a type and week).
    """
    states = lifecycle_states(person_week).select("person_key", "week_start", "state")
    narrow = person_week.select("person_key", "week_start", *population_source_columns(populations, person_week))
    tagged = narrow.join(states, on=["person_key", "week_start"], how="left")
    cells = aggregate_by_population(
        tagged, populations, keep=("person_key", "week_start", "state"),
        aggregate=lambda long: long.group_by("week_start", "population_type", "population").agg(
            pl.col("person_key").n_unique().cast(pl.Int64).alias("eligible"),
            *[pl.col("person_key").filter(pl.col("state") == s).n_unique().cast(pl.Int64).alias(s)
              for s in LIFECYCLE_STATES],
        ),
    )
    published = suppress_cells(
        cells, size_column="eligible", value_columns=["eligible", *LIFECYCLE_STATES],
        partition_by=["week_start", "population_type"], min_group_size=min_group_size, order_by=["population"],
    )
    tidy = published.unpivot(
        index=["week_start", "population_type", "population", "eligible", "suppressed"],
        on=list(LIFECYCLE_STATES), variable_name="state", value_name="people",
    ).with_columns((pl.col("people") / pl.col("eligible")).alias("share"))
    order = {s: i for i, s in enumerate(LIFECYCLE_STATES)}
    return with_kind(
        tidy.with_columns(pl.col("state").replace_strict(order, return_dtype=pl.Int8).alias("__o"))
        .sort("week_start", "population_type", "population", "__o")
        .select("week_start", "population_type", "population", "state", "people", "eligible", "share", "suppressed"),
        MetricKind.ACTIVITY,
    )
