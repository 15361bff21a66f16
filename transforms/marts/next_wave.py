"""Where to roll out next: candidate org units and sites ranked by expected uptake (a model of past
waves' uptake, cross-validated) and by how representative of the people still waiting a wave made of
them would be, with wave options that show the trade-off (:mod:`transforms.pilot.next_wave`).
Kind: activity (uptake is what people do). Without a wave observed long enough to learn from, both
tables are written empty with their columns."""

from __future__ import annotations

import polars as pl

from transforms.contracts.config import Pilots, Settings
from transforms.marts import mart
from transforms.metrics.registry import MetricKind
from transforms.pilot.next_wave import CANDIDATES_SCHEMA, OPTIONS_SCHEMA, decision_week
from transforms.pilot.next_wave import next_wave as rank_next_wave


@mart("marts.next_wave_candidates", "marts.next_wave_options", kind=MetricKind.ACTIVITY,
      grain="candidate population (org unit, site); wave option",
      description="Candidate org units and sites for the next wave: expected uptake (logistic model of past "
      "waves' weekly activity on HR attributes, pre-period behaviour and manager activity; out-of-fold AUC on "
      "unseen teams with its interval) and the representativeness index (mean |SMD|) against the people still "
      "waiting; wave options (highest uptake, stratified) with the trade-off and the wave that would teach "
      "the most. Groups under the minimum size are never listed.", read_by=("report",))
def next_wave(person_week: pl.DataFrame, pilots: Pilots, settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    if not pilots.cohorts or person_week.height == 0:
        return pl.DataFrame(schema=CANDIDATES_SCHEMA), pl.DataFrame(schema=OPTIONS_SCHEMA)
    as_of = decision_week(person_week, general_rollout=settings.general_rollout)
    candidates, options, _ = rank_next_wave(
        person_week, as_of=as_of, window_end=settings.general_rollout,
        cohort_end={c.name: c.end for c in pilots.cohorts if c.end}, min_group_size=settings.min_group_size)
    return candidates, options
