"""The pulse survey: who answers each wave, what they answer (a planted model with a known pilot
effect and a known link with activity), and its truth. The files are written by
:mod:`pipelines.simulator.survey_export`.

Three waves of two weeks open on the Mondays of weeks ``round(0.1 W)`` (before the pilots),
``round(0.45 W)`` (both cohorts in their window) and ``min(round(0.85 W), W - 2)`` (after the
general roll-out). Everyone eligible on a wave's Monday is invited; a person answers with
probability ``survey_response_rate`` (office, frontline) ``+ survey_pilot_response_boost`` for pilot
members, on a day of the two weeks, if still employed that week (answering depends on nothing a
pilot changes, so it adds no bias given worker type and pilot assignment).

Each scaled question q has a planted expected answer (``perception_model``)::

    mu = base_q + activity_q * s + frontline_q * is_frontline + tau_q,c * D

``s`` = the person's observed active weeks / eligible weeks in the ``survey_activity_weeks`` weeks
before the answer's week (what a correct pipeline computes from ``marts.person_week``; 0 without
an eligible week there), ``D`` = 1 for a member of cohort c from its start on (intent to treat),
``tau_q,c`` = ``tau_<support level>``. The answer is ``low + Binomial(high - low, (mu - low) / (high
- low))`` (Likert 1-5, NPS 0-10), so its expectation is exactly ``mu``: the slope on ``s`` given
the controls is ``activity_q`` (the planted link) and the pilot's effect on a member's expected
answer is ``tau_q,c + activity_q * (s1 - s0)`` (the direct effect plus the effect through the
activity the pilot added), with ``s0`` from the counterfactual world without pilots. Answers of
both worlds come from the same uniforms (common random numbers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulator import truth as truth_mod
from pipelines.simulator.behaviour import Behaviour
from pipelines.simulator.identity import IdentityPlan
from pipelines.simulator.organisation import Organisation
from pipelines.simulator.parameters import SimulationParameters, Timeline, round_half_up
from pipelines.simulator.pilots import PilotPlan

SURVEY_ID = "collaboration-pulse"
SURVEY_TITLE = "Collaboration pulse"
#: The scaled questions: (id, text as asked, scale, lowest point, highest point).
QUESTIONS: tuple[tuple[str, str, str, int, int], ...] = (
    ("saves_time", "The platform saves me time in my daily work", "likert_5", 1, 5),
    ("find_expertise", "I can find the expertise I need through the platform", "likert_5", 1, 5),
    ("recommend", "How likely are you to recommend the platform to a colleague?", "nps_0_10", 0, 10),
)
#: The open question (its answers are written to the files and dropped by the connector).
COMMENTS = ("comments", "What would make the platform more useful to you?")
COMMENT_TEXTS: tuple[str, ...] = (
    "More short video tutorials for the plant teams would help a lot",
    "Please make the mobile app faster on the shop floor",
    "I would like the channels of my site to be easier to find",
    "Notifications are too many, I miss the important ones",
    "A training session for new joiners would be very useful",
    "Search should find documents shared in the communities",
    "It already saves me many emails every week, thank you",
    "Our manager never posts, so the team does not use it much",
    "Translate the main announcements into Spanish and German please",
    "Let us follow topics instead of joining so many channels",
)
WAVE_NAMES: tuple[str, ...] = ("baseline", "mid-pilot", "after-rollout")
WAVE_WEEKS = 2


@dataclass(frozen=True)
class SurveyPlan:
    """The waves and every answer of the simulated pulse survey."""

    waves: tuple[tuple[str, int], ...]  # (name, opening week)
    #: one row per answer to a scaled question: person, wave, week (of the answer), day, question_id,
    #: answer (factual), answer_cf (counterfactual), mu, mu_cf, share, share_cf, cohort (-1 none), treated (D)
    answers: pl.DataFrame
    #: one row per free-text comment: person, wave, day, text
    comments: pl.DataFrame
    #: one row per respondent and wave: person, wave, week, day (for the files' times and ids)
    respondents: pl.DataFrame

    def wave_dates(self, timeline: Timeline) -> list[tuple[str, dt.date, dt.date]]:
        return [(name, timeline.monday(t), timeline.monday(t) + dt.timedelta(days=7 * WAVE_WEEKS - 1))
                for name, t in self.waves]


def wave_weeks(weeks: int) -> tuple[int, int, int]:
    """Opening weeks of the three waves (module docstring)."""
    return (max(1, round_half_up(0.1 * weeks)), round_half_up(0.45 * weeks),
            min(round_half_up(0.85 * weeks), weeks - WAVE_WEEKS))


def _active_share(obs: np.ndarray, eligible: np.ndarray, person: np.ndarray, week: np.ndarray, weeks: int) -> np.ndarray:
    """Observed active weeks / eligible weeks in [week - weeks, week) per (person, week) pair (0 if none)."""
    cum_obs = np.concatenate([np.zeros((obs.shape[0], 1)), np.cumsum(obs & eligible, axis=1)], axis=1)
    cum_el = np.concatenate([np.zeros((obs.shape[0], 1)), np.cumsum(eligible, axis=1)], axis=1)
    lo = np.maximum(week - weeks, 0)
    active = cum_obs[person, week] - cum_obs[person, lo]
    weeks_el = cum_el[person, week] - cum_el[person, lo]
    return np.where(weeks_el > 0, active / np.maximum(weeks_el, 1), 0.0)


def plan_survey(org: Organisation, pilots: PilotPlan, identity: IdentityPlan, behaviour: Behaviour,
                timeline: Timeline, params: SimulationParameters, rng: np.random.Generator) -> SurveyPlan:
    """Who answers each wave and what (module docstring), deterministic in ``rng``."""
    W = timeline.weeks
    obs1 = truth_mod.observable_active(behaviour, identity)
    obs0 = truth_mod.observable_active(behaviour, identity, counterfactual=True)
    starts = pilots.start_week_of()
    support = np.asarray([c.support_level for c in pilots.cohorts] + [""], dtype=object)[pilots.cohort_of]
    in_pilot = pilots.cohort_of >= 0
    rate = np.where(org.is_frontline, params.survey_response_rate[1], params.survey_response_rate[0])
    rate = np.clip(rate + params.survey_pilot_response_boost * in_pilot, 0, 1)
    waves = tuple(zip(WAVE_NAMES, wave_weeks(W), strict=True))
    frames, respondents, comments = [], [], []
    for name, t in waves:
        invited = np.flatnonzero(org.eligible[:, t])
        day = rng.integers(0, 7 * WAVE_WEEKS, size=len(invited))
        u = rng.random(len(invited))
        week = t + day // 7
        answers = (u < rate[invited]) & org.employed[invited, np.minimum(week, W - 1)]
        person, day, week = invited[answers], day[answers], week[answers]
        respondents.append(pl.DataFrame({"person": person, "wave": name, "week": week, "day": day}))
        share1 = _active_share(obs1, org.eligible, person, week, params.survey_activity_weeks)
        share0 = _active_share(obs0, org.eligible, person, week, params.survey_activity_weeks)
        treated = in_pilot[person] & (week >= starts[person])
        for qid, _, _, low, high in QUESTIONS:
            model = params.perception_model[qid]
            tau = np.asarray([model.get(f"tau_{s}", 0.0) if s else 0.0 for s in support[person]], dtype=float)
            base = model["base"] + model["frontline"] * org.is_frontline[person]
            mu1 = base + model["activity"] * share1 + tau * treated
            mu0 = base + model["activity"] * share0
            n = high - low
            uniforms = rng.random((len(person), n))
            p1 = np.clip((mu1 - low) / n, 0, 1)
            p0 = np.clip((mu0 - low) / n, 0, 1)
            frames.append(pl.DataFrame({
                "person": person, "wave": name, "week": week, "day": day, "question_id": qid,
                "answer": low + (uniforms < p1[:, None]).sum(axis=1), "answer_cf": low + (uniforms < p0[:, None]).sum(axis=1),
                "mu": low + n * p1, "mu_cf": low + n * p0, "share": share1, "share_cf": share0,
                "cohort": pilots.cohort_of[person], "treated": treated,
            }))
        said = rng.random(len(person)) < params.survey_comment_share
        texts = rng.integers(0, len(COMMENT_TEXTS), size=len(person))
        comments.append(pl.DataFrame({"person": person[said], "wave": name, "day": day[said],
                                      "text": np.asarray(COMMENT_TEXTS)[texts[said]]}))
    return SurveyPlan(waves=waves, answers=pl.concat(frames).sort("wave", "person", "question_id"),
                      comments=pl.concat(comments).sort("wave", "person"),
                      respondents=pl.concat(respondents).sort("wave", "person"))


def survey_truth(plan: SurveyPlan, org: Organisation, pilots: PilotPlan, timeline: Timeline,
                 params: SimulationParameters) -> dict[str, object]:
    """The planted perception truth: the model, the waves, counts, each cohort's effect on its answering
    members (per question, in its window) and the planted link with activity."""
    G = timeline.general_rollout
    first_start = min((c.start_week for c in pilots.cohorts), default=0)
    baseline_weeks = slice(max(0, first_start - 8), first_start)
    has_baseline = org.eligible[:, baseline_weeks].any(axis=1) if first_start > 0 else np.zeros(org.n_people, bool)
    answers = plan.answers
    cohorts: dict[str, object] = {}
    for k, c in enumerate(pilots.cohorts):
        mine = answers.filter((pl.col("cohort") == k) & (pl.col("week") >= c.start_week) & (pl.col("week") < G))
        mine = mine.filter(pl.Series(has_baseline[mine["person"].to_numpy()]))
        per_question = {}
        for qid, *_ in QUESTIONS:
            per_person = (mine.filter(pl.col("question_id") == qid).group_by("person")
                          .agg((pl.col("mu") - pl.col("mu_cf")).mean().alias("expected"),
                               (pl.col("answer") - pl.col("answer_cf")).cast(pl.Float64).mean().alias("realised"),
                               (pl.col("share") - pl.col("share_cf")).mean().alias("share")))
            model = params.perception_model[qid]
            per_question[qid] = {
                "respondents": per_person.height,
                "att_expected": _r(per_person["expected"].mean()),
                "att_realised": _r(per_person["realised"].mean()),
                "tau": model.get(f"tau_{c.support_level}", 0.0),
                "activity_share_effect": _r(per_person["share"].mean()),
            }
        cohorts[c.name] = {"window": f"weeks [{c.start_week}, {G})", "questions": per_question}
    counts = answers.group_by("wave", "question_id").len().sort("wave", "question_id")
    return {
        "survey_id": SURVEY_ID,
        "waves": [{"name": n, "opens": o.isoformat(), "closes": c.isoformat()} for n, o, c in plan.wave_dates(timeline)],
        "model": ("answer = low + Binomial(high - low, (mu - low) / (high - low)); mu = base + activity * s + "
                  "frontline * is_frontline + tau_<support> * D; s = observed active weeks / eligible weeks in the "
                  f"{params.survey_activity_weeks} weeks before the answer's week; D = pilot member from its start"),
        "questions": {qid: {"text": text, "scale": scale, **params.perception_model[qid]}
                      for qid, text, scale, _, _ in QUESTIONS},
        "respondents_by_wave": dict(plan.respondents.group_by("wave").len().sort("wave").iter_rows()),
        "answers_by_wave_and_question": [{"wave": w, "question_id": q, "answers": n} for w, q, n in counts.iter_rows()],
        "comments": plan.comments.height,
        "activity_link": {qid: params.perception_model[qid]["activity"] for qid, *_ in QUESTIONS},
        "activity_link_estimand": ("expected change in the answer (scale points) per unit of the respondent's share of "
                                   "observed active weeks in the weeks before answering, given worker type and pilot "
                                   "assignment at the time"),
        "pilot": cohorts,
        "pilot_estimand": ("mean over a cohort's members who answered in its window (and were eligible in the 8 weeks "
                           "before the first pilot) of E[answer | pilots] - E[answer | no pilots]"),
    }


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)
