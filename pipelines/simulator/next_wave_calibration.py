"""Calibration of the next-wave ranking on a held-out wave of the simulator.

For each seed, the simulated organisation's observable panel (what a perfect pipeline yields, no
files) is cut at the start of wave 2: the uptake model learns from wave 1's members
(:func:`transforms.pilot.next_wave.next_wave`, decision week = wave 2's start), then ranks wave 2's
members, who were candidates like everyone still waiting. Set beside what wave 2 then did:

- the **stated accuracy** (the out-of-fold AUC and its 90% interval for a new wave) against the AUC
  of the predictions on wave 2's realised weekly activity over its first weeks (with a team-bootstrap
  interval of its own);
- the **ranking** against wave 2's *planted* uptake: each member's mean probability, in the
  simulator, that a week of the wave's first weeks is observably active (Spearman correlation).

Used by ``benchmarks/next_wave_calibration.py`` and by the tests (six organisations).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from pipelines.simulator.world import SimulatedWorld, build_world, truth_panel

__all__ = ["held_out_wave", "person_week_for_ranking"]


def person_week_for_ranking(world: SimulatedWorld) -> pl.DataFrame:
    """The simulator's observable panel shaped as ``marts.person_week`` (the columns the ranking reads)."""
    panel = truth_panel(world).filter(pl.col("eligible"))
    years = (pl.col("week_start") - pl.col("hire_date")).dt.total_days() / 365.25
    first = panel.filter(pl.col("active")).group_by("employee_id").agg(pl.col("week_start").min().alias("first"))
    return panel.join(first, on="employee_id", how="left").select(
        pl.col("employee_id").alias("person_key"), "week_start", pl.col("manager_id").alias("manager_key"),
        "department", "org_unit", "site", "worker_type", "level", "is_manager",
        pl.when(years < 1).then(pl.lit("<1y")).when(years < 3).then(pl.lit("1-3y")).when(years < 5).then(pl.lit("3-5y"))
        .when(years < 10).then(pl.lit("5-10y")).otherwise(pl.lit("10y+")).alias("tenure_band"),
        pl.col("active").alias("is_active"), pl.col("engaged").alias("is_engaged"),
        pl.col("contributor").alias("is_contributor"), pl.col("actions_observed").cast(pl.Int64).alias("actions_total"),
        pl.col("first").alias("first_active_week"), "pilot_cohort", "pilot_wave",
        pl.col("pilot_start").alias("pilot_start_week"),
        pl.when(pl.col("pilot_cohort").is_null()).then(None).when(pl.col("week_start") < pl.col("pilot_start"))
        .then(pl.lit("pre")).otherwise(pl.lit("during")).alias("pilot_status"),
        "pilot_support_level",
    )


def held_out_wave(seed: int, *, employees: int = 2000, weeks: int = 40) -> dict[str, object]:
    """One organisation: the stated accuracy, the held-out wave's AUC and interval, the rank correlation
    with the planted uptake, and whether wave 2's teams of at least 5 were listed as candidates."""
    from transforms.pilot.next_wave import next_wave  # heavy import, only when ranking
    from transforms.pilot.uptake_model import UPTAKE_WEEKS, team_bootstrap_auc, person_features

    world = build_world(employees, weeks, seed, with_events=False)
    tl = world.timeline
    as_of, rollout = tl.monday(tl.w2), tl.monday(tl.general_rollout)
    person_week = person_week_for_ranking(world)
    candidates, options, model = next_wave(person_week, as_of=as_of, window_end=rollout)
    if model is None:
        raise ValueError(f"seed {seed}: no uptake model could be fitted before wave 2")
    members = world.org.employee_id[list(world.pilots.cohorts[1].members)].astype(str).tolist()
    predicted = model.predict(person_features(person_week, baseline_end=as_of).filter(
        pl.col("person_key").is_in(members)))
    listed = set(candidates.filter(pl.col("population_type") == "org_unit")["population"])
    teams = set(predicted.group_by("org_unit").len().filter(pl.col("len") >= 5)["org_unit"])
    span = min(UPTAKE_WEEKS, tl.general_rollout - tl.w2)
    observed = person_week.filter(pl.col("person_key").is_in(members) & (pl.col("week_start") >= as_of)
                                  & (pl.col("week_start") < as_of + dt.timedelta(weeks=span)))
    rows = observed.join(predicted.select("person_key", "expected_uptake", pl.col("org_unit").alias("team")),
                         on="person_key")
    y, p = rows["is_active"].cast(pl.Int8).to_numpy(), rows["expected_uptake"].to_numpy()
    low, high = team_bootstrap_auc(y, p, rows["team"].to_numpy(), reps=200, rng=np.random.default_rng(seed))
    index = {e: i for i, e in enumerate(world.org.employee_id.astype(str))}
    chance = world.behaviour.factual.observable_probability  # planted P(observably active | state), person x week
    planted = pl.DataFrame({"person_key": members, "planted": [
        float(chance[index[m], tl.w2:tl.w2 + span].mean()) for m in members]})
    both = predicted.join(planted, on="person_key")
    stated = options.row(0, named=True)
    return {"seed": seed, "trained_on": stated["trained_on"], "cv": stated["model_auc"],
            "cv_low": stated["model_auc_low"], "cv_high": stated["model_auc_high"],
            "held": float(roc_auc_score(y, p)), "held_low": low, "held_high": high,
            "rho": float(spearmanr(both["expected_uptake"], both["planted"]).statistic),
            "wave2_teams_listed": teams <= listed}
