"""project_to_population: with an effect that differs by worker type and an office-heavy pilot,
the projection onto the population's composition recovers the population truth, the pilot's
stratified effect the pilot truth; uncovered strata are reported, not extrapolated."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from transforms.pilot import PilotInputError
from transforms.pilot.projection import project_to_population

TAU = {"office": 0.15, "frontline": 0.03}


def _units(n: int = 6000, seed: int = 2, frontline_pilot: float = 0.04) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    office = rng.random(n) < 0.5
    pre = np.clip(0.2 + 0.2 * office + 0.1 * rng.normal(size=n), 0, 1)
    p = 1 / (1 + np.exp(-(-2.5 + 4 * (pre - 0.3))))
    treated = rng.random(n) < np.where(office, p * 2.2, frontline_pilot)
    tau = np.where(office, TAU["office"], TAU["frontline"])
    y = 0.1 + 0.8 * pre + tau * treated + 0.1 * rng.normal(size=n)
    return pl.DataFrame({"treated": treated.astype(int), "outcome": y, "pre": pre,
                         "worker_type": np.where(office, "office", "frontline"), "tau": tau})


def test_projection_reweights_stratum_effects_to_the_population() -> None:
    units = _units()
    p = project_to_population(units, treatment="treated", outcome="outcome", strata=["worker_type"],
                              population=units, covariates=["pre"])
    treated = units.filter(pl.col("treated") == 1)
    pilot_truth = float(treated["tau"].mean())  # office-heavy pilot: close to 0.15
    pop_truth = float(units["tau"].mean())  # half office: about 0.09
    assert pilot_truth - pop_truth > 0.03
    assert p.pilot.ci_low <= pilot_truth <= p.pilot.ci_high
    assert p.population.ci_low <= pop_truth <= p.population.ci_high
    assert p.population.ci_high < pilot_truth  # the projection is not the pilot's effect
    assert p.coverage == pytest.approx(1.0) and p.pilot_coverage == pytest.approx(1.0)
    shares = dict(zip(p.strata["worker_type"], p.strata["population_share"], strict=True))
    assert shares["office"] == pytest.approx((units["worker_type"] == "office").mean())
    # the interval combines the strata's standard errors with the population weights
    w = p.strata.sort("worker_type")["population_share"].to_numpy()
    se = p.strata.sort("worker_type")["se"].to_numpy()
    assert p.population.se == pytest.approx(float(np.sqrt((w**2 * se**2).sum())))


def test_strata_without_pilot_members_are_reported_as_uncovered() -> None:
    units = _units(frontline_pilot=0.0)
    p = project_to_population(units, treatment="treated", outcome="outcome", strata=["worker_type"],
                              population=units, covariates=["pre"])
    frontline = p.strata.filter(pl.col("worker_type") == "frontline").row(0, named=True)
    assert not frontline["covered"] and frontline["n_treated"] == 0
    assert "fewer than 5" in frontline["note"]
    assert p.coverage == pytest.approx((units["worker_type"] == "office").mean())
    assert p.population.estimate == pytest.approx(p.pilot.estimate)  # only the office stratum speaks


def test_no_estimable_stratum_raises() -> None:
    units = _units(n=300)
    with pytest.raises(PilotInputError, match="no stratum"):
        project_to_population(units, treatment="treated", outcome="outcome", strata=["worker_type"],
                              population=units, min_group_size=500)
