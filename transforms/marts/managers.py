"""Managers and leaders as relays: the manager-relay effect, team uptake by the manager's
activity, the top levels' own activity and the reach of their content. Kind: activity."""

from __future__ import annotations

import polars as pl

from transforms.contracts.config import Settings
from transforms.marts import mart
from transforms.metrics import manager_relay as relay
from transforms.metrics.registry import MetricKind

_A = MetricKind.ACTIVITY


@mart("marts.manager_relay", kind=_A, grain="organisation (pooled member-weeks)",
      description="Effect of the manager being active last week on an adopted team member being active "
      "(linear probability model, week fixed effects, SEs clustered by manager).")
def manager_relay(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return relay.manager_relay_effect(person_week, min_group_size=settings.min_group_size)


@mart("marts.team_uptake_by_manager", kind=_A, grain="week x manager active last week",
      description="Active rate of adopted team members whose manager was, or was not, active the week before.")
def team_uptake_by_manager(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return relay.team_uptake_by_manager_activity(person_week, min_group_size=settings.min_group_size)


@mart("marts.leader_activity", kind=_A, grain="week",
      description="Share of the top levels (level <= 2) active and contributing each week.", read_by=("notebooks",))
def leader_activity(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return relay.leader_activity(person_week, min_group_size=settings.min_group_size)


@mart("marts.leader_reach", kind=_A, grain="week of the interaction",
      description="Distinct people who read, reacted to or replied to the top levels' content, per week.",
      read_by=("notebooks",))
def leader_reach(leader_reach_counts: pl.DataFrame, person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return relay.leader_content_reach(None, person_week, counts=leader_reach_counts,
                                      min_group_size=settings.min_group_size)
