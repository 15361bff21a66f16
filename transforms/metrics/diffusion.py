"""Diffusion: a discrete Bass model of weekly new adopters, with bootstrap intervals and projections.

Population (per population cut, attributes as of the start week ``G``, e.g. the general roll-out
week): the NON-PILOT people eligible in week ``G`` (``headcount``); of them, ``adopted_before``
were active before ``G``; the others form the Bass population (``bass_population``). A person
adopts in the week of their first activity ever. With ``n_k`` new adopters in week ``G+k``
(k = 0, 1, ...) and ``N_(k-1)`` = n_0 + ... + n_(k-1) (``N_(-1)`` = 0), the discrete Bass model is

    E[n_k | N_(k-1)] = (m - N_(k-1)) * (p + q * N_(k-1) / m)

(each of the m - N adoptable people not yet adopted adopts with probability p + q N / m). p
(innovation), q (imitation) and m (ceiling, at most the Bass population) are fitted by nonlinear
least squares (``scipy.optimize.curve_fit``) on the observed weeks. Intervals: parametric
bootstrap (binomial adoption paths simulated from the fit, refitted; percentile intervals).
Projection: the expected cumulative path from the fit, as a share of ``headcount`` counting
``adopted_before`` as adopted: share_k = (adopted_before + N_k) / headcount.

Derived (from the fitted expected path): ``peak_week`` = the week of the most new adopters;
``weeks_to_50`` / ``weeks_to_80`` = weeks of roll-out (the start week counts as 1) until the
share reaches 50% / 80% of headcount, null if the fitted ceiling never gets there within
``horizon_weeks``.

Kind: activity.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.contracts.config import Settings
from transforms.metrics.history import PERSON_WEEK_CORE, weeks_between, with_first_active
from transforms.metrics.populations import require_columns, with_populations
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE
from transforms.weeks import week_start_of

log = logging.getLogger(__name__)

__all__ = [
    "BassDiffusion",
    "BassFit",
    "bass_adopters",
    "bass_parameters",
    "bass_projection",
    "bass_start_week",
    "effective_start_week",
    "expected_path",
    "fit_bass",
    "fit_bass_diffusion",
]


@dataclass(frozen=True)
class BassFit:
    """Point estimates of one discrete Bass fit."""

    p: float
    q: float
    m: float
    sse: float


def _hazard_model(n_prev: np.ndarray, p: float, q: float, m: float) -> np.ndarray:
    return (m - n_prev) * (p + q * n_prev / m)


def fit_bass(new_adopters: np.ndarray, bass_population: int, *, start: BassFit | None = None,
             weighted: bool = True) -> BassFit:
    """Fit p, q, m of the discrete Bass model to weekly new adopters by nonlinear least squares.

    ``new_adopters[k]`` = new adopters in week k after the start; ``bass_population`` bounds m.
    Without ``start`` several starting points are tried and the smallest squared error is kept;
    with ``start`` (e.g. in the bootstrap) only that one. With ``weighted`` a second pass weighs
    each week by the inverse of its binomial variance under the first fit (quasi-likelihood), which
    makes p, set by the small early counts, much less noisy. Raises ``ValueError`` when there is
    nothing to fit (fewer than 3 weeks or no adopter).
    """
    from scipy.optimize import OptimizeWarning, curve_fit  # heavy import, only when fitting

    n = np.asarray(new_adopters, dtype=float)
    if n.size < 3 or n.sum() <= 0:
        raise ValueError(f"cannot fit a Bass model on {n.size} week(s) with {n.sum():.0f} adopter(s)")
    if bass_population < n.sum():
        raise ValueError(f"bass_population {bass_population} is below the {n.sum():.0f} observed adopters")
    n_prev = np.concatenate([[0.0], np.cumsum(n)[:-1]])
    total = float(n.sum())
    upper_m = float(max(bass_population, total + 1e-6))
    lower_m = total
    bounds = ([1e-7, 0.0, lower_m], [1.0, 3.0, upper_m])
    if start is not None:
        starts = [(start.p, start.q, start.m)]
    else:
        p0 = min(max(n[0] / upper_m, 1e-4), 0.5)
        starts = [(p0, q0, share * upper_m) for q0 in (0.05, 0.3) for share in (1.0, 0.6)]

    def run(sigma: np.ndarray | None) -> BassFit | None:
        best: BassFit | None = None
        for p0, q0, m0 in starts:
            x0 = [float(np.clip(p0, 1e-6, 0.99)), float(np.clip(q0, 0.0, 2.99)),
                  float(np.clip(m0, lower_m + 1e-6, upper_m - 1e-9 if upper_m > lower_m + 1e-6 else upper_m))]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", OptimizeWarning)
                    params, _ = curve_fit(_hazard_model, n_prev, n, p0=x0, sigma=sigma, bounds=bounds, maxfev=20000)
            except (RuntimeError, ValueError):
                continue
            resid = (_hazard_model(n_prev, *params) - n) / (1.0 if sigma is None else sigma)
            sse = float(np.sum(resid**2))
            if best is None or sse < best.sse:
                best = BassFit(float(params[0]), float(params[1]), float(params[2]), sse)
        return best

    first = run(None)
    if first is None:
        raise ValueError("Bass fit did not converge from any starting point")
    if not weighted:
        return first
    mu = _hazard_model(n_prev, first.p, first.q, first.m)
    hazard = np.clip(mu / np.maximum(first.m - n_prev, 1e-9), 0, 1)
    sigma = np.sqrt(np.maximum(mu * (1 - hazard), 0.5))
    starts = [(first.p, first.q, first.m)]
    return run(sigma) or first


def expected_path(p: float, q: float, m: float, weeks: int) -> np.ndarray:
    """Expected new adopters per week, k = 0..weeks-1, of the discrete Bass model."""
    out = np.zeros(weeks)
    cum = 0.0
    for k in range(weeks):  # a recursion over weeks, not rows of data
        out[k] = max(m - cum, 0.0) * min(p + q * cum / m, 1.0)
        cum += out[k]
    return out


def _simulate_paths(fit: BassFit, weeks: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """Binomial adoption paths from a fitted model: array (reps, weeks) of new adopters."""
    m = int(round(fit.m))
    paths = np.zeros((reps, weeks))
    cum = np.zeros(reps)
    for k in range(weeks):
        prob = np.clip(fit.p + fit.q * cum / max(fit.m, 1e-9), 0, 1)
        new = rng.binomial(np.maximum(m - cum, 0).astype(np.int64), prob)
        paths[:, k] = new
        cum += new
    return paths


def _derived(fit: BassFit, adopted_before: int, headcount: int, horizon: int) -> dict[str, float | None]:
    new = expected_path(fit.p, fit.q, fit.m, horizon)
    share = (adopted_before + np.cumsum(new)) / headcount
    out: dict[str, float | None] = {"peak_week_index": float(np.argmax(new))}
    for target in (50, 80):
        hit = np.nonzero(share >= target / 100 - 1e-12)[0]
        out[f"weeks_to_{target}"] = float(hit[0] + 1) if hit.size else None
    return out


def bass_adopters(
    person_week: pl.DataFrame,
    *,
    start_week: dt.date,
    populations: Sequence[str] = ("organisation",),
) -> pl.DataFrame:
    """Weekly new adopters of the Bass population per population (person-level inputs, counts out).

    Grain: one row per population x week from the start week to the last week of the data.
    Columns: headcount (non-pilot eligible at the start week), adopted_before, bass_population,
    weeks_since_start, new_adopters.
    """
    require_columns(person_week, [*PERSON_WEEK_CORE, "pilot_cohort"], table="person_week")
    g = week_start_of(start_week)
    last = person_week["week_start"].max()
    if last is None or g > last:
        raise ValueError(f"start week {g} is after the last week of person_week ({last})")
    at_start = with_first_active(person_week).filter((pl.col("week_start") == g) & pl.col("pilot_cohort").is_null())
    if at_start.height == 0:
        raise ValueError(f"no non-pilot person is eligible in the start week {g}")
    people = with_populations(at_start, populations).with_columns(
        (pl.col("first_active") < g).fill_null(False).alias("__before"),
        weeks_between(pl.lit(g), pl.col("first_active")).alias("__k"),
    )
    sizes = people.group_by("population_type", "population").agg(
        pl.len().cast(pl.Int64).alias("headcount"),
        pl.col("__before").sum().cast(pl.Int64).alias("adopted_before"),
    ).with_columns((pl.col("headcount") - pl.col("adopted_before")).alias("bass_population"))
    n_weeks = int((last - g).days // 7) + 1
    grid = sizes.join(pl.DataFrame({"weeks_since_start": pl.int_range(0, n_weeks, eager=True, dtype=pl.Int32)}),
                      how="cross")
    counts = (
        people.filter(~pl.col("__before") & pl.col("__k").is_not_null())
        .group_by("population_type", "population", pl.col("__k").alias("weeks_since_start"))
        .agg(pl.len().cast(pl.Int64).alias("new_adopters"))
    )
    return (
        grid.join(counts, on=["population_type", "population", "weeks_since_start"], how="left")
        .with_columns(pl.col("new_adopters").fill_null(0),
                      (pl.lit(g) + pl.duration(weeks=pl.col("weeks_since_start"))).alias("week_start"))
        .sort("population_type", "population", "weeks_since_start")
    )


def bass_start_week(settings: Settings) -> dt.date:
    """The week organic diffusion starts: the Monday of ``settings.general_rollout``, else of
    ``settings.platform_launch`` (the Bass population is everyone not yet active then)."""
    return week_start_of(settings.general_rollout or settings.platform_launch)


@dataclass(frozen=True)
class BassDiffusion:
    """A fitted diffusion: ``parameters`` and ``projection``, both tidy tables of kind activity."""

    parameters: pl.DataFrame
    projection: pl.DataFrame


_PARAMETERS = ("p", "q", "m", "m_share", "peak_week_index", "weeks_to_50", "weeks_to_80")


def effective_start_week(person_week: pl.DataFrame, start_week: dt.date) -> dt.date:
    """The Monday the Bass model starts: ``start_week``'s, or the first week of ``person_week`` when
    the roll-out began before the data does (a platform export that starts after the launch): the
    model then starts with the first week observed, and people active in it count as its first
    adopters. Logged when moved."""
    g = week_start_of(start_week)
    first = person_week["week_start"].min() if "week_start" in person_week.columns else None
    if first is not None and g < first:
        log.warning("Bass model: the roll-out (%s) starts before the data (%s); the model starts with the first "
                    "week of data", g, first)
        return first
    return g


def fit_bass_diffusion(
    person_week: pl.DataFrame,
    *,
    start_week: dt.date,
    populations: Sequence[str] = ("organisation",),
    bootstrap_reps: int = 200,
    horizon_weeks: int = 156,
    interval: float = 0.9,
    seed: int = 0,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> BassDiffusion:
    """Fit the Bass model per population, bootstrap it, and project it (see the module docstring).

    Populations whose Bass population is below ``min_group_size``, or with fewer than 3 weeks or
    no adopter, get null estimates (``status`` says why). A ``start_week`` before the first week of
    data starts the model with that week (:func:`effective_start_week`); ``start_week`` in the
    output is the week used. ``interval`` is the bootstrap percentile
    interval's coverage (0.9 = 5th to 95th percentile).
    """
    start_week = effective_start_week(person_week, start_week)
    adopters = bass_adopters(person_week, start_week=start_week, populations=populations)
    rng = np.random.default_rng(seed)
    lo_q, hi_q = (1 - interval) / 2 * 100, (1 + interval) / 2 * 100
    param_rows: list[dict[str, object]] = []
    proj_parts: list[pl.DataFrame] = []
    for (ptype, pop), grp in adopters.group_by("population_type", "population", maintain_order=True):
        grp = grp.sort("weeks_since_start")
        headcount, before, bass_pop = (int(grp[c][0]) for c in ("headcount", "adopted_before", "bass_population"))
        n = grp["new_adopters"].to_numpy().astype(float)
        base = {"population_type": ptype, "population": pop, "headcount": headcount, "adopted_before": before,
                "bass_population": bass_pop, "weeks_observed": int(n.size)}
        observed = (before + np.cumsum(n)) / headcount
        horizon = max(horizon_weeks, n.size)
        weeks = [grp["week_start"][0] + dt.timedelta(weeks=k) for k in range(horizon)]
        status = "ok"
        fit: BassFit | None = None
        if bass_pop < min_group_size:
            status = f"suppressed: Bass population below {min_group_size}"
        else:
            try:
                fit = fit_bass(n, bass_pop)
            except ValueError as exc:
                status = f"not fitted: {exc}"
        if fit is None:
            for name in _PARAMETERS:
                param_rows.append({**base, "parameter": name, "estimate": None, "low": None, "high": None,
                                   "status": status})
            hide = status.startswith("suppressed")
            none = [None] * n.size
            proj_parts.append(pl.DataFrame({
                "population_type": ptype, "population": pop, "week_start": weeks[: n.size],
                "weeks_since_start": list(range(n.size)), "observed_new_adopters": none if hide else n.tolist(),
                "observed_share": none if hide else observed.tolist(), "fitted_share": none, "band_low": none,
                "band_high": none, "is_projection": [False] * n.size, "status": status,
            }, schema_overrides={"observed_new_adopters": pl.Float64, "observed_share": pl.Float64,
                                 "fitted_share": pl.Float64, "band_low": pl.Float64, "band_high": pl.Float64}))
            continue
        point = {"p": fit.p, "q": fit.q, "m": fit.m, "m_share": fit.m / bass_pop,
                 **_derived(fit, before, headcount, horizon)}
        boot: dict[str, list[float]] = {k: [] for k in _PARAMETERS}
        shares = []
        for path in _simulate_paths(fit, n.size, bootstrap_reps, rng):
            try:
                b = fit_bass(path, bass_pop, start=fit)
            except ValueError:
                continue
            d = {"p": b.p, "q": b.q, "m": b.m, "m_share": b.m / bass_pop, **_derived(b, before, headcount, horizon)}
            for k in _PARAMETERS:
                boot[k].append(np.nan if d[k] is None else float(d[k]))  # type: ignore[arg-type]
            shares.append((before + np.cumsum(expected_path(b.p, b.q, b.m, horizon))) / headcount)
        for name in _PARAMETERS:
            vals = np.asarray(boot[name], dtype=float)
            finite = vals[np.isfinite(vals)]
            # a target never reached in some replicates: the interval is open-ended (high = null)
            low = float(np.percentile(finite, lo_q)) if finite.size else None
            high = float(np.percentile(finite, hi_q)) if finite.size and finite.size == vals.size else None
            param_rows.append({**base, "parameter": name, "estimate": point[name], "low": low, "high": high,
                               "status": status})
        band = np.vstack(shares) if shares else np.full((1, horizon), np.nan)
        fitted = (before + np.cumsum(expected_path(fit.p, fit.q, fit.m, horizon))) / headcount
        obs_new = np.concatenate([n, np.full(horizon - n.size, np.nan)])
        obs_share = np.concatenate([observed, np.full(horizon - n.size, np.nan)])
        proj_parts.append(pl.DataFrame({
            "population_type": ptype, "population": pop, "week_start": weeks,
            "weeks_since_start": list(range(horizon)), "observed_new_adopters": obs_new, "observed_share": obs_share,
            "fitted_share": fitted, "band_low": np.nanpercentile(band, lo_q, axis=0),
            "band_high": np.nanpercentile(band, hi_q, axis=0), "is_projection": [k >= n.size for k in range(horizon)],
            "status": status,
        }).with_columns(pl.col("observed_new_adopters", "observed_share").fill_nan(None)))
        log.info("Bass %s=%s: p=%.4f q=%.3f m=%.0f of %d", ptype, pop, fit.p, fit.q, fit.m, bass_pop)
    params = pl.DataFrame(param_rows, schema={
        "population_type": pl.Utf8, "population": pl.Utf8, "headcount": pl.Int64, "adopted_before": pl.Int64,
        "bass_population": pl.Int64, "weeks_observed": pl.Int64, "parameter": pl.Utf8, "estimate": pl.Float64,
        "low": pl.Float64, "high": pl.Float64, "status": pl.Utf8,
    }).with_columns(pl.lit(week_start_of(start_week)).alias("start_week"), pl.lit(interval).alias("interval_level"))
    projection = pl.concat(proj_parts, how="vertical_relaxed") if proj_parts else pl.DataFrame()
    return BassDiffusion(
        parameters=with_kind(params, MetricKind.ACTIVITY),
        projection=with_kind(projection, MetricKind.ACTIVITY),
    )


@table_function(kind=MetricKind.ACTIVITY, metrics=("bass_p", "bass_q", "bass_m", "weeks_to_adoption_share"),
                grain="population x parameter")
def bass_parameters(person_week: pl.DataFrame, *, start_week: dt.date, **options: object) -> pl.DataFrame:
    """Bass p, q, m, m_share, peak week and weeks to 50% / 80% per population, with bootstrap intervals.

    Grain: one row per population x parameter. Denominators: the Bass population for ``m_share``,
    the non-pilot eligible headcount at the start week for the 50% / 80% targets. Options as
    :func:`fit_bass_diffusion`.
    """
    return fit_bass_diffusion(person_week, start_week=start_week, **options).parameters  # type: ignore[arg-type]


@table_function(kind=MetricKind.ACTIVITY, metrics=("projected_adoption_share",), grain="population x week")
def bass_projection(person_week: pl.DataFrame, *, start_week: dt.date, **options: object) -> pl.DataFrame:
    """Observed and fitted/projected cumulative adoption share with bootstrap bands, for the chart.

    Grain: one row per population x week from the start week over the horizon. Denominator: the
    non-pilot eligible headcount at the start week (people adopted before it count as adopted).
    Options as :func:`fit_bass_diffusion`.
    """
    return fit_bass_diffusion(person_week, start_week=start_week, **options).projection  # type: ignore[arg-type]
