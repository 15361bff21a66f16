"""Expected uptake of a wave: a model of what past waves' members did in their first weeks, fitted on
what has been observed, cross-validated on teams it has not seen.

- **Decision week** ``as_of`` (a Monday): the next wave is chosen then. Everything the model uses
  was observed before it.
- **Training rows** (grain: member x week): the members of every cohort that started before
  ``as_of``, in the first :data:`UPTAKE_WEEKS` weeks from the cohort's start, cut at the cohort's
  window end (:func:`~transforms.pilot.units.pilot_windows`: its declared end, the general
  roll-out) and at ``as_of``; a cohort observed for fewer than :data:`MIN_UPTAKE_WEEKS` weeks is
  not used. Outcome: ``is_active`` that week (0/1).
- **Features** of a person, as of the :data:`~transforms.pilot.units.PRE_WEEKS` weeks before the
  person's wave start (training) or before ``as_of`` (candidates), from
  :func:`~transforms.pilot.units.person_baseline`: the HR attributes of :data:`FEATURE_ATTRIBUTES`
  (last week of that window), the pre-period means of
  :data:`~transforms.pilot.units.PRE_ACTIVITY` (pre-period behaviour), and
  ``manager_pre_active``: the share of the window's weeks whose previous week the person's manager
  was active (:func:`~transforms.metrics.manager_relay.manager_relay_panel`; 0 without a manager).
- **Model**: an L2-penalised logistic regression (scikit-learn, ``C = 0.1``: shrunk towards the base rate, which keeps the cross-validated accuracy honest on a new wave) of the weekly active
  state on the features, text attributes one-hot encoded (levels held by fewer than
  :data:`~transforms.pilot.design.RARE_LEVEL_MIN` training members pooled, levels never seen in
  training encoded as none) and numbers standardized, the encoding fitted on the training rows.
  *Expected uptake* of a person = its predicted probability: the expected share of weeks active
  in the first weeks of a wave like the past ones.
- **Accuracy** (:class:`UptakeAccuracy`): out-of-fold predictions of a grouped K-fold (up to 5
  folds, groups = the person's department, so that every score is on departments, hence teams,
  the fit has not seen; teams when the members come from one department): the ROC AUC on
  member-weeks, and a 90% interval for the AUC *on a new wave*: AUC +/- 1.645 x the root of (the
  sampling variance, from a team bootstrap of the out-of-fold predictions, 200 resamples, plus
  the variance of the per-fold AUCs, how much the accuracy changes from one set of departments to
  another). Without the second term the interval missed the held-out wave's AUC (by more than
  that wave's own sampling error) in 2 of 10 simulated organisations; with it, in none of 11. Beside it, the Brier score and the Brier score of the base rate
  (predicting the mean for everyone). A team-level rank correlation is not stated: with the few
  teams a wave holds it is too noisy to say anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from transforms.metrics.manager_relay import manager_relay_panel
from transforms.pilot.design import RARE_LEVEL_MIN, require_columns
from transforms.pilot.errors import PilotInputError
from transforms.pilot.units import PRE_ACTIVITY, PRE_WEEKS, person_baseline, pilot_windows

if TYPE_CHECKING:  # scipy and scikit-learn load in seconds: imported where a model is fitted
    import pandas as pd
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

__all__ = [
    "FEATURE_ATTRIBUTES",
    "FEATURES",
    "MIN_UPTAKE_WEEKS",
    "UPTAKE_WEEKS",
    "UptakeAccuracy",
    "UptakeModel",
    "fit_uptake_model",
    "person_features",
    "team_bootstrap_auc",
    "uptake_training_rows",
]

FRAME = "person_week"
#: Weeks from a wave's start over which its members' uptake is measured.
UPTAKE_WEEKS = 8
#: A cohort observed for fewer weeks than this (before the decision week or its window's end) is not used.
MIN_UPTAKE_WEEKS = 3
#: HR attributes of the model (the pilot section's attributes but the site: candidates are often whole sites).
FEATURE_ATTRIBUTES: tuple[str, ...] = ("worker_type", "department", "level", "tenure_band", "is_manager")
#: Every feature column of the model.
FEATURES: tuple[str, ...] = (*FEATURE_ATTRIBUTES, *(f"pre_{c}" for c in PRE_ACTIVITY), "manager_pre_active")
#: Columns person_baseline carries besides the features: the populations a person belongs to.
PLACE_COLUMNS: tuple[str, ...] = ("org_unit", "site")
BOOTSTRAP_REPS = 200
INTERVAL = 0.9


def person_features(person_week: pl.DataFrame, *, baseline_end: dt.date,
                    baseline_weeks: int = PRE_WEEKS) -> pl.DataFrame:
    """One row per person present in the ``baseline_weeks`` weeks before ``baseline_end``: the model's
    :data:`FEATURES`, the person's org unit and site (last week of that window) and pilot assignment."""
    people = person_baseline(person_week, attributes=(*FEATURE_ATTRIBUTES, *PLACE_COLUMNS), activity=PRE_ACTIVITY,
                             baseline_end=baseline_end, baseline_weeks=baseline_weeks)
    start = baseline_end - dt.timedelta(weeks=baseline_weeks)
    window = person_week.filter((pl.col("week_start") >= start) & (pl.col("week_start") < baseline_end))
    relay = manager_relay_panel(window, adopted_only=False, columns=()).group_by("person_key").agg(
        pl.col("manager_active_prev").cast(pl.Float64).sum().alias("__manager_weeks"))
    return (
        people.join(relay, on="person_key", how="left")
        .with_columns((pl.col("__manager_weeks").fill_null(0.0) / pl.col("baseline_weeks")).alias("manager_pre_active"))
        .drop("__manager_weeks")
        .sort("person_key")  # one order whatever the input's: the fit and every sum over people depend on it
    )


def uptake_training_rows(
    person_week: pl.DataFrame,
    *,
    as_of: dt.date,
    window_end: dt.date | None = None,
    cohort_end: Mapping[str, dt.date] | None = None,
    uptake_weeks: int = UPTAKE_WEEKS,
    min_weeks: int = MIN_UPTAKE_WEEKS,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(rows, cohorts)``: member-weeks of the cohorts observed before ``as_of`` (module docstring)
    with ``person_key, week_start, is_active, cohort`` and the person's features, and one row per
    cohort used (``cohort, start, first_week, end, weeks, members``). Both empty when no cohort
    was observed long enough."""
    require_columns(person_week, ["person_key", "week_start", "is_active", "pilot_cohort", "pilot_start_week"],
                    frame_name=FRAME)
    observed = person_week.filter(pl.col("week_start") < as_of)
    started = observed.filter(pl.col("pilot_start_week").is_not_null() & (pl.col("pilot_start_week") < as_of))
    empty_cohorts = pl.DataFrame(schema={"cohort": pl.Utf8, "start": pl.Date, "end": pl.Date, "weeks": pl.Int64,
                                         "members": pl.Int64})
    if started.height == 0:
        return pl.DataFrame(), empty_cohorts
    # cohorts starting at or after as_of are not observed yet: their members are candidates
    windows = pilot_windows(observed.filter(pl.col("pilot_start_week").is_null() | (pl.col("pilot_start_week") < as_of)),
                            window_end=window_end, cohort_end=cohort_end)
    parts, used = [], []
    for w in windows:  # one iteration per cohort: a handful
        if w.start >= as_of:
            continue
        end = min(w.end, w.start + dt.timedelta(weeks=uptake_weeks), as_of)
        weeks = (end - w.start).days // 7
        if weeks < min_weeks:
            log.info("uptake model: cohort %s observed for %d week(s) only before %s; not used", w.cohort, weeks, end)
            continue
        members = observed.filter((pl.col("pilot_cohort") == w.cohort) & (pl.col("week_start") >= w.start)
                                  & (pl.col("week_start") < end))
        features = person_features(person_week, baseline_end=w.start)
        rows = members.select("person_key", "week_start", pl.col("is_active").cast(pl.Int8)).join(
            features.filter(pl.col("pilot_cohort") == w.cohort), on="person_key", how="inner")
        if rows.height == 0:
            continue
        parts.append(rows.with_columns(pl.lit(w.cohort).alias("cohort")))
        used.append({"cohort": w.cohort, "start": w.start, "end": end, "weeks": weeks,
                     "members": rows["person_key"].n_unique()})
    if not parts:
        return pl.DataFrame(), empty_cohorts
    rows = pl.concat(parts, how="diagonal_relaxed").sort("cohort", "person_key", "week_start")  # the fit's order
    return rows, pl.DataFrame(used, schema=empty_cohorts.schema)


@dataclass(frozen=True)
class UptakeAccuracy:
    """How well the model ranks what it has not seen (out-of-fold, grouped by team)."""

    auc: float
    auc_low: float
    auc_high: float
    brier: float
    brier_base_rate: float
    folds: int
    people: int
    person_weeks: int
    teams: int
    base_rate: float

    def as_dict(self) -> dict[str, float | int | None]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class UptakeModel:
    """A fitted uptake model: :meth:`predict` gives each person's expected uptake."""

    pipeline: Pipeline
    accuracy: UptakeAccuracy
    cohorts: pl.DataFrame
    seen_levels: dict[str, frozenset[str]]

    def predict(self, people: pl.DataFrame) -> pl.DataFrame:
        """``people`` with ``expected_uptake`` (the predicted weekly active probability) and ``unseen``
        (a text attribute's level that no training member had: the prediction is an extrapolation)."""
        require_columns(people, list(FEATURES), frame_name="people")
        with threadpool_limits(limits=1, user_api="blas"):
            p = self.pipeline.predict_proba(_features(people))[:, 1]
        unseen = pl.any_horizontal([~pl.col(a).cast(pl.Utf8).is_in(list(levels))
                                    for a, levels in self.seen_levels.items()]) if self.seen_levels else pl.lit(False)
        return people.with_columns(pl.Series("expected_uptake", p, dtype=pl.Float64), unseen.alias("unseen"))


def _text_features(frame: pl.DataFrame) -> list[str]:
    return [c for c in FEATURES if frame.schema[c] in (pl.Utf8, pl.Categorical)]


def _features(frame: pl.DataFrame) -> pd.DataFrame:
    """The feature columns as a pandas frame (what scikit-learn's column encoders take)."""
    text = _text_features(frame)
    return frame.select(
        *[pl.col(c).cast(pl.Utf8).fill_null("(missing)") for c in text],
        *[pl.col(c).cast(pl.Float64).fill_null(0.0) for c in FEATURES if c not in text],
    ).to_pandas()


def _pipeline(text: Sequence[str], numeric: Sequence[str]) -> Pipeline:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = ColumnTransformer([
        ("text", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=RARE_LEVEL_MIN,
                               sparse_output=False), list(text)),
        ("numeric", StandardScaler(), list(numeric)),
    ])
    return Pipeline([("encode", encode), ("logit", LogisticRegression(C=0.1, max_iter=2000))])


def _fit(frame: pd.DataFrame, y: np.ndarray, text: Sequence[str]) -> Pipeline:
    from sklearn.exceptions import ConvergenceWarning

    pipeline = _pipeline(text, [c for c in frame.columns if c not in text])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        pipeline.fit(frame, y)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            log.warning("uptake model: %s", w.message)
    return pipeline


def team_bootstrap_auc(y: np.ndarray, p: np.ndarray, teams: np.ndarray, *, reps: int,
                       rng: np.random.Generator) -> tuple[float, float]:
    """90% percentile interval of the ROC AUC of scores ``p`` for outcomes ``y`` over ``reps``
    resamples of whole teams (the rows of a team resampled together).

    A resample weighs each row by how often its team was drawn, so the scores are sorted once and
    each replicate's AUC is the weighted Mann-Whitney statistic (ties count one half, as with
    average ranks): linear in the rows per replicate, whatever the number of teams."""
    codes, inverse = np.unique(teams, return_inverse=True)
    order = np.argsort(p, kind="stable")
    _, tie_group = np.unique(p[order], return_inverse=True)  # groups of equal scores, in score order
    positive = y[order].astype(bool)
    team_of = inverse[order]
    values = []
    for _ in range(reps):  # a resample of teams per replicate
        drawn = np.bincount(rng.integers(0, len(codes), size=len(codes)), minlength=len(codes)).astype(float)
        weight = drawn[team_of]
        pos = np.bincount(tie_group, weights=np.where(positive, weight, 0.0))
        neg = np.bincount(tie_group, weights=np.where(positive, 0.0, weight))
        n1, n0 = pos.sum(), neg.sum()
        if n1 and n0:
            below = np.cumsum(neg) - neg  # negatives scored lower than each tie group
            values.append(float((pos * (below + neg / 2)).sum() / (n1 * n0)))
    lo, hi = (1 - INTERVAL) / 2 * 100, (1 + INTERVAL) / 2 * 100
    return float(np.percentile(values, lo)), float(np.percentile(values, hi))


def fit_uptake_model(rows: pl.DataFrame, cohorts: pl.DataFrame, *,
                     folds: int = 5, seed: int = 0) -> UptakeModel:
    """Fit the uptake model on training ``rows`` (:func:`uptake_training_rows`) and cross-validate it
    (module docstring). Raises :class:`PilotInputError` when the rows cannot support a fit: fewer
    than two teams, or members all active or all inactive."""
    from scipy.stats import norm
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold

    if rows.height == 0:
        raise PilotInputError("no cohort was observed long enough to learn uptake from", frame="training rows")
    require_columns(rows, ["person_key", "is_active", "org_unit", *FEATURES], frame_name="training rows")
    people = rows.unique("person_key", keep="first", maintain_order=True)
    y = rows["is_active"].to_numpy().astype(int)
    if y.min() == y.max():
        raise PilotInputError("every training member-week has the same state; nothing to learn",
                              frame="training rows", column="is_active")
    teams = rows["org_unit"].cast(pl.Utf8).fill_null("(missing)").to_numpy()
    n_teams = len(np.unique(teams))
    if n_teams < 2:
        raise PilotInputError("the training members come from one team: cross-validation needs two",
                              frame="training rows", column="org_unit")
    x = _features(rows)
    text = _text_features(rows)
    groups = rows["department"].cast(pl.Utf8).fill_null("(missing)").to_numpy()
    if len(np.unique(groups)) < 2:  # one department: teams it has not seen are the next best thing
        groups = teams
    k = min(folds, len(np.unique(groups)))
    oof = np.zeros(len(y))
    fold_aucs = []
    with threadpool_limits(limits=1, user_api="blas"):
        for train, test in GroupKFold(n_splits=k).split(x, y, groups=groups):
            if y[train].min() == y[train].max():
                oof[test] = y[train].mean()
                continue
            oof[test] = _fit(x.iloc[train], y[train], text).predict_proba(x.iloc[test])[:, 1]
            if 0 < y[test].sum() < len(test):
                fold_aucs.append(roc_auc_score(y[test], oof[test]))
        pipeline = _fit(x, y, text)
    rng = np.random.default_rng(seed)
    auc = float(roc_auc_score(y, oof))
    boot_low, boot_high = team_bootstrap_auc(y, oof, teams, reps=BOOTSTRAP_REPS, rng=rng)
    z = norm.ppf((1 + INTERVAL) / 2)
    between = float(np.var(fold_aucs, ddof=1)) if len(fold_aucs) > 1 else 0.0
    half = z * (((boot_high - boot_low) / (2 * z)) ** 2 + between) ** 0.5
    low, high = auc - half, auc + half
    base = float(y.mean())
    accuracy = UptakeAccuracy(
        auc=auc, auc_low=low, auc_high=high, brier=float(brier_score_loss(y, oof)),
        brier_base_rate=float(brier_score_loss(y, np.full(len(y), base))), folds=k,
        people=people.height, person_weeks=len(y), teams=n_teams, base_rate=base,
    )
    seen = {a: frozenset(people[a].cast(pl.Utf8).unique().to_list()) for a in _text_features(people)}
    log.info("uptake model: %d people, %d member-weeks, %d teams; out-of-fold AUC %.3f (%.3f-%.3f), Brier %.4f",
             people.height, len(y), n_teams, auc, low, high, accuracy.brier)
    return UptakeModel(pipeline=pipeline, accuracy=accuracy, cohorts=cohorts, seen_levels=seen)
