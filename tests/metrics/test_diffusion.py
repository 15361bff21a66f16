"""Bass diffusion: counts of the Bass population, recovery of planted p, q, m, projection and bands."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from metric_fixtures import make_person_week, week

from transforms.metrics.diffusion import (
    BassFit,
    _simulate_paths,
    bass_adopters,
    effective_start_week,
    expected_path,
    fit_bass,
    fit_bass_diffusion,
)


def test_expected_path_is_the_discrete_bass_recursion():
    new = expected_path(0.1, 0.5, 100, 3)
    # week 0: 100 * 0.1 = 10; week 1: 90 * (0.1 + 0.5 * 10/100) = 13.5; week 2: 76.5 * (0.1 + 0.5 * 23.5/100)
    assert new.tolist() == pytest.approx([10, 13.5, 76.5 * (0.1 + 0.5 * 0.235)])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_recovers_planted_p_q_m_within_25_percent(seed):
    rng = np.random.default_rng(seed)
    planted = BassFit(p=0.01, q=0.3, m=0.8 * 2000, sse=0)
    path = _simulate_paths(planted, 40, 1, rng)[0]
    fit = fit_bass(path, 2000)
    assert fit.p == pytest.approx(0.01, rel=0.25)
    assert fit.q == pytest.approx(0.3, rel=0.25)
    assert fit.m == pytest.approx(1600, rel=0.05)


def test_fit_refuses_nothing_to_fit():
    with pytest.raises(ValueError, match="cannot fit"):
        fit_bass(np.zeros(10), 100)
    with pytest.raises(ValueError, match="below"):
        fit_bass(np.array([5, 5, 5]), 10)


def _tiny() -> pl.DataFrame:
    rows = []
    rows += [{"person_key": "early", "w": w, "passive": 1} for w in range(5)]                   # adopted before G=2
    rows += [{"person_key": "a", "w": w, "passive": int(w >= 2)} for w in range(5)]             # adopts in G
    rows += [{"person_key": "b", "w": w, "passive": int(w >= 4)} for w in range(5)]             # adopts in G+2
    rows += [{"person_key": "never", "w": w} for w in range(5)]
    rows += [{"person_key": "late", "w": w, "passive": 1} for w in range(3, 5)]                 # joins after G
    rows += [{"person_key": "pilot", "w": w, "passive": int(w >= 3), "pilot_cohort": "w1", "pilot_wave": 1}
             for w in range(5)]
    return make_person_week(rows)


def test_bass_population_is_non_pilot_eligible_at_start_not_adopted_before():
    counts = bass_adopters(_tiny(), start_week=week(2))
    assert counts["headcount"].unique().to_list() == [4]        # early, a, b, never
    assert counts["adopted_before"].unique().to_list() == [1]   # early
    assert counts["bass_population"].unique().to_list() == [3]
    assert counts["new_adopters"].to_list() == [1, 0, 1]        # weeks G, G+1, G+2
    assert counts["week_start"].to_list() == [week(2), week(3), week(4)]
    with pytest.raises(ValueError, match="after the last week"):
        bass_adopters(_tiny(), start_week=week(9))


def _planted_panel(seed: int = 7, n: int = 800, weeks: int = 36, g: int = 2) -> pl.DataFrame:
    """The simulator's Bass process: from week G, each adoptable person adopts w.p. p + q N(k-1)/M."""
    rng = np.random.default_rng(seed)
    p, q, m_share = 0.012, 0.35, 0.75
    adoptable = rng.random(n) < m_share
    m = adoptable.sum()
    first = np.full(n, -1)
    cum = 0
    for k in range(weeks - g):
        new = adoptable & (first < 0) & (rng.random(n) < p + q * cum / m)
        first[new] = g + k
        cum += int(new.sum())
    rows = [{"person_key": f"p{i}", "w": w, "passive": int(0 <= first[i] <= w),
             "worker_type": "frontline" if i % 2 else "office"} for i in range(n) for w in range(weeks)]
    rows += [{"person_key": f"pilot{i}", "w": w, "passive": 1, "pilot_cohort": "w1", "pilot_wave": 1}
             for i in range(30) for w in range(weeks)]
    return make_person_week(rows)


def test_diffusion_on_a_planted_panel_recovers_p_and_q_and_projects_with_bands():
    pw = _planted_panel()
    fit = fit_bass_diffusion(pw, start_week=week(2), bootstrap_reps=40, horizon_weeks=80, seed=1)
    params = fit.parameters.filter(pl.col("population") == "organisation")
    est = dict(zip(params["parameter"], params["estimate"]))
    low = dict(zip(params["parameter"], params["low"]))
    high = dict(zip(params["parameter"], params["high"]))
    assert est["p"] == pytest.approx(0.012, rel=0.25)
    assert est["q"] == pytest.approx(0.35, rel=0.25)
    assert est["m_share"] == pytest.approx(0.75, abs=0.05)
    assert low["q"] <= est["q"] <= high["q"]
    assert params["headcount"][0] == 800 and params["bass_population"][0] == 800  # pilots left out
    proj = fit.projection.filter(pl.col("population") == "organisation").sort("weeks_since_start")
    fitted = proj["fitted_share"].to_numpy()
    assert np.all(np.diff(fitted) >= -1e-12)                       # cumulative: never decreasing
    assert proj["observed_share"].null_count() == 80 - 34          # observed over 34 weeks, then projection
    assert proj.filter(pl.col("is_projection"))["weeks_since_start"].min() == 34
    # weeks to 50%: the first week whose fitted share reaches 0.5 (the start week counts as 1)
    assert est["weeks_to_50"] == float(np.argmax(fitted >= 0.5) + 1)
    assert est["weeks_to_80"] is None                              # a 75% ceiling never reaches 80%
    inside = (proj["band_low"] <= proj["fitted_share"] + 1e-9) & (proj["fitted_share"] <= proj["band_high"] + 1e-9)
    assert inside.mean() > 0.9
    assert set(fit.parameters["kind"]) == {"activity"} and set(fit.projection["kind"]) == {"activity"}
    # the observed share is exact: adopters by the end of week G+k over headcount
    realised = pw.filter((pl.col("week_start") == week(12)) & pl.col("pilot_cohort").is_null())["is_active"].mean()
    assert proj.filter(pl.col("weeks_since_start") == 10)["observed_share"][0] == pytest.approx(realised)


def test_small_populations_are_not_fitted_and_hidden():
    fit = fit_bass_diffusion(_tiny(), start_week=week(2), bootstrap_reps=5, min_group_size=5)
    assert fit.parameters["estimate"].null_count() == fit.parameters.height
    assert fit.parameters["status"][0].startswith("suppressed")
    assert fit.projection["observed_share"].null_count() == fit.projection.height


def test_a_roll_out_before_the_data_starts_the_model_with_the_first_week_of_data():
    """A platform export that starts after the launch (settings.platform_launch earlier than the
    data): the model starts with the first week observed instead of failing."""
    pw = _planted_panel(weeks=20, g=0)
    launch = week(0) - dt.timedelta(weeks=30)
    assert effective_start_week(pw, launch) == week(0)
    assert effective_start_week(pw, week(3)) == week(3)
    fit = fit_bass_diffusion(pw, start_week=launch, bootstrap_reps=5, horizon_weeks=30, seed=1)
    org = fit.parameters.filter(pl.col("population") == "organisation")
    assert org["start_week"].unique().to_list() == [week(0)]
    assert org["headcount"][0] == 800 and set(org["status"]) == {"ok"}
