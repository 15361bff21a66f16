"""estimate_effect: hand-computed naive difference, equality with statsmodels' TreatmentEffect
(IPW-ATT, IPW-RA ATT = our AIPW-ATT, AIPW-ATE, IPW-ATE), a planted ATT, overlap diagnostics and
typed errors."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.treatment.treatment_effects import TreatmentEffect

from transforms.pilot import EffectEstimate, NoOverlapError, PilotInputError, estimate_effect
from transforms.pilot.design import design_matrix

COVARIATES = ["x1", "x2", "site", "x3"]  # -> intercept + 5 columns (statsmodels' IPW-RA GMM wants 6)


def _cross_section(n: int = 3000, seed: int = 3, heterogeneous: bool = False) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, n)
    site = rng.choice(["HQ", "PLANT", "STORE"], n)
    x3 = rng.normal(size=n)
    hq = (site == "HQ").astype(float)
    t = rng.binomial(1, 1 / (1 + np.exp(-(-1 + 0.8 * x1 + 0.7 * x2 + 0.5 * hq + 0.3 * x3))))
    effect = 0.5 + (1.0 * x2 if heterogeneous else 0.0)
    y = 1 + 2 * x1 + x2 + hq + effect * t + 0.5 * x3**2 + rng.normal(size=n)
    return pl.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2, "site": site, "x3": x3, "effect": effect})


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return _cross_section()


@pytest.fixture(scope="module")
def statsmodels_te(data: pl.DataFrame) -> TreatmentEffect:
    x = design_matrix(data, COVARIATES, frame_name="test").with_intercept()
    t = data["t"].to_numpy()
    logit = sm.Logit(t, x).fit(disp=0)
    return TreatmentEffect(sm.OLS(data["y"].to_numpy(), x), t, results_select=logit)


def _fit(data: pl.DataFrame, method: str, estimand: str = "ATT", **kw: object) -> EffectEstimate:
    return estimate_effect(data, treatment="t", outcome="y", covariates=COVARIATES, method=method,
                           estimand=estimand, trim=0, **kw)  # type: ignore[arg-type]


def test_naive_is_welchs_unequal_variance_t_interval() -> None:
    frame = pl.DataFrame({"t": [1, 1, 1, 0, 0, 0, 0], "y": [5.0, 7.0, 9.0, 1.0, 2.0, 3.0, 6.0]})
    e = estimate_effect(frame, treatment="t", outcome="y", method="naive")
    assert e.estimate == pytest.approx(7.0 - 3.0)
    # sample variances: treated 4, controls 14/3; se = sqrt(s1^2/n1 + s0^2/n0)
    assert e.se == pytest.approx(np.sqrt(4 / 3 + (14 / 3) / 4))
    welch = stats.ttest_ind([5.0, 7.0, 9.0], [1.0, 2.0, 3.0, 6.0], equal_var=False).confidence_interval(0.95)
    assert (e.ci_low, e.ci_high) == pytest.approx((welch.low, welch.high), abs=1e-9)
    assert e.ci_high - e.ci_low > 2 * 1.959964 * e.se  # wider than the normal interval on 3 + 4 units
    assert (e.n_treated, e.n_control) == (3, 4)
    assert e.naive_difference == e.estimate and e.overlap is None


def test_large_arms_give_the_normal_interval(data: pl.DataFrame) -> None:
    e = _fit(data, "aipw")
    assert (e.ci_high - e.ci_low) / (2 * e.se) == pytest.approx(1.959964, rel=5e-3)


def test_ipw_att_equals_statsmodels(data: pl.DataFrame, statsmodels_te: TreatmentEffect) -> None:
    ours = _fit(data, "ipw")
    ref = statsmodels_te.ipw(effect_group=1)
    assert ours.estimate == pytest.approx(ref.effect[0], abs=1e-5)
    assert ours.se == pytest.approx(ref.results_gmm.bse[0], rel=2e-3)


def test_aipw_att_equals_statsmodels_ipw_ra_on_the_treated(data: pl.DataFrame, statsmodels_te: TreatmentEffect) -> None:
    ours = _fit(data, "aipw")
    ref = statsmodels_te.ipw_ra(effect_group=1)
    assert ours.estimate == pytest.approx(ref.effect[0], abs=1e-5)
    assert ours.se == pytest.approx(ref.results_gmm.bse[0], rel=2e-3)


def test_ate_estimates_equal_statsmodels(data: pl.DataFrame, statsmodels_te: TreatmentEffect) -> None:
    aipw, ipw = _fit(data, "aipw", "ATE"), _fit(data, "ipw", "ATE")
    ref_aipw, ref_ipw = statsmodels_te.aipw(), statsmodels_te.ipw()
    assert aipw.estimate == pytest.approx(ref_aipw.effect[0], abs=1e-5)
    assert aipw.se == pytest.approx(ref_aipw.results_gmm.bse[0], rel=0.05)  # orthogonal score vs full GMM
    assert ipw.estimate == pytest.approx(ref_ipw.effect[0], abs=1e-4)
    assert ipw.se == pytest.approx(ref_ipw.results_gmm.bse[0], rel=2e-3)


def test_adjusted_estimators_recover_a_planted_att_the_naive_difference_misses() -> None:
    frame = _cross_section(n=4000, seed=1, heterogeneous=True)
    true_att = float(frame.filter(pl.col("t") == 1)["effect"].mean())  # 0.5 + share of x2 among treated
    true_ate = float(frame["effect"].mean())
    assert true_att - true_ate > 0.05  # the estimands differ: the test can tell them apart
    for method in ("ipw", "aipw", "matching"):
        e = _fit(frame, method)
        assert e.ci_low <= true_att <= e.ci_high, (method, e)
        assert abs(e.naive_difference - true_att) > (e.ci_high - e.ci_low) / 2, method
    ate = _fit(frame, "aipw", "ATE")
    assert ate.ci_low <= true_ate <= ate.ci_high


def test_overlap_diagnostics_report_trimming_and_the_score_by_arm() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    x = rng.normal(size=n) * 2.5
    t = rng.binomial(1, 1 / (1 + np.exp(-2 * x)))
    frame = pl.DataFrame({"t": t, "y": x + 0.3 * t + rng.normal(size=n), "x": x})
    e = estimate_effect(frame, treatment="t", outcome="y", covariates=["x"], method="aipw", trim=0.05)
    o = e.overlap
    assert o is not None
    assert o.n_trimmed_treated > 0 and o.n_trimmed_control > 0
    assert o.share_trimmed_treated == pytest.approx(o.n_trimmed_treated / t.sum())
    assert e.n_treated == t.sum() - o.n_trimmed_treated
    assert e.n_control == (1 - t).sum() - o.n_trimmed_control
    arms = o.propensity_by_arm
    assert arms["arm"].to_list() == ["treated", "control"]
    assert arms.filter(pl.col("arm") == "treated")["median"][0] > arms.filter(pl.col("arm") == "control")["median"][0]
    assert o.max_abs_smd_weighted < 0.1  # weighting balances the covariate


def test_cluster_with_one_unit_per_cluster_is_cr1_with_g_minus_1_df(data: pl.DataFrame,
                                                                     statsmodels_te: TreatmentEffect) -> None:
    clustered = _fit(data.with_row_index("unit"), "aipw", cluster="unit")
    g = data.height
    asymptotic = statsmodels_te.ipw_ra(effect_group=1).results_gmm.bse[0]
    assert clustered.se == pytest.approx(asymptotic * np.sqrt(g / (g - 1)), rel=2e-3)
    q = stats.t.ppf(0.975, g - 1)
    assert clustered.ci_high == pytest.approx(clustered.estimate + q * clustered.se, rel=1e-12)


def test_the_callers_frame_is_not_modified(data: pl.DataFrame) -> None:
    before = data.clone()
    _fit(data, "matching")
    assert data.equals(before)


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "match"),
    [
        (pl.DataFrame({"t": [1, 0, 1, 0], "y": [1.0, 2, 3, 4]}), {"covariates": ["age"]}, PilotInputError, "missing column.*age"),
        (pl.DataFrame({"t": [1, 0, 1, 0], "y": [1.0, None, 3, 4]}), {}, PilotInputError, "column 'y'.*null/NaN.*row 1"),
        (pl.DataFrame({"t": [1, 0, 1, 0], "y": [1.0, 2, 3, 4], "x": [0.1, float("nan"), 0, 1]}), {"covariates": ["x"]},
         PilotInputError, "column 'x'.*null/NaN"),
        (pl.DataFrame({"t": [0, 0, 0, 0], "y": [1.0, 2, 3, 4]}), {}, PilotInputError, "no treated units"),
        (pl.DataFrame({"t": [1, 1, 1, 1], "y": [1.0, 2, 3, 4]}), {}, PilotInputError, "no control units"),
        (pl.DataFrame({"t": [1, 2, 0, 0], "y": [1.0, 2, 3, 4]}), {}, PilotInputError, "0/1 or boolean"),
        (pl.DataFrame({"t": [1, 0, 0, 0], "y": [1.0, 2, 3, 4]}), {}, PilotInputError, "at least two treated"),
        (pl.DataFrame({"t": [1, 0, 1, 0], "y": ["a", "b", "c", "d"]}), {}, PilotInputError, "outcome must be numeric"),
        (pl.DataFrame({"t": [1, 0, 1, 0], "y": [1.0, 2, 3, 4]}), {"method": "psm"}, ValueError, "unknown method"),
        (pl.DataFrame({"t": [1, 0, 1, 0], "y": [1.0, 2, 3, 4]}), {"method": "matching", "estimand": "ATE"},
         ValueError, "ATT only"),
    ],
)
def test_bad_input_raises_a_typed_error(frame: pl.DataFrame, kwargs: dict, error: type, match: str) -> None:
    args = {"treatment": "t", "outcome": "y", "method": "ipw", **kwargs}
    with pytest.raises(error, match=match):
        estimate_effect(frame, **args)


def test_covariates_that_separate_the_arms_raise_no_overlap() -> None:
    x = np.r_[np.zeros(50), np.ones(50)]
    frame = pl.DataFrame({"t": x.astype(int), "y": np.arange(100.0), "office": np.where(x == 1, "office", "plant")})
    with pytest.raises(NoOverlapError, match="separate pilot members"):
        estimate_effect(frame, treatment="t", outcome="y", covariates=["office"], method="aipw")
