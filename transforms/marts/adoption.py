"""Activity marts of the whole eligible population: the adoption curve, usage segments, lifecycle,
retention, stickiness, participation inequality, non-users and the digital divide.

Every rate's denominator is eligible headcount (rows of ``marts.person_week``); every table is of
kind activity and suppresses cells below the organisation's ``min_group_size``.
"""

from __future__ import annotations

import polars as pl

from transforms.contracts.config import Settings
from transforms.marts import WeekWindow, mart
from transforms.metrics import inequality, lifecycle, non_users, retention, stickiness, usage_segments
from transforms.metrics.adoption_curve import adoption_curve as adoption_curve_table
from transforms.metrics.populations import ANALYSIS_POPULATIONS, DEFAULT_POPULATIONS, ORGANISATION
from transforms.metrics.registry import MetricKind

_A = MetricKind.ACTIVITY
_FLAGS = ("is_active", "is_engaged", "is_contributor")


def _population_columns(populations: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p for p in populations if p != ORGANISATION)


@mart("marts.adoption_curve", kind=_A, grain="week x population type x population",
      description="Per week and population: eligible, active, engaged, contributors, ever-active and their "
      "rates over eligible headcount; small cells suppressed.", read_by=("report", "notebooks"),
      week_window=WeekWindow(0, ("iso_week", *_FLAGS, *_population_columns(DEFAULT_POPULATIONS))))
def adoption_curve(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return adoption_curve_table(person_week, min_group_size=settings.min_group_size)


@mart("marts.usage_segments", kind=_A, grain="week x population x segment",
      description="Share of eligible people per usage segment (Viva Insights convention), per week.",
      read_by=("report", "notebooks"),
      week_window=WeekWindow(usage_segments.SegmentRules().window_weeks - 1,
                             ("actions_total", *_population_columns(ANALYSIS_POPULATIONS))))
def usage_segments_mart(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return usage_segments.usage_segment_shares(person_week, populations=ANALYSIS_POPULATIONS,
                                                min_group_size=settings.min_group_size)


@mart("marts.lifecycle", kind=_A, grain="week x population x state",
      description="New / returning / resurrecting / dormant / lapsed / never-active shares of eligible people "
      "per week.", week_window=WeekWindow(1, (*_FLAGS, *_population_columns(ANALYSIS_POPULATIONS))))
def lifecycle_mart(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return lifecycle.lifecycle_shares(person_week, populations=ANALYSIS_POPULATIONS,
                                      min_group_size=settings.min_group_size)


@mart("marts.retention", kind=_A, grain="cohort x weeks since the cohort's start",
      description="Retention triangles, 'on' and 'on or after', for first-active-week cohorts and for pilot "
      "waves, stacked (cohort_by says which).")
def retention_mart(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    k = settings.min_group_size
    return pl.concat([
        retention.retention_triangle(person_week, cohort_by="first_active_week", min_group_size=k),
        retention.retention_triangle(person_week, cohort_by="pilot_wave", min_group_size=k),
    ], how="diagonal_relaxed")


@mart("marts.stickiness", kind=_A, grain="week x population",
      description="Weekly active / 4-week active per population.", read_by=("notebooks",),
      week_window=WeekWindow(stickiness.WINDOW_WEEKS - 1, ("is_active", *_population_columns(ANALYSIS_POPULATIONS))))
def stickiness_mart(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return stickiness.stickiness(person_week, populations=ANALYSIS_POPULATIONS, min_group_size=settings.min_group_size)


@mart("marts.inequality", kind=_A, grain="population x period",
      description="Participation inequality: 90-9-1 shares, top-1% share of contributions, Gini.")
def inequality_mart(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return inequality.participation_inequality(person_week, populations=ANALYSIS_POPULATIONS,
                                               min_group_size=settings.min_group_size)


@mart("marts.non_users", kind=_A, grain="population, as of the latest week",
      description="Eligible employees never active up to the latest week, by population.")
def non_users_mart(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return non_users.never_active(person_week, populations=ANALYSIS_POPULATIONS,
                                  min_group_size=settings.min_group_size)


@mart("marts.digital_divide", kind=_A, grain="week",
      description="Office minus frontline active rate, in percentage points, per week.")
def digital_divide(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return non_users.digital_divide(person_week, min_group_size=settings.min_group_size)


@mart("marts.time_to_first_activity", kind=_A, grain="population",
      description="Weeks from eligibility to first activity per population (Kaplan-Meier quantiles).",
      read_by=("notebooks",))
def time_to_first_activity(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return non_users.time_to_first_activity(person_week, populations=ANALYSIS_POPULATIONS,
                                            min_group_size=settings.min_group_size)
