"""Power: the textbook two-sample MDE, the AR(1) variance factor against brute force, recovery of
variance components, Monte Carlo power at the MDE, weeks needed to detect an effect."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from transforms.pilot.power import (
    estimate_kpi_variance,
    kpi_power,
    minimum_detectable_effect,
    unit_variance,
    variance_factor,
    weeks_to_detect,
)


def _ar1_panel(n_units: int, weeks: int, *, sigma_b: float, sigma_w: float, rho: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = np.empty((n_units, weeks))
    e[:, 0] = rng.normal(0, sigma_w, n_units)
    innov = rng.normal(0, sigma_w * np.sqrt(1 - rho**2), (n_units, weeks))
    for t in range(1, weeks):  # recursion over a few dozen weeks, vectorised over units
        e[:, t] = rho * e[:, t - 1] + innov[:, t]
    return 10 + rng.normal(0, sigma_b, n_units)[:, None] + e


def test_textbook_two_sample_mde() -> None:
    n, sigma2 = 50, 4.0
    mde = minimum_detectable_effect(n_treated=n, n_control=n, weeks=1, sigma_within2=sigma2, design="means")
    assert mde == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * np.sqrt(2 * sigma2 / n), rel=1e-12)
    assert mde == pytest.approx(2.8016 * np.sqrt(2 * 4 / 50), rel=1e-4)


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.8, -0.4])
def test_variance_factor_and_did_variance_match_brute_force(rho: float) -> None:
    for t0, t1 in ((1, 1), (4, 9), (8, 26)):
        lags = np.abs(np.subtract.outer(np.arange(t0 + t1), np.arange(t0 + t1)))
        r = float(rho) ** lags
        post = np.r_[np.zeros(t0), np.full(t1, 1 / t1)]
        change = np.r_[np.full(t0, -1 / t0), np.full(t1, 1 / t1)]
        assert variance_factor(t1, rho) == pytest.approx(post @ r @ post, rel=1e-10)
        assert unit_variance(t1, sigma_within2=2.0, rho=rho, pre_weeks=t0, design="did") == pytest.approx(
            2.0 * change @ r @ change, rel=1e-10)


def test_variance_components_are_recovered_from_a_panel() -> None:
    y = _ar1_panel(400, 40, sigma_b=3.0, sigma_w=1.5, rho=0.5, seed=1)
    start = dt.date(2026, 1, 5)
    panel = pl.DataFrame({
        "unit_id": np.repeat(np.arange(400), 40).astype(str),
        "week_start": np.tile(np.array([start + dt.timedelta(weeks=i) for i in range(40)], dtype="datetime64[D]"), 400),
        "value": y.ravel(),
    })
    vc = estimate_kpi_variance(panel)
    assert vc.rho == pytest.approx(0.5, abs=0.04)
    assert np.sqrt(vc.sigma_within2) == pytest.approx(1.5, rel=0.05)
    assert np.sqrt(vc.sigma_between2) == pytest.approx(3.0, rel=0.1)
    assert (vc.n_units, vc.n_weeks) == (400, 40)


def test_power_at_the_mde_is_the_nominal_power_in_simulation() -> None:
    """DiD of unit means (8 pre, 12 pilot weeks), 30 vs 60 units, AR(1) rho 0.6: at tau = MDE a
    two-sided z-test rejects in about 80% of 2000 simulated pilots."""
    n1, n0, t0, t1, rho, sw = 30, 60, 8, 12, 0.6, 2.0
    mde = minimum_detectable_effect(n_treated=n1, n_control=n0, weeks=t1, sigma_within2=sw**2, rho=rho,
                                    sigma_between2=9.0, pre_weeks=t0, design="did")
    sims = 2000
    y = _ar1_panel(sims * (n1 + n0), t0 + t1, sigma_b=3.0, sigma_w=sw, rho=rho, seed=4).reshape(sims, n1 + n0, t0 + t1)
    y[:, :n1, t0:] += mde
    change = y[:, :, t0:].mean(axis=2) - y[:, :, :t0].mean(axis=2)
    diff = change[:, :n1].mean(axis=1) - change[:, n1:].mean(axis=1)
    se = np.sqrt(change[:, :n1].var(axis=1, ddof=1) / n1 + change[:, n1:].var(axis=1, ddof=1) / n0)
    power = float((np.abs(diff / se) > stats.norm.ppf(0.975)).mean())
    assert power == pytest.approx(0.8, abs=0.035)


def test_weeks_to_detect_is_the_first_duration_whose_mde_is_small_enough() -> None:
    kw = dict(n_treated=10, n_control=40, sigma_within2=4.0, rho=0.5, pre_weeks=8, design="did")
    weeks = weeks_to_detect(1.2, **kw)
    assert weeks is not None
    assert minimum_detectable_effect(weeks=weeks, **kw) <= 1.2 < minimum_detectable_effect(weeks=weeks - 1, **kw)
    # a persistent between-team spread sets a floor that no duration beats without a pre-period
    assert weeks_to_detect(0.5, n_treated=10, n_control=40, sigma_within2=4.0, sigma_between2=9.0, design="means") is None


def test_kpi_power_reads_arm_sizes_and_untreated_variance_from_the_panel() -> None:
    y = _ar1_panel(60, 30, sigma_b=2.0, sigma_w=1.0, rho=0.3, seed=2)
    start = dt.date(2026, 1, 5)
    dates = np.array([start + dt.timedelta(weeks=i) for i in range(30)], dtype="datetime64[D]")
    first = np.array([start + dt.timedelta(weeks=20) if u < 12 else None for u in range(60)], dtype="datetime64[D]")
    y[:12, 20:] -= 5.0  # a large pilot effect that must not count as noise
    panel = pl.DataFrame({
        "kpi": "first_response_hours", "unit_id": np.repeat(np.arange(60), 30).astype(str),
        "week_start": np.tile(dates, 60), "value": y.ravel(), "first_treat": np.repeat(first, 30),
    })
    out = kpi_power(panel, weeks=12, pre_weeks=8, relative_effect=0.1)
    row = out.row(0, named=True)
    assert (row["n_treated"], row["n_control"]) == (12, 48)
    assert row["sigma_within"] == pytest.approx(1.0, rel=0.15)
    expected = minimum_detectable_effect(n_treated=12, n_control=48, weeks=12, sigma_within2=row["sigma_within"] ** 2,
                                         rho=row["rho"], pre_weeks=8, design="did")
    assert row["mde"] == pytest.approx(expected)
    assert row["target_effect"] == pytest.approx(0.1 * row["mean"])
    assert row["weeks_to_detect_target"] is not None and row["weeks_to_detect_target"] >= 1
