"""Pilot effects on perceived value: pilot members' survey answers against non-members', corrected
for selection exactly as the pilot's activity metrics and outcome KPIs are.

The same windows, baseline, controls and estimators as ``marts.pilot_effects``
(:mod:`transforms.pilot.units`, :func:`transforms.pilot.effects_mart.unit_effect_rows`): unit =
person; outcome = the person's answer to the question in the cohort's window (their mean answer
when they answered in several waves of it; each wave's last answer); treated = the cohort's
members (intent to treat), controls = people in no pilot or in a cohort starting after the window;
covariates = HR attributes at the baseline and pre-pilot activity (the mean weekly active, engaged
and contributor states over the baseline weeks). Estimand: the effect on the members who answered
(ATT), with the naive difference beside every adjusted estimate.

What it cannot correct: who answers. Respondents are a self-selected part of each arm; the
adjustment assumes that, given the covariates, answering is unrelated to what the pilot did to a
person's perception. No difference-in-differences is estimated: a pulse survey has too few waves
before a pilot for a pre-trend test. Rows whose treated or control arm has fewer than
``min_group_size`` respondents carry no numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

import polars as pl
from threadpoolctl import threadpool_limits

from transforms.contracts.config import Surveys
from transforms.metrics.perception import last_answers, survey_questions
from transforms.pilot.effect import METHODS
from transforms.pilot.effects_mart import (
    ACTIVITY_METRICS,
    DEFAULT_ATTRIBUTES,
    PILOT_EFFECTS,
    suppress_small_arms,
    unit_effect_rows,
)
from transforms.pilot.errors import PilotInputError
from transforms.pilot.units import PRE_WEEKS, person_baseline, pilot_windows, unit_frame_of_outcomes

log = logging.getLogger(__name__)

__all__ = ["PERCEPTION_KIND", "perception_pilot_effects"]

#: The ``metric_kind`` of the rows.
PERCEPTION_KIND = "perception"


def perception_pilot_effects(
    answers: pl.DataFrame,
    person_week: pl.DataFrame,
    surveys: Surveys,
    *,
    window_end: dt.date | None = None,
    cohort_end: Mapping[str, dt.date] | None = None,
    baseline_end: dt.date | None = None,
    baseline_weeks: int = PRE_WEEKS,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    estimators: Sequence[str] = METHODS,
    min_group_size: int = 5,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Rows of :data:`~transforms.pilot.effects_mart.PILOT_EFFECTS` (``metric`` = the question id,
    ``metric_kind`` = ``perception``, ``estimand`` = ATT, ``row_type`` = effect), one per cohort,
    scaled question and estimator (module docstring). ``answers``: pseudonymous matched answers
    (:data:`transforms.metrics.perception.ANSWER_COLUMNS`). ``window_end``, ``cohort_end``,
    ``baseline_end``: as :func:`~transforms.pilot.effects_mart.pilot_effects`.
    """
    windows = pilot_windows(person_week, window_end=window_end, cohort_end=cohort_end)
    if not windows:
        raise PilotInputError("no cohort has a non-empty estimation window", frame="person_week")
    activity = list(dict.fromkeys(ACTIVITY_METRICS.values()))
    baseline = person_baseline(person_week, attributes=attributes, activity=activity,
                               baseline_end=baseline_end or min(w.start for w in windows),
                               baseline_weeks=baseline_weeks)
    covariates = [*attributes, *(f"pre_{c}" for c in activity)]
    answered = last_answers(answers)
    rows: list[dict] = []
    with threadpool_limits(limits=1, user_api="blas"):  # many small fits: threads only contend
        for question in survey_questions(surveys)["question_id"].to_list():
            mine = answered.filter(pl.col("question_id") == question)
            for w in windows:
                outcomes = (mine.filter((pl.col("week_start") >= w.start) & (pl.col("week_start") < w.end))
                            .group_by("person_key").agg(pl.col("answer").cast(pl.Float64).mean().alias("outcome")))
                if outcomes.height == 0:
                    rows.append({**{c: None for c in PILOT_EFFECTS.names}, "cohort": w.cohort, "wave": w.wave,
                                 "support_level": w.support_level, "metric": question,
                                 "metric_kind": PERCEPTION_KIND, "estimator": "naive", "estimand": "ATT",
                                 "row_type": "effect", "window_start": w.start, "window_end": w.end,
                                 "suppressed": False,
                                 "note": "no survey wave of this question falls inside the cohort's window"})
                    continue
                frame = unit_frame_of_outcomes(outcomes, w, baseline=baseline)
                rows += unit_effect_rows(w, frame, metric=question, kind=PERCEPTION_KIND, covariates=covariates,
                                         estimators=estimators, alpha=alpha)
    out = pl.DataFrame(rows, schema=PILOT_EFFECTS.schema, orient="row") if rows else \
        pl.DataFrame(schema=PILOT_EFFECTS.schema)
    log.info("perception pilot effects: %d row(s) for %d cohort(s)", out.height, len(windows))
    return suppress_small_arms(out, min_group_size)
