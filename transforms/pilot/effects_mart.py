"""The rows of ``marts.pilot_effects``: every pilot effect per cohort, metric and estimator, the
naive difference always beside the adjusted ones, plus event-study rows.

Metrics and their grain:

- **activity** (kind ``activity``), from ``marts.person_week``. Unit = person. Unit-level
  estimators (``naive``, ``ipw``, ``aipw``, ``matching``): outcome = the person's mean weekly rate
  during the cohort's window (e.g. share of window weeks active; denominator = the person's
  eligible weeks in the window), covariates = HR attributes at baseline + pre-pilot means of
  every activity column. ``did_cs``: Callaway & Sant'Anna on the person-week panel
  (``staggered_did``), outcome = the weekly 0/1 state, over ``pre_weeks`` weeks before the start
  to the window's end.
- **outcome** (kind ``outcome``), from a team-week KPI panel. Unit = team. Outcome = the team's
  mean KPI value during the window; covariate = the team's mean over the ``pre_weeks`` weeks
  before the start; ``did_cs`` on the team-week panel.

Rows (schema :data:`PILOT_EFFECTS`): ``row_type = "effect"`` with ``estimand = "ATT"`` (effect on
the cohort's members) or ``"population"`` (the ATT projected onto the eligible population's
composition by ``projection_strata``, :mod:`transforms.pilot.projection`); ``row_type =
"event_study"`` rows carry ``event_time`` = weeks since the cohort's start (negative = before).
``cohort = "all"`` pools every cohort (``did_cs`` only, window up to the latest cohort end). Rows
by support level: per level pooled over cohorts (``did_cs``), and per cohort and level when a
cohort mixes levels. Windows and controls: :mod:`transforms.pilot.units`.

Privacy: a row whose treated or control arm has fewer than ``min_group_size`` units is kept with
``suppressed = true`` and no numbers (counts included: a count below the floor is itself a small
cell).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from transforms.contracts.base import Column, Contract
from transforms.pilot.design import require_columns
from transforms.pilot.effect import METHODS, EffectEstimate, estimate_effect
from transforms.pilot.errors import PilotInputError
from transforms.pilot.projection import project_to_population
from transforms.pilot.staggered import StaggeredResult, staggered_did
from transforms.pilot.units import (
    PILOT_COLUMNS,
    PRE_ACTIVITY,
    PilotWindow,
    control_filter,
    did_panel,
    person_baseline,
    pilot_windows,
    unit_frame,
)

log = logging.getLogger(__name__)

#: Activity metrics: mart name -> person_week column (a weekly 0/1 state).
ACTIVITY_METRICS: dict[str, str] = {
    "weekly_active_rate": "is_active",
    "weekly_engaged_rate": "is_engaged",
    "weekly_contributor_rate": "is_contributor",
}
#: HR attributes adjusted for by default (person_week columns).
DEFAULT_ATTRIBUTES: tuple[str, ...] = ("worker_type", "site", "department", "level", "tenure_band", "is_manager")
ESTIMATORS: tuple[str, ...] = (*METHODS, "did_cs")
ALL_COHORTS = "all"
#: The ``marts.person_week`` columns the pilot marts read (representativeness and effects, with the
#: default attributes, activity metrics and team column): their inputs load these only, so that a
#: person-level column the pilots never read (``first_active_week``, ``has_account``) changing on
#: old weeks leaves them unchanged.
PILOT_PERSON_WEEK_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((
    "person_key", "week_start", "org_unit", *DEFAULT_ATTRIBUTES, *ACTIVITY_METRICS.values(), *PRE_ACTIVITY,
    *PILOT_COLUMNS)))

PILOT_EFFECTS = Contract(
    name="pilot_effects",
    grain="one row per cohort, support level, metric, estimator, estimand and event time",
    key=("cohort", "support_level", "metric", "estimator", "estimand", "row_type", "event_time"),
    doc="marts.pilot_effects: pilot effects with the naive difference beside. Kinds never mixed in a row.",
    columns=(
        Column("cohort", pl.Utf8, False, "pilot cohort, or 'all' for every cohort pooled"),
        Column("wave", pl.Int16, True),
        Column("support_level", pl.Utf8, True, "set on rows restricted to (or cohorts carrying) one level"),
        Column("metric", pl.Utf8, False, "activity metric name or KPI name"),
        Column("metric_kind", pl.Utf8, False, allowed=("activity", "outcome", "perception")),
        Column("estimator", pl.Utf8, False, allowed=ESTIMATORS),
        Column("estimand", pl.Utf8, False, "ATT = effect on the pilot's members; population = projected",
               allowed=("ATT", "population")),
        Column("row_type", pl.Utf8, False, allowed=("effect", "event_study")),
        Column("event_time", pl.Int32, True, "weeks since the cohort's start (event_study rows)"),
        Column("estimate", pl.Float64, True, "difference in the metric's unit (rate or KPI unit)"),
        Column("ci_low", pl.Float64, True),
        Column("ci_high", pl.Float64, True),
        Column("se", pl.Float64, True),
        Column("naive_estimate", pl.Float64, True, "unadjusted pilot minus control difference, same window"),
        Column("n_treated", pl.Int64, True, "units (people or teams) in the pilot arm"),
        Column("n_control", pl.Int64, True),
        Column("pre_trend_p", pl.Float64, True,
               "did_cs: p-value of the pre-trend test (the pre-period drift, t with treated units - 1 df)"),
        Column("pre_trend_gap", pl.Float64, True,
               "did_cs: how far the pilot-minus-comparison gap moved over the pre-period (metric's unit)"),
        Column("pre_trend_weeks", pl.Int32, True, "did_cs: pre-period weeks the drift spans"),
        Column("window_start", pl.Date, True),
        Column("window_end", pl.Date, True, "exclusive"),
        Column("suppressed", pl.Boolean, False, "an arm has fewer than min_group_size units: no numbers"),
        Column("note", pl.Utf8, True),
    ),  # fmt: skip
)

_NUMBERS = ("estimate", "ci_low", "ci_high", "se", "naive_estimate", "pre_trend_p", "pre_trend_gap", "pre_trend_weeks")


def pilot_effects(
    person_week: pl.DataFrame,
    kpi_panel: pl.DataFrame | None = None,
    *,
    activity_metrics: Mapping[str, str] = ACTIVITY_METRICS,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    estimators: Sequence[str] = ESTIMATORS,
    window_end: dt.date | None = None,
    cohort_end: Mapping[str, dt.date] | None = None,
    baseline_end: dt.date | None = None,
    baseline_weeks: int = 8,
    pre_weeks: int = 8,
    projection_strata: Sequence[str] = ("worker_type",),
    projection_method: str = "aipw",
    by_support_level: bool = True,
    min_group_size: int = 5,
    alpha: float = 0.05,
    cluster: str | None = None,
) -> pl.DataFrame:
    """Build the rows of ``marts.pilot_effects`` (see module docstring).

    ``person_week``: the ``marts.person_week`` contract (at least ``person_key``, ``week_start``,
    the ``attributes``, the activity columns and the ``pilot_*`` columns). ``kpi_panel``
    (optional): one row per KPI, team and week with ``kpi``, ``unit_id``, ``week_start``,
    ``value``, ``cohort`` (the team's pilot cohort, null if none) and ``first_treat`` (its start
    week); see :func:`~transforms.pilot.units.team_pilot_assignment`. ``window_end``: the general
    roll-out date; ``cohort_end``: declared last day per cohort. ``baseline_end``: end of the
    pre-pilot window the covariates are measured on (default: the first cohort's start; set it to
    the date pilot members were picked when that came earlier). ``pre_weeks``: weeks before each
    start that the DiD panels and the KPI baseline use. ``cluster`` (e.g. ``"org_unit"``, as of the
    baseline) makes person-level standard errors cluster-robust, for pilots that picked whole teams
    (naive, ipw, aipw, did_cs; matching keeps its Abadie-Imbens variance and says so in its note).
    Estimation failures (e.g. no overlap) give a row with a ``note`` and no numbers, never a silent
    gap.
    """
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise ValueError(f"unknown estimator(s) {unknown}; expected {', '.join(ESTIMATORS)}")
    with threadpool_limits(limits=1, user_api="blas"):  # many small fits: threads only contend
        return _pilot_effects(
            person_week, kpi_panel, activity_metrics, attributes, estimators, window_end, cohort_end,
            baseline_end, baseline_weeks, pre_weeks, projection_strata, projection_method, by_support_level,
            min_group_size, alpha, cluster,
        )  # fmt: skip


def _pilot_effects(
    person_week: pl.DataFrame,
    kpi_panel: pl.DataFrame | None,
    activity_metrics: Mapping[str, str],
    attributes: Sequence[str],
    estimators: Sequence[str],
    window_end: dt.date | None,
    cohort_end: Mapping[str, dt.date] | None,
    baseline_end: dt.date | None,
    baseline_weeks: int,
    pre_weeks: int,
    projection_strata: Sequence[str],
    projection_method: str,
    by_support_level: bool,
    min_group_size: int,
    alpha: float,
    cluster: str | None,
) -> pl.DataFrame:
    windows = pilot_windows(person_week, window_end=window_end, cohort_end=cohort_end)
    if not windows:
        raise PilotInputError("no cohort has a non-empty estimation window", frame="person_week")
    activity_cols = list(dict.fromkeys(activity_metrics.values()))
    baseline = person_baseline(
        person_week,
        attributes=list(dict.fromkeys([*attributes, *([cluster] if cluster else [])])),
        activity=activity_cols,
        baseline_end=baseline_end or min(w.start for w in windows),
        baseline_weeks=baseline_weeks,
    )
    covariates = [*attributes, *(f"pre_{c}" for c in activity_cols)]
    panel = person_week.select(
        "person_key", "week_start", "pilot_cohort", "pilot_start_week", "pilot_support_level",
        *[pl.col(c).cast(pl.Float64) for c in activity_cols],
    )  # fmt: skip
    if cluster:  # one cluster per person (as of the baseline), as the cluster-robust variance needs
        panel = panel.join(baseline.select("person_key", pl.col(cluster).alias("_cluster")), on="person_key", how="inner")
    unit_methods = [e for e in estimators if e in METHODS]
    rows: list[dict[str, object]] = []
    cl_did = "_cluster" if cluster else None

    for metric, col in activity_metrics.items():
        naive_by_cohort: dict[str, tuple[float, int]] = {}
        for w in windows:
            frame = unit_frame(person_week, w, metric=col, baseline=baseline)
            base = _base(w, metric, "activity")
            ests = _unit_estimates(frame, covariates, unit_methods, alpha, cluster)
            naive = _naive_value(ests)
            naive_by_cohort[w.cohort] = (naive, int(frame["treated"].sum()))
            rows += _effect_rows(base, ests, naive)
            if "did_cs" in estimators:
                rows += _did_rows(
                    base, panel, w, unit="person_key", outcome=col, first_treat="pilot_start_week",
                    treated=pl.col("pilot_cohort") == w.cohort, control=control_filter(w),
                    pre_weeks=pre_weeks, naive=naive, alpha=alpha, cluster=cl_did,
                )  # fmt: skip
            if projection_strata:
                rows += _projection_rows(
                    base, frame, baseline, projection_strata, covariates, projection_method, naive, alpha, min_group_size
                )
            if by_support_level:
                rows += _within_cohort_support_rows(
                    base, person_week, panel, w, col, baseline, covariates, unit_methods, estimators, pre_weeks, alpha,
                    cluster,
                )
        if "did_cs" in estimators and len(windows) > 1:
            pooled = _pooled_window(windows)
            naive = _pooled_naive(naive_by_cohort)
            rows += _did_rows(
                _base(pooled, metric, "activity"), panel, pooled, unit="person_key", outcome=col,
                first_treat="pilot_start_week", treated=pl.col("pilot_cohort").is_in([w.cohort for w in windows]),
                control=control_filter(pooled), pre_weeks=pre_weeks, naive=naive, alpha=alpha, cluster=cl_did,
            )  # fmt: skip
        if "did_cs" in estimators and by_support_level:
            rows += _support_level_did_rows(metric, panel, windows, col, pre_weeks, naive_by_cohort, alpha, cl_did)

    if kpi_panel is not None:
        rows += _kpi_rows(kpi_panel, windows, unit_methods, estimators, pre_weeks, alpha)

    out = pl.DataFrame(rows, schema=PILOT_EFFECTS.schema, orient="row") if rows else pl.DataFrame(schema=PILOT_EFFECTS.schema)
    # a number that cannot be computed (no usable pre-period, no spread) is null, never NaN
    floats = [c for c, t in out.schema.items() if t.is_float()]
    return _suppress(out.with_columns(pl.col(floats).fill_nan(None)), min_group_size)


# --- row builders --------------------------------------------------------------------------------


def unit_effect_rows(
    window: PilotWindow,
    frame: pl.DataFrame,
    *,
    metric: str,
    kind: str,
    covariates: Sequence[str],
    estimators: Sequence[str] = METHODS,
    alpha: float = 0.05,
    cluster: str | None = None,
) -> list[dict]:
    """The effect rows of the unit-level estimators on one unit frame (``treated``, ``outcome`` and
    the ``covariates``, e.g. from :func:`~transforms.pilot.units.unit_frame_of_outcomes`), the naive
    difference beside each: what every metric of ``marts.pilot_effects`` gets, for metrics measured
    outside person-week (survey answers). Rows have the :data:`PILOT_EFFECTS` columns; pass the
    frame of all of them through :func:`suppress_small_arms` before publishing."""
    ests = _unit_estimates(frame, covariates, [e for e in estimators if e in METHODS], alpha, cluster)
    return _effect_rows(_base(window, metric, kind), ests, _naive_value(ests))


def suppress_small_arms(rows: pl.DataFrame, min_group_size: int) -> pl.DataFrame:
    """Rows of :data:`PILOT_EFFECTS` whose treated or control arm is below ``min_group_size``: no numbers."""
    return _suppress(rows, min_group_size)


def _base(w: PilotWindow, metric: str, kind: str) -> dict[str, object]:
    row: dict[str, object] = {c: None for c in PILOT_EFFECTS.names}
    row.update(
        cohort=w.cohort, wave=w.wave, support_level=w.support_level, metric=metric, metric_kind=kind,
        estimand="ATT", row_type="effect", window_start=w.start, window_end=w.end, suppressed=False,
    )  # fmt: skip
    return row


def _unit_estimates(
    frame: pl.DataFrame, covariates: Sequence[str], methods: Sequence[str], alpha: float, cluster: str | None = None
) -> dict[str, EffectEstimate | str]:
    """Each method's estimate, or the reason it could not be computed."""
    out: dict[str, EffectEstimate | str] = {}
    for m in dict.fromkeys(["naive", *methods]):
        try:
            out[m] = estimate_effect(
                frame, treatment="treated", outcome="outcome", covariates=covariates, method=m, alpha=alpha,  # type: ignore[arg-type]
                cluster=None if m == "matching" else cluster,
            )
        except (PilotInputError, np.linalg.LinAlgError) as exc:
            out[m] = f"not estimable: {exc}"
    if "naive" not in methods:
        out["_naive"] = out.pop("naive")
    return out


def _naive_value(ests: Mapping[str, EffectEstimate | str]) -> float | None:
    e = ests.get("naive", ests.get("_naive"))
    return e.estimate if isinstance(e, EffectEstimate) else None


def _effect_rows(base: Mapping[str, object], ests: Mapping[str, EffectEstimate | str], naive: float | None) -> list[dict]:
    rows = []
    for method, e in ests.items():
        if method.startswith("_"):
            continue
        row = dict(base, estimator=method, naive_estimate=naive)
        if isinstance(e, EffectEstimate):
            row.update(
                estimate=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high, se=e.se,
                n_treated=e.n_treated, n_control=e.n_control,
            )  # fmt: skip
            if e.overlap is not None and (e.overlap.n_trimmed_treated or e.overlap.n_trimmed_control):
                row["note"] = (
                    f"trimmed {e.overlap.n_trimmed_treated} treated and {e.overlap.n_trimmed_control} control "
                    "units outside the propensity bounds"
                )
        else:
            row["note"] = e
        rows.append(row)
    return rows


def _did_rows(
    base: Mapping[str, object],
    panel: pl.DataFrame,
    w: PilotWindow,
    *,
    unit: str,
    outcome: str,
    first_treat: str,
    treated: pl.Expr,
    control: pl.Expr,
    pre_weeks: int,
    naive: float | None,
    alpha: float,
    cluster: str | None = None,
) -> list[dict]:
    rows = did_panel(panel, w, unit=unit, first_treat=first_treat, treated=treated, control=control, pre_weeks=pre_weeks)
    row = dict(base, estimator="did_cs", naive_estimate=naive)
    try:
        res = staggered_did(
            rows, unit=unit, time="week_start", first_treat=first_treat, outcome=outcome, alpha=alpha, cluster=cluster
        )
    except (PilotInputError, np.linalg.LinAlgError) as exc:
        row["note"] = f"not estimable: {exc}"
        return [row]
    return _staggered_rows(row, res)


def _staggered_rows(row: dict, res: StaggeredResult) -> list[dict]:
    row.update(
        estimate=res.overall.estimate, ci_low=res.overall.ci_low, ci_high=res.overall.ci_high, se=res.overall.se,
        n_treated=res.n_treated_units, n_control=res.n_control_units, pre_trend_p=res.pre_trend.p_value,
        pre_trend_gap=res.pre_trend.drift, pre_trend_weeks=res.pre_trend.weeks or None,
    )  # fmt: skip
    events = [
        dict(row, row_type="event_study", event_time=e["event_time"], estimate=e["estimate"],
             ci_low=e["ci_low"], ci_high=e["ci_high"], se=e["se"])
        for e in res.event_study.iter_rows(named=True)  # one per event time: a few dozen
    ]  # fmt: skip
    return [row, *events]


def _projection_rows(
    base: Mapping[str, object],
    frame: pl.DataFrame,
    population: pl.DataFrame,
    strata: Sequence[str],
    covariates: Sequence[str],
    method: str,
    naive: float | None,
    alpha: float,
    min_group_size: int,
) -> list[dict]:
    row = dict(base, estimator=method, estimand="population", naive_estimate=naive)
    try:
        p = project_to_population(
            frame, treatment="treated", outcome="outcome", strata=strata, population=population,
            covariates=covariates, method=method, alpha=alpha, min_group_size=min_group_size,  # type: ignore[arg-type]
        )  # fmt: skip
    except PilotInputError as exc:
        row["note"] = f"not projectable: {exc}"
        return [row]
    uncovered = p.strata.filter(~pl.col("covered") & (pl.col("population_share") > 0))
    row.update(
        estimate=p.population.estimate, ci_low=p.population.ci_low, ci_high=p.population.ci_high,
        se=p.population.se, n_treated=int(frame["treated"].sum()), n_control=int((frame["treated"] == 0).sum()),
        note=f"re-weighted by {', '.join(strata)}; covers {100 * p.coverage:.0f}% of the eligible population"
        + (f"; no estimate for {uncovered.height} stratum/strata" if uncovered.height else ""),
    )  # fmt: skip
    return [row]


def _within_cohort_support_rows(
    base: Mapping[str, object],
    person_week: pl.DataFrame,
    panel: pl.DataFrame,
    w: PilotWindow,
    col: str,
    baseline: pl.DataFrame,
    covariates: Sequence[str],
    methods: Sequence[str],
    estimators: Sequence[str],
    pre_weeks: int,
    alpha: float,
    cluster: str | None = None,
) -> list[dict]:
    levels = (
        baseline.filter(pl.col("pilot_cohort") == w.cohort)["pilot_support_level"].drop_nulls().unique().sort().to_list()
    )
    if len(levels) < 2:
        return []
    rows: list[dict] = []
    for level in levels:
        frame = unit_frame(person_week, w, metric=col, baseline=baseline, support_level=level)
        b = dict(base, support_level=level)
        ests = _unit_estimates(frame, covariates, methods, alpha, cluster)
        naive = _naive_value(ests)
        rows += _effect_rows(b, ests, naive)
        if "did_cs" in estimators:
            is_member = (pl.col("pilot_cohort") == w.cohort) & (pl.col("pilot_support_level") == level)
            rows += _did_rows(
                b, panel.filter(is_member | control_filter(w)), w, unit="person_key", outcome=col,
                first_treat="pilot_start_week", treated=is_member, control=control_filter(w),
                pre_weeks=pre_weeks, naive=naive, alpha=alpha, cluster="_cluster" if cluster else None,
            )  # fmt: skip
    return rows


def _support_level_did_rows(
    metric: str,
    panel: pl.DataFrame,
    windows: Sequence[PilotWindow],
    col: str,
    pre_weeks: int,
    naive_by_cohort: Mapping[str, tuple[float, int]],
    alpha: float,
    cluster: str | None = None,
) -> list[dict]:
    levels = panel["pilot_support_level"].drop_nulls().unique().sort().to_list()
    if len(levels) < 2:
        return []
    rows: list[dict] = []
    for level in levels:
        cohorts = [w for w in windows if w.support_level == level] or list(windows)
        pooled = _pooled_window(cohorts)
        is_member = pl.col("pilot_support_level") == level
        base = dict(_base(pooled, metric, "activity"), support_level=level)
        naive = _pooled_naive({w.cohort: naive_by_cohort[w.cohort] for w in cohorts if w.cohort in naive_by_cohort})
        rows += _did_rows(
            base, panel, pooled, unit="person_key", outcome=col, first_treat="pilot_start_week",
            treated=is_member.fill_null(False), control=control_filter(pooled), pre_weeks=pre_weeks,
            naive=naive if all(w.support_level == level for w in cohorts) else None, alpha=alpha, cluster=cluster,
        )  # fmt: skip
    return rows


def _kpi_rows(
    kpi_panel: pl.DataFrame,
    windows: Sequence[PilotWindow],
    methods: Sequence[str],
    estimators: Sequence[str],
    pre_weeks: int,
    alpha: float,
) -> list[dict]:
    require_columns(kpi_panel, ["kpi", "unit_id", "week_start", "value", "cohort", "first_treat"], frame_name="kpi panel")
    rows: list[dict] = []
    kpi_control = lambda w: pl.col("cohort").is_null() | (pl.col("first_treat") >= w.end)  # noqa: E731
    for kpi in kpi_panel["kpi"].unique().sort().to_list():
        panel = kpi_panel.filter(pl.col("kpi") == kpi)
        naive_by_cohort: dict[str, tuple[float, int]] = {}
        for w in windows:
            frame = _team_frame(panel, w, pre_weeks=pre_weeks, control=kpi_control(w))
            base = _base(w, kpi, "outcome")
            ests = _unit_estimates(frame, ["pre_value"], methods, alpha)
            naive = _naive_value(ests)
            if naive is not None:
                naive_by_cohort[w.cohort] = (naive, int(frame["treated"].sum()))
            rows += _effect_rows(base, ests, naive)
            if "did_cs" in estimators:
                rows += _did_rows(
                    base, panel, w, unit="unit_id", outcome="value", first_treat="first_treat",
                    treated=pl.col("cohort") == w.cohort, control=kpi_control(w), pre_weeks=pre_weeks,
                    naive=naive, alpha=alpha,
                )  # fmt: skip
        if "did_cs" in estimators and len(windows) > 1:
            pooled = _pooled_window(windows)
            rows += _did_rows(
                _base(pooled, kpi, "outcome"), panel, pooled, unit="unit_id", outcome="value",
                first_treat="first_treat", treated=pl.col("cohort").is_in([w.cohort for w in windows]),
                control=kpi_control(pooled), pre_weeks=pre_weeks, naive=_pooled_naive(naive_by_cohort), alpha=alpha,
            )  # fmt: skip
    return rows


def _team_frame(panel: pl.DataFrame, w: PilotWindow, *, pre_weeks: int, control: pl.Expr) -> pl.DataFrame:
    """One row per team: mean KPI in the window (``outcome``), mean before it (``pre_value``)."""
    pre_start = w.start - dt.timedelta(weeks=pre_weeks)
    return (
        panel.filter((pl.col("cohort") == w.cohort) | control)
        .group_by("unit_id")
        .agg(
            (pl.col("cohort") == w.cohort).fill_null(False).any().cast(pl.Int8).alias("treated"),
            pl.col("value").filter((pl.col("week_start") >= w.start) & (pl.col("week_start") < w.end)).mean().alias("outcome"),
            pl.col("value").filter((pl.col("week_start") >= pre_start) & (pl.col("week_start") < w.start)).mean().alias("pre_value"),
        )
        .drop_nulls(["outcome", "pre_value"])
        .sort("unit_id")
    )


def _pooled_window(windows: Sequence[PilotWindow]) -> PilotWindow:
    levels = {w.support_level for w in windows}
    return PilotWindow(
        cohort=ALL_COHORTS,
        wave=None,
        support_level=levels.pop() if len(levels) == 1 else None,
        start=min(w.start for w in windows),
        end=max(w.end for w in windows),
        n_members=sum(w.n_members for w in windows),
    )


def _pooled_naive(naive_by_cohort: Mapping[str, tuple[float, int]]) -> float | None:
    """Treated-weighted mean of the cohorts' naive differences (each over its own window)."""
    items = [(v, n) for v, n in naive_by_cohort.values() if v is not None and n > 0]
    if not items:
        return None
    return float(sum(v * n for v, n in items) / sum(n for _, n in items))


def _suppress(rows: pl.DataFrame, min_group_size: int) -> pl.DataFrame:
    small = (pl.col("n_treated") < min_group_size) | (pl.col("n_control") < min_group_size)
    small = small.fill_null(False)
    return rows.with_columns(
        *[pl.when(small).then(None).otherwise(pl.col(c)).alias(c) for c in (*_NUMBERS, "n_treated", "n_control")],
        small.alias("suppressed"),
        pl.when(small)
        .then(pl.lit(f"suppressed: an arm has fewer than {min_group_size} units"))
        .otherwise(pl.col("note"))
        .alias("note"),
    )
