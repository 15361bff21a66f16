"""Usage segments, the Viva Insights convention, per person and calendar week.

Definitions (configurable through :class:`SegmentRules`), on one activity count per person-week
(``actions_total`` by default):

- The window of week ``t`` is the ``window_weeks`` (12) CALENDAR weeks ending with ``t``, cut at
  the person's first eligible week: at the start of a person's history it is shorter
  (``window_len`` = weeks since the first person-week row + 1, at most 12; a frame cut to recent
  weeks gives that first row's week in a ``first_row_week`` column). A week inside the
  window without a row (a gap in eligibility, an absence) counts as a week with zero actions.
- ``active_weeks`` = weeks of the window with at least ``min_weekly_actions`` (1) actions;
  ``mean_actions`` = the window's total actions / ``window_len``.
- habit = ``active_weeks`` >= ``habit_weeks`` (9) in a full window; in a shorter window of n
  weeks, >= ceil(habit_weeks * n / window_weeks) when ``scale_short_windows`` (default), else the
  full ``habit_weeks`` (nobody has a habit before week 9).
- ``Power user`` = habit and mean >= ``power_mean`` (15); ``Habitual user`` = habit (and not Power);
  ``Novice user`` = mean >= ``novice_mean`` (1); ``Low user`` = mean > 0; ``Non-user`` = mean 0.

The default (:class:`SegmentRules`) differs from Microsoft's ``vivainsights.identify_usage_segments``
in two ways, both deliberate: a short window at the start of a person's history needs a scaled
share of active weeks (``ceil(9 n / 12)``) rather than the full 9, so that people who joined (or
whose site got the platform) recently can be habitual before their ninth week; and windows are
calendar weeks, a week without a row counting as zero, where ``vivainsights`` rolls over the
person's last 12 *rows* (a gap in the data is skipped). :meth:`SegmentRules.vivainsights` gives
the exact ``vivainsights`` behaviour: a strict 9-of-12 habit (nobody has one before their ninth
row), the mean over the available rows, windows over rows.

Kind: activity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from transforms.metrics.history import FIRST_ROW_WEEK
from transforms.metrics.populations import aggregate_by_population, population_source_columns, require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_cells

__all__ = ["SEGMENTS", "SegmentRules", "usage_segment_shares", "usage_segments"]

POWER, HABITUAL, NOVICE, LOW, NON_USER = "Power user", "Habitual user", "Novice user", "Low user", "Non-user"
#: Segments from most to least engaged.
SEGMENTS: tuple[str, ...] = (POWER, HABITUAL, NOVICE, LOW, NON_USER)


@dataclass(frozen=True)
class SegmentRules:
    """Thresholds of the usage segments (defaults: the Viva Insights convention)."""

    window_weeks: int = 12
    habit_weeks: int = 9
    min_weekly_actions: float = 1
    power_mean: float = 15
    novice_mean: float = 1
    scale_short_windows: bool = True
    #: windows over calendar weeks (a missing week counts as zero); False: over the person's rows
    calendar_weeks: bool = True

    @classmethod
    def vivainsights(cls) -> SegmentRules:
        """The exact ``vivainsights.identify_usage_segments`` rules ("12w"): a strict 9-of-12 habit
        with no scaling at the start of a person's history, windows over the person's rows."""
        return cls(scale_short_windows=False, calendar_weeks=False)

    def __post_init__(self) -> None:
        if not 1 <= self.habit_weeks <= self.window_weeks:
            raise ValueError(f"habit_weeks must be in 1..window_weeks, got {self.habit_weeks} / {self.window_weeks}")
        if self.power_mean < self.novice_mean or self.novice_mean <= 0:
            raise ValueError("thresholds must satisfy 0 < novice_mean <= power_mean")


@table_function(kind=MetricKind.ACTIVITY, metrics=("usage_segment",), grain="person x week")
def usage_segments(
    person_week: pl.DataFrame,
    *,
    metric: str = "actions_total",
    rules: SegmentRules = SegmentRules(),
) -> pl.DataFrame:
    """The usage segment of every person-week row (person-level, not for publication).

    Grain: one row per person_key x week_start present in ``person_week``. Denominator of the
    window mean: ``window_len`` calendar weeks (see the module docstring), not the number of rows.
    Columns: person_key, week_start, window_len, active_weeks, window_actions, mean_actions,
    habit, segment, kind.
    """
    require_columns(person_week, ["person_key", "week_start", metric], table="person_week")
    w = rules.window_weeks
    # the person's first week with a row: given by a frame cut to recent weeks, else its first row
    first_row = (pl.col(FIRST_ROW_WEEK) if FIRST_ROW_WEEK in person_week.columns
                 else pl.col("week_start")).min().over("person_key")
    base = (
        person_week.select("person_key", "week_start", pl.col(metric).fill_null(0).cast(pl.Float64).alias("__x"),
                           first_row.alias("__first_row"))
        .unique(["person_key", "week_start"], keep="first")
        .sort("person_key", "week_start")
    )
    active = (pl.col("__x") >= rules.min_weekly_actions).cast(pl.Int32)
    if rules.calendar_weeks:
        windowed = base.with_columns(
            pl.col("__x").rolling_sum_by("week_start", window_size=f"{w}w").over("person_key").alias("window_actions"),
            active.rolling_sum_by("week_start", window_size=f"{w}w").over("person_key").alias("active_weeks"),
            pl.min_horizontal(
                ((pl.col("week_start") - pl.col("__first_row")).dt.total_days() // 7) + 1,
                pl.lit(w),
            )
            .cast(pl.Int32)
            .alias("window_len"),
        )
    else:  # vivainsights: the person's last w rows, whatever their dates
        windowed = base.with_columns(
            pl.col("__x").rolling_sum(window_size=w, min_samples=1).over("person_key").alias("window_actions"),
            active.rolling_sum(window_size=w, min_samples=1).over("person_key").alias("active_weeks"),
            pl.min_horizontal(pl.int_range(1, pl.len() + 1).over("person_key"), pl.lit(w)).cast(pl.Int32)
            .alias("window_len"),
        )
    if rules.scale_short_windows:
        needed = (pl.lit(rules.habit_weeks) * pl.col("window_len") / w).ceil()
    else:
        needed = pl.lit(rules.habit_weeks)
    mean = pl.col("window_actions") / pl.col("window_len")
    out = windowed.with_columns(mean.alias("mean_actions"), (pl.col("active_weeks") >= needed).alias("habit"))
    segment = (
        pl.when(pl.col("habit") & (pl.col("mean_actions") >= rules.power_mean)).then(pl.lit(POWER))
        .when(pl.col("habit")).then(pl.lit(HABITUAL))
        .when(pl.col("mean_actions") >= rules.novice_mean).then(pl.lit(NOVICE))
        .when(pl.col("mean_actions") > 0).then(pl.lit(LOW))
        .otherwise(pl.lit(NON_USER))
    )
    out = out.with_columns(segment.alias("segment"), pl.col("active_weeks").cast(pl.Int32))
    return with_kind(
        out.select("person_key", "week_start", "window_len", "active_weeks", "window_actions", "mean_actions",
                   "habit", "segment"),
        MetricKind.ACTIVITY,
    )


@table_function(kind=MetricKind.ACTIVITY, metrics=("usage_segment_share",), grain="week x population x segment")
def usage_segment_shares(
    person_week: pl.DataFrame,
    *,
    populations: Sequence[str] = ("organisation",),
    metric: str = "actions_total",
    rules: SegmentRules = SegmentRules(),
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Share of eligible people in each usage segment, per week and population.

    Grain: one row per week x population x segment (all five segments, zero-filled). Denominator:
    ``eligible`` = people with a person-week row in that population and week. Populations with
    fewer than ``min_group_size`` eligible are suppressed (complementary within a type and week).
    """
    segs = usage_segments(person_week, metric=metric, rules=rules).select("person_key", "week_start", "segment")
    narrow = person_week.select("person_key", "week_start", *population_source_columns(populations, person_week))
    tagged = narrow.join(segs, on=["person_key", "week_start"], how="left")
    cells = aggregate_by_population(
        tagged, populations, keep=("person_key", "week_start", "segment"),
        aggregate=lambda long: long.group_by("week_start", "population_type", "population").agg(
            pl.col("person_key").n_unique().cast(pl.Int64).alias("eligible"),
            *[pl.col("person_key").filter(pl.col("segment") == s).n_unique().cast(pl.Int64).alias(s)
              for s in SEGMENTS],
        ),
    )
    published = suppress_cells(
        cells,
        size_column="eligible",
        value_columns=["eligible", *SEGMENTS],
        partition_by=["week_start", "population_type"],
        min_group_size=min_group_size,
        order_by=["population"],
    )
    tidy = published.unpivot(
        index=["week_start", "population_type", "population", "eligible", "suppressed"],
        on=list(SEGMENTS),
        variable_name="segment",
        value_name="people",
    ).with_columns((pl.col("people") / pl.col("eligible")).alias("share"))
    order = {s: i for i, s in enumerate(SEGMENTS)}
    tidy = tidy.with_columns(pl.col("segment").replace_strict(order, return_dtype=pl.Int8).alias("__o"))
    return with_kind(
        tidy.sort("week_start", "population_type", "population", "__o").select(
            "week_start", "population_type", "population", "segment", "people", "eligible", "share", "suppressed"
        ),
        MetricKind.ACTIVITY,
    )
