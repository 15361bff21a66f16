"""Communities: activity in each chartered community, the outputs its charter recognises, and the
flags that set the two side by side (busy without outputs, silent). Activity and outputs stay in
separate tables; the flags are of kind link."""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.contracts.config import Charters, Settings
from transforms.marts import mart
from transforms.metrics import community_outputs as communities
from transforms.metrics.community_outputs import CommunityCounts
from transforms.metrics.registry import MetricKind

EventWeeks = tuple[dt.date | None, dt.date | None]


@mart("marts.community_activity", kind=MetricKind.ACTIVITY, grain="community x week",
      description="Actions and active people in each chartered community per week.", read_by=("notebooks",))
def community_activity(community_counts: CommunityCounts, charters: Charters, event_weeks: EventWeeks,
                       settings: Settings) -> pl.DataFrame:
    start, end = event_weeks
    return communities.community_activity(community_counts, charters, start=start, end=end,
                                          min_group_size=settings.min_group_size)


@mart("marts.community_outputs", kind=MetricKind.OUTPUT, grain="community x week",
      description="Outputs per community and week by its charter's rule, against its target.")
def community_outputs(community_counts: CommunityCounts, charters: Charters, event_weeks: EventWeeks) -> pl.DataFrame:
    start, end = event_weeks
    return communities.community_outputs(community_counts, charters, start=start, end=end)


@mart("marts.community_flags", kind=MetricKind.LINK, grain="community over the period",
      description="Communities busy without outputs, and silent ones: activity and outputs side by side.")
def community_flags(community_counts: CommunityCounts, charters: Charters, event_weeks: EventWeeks) -> pl.DataFrame:
    start, end = event_weeks
    return communities.community_flags(community_counts, charters, start=start, end=end)
