"""Perceived value (metric kind perception), from pulse surveys: answers per survey wave, question
and population over HR denominators; the pilot's effect on them, corrected for selection like any
other pilot metric; and their link with activity (kind link: an association, not an effect).

Without a survey (``surveys.yaml`` absent or no answer matched to HR) every table is written empty
with its columns; without a pilot cohort the pilot-effect table is empty."""

from __future__ import annotations

import polars as pl

from transforms.contracts.config import Pilots, Settings, Surveys
from transforms.marts import mart
from transforms.metrics.perception import perception_activity_link as link_table
from transforms.metrics.perception import perception_by_population
from transforms.metrics.populations import ANALYSIS_POPULATIONS
from transforms.metrics.registry import MetricKind
from transforms.pilot.effects_mart import PILOT_EFFECTS
from transforms.pilot.perception import perception_pilot_effects
from transforms.pilot.units import PRE_WEEKS, first_pilot_start, pilot_window_end


@mart("marts.perception", kind=MetricKind.PERCEPTION, grain="survey wave x question x population",
      description="Pulse-survey answers per wave, question and population: respondents, response rate over eligible "
      "headcount, mean answer, top-2-box, NPS; groups under the minimum size suppressed.",
      read_by=("report", "notebooks"))
def perception(survey_answers: pl.DataFrame, person_week: pl.DataFrame, surveys: Surveys,
               settings: Settings) -> pl.DataFrame:
    return perception_by_population(survey_answers, person_week, surveys, populations=ANALYSIS_POPULATIONS,
                                    min_group_size=settings.min_group_size)


@mart("marts.perception_pilot_effect", kind=MetricKind.PERCEPTION,
      grain="cohort x question x estimator",
      description="The pilot's effect on its members' survey answers: naive difference beside ipw, aipw and matching "
      "on HR attributes and pre-pilot activity, as for every pilot metric (rows of marts.pilot_effects' shape, "
      "metric_kind perception).", read_by=("report", "notebooks"))
def perception_pilot_effect(survey_answers: pl.DataFrame, person_week: pl.DataFrame, surveys: Surveys,
                            pilots: Pilots, settings: Settings) -> pl.DataFrame:
    if not pilots.cohorts or survey_answers.height == 0:
        return pl.DataFrame(schema=PILOT_EFFECTS.schema)
    return perception_pilot_effects(
        survey_answers, person_week, surveys, window_end=pilot_window_end(settings),
        cohort_end={c.name: c.end for c in pilots.cohorts if c.end}, baseline_end=first_pilot_start(pilots),
        baseline_weeks=PRE_WEEKS, min_group_size=settings.min_group_size,
    )


@mart("marts.perception_activity_link", kind=MetricKind.LINK, grain="question (and activity band)",
      description="Survey answers against the respondent's share of active weeks before answering: slope with "
      "controls and an interval clustered by person, correlation, mean answer by activity band. Association, "
      "not effect.", read_by=("report", "notebooks"))
def perception_activity_link(survey_answers: pl.DataFrame, person_week: pl.DataFrame, surveys: Surveys,
                             settings: Settings) -> pl.DataFrame:
    return link_table(survey_answers, person_week, surveys, min_group_size=settings.min_group_size)
