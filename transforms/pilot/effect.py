"""Pilot effect on a unit-level frame: naive difference, inverse-probability weighting, doubly
robust (AIPW) and propensity-score matching, with the naive difference always reported beside.

Grain: one row of the input per unit (person or team). The estimate is a difference in the mean
outcome per unit. Default estimand: ATT, the average effect on the treated units (the pilot's own
members); denominator of each arm's mean = the units of that arm kept after trimming.

Estimators (ATT unless said otherwise):

- ``naive``: mean outcome of treated minus mean outcome of controls.
- ``ipw``: Hajek inverse-probability weighting. Controls weighted by ``e/(1-e)`` (ATT) where ``e``
  is a logistic propensity score of the covariates; for the ATE treated get ``1/e`` and controls
  ``1/(1-e)``.
- ``aipw``: doubly robust. ATT: a control outcome regression weighted by ``e/(1-e)``, averaged
  over the treated (``mean_T(Y) - mean_T(X b_w)``): the "improved" doubly robust ATT of Sant'Anna
  & Zhao (2020) in the cross-section, numerically the IPW-RA estimator of Wooldridge (2007) and of
  ``statsmodels`` ``TreatmentEffect.ipw_ra(effect_group=1)``. ATE: classic AIPW with one OLS
  outcome model per arm (``statsmodels`` ``TreatmentEffect.aipw``).
- ``matching``: ``n_matches`` nearest controls on the logit of the propensity score, with
  replacement, regression bias-corrected (Abadie & Imbens 2011); ATT only.

Standard errors: influence functions of the stacked estimating equations, including the
first-step estimation of the propensity score and of the outcome regression (``ipw``, ``aipw``;
for the AIPW ATE the orthogonal score alone); the Abadie & Imbens (2006) variance for matching (it
treats the propensity score as known). ``cluster`` sums influence functions within clusters
(teams) first. Intervals are normal: ``estimate +/- z(1-alpha/2) * se``.

Overlap: units whose propensity falls outside ``[trim, 1 - trim]`` are dropped before estimating
(the effect is then the ATT on the region of common support); the propensity distribution per arm
and the share trimmed are returned in :class:`OverlapDiagnostics`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats
from threadpoolctl import threadpool_limits

from transforms.pilot.design import (
    Design,
    PropensityFit,
    binary_treatment,
    design_matrix,
    fit_propensity,
    require_columns,
    require_no_nulls,
)
from transforms.pilot.errors import NoOverlapError, PilotInputError

log = logging.getLogger(__name__)

Method = Literal["naive", "ipw", "aipw", "matching"]
Estimand = Literal["ATT", "ATE"]
METHODS: tuple[str, ...] = ("naive", "ipw", "aipw", "matching")
ESTIMANDS: tuple[str, ...] = ("ATT", "ATE")

FRAME = "unit frame"


@dataclass(frozen=True)
class OverlapDiagnostics:
    """How well treated and control units overlap on the propensity score.

    ``propensity_by_arm``: one row per arm (``treated`` / ``control``) with n, mean, min, p05, p25,
    median, p75, p95, max of the score before trimming. ``control_effective_n``: Kish effective
    sample size of the control weights actually used. ``max_abs_smd_weighted``: the largest
    absolute standardized mean difference of a covariate column between treated and
    weighted/matched controls (balance after adjustment; below 0.1 is good).
    """

    propensity_by_arm: pl.DataFrame
    trim_bounds: tuple[float, float]
    n_trimmed_treated: int
    n_trimmed_control: int
    share_trimmed_treated: float
    share_trimmed_control: float
    control_effective_n: float
    max_abs_smd_weighted: float


@dataclass(frozen=True)
class EffectEstimate:
    """One effect estimate with its interval, the naive difference and the counts used."""

    method: str
    estimand: str
    outcome: str
    treatment: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    alpha: float
    naive_difference: float
    naive_se: float
    n_treated: int
    n_control: int
    overlap: OverlapDiagnostics | None

    def as_row(self) -> dict[str, object]:
        """The scalar fields as a dict (no diagnostics frame), e.g. for a mart row."""
        d = asdict(self)
        d.pop("overlap")
        return d


def estimate_effect(
    frame: pl.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] = (),
    method: Method = "aipw",
    estimand: Estimand = "ATT",
    alpha: float = 0.05,
    trim: float = 0.01,
    n_matches: int = 4,
    cluster: str | None = None,
) -> EffectEstimate:
    """Estimate the effect of ``treatment`` on ``outcome`` with ``method`` (see module docstring).

    ``frame``: one row per unit; ``treatment`` 0/1 or boolean (intent to treat: assignment to the
    pilot); ``outcome`` numeric; ``covariates`` numeric, boolean or text (one-hot encoded, rare
    levels pooled). Nulls are not imputed: a null in any used column raises
    :class:`PilotInputError`, as do a missing column, a non-binary or constant treatment.
    :class:`NoOverlapError` when trimming leaves fewer than two units in an arm. The caller's frame
    is never modified.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if estimand not in ESTIMANDS:
        raise ValueError(f"unknown estimand {estimand!r}; expected one of {', '.join(ESTIMANDS)}")
    if method == "matching" and estimand != "ATT":
        raise ValueError("matching estimates the ATT only; use ipw or aipw for the ATE")
    if method == "matching" and cluster is not None:
        raise ValueError("cluster-robust standard errors are not available for matching")
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5); got {trim}")
    used = [treatment, outcome, *covariates, *([cluster] if cluster else [])]
    require_columns(frame, used, frame_name=FRAME)
    require_no_nulls(frame, used, frame_name=FRAME)
    if not frame.schema[outcome].is_numeric() and frame.schema[outcome] != pl.Boolean:
        raise PilotInputError(
            f"outcome must be numeric; found type {frame.schema[outcome]}", frame=FRAME, column=outcome
        )
    t = binary_treatment(frame, treatment, frame_name=FRAME)
    y = frame.get_column(outcome).cast(pl.Float64).to_numpy()
    # unit frames are small: BLAS threads only contend with each other (16x slower on 2 busy cores)
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate(frame, t, y, treatment, outcome, covariates, method, estimand, alpha, trim, n_matches, cluster)


def _estimate(
    frame: pl.DataFrame,
    t: np.ndarray,
    y: np.ndarray,
    treatment: str,
    outcome: str,
    covariates: Sequence[str],
    method: str,
    estimand: str,
    alpha: float,
    trim: float,
    n_matches: int,
    cluster: str | None,
) -> EffectEstimate:
    groups = _cluster_codes(frame, cluster)
    _require_arm_sizes(t, where="input")

    naive_tau, naive_if = _naive(y, t)
    naive_se = _se(naive_if, groups)
    z = float(stats.norm.ppf(1 - alpha / 2))

    if method == "naive":
        return EffectEstimate(
            method, estimand, outcome, treatment, naive_tau, naive_se,
            naive_tau - z * naive_se, naive_tau + z * naive_se, alpha,
            naive_tau, naive_se, int(t.sum()), int((1 - t).sum()), None,
        )  # fmt: skip

    design = design_matrix(frame, covariates, frame_name=FRAME)
    first = fit_propensity(design.matrix, t)
    keep = (first.score >= trim) & (first.score <= 1 - trim) if trim > 0 else np.ones(len(t), bool)
    n_trim_t = int((t[~keep] == 1).sum())
    n_trim_c = int((t[~keep] == 0).sum())
    if n_trim_t or n_trim_c:
        log.info("%s: trimmed %d treated and %d control units outside [%s, %s]", outcome, n_trim_t, n_trim_c, trim, 1 - trim)
    if (t[keep] == 1).sum() < 2 or (t[keep] == 0).sum() < 2:
        raise NoOverlapError(
            f"after trimming propensity scores to [{trim}, {1 - trim}] fewer than two units remain in an arm "
            f"({int((t[keep] == 1).sum())} treated, {int((t[keep] == 0).sum())} controls): "
            "the covariates separate pilot members from the rest",
            frame=FRAME,
            column=treatment,
        )
    if keep.all():
        ps, kept_design, tk, yk, gk = first, design, t, y, groups
    else:
        kept_design = Design(design.matrix[keep], design.names)
        tk, yk = t[keep], y[keep]
        gk = None if groups is None else groups[keep]
        ps = fit_propensity(kept_design.matrix, tk)

    if method == "matching":
        tau, var, control_weight = _matching_att(yk, tk, ps, kept_design.with_intercept(), n_matches)
        se = float(np.sqrt(var))
    else:
        if method == "ipw":
            tau, infl, control_weight = _ipw(yk, tk, ps, estimand)
        else:
            tau, infl, control_weight = _aipw(yk, tk, ps, kept_design.with_intercept(), estimand)
        se = _se(infl, gk)

    overlap = OverlapDiagnostics(
        propensity_by_arm=_propensity_summary(first.score, t),
        trim_bounds=(trim, 1 - trim),
        n_trimmed_treated=n_trim_t,
        n_trimmed_control=n_trim_c,
        share_trimmed_treated=n_trim_t / max(int(t.sum()), 1),
        share_trimmed_control=n_trim_c / max(int((1 - t).sum()), 1),
        control_effective_n=_kish(control_weight[tk == 0]),
        max_abs_smd_weighted=_max_abs_smd(kept_design.matrix, tk, control_weight) if estimand == "ATT" else float("nan"),
    )
    return EffectEstimate(
        method, estimand, outcome, treatment, float(tau), se, float(tau - z * se), float(tau + z * se), alpha,
        naive_tau, naive_se, int(tk.sum()), int((1 - tk).sum()), overlap,
    )  # fmt: skip


# --- estimators: each returns (estimate, influence function per unit, weight per unit) -------------


def _naive(y: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    p = t.mean()
    mu1, mu0 = y[t == 1].mean(), y[t == 0].mean()
    infl = t * (y - mu1) / p - (1 - t) * (y - mu0) / (1 - p)
    return float(mu1 - mu0), infl


def _propensity_if(ps: PropensityFit, t: np.ndarray) -> np.ndarray:
    """Influence function of the logit coefficients, n x k: H^-1 (t - e) z, H = mean e(1-e) z z'."""
    z, e = ps.design, ps.score
    hessian = (z * (e * (1 - e))[:, None]).T @ z / len(t)
    return ((t - e)[:, None] * z) @ np.linalg.pinv(hessian)


def _ipw(y: np.ndarray, t: np.ndarray, ps: PropensityFit, estimand: str) -> tuple[float, np.ndarray, np.ndarray]:
    e, z = ps.score, ps.design
    if_gamma = _propensity_if(ps, t)
    if estimand == "ATT":
        w = (1 - t) * e / (1 - e)  # d w / d gamma = w z
        mu1 = y[t == 1].mean()
        mu0 = (w * y).sum() / w.sum()
        p = t.mean()
        mean_w = w.mean()
        grad0 = ((w * (y - mu0))[:, None] * z).mean(axis=0) / mean_w
        if_mu0 = w * (y - mu0) / mean_w + if_gamma @ grad0
        infl = t * (y - mu1) / p - if_mu0
        weight = np.where(t == 1, 1.0, w)
        return float(mu1 - mu0), infl, weight
    w1 = t / e  # d w1 / d gamma = -w1 (1 - e) z
    w0 = (1 - t) / (1 - e)  # d w0 / d gamma = w0 e z
    mu1 = (w1 * y).sum() / w1.sum()
    mu0 = (w0 * y).sum() / w0.sum()
    grad1 = -((w1 * (1 - e) * (y - mu1))[:, None] * z).mean(axis=0) / w1.mean()
    grad0 = ((w0 * e * (y - mu0))[:, None] * z).mean(axis=0) / w0.mean()
    infl = w1 * (y - mu1) / w1.mean() - w0 * (y - mu0) / w0.mean() + if_gamma @ (grad1 - grad0)
    return float(mu1 - mu0), infl, w1 + w0


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    sw = np.sqrt(w)
    return np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)[0]


def _aipw(
    y: np.ndarray, t: np.ndarray, ps: PropensityFit, x: np.ndarray, estimand: str
) -> tuple[float, np.ndarray, np.ndarray]:
    e, z = ps.score, ps.design
    n = len(t)
    if estimand == "ATT":
        w = (1 - t) * e / (1 - e)
        beta = _wls(x, y, w)
        resid = y - x @ beta
        p = t.mean()
        tau = float(resid[t == 1].mean())  # = mean_T(Y) - mean_T(X b_w)
        # influence of the weighted regression coefficients, including the propensity step
        m = (x * w[:, None]).T @ x / n
        j_gamma = (x * (w * resid)[:, None]).T @ z / n
        if_beta = ((w * resid)[:, None] * x + _propensity_if(ps, t) @ j_gamma.T) @ np.linalg.pinv(m).T
        xbar_t = x[t == 1].mean(axis=0)
        infl = t * (resid - tau) / p - if_beta @ xbar_t
        weight = np.where(t == 1, 1.0, w)
        return tau, infl, weight
    b1 = _wls(x[t == 1], y[t == 1], np.ones(int(t.sum())))
    b0 = _wls(x[t == 0], y[t == 0], np.ones(int((1 - t).sum())))
    m1, m0 = x @ b1, x @ b0
    score = m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)
    tau = float(score.mean())
    return tau, score - tau, t / e + (1 - t) / (1 - e)


def _matching_att(
    y: np.ndarray, t: np.ndarray, ps: PropensityFit, x: np.ndarray, n_matches: int
) -> tuple[float, float, np.ndarray]:
    """Nearest-neighbour matching on the logit score, with replacement, bias-corrected.

    Variance: Abadie & Imbens (2006), ``[sum_T (Y_i - Y0hat_i - tau)^2 + sum_C K_j (K_j - 1) / M^2
    * s2_j] / N1^2`` with ``K_j`` the times control ``j`` is used, ``M`` the matches per treated unit
    and ``s2_j`` the conditional variance from the control's nearest controls.
    """
    e = np.clip(ps.score, 1e-12, 1 - 1e-12)
    s = np.log(e / (1 - e))
    treated, control = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    m = min(n_matches, len(control))
    from sklearn.neighbors import NearestNeighbors  # loads in seconds: only when matching

    nn = NearestNeighbors(n_neighbors=m).fit(s[control, None])
    _, idx = nn.kneighbors(s[treated, None])
    y_c, x_c = y[control], x[control]
    beta0 = _wls(x_c, y_c, np.ones(len(control)))
    mu0 = x @ beta0
    y0_hat = (y_c[idx] + (mu0[treated][:, None] - mu0[control][idx])).mean(axis=1)
    diff = y[treated] - y0_hat
    tau = float(diff.mean())
    k = np.bincount(idx.ravel(), minlength=len(control)).astype(float)
    s2_c = _conditional_variance(y_c, s[control], n_neighbors=min(4, len(control) - 1))
    n1 = len(treated)
    var = (((diff - tau) ** 2).sum() + (k * (k - 1) / m**2 * s2_c).sum()) / n1**2
    weight = np.ones(len(t))
    weight[control] = k / m
    return tau, float(var), weight


def _conditional_variance(y: np.ndarray, s: np.ndarray, *, n_neighbors: int) -> np.ndarray:
    """Abadie-Imbens variance of y at each unit: J/(J+1) (y_i - mean of its J nearest same-arm units)^2."""
    j = max(n_neighbors, 1)
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=j + 1).fit(s[:, None])
    _, idx = nn.kneighbors(s[:, None])
    own = np.arange(len(y))[:, None]
    # drop the unit itself (or, under ties, the last neighbour) so each row keeps j others
    not_self = idx != own
    first_self = (~not_self).argmax(axis=1)
    has_self = (~not_self).any(axis=1)
    drop_col = np.where(has_self, first_self, j)
    mask = np.ones_like(idx, dtype=bool)
    mask[np.arange(len(y)), drop_col] = False
    neighbours = idx[mask].reshape(len(y), j)
    return j / (j + 1) * (y - y[neighbours].mean(axis=1)) ** 2


# --- helpers -------------------------------------------------------------------------------------


def _require_arm_sizes(t: np.ndarray, *, where: str) -> None:
    n1, n0 = int(t.sum()), int((1 - t).sum())
    if n1 < 2 or n0 < 2:
        raise PilotInputError(
            f"need at least two treated and two control units ({where}: {n1} treated, {n0} controls)",
            frame=FRAME,
        )


def _cluster_codes(frame: pl.DataFrame, cluster: str | None) -> np.ndarray | None:
    if cluster is None:
        return None
    return frame.get_column(cluster).cast(pl.Utf8).cast(pl.Categorical).to_physical().to_numpy()


def _se(infl: np.ndarray, groups: np.ndarray | None) -> float:
    n = len(infl)
    if groups is None:
        return float(np.sqrt((infl**2).sum()) / n)
    sums = np.bincount(groups, weights=infl)
    g = int((np.bincount(groups) > 0).sum())
    return float(np.sqrt((sums**2).sum() * g / max(g - 1, 1)) / n)


def _kish(w: np.ndarray) -> float:
    total = w.sum()
    sq = (w**2).sum()
    return float(total**2 / sq) if sq > 0 else 0.0


def _max_abs_smd(x: np.ndarray, t: np.ndarray, weight: np.ndarray) -> float:
    if x.shape[1] == 0:
        return float("nan")
    wt, wc = weight * (t == 1), weight * (t == 0)
    m1 = (x * wt[:, None]).sum(axis=0) / wt.sum()
    m0 = (x * wc[:, None]).sum(axis=0) / wc.sum()
    pooled = np.sqrt((x[t == 1].var(axis=0) + x[t == 0].var(axis=0)) / 2)
    smd = np.where(pooled > 0, (m1 - m0) / np.where(pooled > 0, pooled, 1), 0.0)
    return float(np.abs(smd).max())


def _propensity_summary(score: np.ndarray, t: np.ndarray) -> pl.DataFrame:
    return (
        pl.DataFrame({"arm": np.where(t == 1, "treated", "control"), "propensity": score})
        .group_by("arm")
        .agg(
            pl.len().alias("n"),
            pl.col("propensity").mean().alias("mean"),
            pl.col("propensity").min().alias("min"),
            pl.col("propensity").quantile(0.05).alias("p05"),
            pl.col("propensity").quantile(0.25).alias("p25"),
            pl.col("propensity").median().alias("median"),
            pl.col("propensity").quantile(0.75).alias("p75"),
            pl.col("propensity").quantile(0.95).alias("p95"),
            pl.col("propensity").max().alias("max"),
        )
        .sort("arm", descending=True)
    )
