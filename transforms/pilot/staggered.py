"""Staggered difference-in-differences for pilots rolled out in waves (Callaway & Sant'Anna 2021),
through the ``diff_diff`` package: ``CallawaySantAnna`` fitted once, then aggregated.

Grain of the input: one row per unit (person or team) and period (ISO week, or an integer period).
Each ``ATT(g, t)`` compares the change in the mean outcome per unit of cohort ``g`` (units first
treated in period ``g``) since its last pre-period with the same change among control units
(denominator: units of each arm present in both periods). Controls are never-treated and
not-yet-treated units by default. Aggregations:

- ``overall``: the ``simple`` aggregation, ``ATT(g, t)`` for ``t >= g`` weighted by cohort size
  (R ``did::aggte(type="simple")``).
- ``dynamic``: the mean of the post-period event-study coefficients ``e >= 0``
  (R ``did::aggte(type="dynamic")``'s overall figure); its SE from the event-study covariance.
- ``groups``: one ATT per cohort (``group`` aggregation); ``event_study``: one row per event time
  ``e = t - g`` (weeks since the wave started when time is a week).
- ``pre_trend``: with the default ``base_period="varying"`` the pre-period event-study coefficients
  are week-on-week placebo changes of the treated-minus-control gap. The reported test is on their
  sum, the **pre-period drift** (how far the gap moved from the first pre-period to the last, in
  the outcome's unit), with its standard error from the event-study covariance and a t reference
  with (treated units or clusters - 1) degrees of freedom; it is sized correctly with few treated
  units (about ten teams). The joint Wald test that every pre-period coefficient is zero is kept
  beside it (``joint_*``): with few treated units its covariance is estimated from too few units
  and it rejects far more often than its level (see ``benchmarks/pretrend_calibration.py``).

Validated against the published ``mpdta`` results (see ``tests/pilot/test_staggered.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from transforms.pilot.design import require_columns, require_no_nulls
from transforms.pilot.errors import PilotInputError

log = logging.getLogger(__name__)

FRAME = "staggered panel"
ControlGroup = Literal["not_yet_treated", "never_treated"]


@dataclass(frozen=True)
class Effect:
    """A scalar effect with its standard error, normal interval and two-sided p-value."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class PreTrendTest:
    """Test that pilot and comparison groups did not drift apart before the start.

    ``drift``: sum of the pre-period placebo changes = change of the treated-minus-control gap from
    the first pre-period to the period before the start (outcome units); ``drift_se`` its standard
    error; ``p_value`` its two-sided t-test with ``df`` degrees of freedom (treated units or
    clusters - 1). ``joint_statistic`` / ``joint_df`` / ``joint_p_value``: Wald test that every
    pre-period coefficient is zero (chi-square; over-rejects with few treated units).
    """

    drift: float
    drift_se: float
    df: int
    p_value: float
    event_times: tuple[int, ...]
    joint_statistic: float = float("nan")
    joint_df: int = 0
    joint_p_value: float = float("nan")

    @property
    def weeks(self) -> int:
        """Pre-periods the drift spans (placebo changes summed)."""
        return len(self.event_times)


@dataclass(frozen=True)
class StaggeredResult:
    """Callaway & Sant'Anna estimates of a staggered roll-out.

    ``groups``: ``group`` (the cohort's first treated period, in the input's time type), estimate,
    se, ci_low, ci_high, p_value. ``event_study``: ``event_time`` (periods since the cohort's start;
    negative = before), estimate, se, ci_low, ci_high, p_value, n_groups. ``group_time``: ``group``,
    ``time``, estimate, se, ci_low, ci_high, n_treated, n_control.
    """

    overall: Effect
    dynamic: Effect
    groups: pl.DataFrame
    event_study: pl.DataFrame
    group_time: pl.DataFrame
    pre_trend: PreTrendTest
    n_units: int
    n_treated_units: int
    n_control_units: int
    n_periods: int
    control_group: str
    alpha: float


def staggered_did(
    panel: pl.DataFrame,
    *,
    unit: str,
    time: str,
    first_treat: str,
    outcome: str,
    covariates: Sequence[str] | None = None,
    control_group: ControlGroup = "not_yet_treated",
    alpha: float = 0.05,
    estimation_method: Literal["dr", "ipw", "reg"] = "dr",
    anticipation: int = 0,
    cluster: str | None = None,
) -> StaggeredResult:
    """Fit Callaway & Sant'Anna on ``panel`` and aggregate it (see module docstring).

    ``time``: a ``Date`` column of ISO-week Mondays (converted to consecutive week numbers) or an
    integer period. ``first_treat``: the unit's first treated period in the same type; null (or 0
    for integer periods) = never treated. Units first treated at or before the first period have
    no pre-period and are dropped (logged); a start after the last period counts as never treated
    within this panel. ``cluster`` (e.g. the team, constant within a unit) makes the standard errors
    cluster-robust. The caller's frame is not modified.
    """
    if control_group not in ("not_yet_treated", "never_treated"):
        raise ValueError(f"control_group must be 'not_yet_treated' or 'never_treated'; got {control_group!r}")
    covariates = list(covariates or [])
    extra = [cluster] if cluster else []
    cols = [unit, time, first_treat, outcome, *covariates, *extra]
    require_columns(panel, cols, frame_name=FRAME)
    require_no_nulls(panel, [unit, time, outcome, *covariates, *extra], frame_name=FRAME)
    time_dtype = panel.schema[time]
    if panel.schema[first_treat] != time_dtype and not (
        time_dtype.is_integer() and panel.schema[first_treat].is_integer()
    ):
        raise PilotInputError(
            f"first_treat must have the type of {time!r} ({time_dtype}); found {panel.schema[first_treat]}",
            frame=FRAME,
            column=first_treat,
        )
    frame, from_index = _index_periods(panel.select(cols), time=time, first_treat=first_treat)
    per_unit = _check_panel(frame, unit=unit, first_treat=first_treat)

    first_period, last_period = int(frame["_t"].min()), int(frame["_t"].max())  # type: ignore[arg-type]
    early = per_unit.filter(pl.col("g").is_not_null() & (pl.col("g") <= first_period))
    if early.height:
        log.warning("%s: dropping %d unit(s) treated from the first period on (no pre-period)", FRAME, early.height)
        frame = frame.join(early.select(unit), on=unit, how="anti")
        per_unit = per_unit.join(early.select(unit), on=unit, how="anti")
    frame = frame.with_columns(
        pl.when(pl.col("_g").is_null() | (pl.col("_g") > last_period)).then(0).otherwise(pl.col("_g")).alias("_g")
    )
    n_units = per_unit.height
    n_treated = int((per_unit["g"].is_not_null() & (per_unit["g"] <= last_period)).sum())
    if n_treated == 0:
        raise PilotInputError(
            "no unit is treated within the panel's periods", frame=FRAME, column=first_treat
        )

    from diff_diff import CallawaySantAnna  # heavy import, only when estimating

    data = frame.select(
        pl.col(unit).alias("_unit"), "_t", "_g", pl.col(outcome).cast(pl.Float64).alias("_y"), *covariates,
        *[pl.col(c).alias("_cluster") for c in extra],
    ).to_pandas()
    estimator = CallawaySantAnna(
        control_group=control_group,
        alpha=alpha,
        estimation_method=estimation_method,
        anticipation=anticipation,
        cluster="_cluster" if cluster else None,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = estimator.fit(
                data, outcome="_y", unit="_unit", time="_t", first_treat="_g", covariates=covariates or None
            )
            simple = fit.aggregate("simple")
            event = fit.aggregate("event_study")
            group = fit.aggregate("group")
        except ValueError as exc:
            raise PilotInputError(f"Callaway-Sant'Anna could not be estimated: {exc}", frame=FRAME) from exc
    for w in caught:
        log.warning("diff_diff: %s", w.message)

    z = float(stats.norm.ppf(1 - alpha / 2))
    s = simple.to_dict()
    overall = Effect(
        float(s["att"][0]), float(s["se"][0]), float(s["conf_int_lower"][0]), float(s["conf_int_upper"][0]),
        float(s["p_value"][0]),
    )  # fmt: skip
    es = pl.from_pandas(event.to_dataframe())
    es = es.filter(~pl.col("is_reference")).select(
        pl.col("event_time").cast(pl.Int32),
        pl.col("att").alias("estimate"),
        "se",
        pl.col("conf_int_lower").alias("ci_low"),
        pl.col("conf_int_upper").alias("ci_high"),
        "p_value",
        pl.col("n").alias("n_groups"),
    )
    vcov = _event_vcov(event)
    dynamic = _linear_combination(es, vcov, es["event_time"] >= 0, z)
    n_clusters = int(data.loc[data["_g"] > 0, "_cluster"].nunique()) if cluster else n_treated
    pre_trend = _pre_trend_test(es, vcov, anticipation, max(n_clusters - 1, 1))

    groups = pl.from_pandas(group.to_dataframe()).select(
        pl.col("label").cast(pl.Int64).alias("_g"),
        pl.col("att").alias("estimate"),
        "se",
        pl.col("conf_int_lower").alias("ci_low"),
        pl.col("conf_int_upper").alias("ci_high"),
        "p_value",
    )
    groups = groups.with_columns(from_index(pl.col("_g")).alias("group")).drop("_g").select("group", pl.exclude("group"))
    group_time = pl.DataFrame(
        [
            {
                "_g": int(g), "_t": int(t), "estimate": v["effect"], "se": v["se"],
                "ci_low": v["conf_int"][0], "ci_high": v["conf_int"][1],
                "n_treated": v.get("n_treated"), "n_control": v.get("n_control"),
            }
            for (g, t), v in fit.group_time_effects.items()
        ],  # fmt: skip
        schema={
            "_g": pl.Int64, "_t": pl.Int64, "estimate": pl.Float64, "se": pl.Float64,
            "ci_low": pl.Float64, "ci_high": pl.Float64, "n_treated": pl.Int64, "n_control": pl.Int64,
        },  # fmt: skip
    )
    group_time = group_time.select(
        from_index(pl.col("_g")).alias("group"), from_index(pl.col("_t")).alias("time"), pl.exclude("_g", "_t")
    ).sort("group", "time")
    return StaggeredResult(
        overall=overall,
        dynamic=dynamic,
        groups=groups.sort("group"),
        event_study=es.sort("event_time"),
        group_time=group_time,
        pre_trend=pre_trend,
        n_units=n_units,
        n_treated_units=n_treated,
        n_control_units=n_units - n_treated,
        n_periods=frame["_t"].n_unique(),
        control_group=control_group,
        alpha=alpha,
    )


# --- helpers -------------------------------------------------------------------------------------


def _index_periods(
    frame: pl.DataFrame, *, time: str, first_treat: str
) -> tuple[pl.DataFrame, Callable[[pl.Expr], pl.Expr]]:
    """Add integer ``_t`` (period) and ``_g`` (first treated period, null = never) columns, and a
    function mapping an index expression back to the input's time type."""
    dtype = frame.schema[time]
    if dtype == pl.Date:
        origin: dt.date = frame[time].min()  # type: ignore[assignment]
        days = (pl.col(time) - pl.lit(origin)).dt.total_days()
        off_grid = frame.filter((days % 7) != 0)
        if off_grid.height:
            raise PilotInputError(
                f"weeks must be 7 days apart (ISO-week Mondays); found {off_grid[time][0]} not on the "
                f"weekly grid starting {origin}",
                frame=FRAME,
                column=time,
            )
        g_days = (pl.col(first_treat) - pl.lit(origin)).dt.total_days()
        out = frame.with_columns(
            (days // 7 + 1).cast(pl.Int64).alias("_t"),
            # a start between Mondays counts from the week that contains it
            (-((-g_days) // 7) + 1).cast(pl.Int64).alias("_g"),
        )

        def back(e: pl.Expr) -> pl.Expr:
            return pl.lit(origin) + pl.duration(days=(e - 1) * 7)

        return out, back
    if not dtype.is_integer():
        raise PilotInputError(f"time must be a Date (week) or an integer period; found {dtype}", frame=FRAME, column=time)
    shift = 1 - int(frame[time].min())
    shift = max(shift, 0)
    out = frame.with_columns(
        (pl.col(time).cast(pl.Int64) + shift).alias("_t"),
        pl.when(pl.col(first_treat) == 0).then(None).otherwise(pl.col(first_treat).cast(pl.Int64) + shift).alias("_g"),
    )

    def back_int(e: pl.Expr) -> pl.Expr:
        return (e - shift).cast(dtype)

    return out, back_int


def _check_panel(frame: pl.DataFrame, *, unit: str, first_treat: str) -> pl.DataFrame:
    """One pass over the panel: one row per unit with its first treated period ``g``; typed errors
    for duplicate (unit, period) rows and for a first treated period that varies within a unit."""
    per_unit = frame.group_by(unit).agg(
        pl.len().alias("rows"),
        pl.col("_t").n_unique().alias("periods"),
        pl.col("_g").min().alias("g"),
        pl.col("_g").max().alias("g_max"),
        pl.col("_g").null_count().alias("g_nulls"),
    )
    dupes = per_unit.filter(pl.col("rows") > pl.col("periods"))
    if dupes.height:
        raise PilotInputError(
            f"duplicate (unit, period) rows in {dupes.height} unit(s), e.g. unit {dupes[unit][0]!r}; expected one "
            "row per unit and period",
            frame=FRAME,
            column=unit,
        )
    varying = per_unit.filter(
        (pl.col("g") != pl.col("g_max")) | ((pl.col("g_nulls") > 0) & (pl.col("g_nulls") < pl.col("rows")))
    )
    if varying.height:
        raise PilotInputError(
            f"first treated period varies within {varying.height} unit(s), e.g. {varying[unit][0]!r}; "
            "expected one value per unit",
            frame=FRAME,
            column=first_treat,
        )
    return per_unit.select(unit, "g")


def _event_vcov(event) -> pl.DataFrame | None:  # noqa: ANN001 - diff_diff EventStudyResults
    if event.vcov is None or event.vcov_index is None:
        return None
    idx = [int(e) for e in event.vcov_index]
    return pl.DataFrame(np.asarray(event.vcov), schema=[str(e) for e in idx], orient="row").with_columns(
        pl.Series("event_time", idx, dtype=pl.Int32)
    )


def _sub_vcov(vcov: pl.DataFrame | None, times: list[int], se: np.ndarray) -> np.ndarray:
    if vcov is None:
        log.warning("%s: no event-study covariance; treating event-time estimates as independent", FRAME)
        return np.diag(se**2)
    rows = vcov.filter(pl.col("event_time").is_in(times)).sort("event_time")
    return rows.select([str(e) for e in sorted(times)]).to_numpy()


def _linear_combination(es: pl.DataFrame, vcov: pl.DataFrame | None, mask: pl.Series, z: float) -> Effect:
    part = es.filter(mask).sort("event_time")
    if part.height == 0:
        nan = float("nan")
        return Effect(nan, nan, nan, nan, nan)
    b = part["estimate"].to_numpy()
    v = _sub_vcov(vcov, part["event_time"].to_list(), part["se"].to_numpy())
    w = np.full(len(b), 1 / len(b))
    est = float(w @ b)
    se = float(np.sqrt(w @ v @ w))
    p = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else float("nan")
    return Effect(est, se, est - z * se, est + z * se, p)


def _pre_trend_test(es: pl.DataFrame, vcov: pl.DataFrame | None, anticipation: int, df: int) -> PreTrendTest:
    pre = es.filter((pl.col("event_time") < -anticipation) & pl.col("se").is_finite() & (pl.col("se") > 0))
    pre = pre.sort("event_time")
    times = tuple(pre["event_time"].to_list())
    nan = float("nan")
    if not times:
        return PreTrendTest(nan, nan, df, nan, ())
    b = pre["estimate"].to_numpy()
    v = _sub_vcov(vcov, list(times), pre["se"].to_numpy())
    ones = np.ones(len(b))
    drift, drift_se = float(ones @ b), float(np.sqrt(max(float(ones @ v @ ones), 0.0)))
    p = float(2 * stats.t.sf(abs(drift) / drift_se, df)) if drift_se > 0 else nan
    # joint Wald statistic on the well-determined directions of v only: with few treated units the
    # estimated covariance can be near-singular, and inverting noise would inflate the statistic
    eigval, eigvec = np.linalg.eigh((v + v.T) / 2)
    keep = eigval > 1e-8 * max(float(eigval.max()), 1e-300)
    proj = eigvec[:, keep].T @ b
    stat = float((proj**2 / eigval[keep]).sum())
    joint_df = int(keep.sum())
    if joint_df < len(times):
        log.info("%s: pre-trend covariance has rank %d < %d pre-periods", FRAME, joint_df, len(times))
    return PreTrendTest(drift, drift_se, df, p, times, stat, joint_df,
                        float(stats.chi2.sf(stat, joint_df)) if joint_df else nan)
