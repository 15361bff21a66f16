"""Perceived value from pulse surveys (metric kind *perception*), and its link with activity.

Input ``answers``: one row per matched respondent's answer (``clean.survey_responses`` with the
person key instead of the employee id): ``person_key, survey_id, wave, question_id, answer,
responded_on, week_start`` (Monday of ``responded_on``). A person who answered a question twice in
one wave counts once, with their last answer (latest ``responded_on``, then ``response_id``).

- :func:`perception_by_population` (kind perception), per survey wave x question x population:
  ``eligible`` = eligible headcount of the population in the week the wave opens (rows of
  ``marts.person_week``: HR denominators, never the survey's mailing list); ``respondents`` =
  eligible people of that week who answered; ``response_rate`` = respondents / eligible; over
  respondents: ``mean_answer``, ``top2_share`` (Likert), ``promoters_share``, ``detractors_share``
  and ``nps`` (0-10 questions). A respondent not eligible in the week the wave opens (hired during
  the wave, out of scope) is left out, and counted in the log.
- :func:`perception_activity_link` (kind link): per question, the association between a person's
  answer and their share of active weeks among their eligible weeks in the :data:`LINK_WEEKS` weeks
  before the answer's week: an OLS slope with controls and a 95% interval clustered by person,
  the raw correlation, and the mean answer by activity band. An association, not an effect.

Privacy: a cell describing fewer than ``min_group_size`` respondents is suppressed, with
complementary suppression across the populations of one type (and the bands of one question), so
that no suppressed cell can be recovered from the organisation's row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import polars as pl

from transforms.contracts.config import Surveys
from transforms.contracts.vocabulary import SURVEY_SCALES
from transforms.metrics.populations import ANALYSIS_POPULATIONS, require_columns, with_populations
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_cells
from transforms.weeks import week_start_of

log = logging.getLogger(__name__)

__all__ = [
    "ACTIVITY_BANDS",
    "ANSWER_COLUMNS",
    "LINK_WEEKS",
    "activity_before_answers",
    "last_answers",
    "perception_activity_link",
    "perception_by_population",
    "survey_questions",
    "survey_waves",
]

#: Columns of the answers frame every function here reads.
ANSWER_COLUMNS: tuple[str, ...] = ("person_key", "survey_id", "wave", "question_id", "answer", "responded_on",
                                   "week_start")
#: Weeks before an answer's week over which the respondent's activity share is measured.
LINK_WEEKS = 8
#: Activity bands of the link's table: (label, lowest share, highest share), both inclusive.
ACTIVITY_BANDS: tuple[tuple[str, float, float], ...] = (
    ("never active", 0.0, 0.0), ("active up to half of the weeks", 1e-9, 0.5), ("active most weeks", 0.5 + 1e-9, 1.0),
)
_VALUES = ("respondents", "eligible", "response_rate", "mean_answer", "top2_share", "promoters_share",
           "detractors_share", "nps")


def survey_questions(surveys: Surveys) -> pl.DataFrame:
    """The scaled questions of the registry: ``survey_id, question_id, question, scale, direction, low, high``."""
    rows = [
        {"survey_id": s.id, "question_id": q.id, "question": q.text, "scale": q.scale, "direction": q.direction,
         "low": SURVEY_SCALES[q.scale][0], "high": SURVEY_SCALES[q.scale][1]}
        for s in surveys.surveys for q in s.questions if q.is_scaled
    ]
    return pl.DataFrame(rows, schema={"survey_id": pl.Utf8, "question_id": pl.Utf8, "question": pl.Utf8,
                                      "scale": pl.Utf8, "direction": pl.Utf8, "low": pl.Int16, "high": pl.Int16})


def survey_waves(surveys: Surveys) -> pl.DataFrame:
    """The waves of the registry: ``survey_id, wave, opens, closes, week_start`` (the Monday of ``opens``)."""
    rows = [{"survey_id": s.id, "wave": w.name, "opens": w.opens, "closes": w.closes,
             "week_start": week_start_of(w.opens)} for s in surveys.surveys for w in s.waves]
    return pl.DataFrame(rows, schema={"survey_id": pl.Utf8, "wave": pl.Utf8, "opens": pl.Date, "closes": pl.Date,
                                      "week_start": pl.Date})


def last_answers(answers: pl.DataFrame) -> pl.DataFrame:
    """One answer per person, survey wave and question: the last one (by day, then response id)."""
    require_columns(answers, ANSWER_COLUMNS, table="survey answers")
    order = ["responded_on", *(["response_id"] if "response_id" in answers.columns else [])]
    return (answers.filter(pl.col("person_key").is_not_null()).sort(order)
            .group_by("person_key", "survey_id", "wave", "question_id", maintain_order=True).last()
            .select(*ANSWER_COLUMNS))


def _scored(frame: pl.DataFrame) -> pl.DataFrame:
    """Answers with the 0/1 indicators the shares average: top-2-box, promoter, detractor (null where n/a)."""
    likert = pl.col("scale").str.starts_with("likert")
    nps = pl.col("scale") == "nps_0_10"
    favourable = pl.when(pl.col("direction") == "lower_is_better").then(pl.col("answer") <= pl.col("low") + 1) \
        .otherwise(pl.col("answer") >= pl.col("high") - 1)
    return frame.with_columns(
        pl.when(likert).then(favourable.cast(pl.Float64)).alias("__top2"),
        pl.when(nps).then((pl.col("answer") >= 9).cast(pl.Float64)).alias("__promoter"),
        pl.when(nps).then((pl.col("answer") <= 6).cast(pl.Float64)).alias("__detractor"),
    )


@table_function(kind=MetricKind.PERCEPTION,
                metrics=("perception_response_rate", "perception_mean_answer", "perception_top2_share",
                         "perception_nps"),
                grain="survey wave x question x population")
def perception_by_population(
    answers: pl.DataFrame,
    person_week: pl.DataFrame,
    surveys: Surveys,
    *,
    populations: Sequence[str] = ANALYSIS_POPULATIONS,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Respondents, response rate over eligible headcount, mean answer, top-2-box and NPS per survey
    wave, question and population (module docstring), small cells suppressed.

    Grain: one row per survey wave x question x population type x population; ``week_start`` is the
    Monday of the week the wave opens (the week whose headcount is the denominator).
    """
    questions = survey_questions(surveys)
    waves = survey_waves(surveys)
    answered = last_answers(answers)
    grid = waves.join(questions, on="survey_id", how="inner")
    # everyone eligible the week each wave opens, once per question of its survey
    eligible = person_week.join(grid, on="week_start", how="inner")
    cells = eligible.join(answered.select("person_key", "survey_id", "wave", "question_id", "answer"),
                          on=["person_key", "survey_id", "wave", "question_id"], how="left")
    outside = answered.join(cells.select("person_key", "survey_id", "wave", "question_id"),
                            on=["person_key", "survey_id", "wave", "question_id"], how="anti").height
    if outside:
        log.info("perception: %d answer(s) of people not eligible in the week their wave opens are left out", outside)
    long = with_populations(_scored(cells), populations)
    keys = ["survey_id", "wave", "opens", "closes", "week_start", "question_id", "question", "scale", "direction",
            "population_type", "population"]
    table = (
        long.group_by(keys)
        .agg(
            pl.col("person_key").n_unique().alias("eligible"),
            pl.col("answer").is_not_null().sum().alias("respondents"),
            pl.col("answer").cast(pl.Float64).mean().alias("mean_answer"),
            pl.col("__top2").mean().alias("top2_share"),
            pl.col("__promoter").mean().alias("promoters_share"),
            pl.col("__detractor").mean().alias("detractors_share"),
        )
        .with_columns(
            (pl.col("respondents") / pl.col("eligible")).alias("response_rate"),
            (100 * (pl.col("promoters_share") - pl.col("detractors_share"))).alias("nps"),
            pl.col("eligible").cast(pl.Int64), pl.col("respondents").cast(pl.Int64),
        )
        .sort("survey_id", "opens", "question_id", "population_type", "population")
    )
    table = suppress_cells(table, size_column="respondents", value_columns=list(_VALUES),
                           partition_by=["survey_id", "wave", "question_id", "population_type"],
                           min_group_size=min_group_size, order_by=["population"])
    return with_kind(table.select(*keys, *_VALUES, "suppressed"), MetricKind.PERCEPTION)


def activity_before_answers(answers: pl.DataFrame, person_week: pl.DataFrame, *, weeks: int = LINK_WEEKS
                            ) -> pl.DataFrame:
    """``answers`` with ``active_share`` = the person's active weeks / eligible weeks in the ``weeks``
    weeks before the answer's week (null without an eligible week there), ``weeks_observed``, and
    the person's HR attributes and pilot assignment in the answer's week (rows of a person not
    eligible that week have null attributes)."""
    require_columns(person_week, ["person_key", "week_start", "is_active"], table="person_week")
    keyed = answers.with_row_index("__answer")
    # running counts per person (weeks seen, active weeks), read at the answer's week and `weeks` before it:
    # two as-of joins instead of a join of every answer with every week of its person
    running = (person_week.select("person_key", "week_start", "is_active").sort("person_key", "week_start")
               .with_columns(pl.col("is_active").cast(pl.Int64).cum_sum().over("person_key").alias("__active"),
                             pl.int_range(1, pl.len() + 1).over("person_key").alias("__weeks"))
               .drop("is_active"))

    def counts_before(day: pl.Expr, suffix: str) -> pl.DataFrame:
        probe = keyed.select("__answer", "person_key", (day - pl.duration(days=1)).alias("__at")).sort("__at")
        found = probe.join_asof(running.sort("week_start"), left_on="__at", right_on="week_start", by="person_key",
                                strategy="backward", check_sortedness=False)  # both sorted on the as-of key
        return found.select("__answer", pl.col("__active").fill_null(0).alias(f"__active{suffix}"),
                            pl.col("__weeks").fill_null(0).alias(f"__weeks{suffix}"))

    window = (counts_before(pl.col("week_start"), "_to")
              .join(counts_before(pl.col("week_start") - pl.duration(weeks=weeks), "_from"), on="__answer")
              .select("__answer", (pl.col("__weeks_to") - pl.col("__weeks_from")).alias("weeks_observed"),
                      (pl.col("__active_to") - pl.col("__active_from")).alias("__active")))
    window = window.with_columns(
        pl.when(pl.col("weeks_observed") > 0).then(pl.col("__active") / pl.col("weeks_observed"))
        .alias("active_share")).drop("__active")
    attrs = [c for c in ("worker_type", "department", "site", "pilot_cohort", "pilot_start_week", "pilot_wave")
             if c in person_week.columns]
    at = person_week.select("person_key", "week_start", *attrs)
    return (keyed.join(window, on="__answer", how="left").join(at, on=["person_key", "week_start"], how="left")
            .with_columns(pl.col("weeks_observed").fill_null(0).cast(pl.Int64)).sort("__answer").drop("__answer"))


def _band_expr() -> pl.Expr:
    expr = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.Utf8))
    for label, low, high in ACTIVITY_BANDS:
        expr = expr.when(pl.col("active_share").is_between(low, high)).then(pl.lit(label))
    return expr.otherwise(None)


def _ols_slope(frame: pl.DataFrame, controls: Sequence[str], alpha: float) -> dict[str, float] | None:
    """Slope of ``answer`` on ``active_share`` with dummy controls, SEs clustered by person (statsmodels)."""
    from scipy import stats  # heavy imports, only when estimating
    from statsmodels.regression.linear_model import OLS

    dummies = [frame.select(pl.col(c).cast(pl.Utf8).fill_null("(missing)")).to_dummies(drop_first=True)
               for c in controls if frame[c].cast(pl.Utf8).fill_null("(missing)").n_unique() > 1]
    x = np.column_stack([np.ones(frame.height), frame["active_share"].to_numpy(),
                         *[d.to_numpy().astype(float) for d in dummies]]) if dummies else \
        np.column_stack([np.ones(frame.height), frame["active_share"].to_numpy()])
    keep = np.linalg.matrix_rank(x) == x.shape[1]
    if not keep:  # drop collinear dummies (e.g. a department that is all one pilot) column by column
        cols = [0, 1]
        for j in range(2, x.shape[1]):
            if np.linalg.matrix_rank(x[:, [*cols, j]]) == len(cols) + 1:
                cols.append(j)
        x = x[:, cols]
    groups = pl.Series(frame["person_key"]).rank("dense").to_numpy().astype(int)
    if len(np.unique(groups)) < 3 or np.ptp(x[:, 1]) == 0:
        return None
    fit = OLS(frame["answer"].cast(pl.Float64).to_numpy(), x).fit(cov_type="cluster", cov_kwds={"groups": groups})
    b, se = float(fit.params[1]), float(fit.bse[1])
    z = float(stats.norm.ppf(1 - alpha / 2))
    return {"slope": b, "se": se, "ci_low": b - z * se, "ci_high": b + z * se}


@table_function(kind=MetricKind.LINK, metrics=("perception_activity_slope",), grain="question (and activity band)")
def perception_activity_link(
    answers: pl.DataFrame,
    person_week: pl.DataFrame,
    surveys: Surveys,
    *,
    weeks: int = LINK_WEEKS,
    controls: Sequence[str] = ("worker_type", "department", "pilot_at_answer", "wave"),
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Per question: the answer's association with the respondent's recent activity (module docstring).

    Grain: one ``row_type = "slope"`` row per question (every wave pooled; ``slope`` in answer points
    per unit of active share, i.e. from never to always active in the ``weeks`` weeks before the
    answer; interval clustered by person; ``correlation`` = Pearson's r without controls) and one
    ``row_type = "band"`` row per question and activity band (:data:`ACTIVITY_BANDS`, ``mean_answer``).
    ``pilot_at_answer`` is the person's cohort when the answer came on or after its start, else
    ``none``. Denominator: answers of respondents eligible in the answer's week with at least one
    eligible week before it; ``respondents`` counts distinct people.
    """
    questions = survey_questions(surveys)
    measured = (
        activity_before_answers(last_answers(answers), person_week, weeks=weeks)
        .filter(pl.col("active_share").is_not_null() & pl.col("worker_type").is_not_null())
        .with_columns(
            pl.when(pl.col("pilot_cohort").is_not_null() & (pl.col("week_start") >= pl.col("pilot_start_week")))
            .then(pl.col("pilot_cohort")).otherwise(pl.lit("none")).alias("pilot_at_answer"),
            _band_expr().alias("band"),
        )
        .join(questions, on=["survey_id", "question_id"], how="inner")
    )
    caveat = ("Association, not effect: people who use the platform more may rate it higher for other reasons. "
              f"Controls: {', '.join(c.replace('_', ' ') for c in controls)}; standard errors clustered by person.")
    rows: list[dict[str, object]] = []
    for (survey, question), part in measured.group_by("survey_id", "question_id", maintain_order=True):
        meta = part.row(0, named=True)
        base = {"survey_id": survey, "question_id": question, "question": meta["question"], "scale": meta["scale"],
                "activity_weeks": weeks}
        people = part["person_key"].n_unique()
        fit = _ols_slope(part, [c for c in controls if c in part.columns], alpha) if people >= min_group_size else None
        y, x = part["answer"].cast(pl.Float64).to_numpy(), part["active_share"].to_numpy()
        r = float(np.corrcoef(x, y)[0, 1]) if part.height > 2 and np.ptp(x) > 0 and np.ptp(y) > 0 else None
        rows.append({**base, "row_type": "slope", "band": None, "respondents": people, "answers": part.height,
                     "mean_answer": float(y.mean()), "mean_active_share": float(x.mean()), "correlation": r,
                     **(fit or {"slope": None, "se": None, "ci_low": None, "ci_high": None}),
                     "note": caveat if fit else "not estimable: too few respondents or no spread in activity"})
        for label, _, _ in ACTIVITY_BANDS:
            band = part.filter(pl.col("band") == label)
            rows.append({**base, "row_type": "band", "band": label, "respondents": band["person_key"].n_unique(),
                         "answers": band.height, "mean_answer": band["answer"].cast(pl.Float64).mean(),
                         "mean_active_share": band["active_share"].mean(), "correlation": None, "slope": None,
                         "se": None, "ci_low": None, "ci_high": None, "note": None})
    schema = {"survey_id": pl.Utf8, "question_id": pl.Utf8, "question": pl.Utf8, "scale": pl.Utf8,
              "activity_weeks": pl.Int32, "row_type": pl.Utf8, "band": pl.Utf8, "respondents": pl.Int64,
              "answers": pl.Int64, "mean_answer": pl.Float64, "mean_active_share": pl.Float64,
              "correlation": pl.Float64, "slope": pl.Float64, "se": pl.Float64, "ci_low": pl.Float64,
              "ci_high": pl.Float64, "note": pl.Utf8}
    table = pl.DataFrame(rows, schema=schema, orient="row")
    values = ["respondents", "answers", "mean_answer", "mean_active_share", "correlation", "slope", "se", "ci_low",
              "ci_high"]
    slopes = suppress_cells(table.filter(pl.col("row_type") == "slope"), size_column="respondents",
                            value_columns=values, min_group_size=min_group_size, complementary=False)
    bands = suppress_cells(table.filter(pl.col("row_type") == "band"), size_column="respondents",
                           value_columns=values, partition_by=["survey_id", "question_id"],
                           min_group_size=min_group_size, order_by=["band"])
    return with_kind(pl.concat([slopes, bands]).sort("survey_id", "question_id", "row_type", "band",
                                                    descending=[False, False, True, False], nulls_last=True),
                     MetricKind.LINK)
