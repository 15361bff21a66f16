"""Power for outcome KPIs: the minimum detectable effect (MDE) of a pilot of a given size and
duration, and the weeks a pilot must run to detect a chosen effect.

Model of a weekly KPI for unit ``j`` (a team, usually) in week ``t``::

    y_jt = mu + week_t + b_j + e_jt + tau * D_jt,   Var(b_j) = sigma_b^2,
    e_jt = rho * e_j,t-1 + u_jt  (stationary AR(1), Var(e_jt) = sigma_w^2)

Units are the clusters: people within a team share the team's KPI, so the team is the unit of
analysis and ``n_treated`` / ``n_control`` count teams. With ``g(T) = Var(mean of T consecutive
e) / sigma_w^2 = (T + 2 sum_{k<T} (T - k) rho^k) / T^2`` and ``c(T0, T1)`` the correlation term
between the mean of ``T0`` weeks and the mean of the ``T1`` weeks right after
(``rho * (1 - rho^T0) (1 - rho^T1) / ((1 - rho)^2 T0 T1)``), the variance of one unit's summary is

- ``design="did"`` (change of the unit's mean from ``T0`` pre weeks to ``T1`` pilot weeks; the
  persistent level ``b_j`` cancels): ``V = sigma_w^2 (g(T1) + g(T0) - 2 c(T0, T1))``;
- ``design="means"`` (mean over the ``T1`` pilot weeks only): ``V = sigma_b^2 + sigma_w^2 g(T1)``.

Then ``MDE = (z_{1 - alpha/2} + z_{power}) * sqrt(V (1/n_treated + 1/n_control))``: the two-sample
textbook formula ``(z_{1-a/2} + z_power) sqrt(2 sigma^2 / n)`` when ``T1 = 1``, ``sigma_b = 0`` and
the arms are equal. The MDE is in the KPI's unit (absolute effect).

Variance components are estimated from the data (:func:`estimate_kpi_variance`): week means are
removed (common shocks cancel between arms); ``rho`` comes from the autocorrelation of
week-on-week changes, ``corr(dy_t, dy_t-1) = -(1 - rho) / 2`` (no bias from demeaning short
series); ``sigma_w^2 = Var(dy) / (2 (1 - rho))``; ``sigma_b^2`` = variance of unit means minus the
part explained by ``sigma_w^2 g(T)`` (floored at 0).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from transforms.pilot.design import require_columns, require_no_nulls
from transforms.pilot.errors import PilotInputError

log = logging.getLogger(__name__)

Design = Literal["did", "means"]
FRAME = "kpi panel"
#: Columns of ``marts.pilot_power`` (one row per weekly team KPI).
KPI_POWER_SCHEMA = pl.Schema({
    "kpi": pl.Utf8, "mean": pl.Float64, "sigma_between": pl.Float64, "sigma_within": pl.Float64, "rho": pl.Float64,
    "n_treated": pl.Int64, "n_control": pl.Int64, "weeks": pl.Int64, "pre_weeks": pl.Int64, "design": pl.Utf8,
    "mde": pl.Float64, "mde_relative": pl.Float64, "target_effect": pl.Float64, "weeks_to_detect_target": pl.Int64,
})


@dataclass(frozen=True)
class KpiVariance:
    """Variance components of a weekly KPI (see module docstring); ``mean`` is the KPI's mean."""

    mean: float
    sigma_between2: float
    sigma_within2: float
    rho: float
    n_units: int
    n_weeks: int


def estimate_kpi_variance(
    panel: pl.DataFrame, *, unit: str = "unit_id", time: str = "week_start", value: str = "value"
) -> KpiVariance:
    """Estimate ``sigma_b^2``, ``sigma_w^2`` and ``rho`` of a unit-week panel of one KPI.

    Use untreated observations only (control units, and treated units before their start):
    the pilot's own effect would otherwise count as noise. Weeks must be 7 days apart; changes are
    only taken between consecutive weeks of the same unit.
    """
    require_columns(panel, [unit, time, value], frame_name=FRAME)
    require_no_nulls(panel, [unit, time, value], frame_name=FRAME)
    if panel[unit].n_unique() < 2 or panel[time].n_unique() < 3:
        raise PilotInputError("need at least 2 units and 3 weeks to estimate variance components", frame=FRAME)
    resid = panel.select(unit, time, pl.col(value).cast(pl.Float64).alias("y")).with_columns(
        (pl.col("y") - pl.col("y").mean().over(time)).alias("r")
    )
    step = (pl.col(time) - pl.col(time).shift(1).over(unit)).dt.total_days() if panel.schema[time] == pl.Date else (
        pl.col(time) - pl.col(time).shift(1).over(unit)
    )  # fmt: skip
    unit_step = 7 if panel.schema[time] == pl.Date else 1
    diffs = (
        resid.sort(unit, time)
        .with_columns(pl.when(step == unit_step).then(pl.col("r") - pl.col("r").shift(1).over(unit)).alias("d"))
        .with_columns(pl.col("d").shift(1).over(unit).alias("d_prev"))
    )
    pairs = diffs.drop_nulls(["d", "d_prev"])
    var_d = float(diffs["d"].drop_nulls().pow(2).mean())  # E[d] = 0 after removing week means
    if pairs.height < 2 or not np.isfinite(var_d) or var_d <= 0:
        raise PilotInputError("too few consecutive weeks to estimate week-to-week variation", frame=FRAME, column=time)
    cov_d = float((pairs["d"] * pairs["d_prev"]).mean())
    rho = 1 + 2 * cov_d / var_d
    if not -0.99 <= rho <= 0.99:
        log.info("%s: estimated rho %.3f clipped to [-0.99, 0.99]", FRAME, rho)
        rho = float(np.clip(rho, -0.99, 0.99))
    sigma_w2 = var_d / (2 * (1 - rho))
    means = resid.group_by(unit).agg(pl.col("r").mean().alias("m"), pl.len().alias("T"))
    t_typical = int(means["T"].median())  # type: ignore[arg-type]
    sigma_b2 = max(float(means["m"].var()) - sigma_w2 * variance_factor(t_typical, rho), 0.0)
    return KpiVariance(
        mean=float(resid["y"].mean()),  # type: ignore[arg-type]
        sigma_between2=sigma_b2,
        sigma_within2=sigma_w2,
        rho=rho,
        n_units=means.height,
        n_weeks=int(panel[time].n_unique()),
    )


def variance_factor(weeks: int | np.ndarray, rho: float) -> np.ndarray | float:
    """``g(T)``: variance of the mean of ``T`` consecutive AR(1) terms, in units of ``sigma_w^2``."""
    t = np.asarray(weeks, dtype=float)
    if abs(rho) < 1e-12:
        return 1 / t
    # closed form of (T + 2 sum_{k=1}^{T-1} (T - k) rho^k) / T^2
    s = t * (1 + rho) / (1 - rho) - 2 * rho * (1 - rho**t) / (1 - rho) ** 2
    return s / t**2


def _cross_factor(t0: int, t1: np.ndarray, rho: float) -> np.ndarray:
    if abs(rho) < 1e-12:
        return np.zeros_like(t1, dtype=float)
    return rho * (1 - rho**t0) * (1 - rho**t1) / ((1 - rho) ** 2 * t0 * t1)


def unit_variance(
    weeks: int | np.ndarray,
    *,
    sigma_within2: float,
    rho: float = 0.0,
    sigma_between2: float = 0.0,
    pre_weeks: int = 0,
    design: Design = "did",
) -> np.ndarray | float:
    """Variance of one unit's summary outcome over ``weeks`` pilot weeks (module docstring)."""
    t1 = np.asarray(weeks, dtype=float)
    if np.any(t1 < 1):
        raise ValueError("weeks must be at least 1")
    if design == "means":
        return sigma_between2 + sigma_within2 * variance_factor(t1, rho)
    if design != "did":
        raise ValueError(f"design must be 'did' or 'means'; got {design!r}")
    if pre_weeks < 1:
        raise ValueError("design='did' needs pre_weeks >= 1")
    return sigma_within2 * (
        variance_factor(t1, rho) + variance_factor(pre_weeks, rho) - 2 * _cross_factor(pre_weeks, t1, rho)
    )


def minimum_detectable_effect(
    *,
    n_treated: int,
    n_control: int,
    weeks: int,
    sigma_within2: float,
    rho: float = 0.0,
    sigma_between2: float = 0.0,
    pre_weeks: int = 0,
    design: Design = "did",
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """The smallest absolute effect a pilot of this size and duration detects with ``power``
    (two-sided test at ``alpha``). See the module docstring for the formula."""
    if n_treated < 1 or n_control < 1:
        raise ValueError("n_treated and n_control must be at least 1")
    v = unit_variance(
        weeks, sigma_within2=sigma_within2, rho=rho, sigma_between2=sigma_between2, pre_weeks=pre_weeks, design=design
    )
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z * np.sqrt(v * (1 / n_treated + 1 / n_control)))


def weeks_to_detect(
    effect: float,
    *,
    n_treated: int,
    n_control: int,
    sigma_within2: float,
    rho: float = 0.0,
    sigma_between2: float = 0.0,
    pre_weeks: int = 0,
    design: Design = "did",
    alpha: float = 0.05,
    power: float = 0.8,
    max_weeks: int = 520,
) -> int | None:
    """Fewest pilot weeks whose MDE is at most ``|effect|``; ``None`` if not within ``max_weeks``
    (with ``design="means"`` the persistent between-unit variance sets a floor no duration beats)."""
    weeks = np.arange(1, max_weeks + 1)
    v = unit_variance(
        weeks, sigma_within2=sigma_within2, rho=rho, sigma_between2=sigma_between2, pre_weeks=pre_weeks, design=design
    )
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    mde = z * np.sqrt(np.asarray(v) * (1 / n_treated + 1 / n_control))
    ok = np.flatnonzero(mde <= abs(effect))
    return int(weeks[ok[0]]) if ok.size else None


def kpi_power(
    kpi_panel: pl.DataFrame,
    *,
    weeks: int,
    pre_weeks: int,
    n_treated: int | None = None,
    n_control: int | None = None,
    relative_effect: float = 0.10,
    design: Design = "did",
    alpha: float = 0.05,
    power: float = 0.8,
    max_weeks: int = 520,
) -> pl.DataFrame:
    """One row per KPI of ``kpi_panel`` (``kpi``, ``unit_id``, ``week_start``, ``value``, and
    optionally ``first_treat``): variance components, the MDE of a ``weeks``-long pilot (absolute
    and relative to the KPI's mean), and the weeks needed to detect an effect of
    ``relative_effect`` x the KPI's mean.

    Variance components use untreated observations (rows before ``first_treat``, or all rows when
    the column is absent). ``n_treated`` / ``n_control`` default to the units with / without a
    ``first_treat``.
    """
    require_columns(kpi_panel, ["kpi", "unit_id", "week_start", "value"], frame_name=FRAME)
    has_ft = "first_treat" in kpi_panel.columns
    records = []
    for kpi in kpi_panel["kpi"].unique().sort().to_list():  # one iteration per KPI: a handful
        part = kpi_panel.filter(pl.col("kpi") == kpi)
        untreated = part.filter(pl.col("first_treat").is_null() | (pl.col("week_start") < pl.col("first_treat"))) if has_ft else part
        vc = estimate_kpi_variance(untreated)
        if has_ft:
            units = part.group_by("unit_id").agg(pl.col("first_treat").drop_nulls().first())
            n1 = n_treated if n_treated is not None else int(units["first_treat"].is_not_null().sum())
            n0 = n_control if n_control is not None else int(units["first_treat"].is_null().sum())
        else:
            if n_treated is None or n_control is None:
                raise ValueError("give n_treated and n_control when the panel has no first_treat column")
            n1, n0 = n_treated, n_control
        if n1 < 1 or n0 < 1:
            raise PilotInputError(f"KPI {kpi!r}: need treated and control units ({n1} treated, {n0} control)", frame=FRAME)
        kwargs = dict(
            sigma_within2=vc.sigma_within2, rho=vc.rho, sigma_between2=vc.sigma_between2,
            pre_weeks=pre_weeks, design=design, alpha=alpha, power=power,
        )  # fmt: skip
        mde = minimum_detectable_effect(n_treated=n1, n_control=n0, weeks=weeks, **kwargs)  # type: ignore[arg-type]
        target = abs(relative_effect * vc.mean)
        records.append(
            {
                "kpi": kpi, "mean": vc.mean, "sigma_between": np.sqrt(vc.sigma_between2),
                "sigma_within": np.sqrt(vc.sigma_within2), "rho": vc.rho, "n_treated": n1, "n_control": n0,
                "weeks": weeks, "pre_weeks": pre_weeks, "design": design, "mde": mde,
                "mde_relative": mde / abs(vc.mean) if vc.mean else None,
                "target_effect": target,
                "weeks_to_detect_target": weeks_to_detect(
                    target, n_treated=n1, n_control=n0, max_weeks=max_weeks, **kwargs  # type: ignore[arg-type]
                ),
            }
        )  # fmt: skip
    return pl.DataFrame(records, schema=KPI_POWER_SCHEMA)
