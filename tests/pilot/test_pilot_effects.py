"""pilot_effects and its building blocks on the planted-truth DGP (tests/pilot/dgp.py): the
adjusted estimators cover the planted effect where the naive difference misses, the intervals are
calibrated over 20 seeds, windows stop at the roll-out, support levels and team KPIs, suppression."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from .dgp import simulate_pilot_panel, simulate_team_kpi, week
from transforms.contracts import conform
from transforms.pilot import estimate_effect, staggered_did
from transforms.pilot.effects_mart import PILOT_EFFECTS, pilot_effects
from transforms.pilot.units import (
    control_filter,
    did_panel,
    person_baseline,
    pilot_windows,
    team_pilot_assignment,
    unit_frame,
)

ACTIVE = {"weekly_active_rate": "is_active"}
COVARIATES = ["worker_type", "site", "level", "is_manager", "tenure_band", "pre_is_active"]


@pytest.fixture(scope="module")
def world() -> tuple[pl.DataFrame, object]:
    return simulate_pilot_panel(n_people=1500, seed=7)


@pytest.fixture(scope="module")
def effects(world) -> pl.DataFrame:  # noqa: ANN001
    pw, truth = world
    return pilot_effects(pw, activity_metrics=ACTIVE, window_end=truth.rollout_week, baseline_end=week(8),
                         pre_weeks=2, projection_strata=("worker_type",))


def _row(effects: pl.DataFrame, **where: object) -> dict:
    rows = effects.filter(pl.col("row_type") == "effect", pl.col("estimand") == where.pop("estimand", "ATT"),
                          *[pl.col(k).eq_missing(v) for k, v in where.items()])
    assert rows.height == 1, (where, rows)
    return rows.row(0, named=True)


def test_adjusted_estimates_cover_the_planted_effect_and_the_naive_difference_misses(world, effects) -> None:  # noqa: ANN001
    """One fixed seed, the largest cohort and the pooled DiD (calibration over seeds is tested below)."""
    _, truth = world
    for estimator in ("ipw", "aipw", "matching", "did_cs"):
        r = _row(effects, cohort="wave-1", estimator=estimator, support_level="high")
        assert r["ci_low"] <= truth.tau <= r["ci_high"], (estimator, r)
    aipw = _row(effects, cohort="wave-1", estimator="aipw", support_level="high")
    assert aipw["naive_estimate"] - truth.tau > (aipw["ci_high"] - aipw["ci_low"]) / 2
    pooled = _row(effects, cohort="all", estimator="did_cs", support_level=None)
    assert pooled["ci_low"] <= truth.att_simple <= pooled["ci_high"]
    assert pooled["naive_estimate"] - truth.tau > (pooled["ci_high"] - pooled["ci_low"]) / 2
    assert pooled["pre_trend_p"] > 0.05  # parallel trends hold by construction


def test_rows_follow_the_mart_contract(effects) -> None:  # noqa: ANN001
    assert effects.schema == PILOT_EFFECTS.schema
    good, rejects = conform(effects, PILOT_EFFECTS)
    assert rejects.height == 0 and good.height == effects.height
    assert effects.select(PILOT_EFFECTS.key).is_duplicated().sum() == 0
    assert set(effects["metric_kind"]) == {"activity"}
    ev = effects.filter(pl.col("row_type") == "event_study", pl.col("cohort") == "wave-1")
    # weeks since start; with pre_weeks=2 the first week has no earlier week to compare with
    assert ev["event_time"].min() == -1 and ev["event_time"].max() == (22 - 10) - 1
    assert (effects.filter(pl.col("row_type") == "effect")["window_end"] == week(22)).all()


def test_projection_rows_sit_beside_the_att(world, effects) -> None:  # noqa: ANN001
    _, truth = world
    proj = _row(effects, cohort="wave-1", estimator="aipw", support_level="high", estimand="population")
    assert proj["ci_low"] <= truth.tau <= proj["ci_high"]  # homogeneous effect: projection = ATT
    assert "covers 100% of the eligible population" in proj["note"]


def test_intervals_cover_the_planted_effect_in_at_least_17_of_20_seeds() -> None:
    covered = {"ipw": 0, "aipw": 0, "matching": 0, "did_cs": 0}
    for seed in range(20):
        pw, truth = simulate_pilot_panel(n_people=500, seed=100 + seed, wave_starts=(10, 14), support_levels=("a", "a"))
        windows = pilot_windows(pw, window_end=truth.rollout_week)
        base = person_baseline(pw, attributes=COVARIATES[:-1], activity=["is_active"], baseline_end=week(8))
        w = windows[0]
        frame = unit_frame(pw, w, metric="is_active", baseline=base)
        for method in ("ipw", "aipw", "matching"):
            e = estimate_effect(frame, treatment="treated", outcome="outcome", covariates=COVARIATES, method=method)
            covered[method] += e.ci_low <= truth.tau <= e.ci_high
        pooled = did_panel(
            pw.with_columns(pl.col("is_active").cast(pl.Float64)),
            w.__class__(cohort="all", wave=None, support_level=None, start=windows[0].start, end=windows[-1].end, n_members=0),
            unit="person_key", first_treat="pilot_start_week", treated=pl.col("pilot_cohort").is_not_null(),
            control=pl.col("pilot_cohort").is_null(), pre_weeks=2,
        )
        r = staggered_did(pooled, unit="person_key", time="week_start", first_treat="pilot_start_week", outcome="is_active")
        covered["did_cs"] += r.overall.ci_low <= truth.att_simple <= r.overall.ci_high
    assert all(v >= 17 for v in covered.values()), covered


def test_windows_end_at_the_roll_out_the_declared_end_or_the_first_after_week(world) -> None:  # noqa: ANN001
    pw, truth = world
    assert [w.end for w in pilot_windows(pw, window_end=truth.rollout_week)] == [week(22)] * 3
    # the DGP marks members 'after' from the roll-out week, so that is found without being told
    assert [w.end for w in pilot_windows(pw)] == [week(22)] * 3
    wednesday = truth.rollout_week - dt.timedelta(days=5)  # inside week 21: that week is left out
    assert pilot_windows(pw, window_end=wednesday)[0].end == week(21)
    ends = pilot_windows(pw, cohort_end={"wave-1": week(15) - dt.timedelta(days=1)})  # a Sunday, inclusive
    assert ends[0].end == week(15) and ends[1].end == week(22)
    assert [w.support_level for w in ends] == ["high", "standard", "standard"]


def test_windows_overrunning_the_roll_out_would_bias_the_estimate_toward_zero(world) -> None:  # noqa: ANN001
    pw, truth = world
    pw_all_after = pw.with_columns(pl.lit(None, pl.Utf8).alias("pilot_status"))  # no 'after' marker
    base = person_baseline(pw, attributes=COVARIATES[:-1], activity=["is_active"], baseline_end=week(8))
    right = pilot_windows(pw_all_after, window_end=truth.rollout_week)[0]
    overrun = pilot_windows(pw_all_after)[0]  # panel end: weeks after the roll-out included
    assert overrun.end == week(24)
    est = {
        name: estimate_effect(unit_frame(pw, w, metric="is_active", baseline=base), treatment="treated",
                              outcome="outcome", covariates=COVARIATES, method="aipw").estimate
        for name, w in (("right", right), ("overrun", overrun))
    }
    assert est["overrun"] < est["right"]


def test_effects_by_support_level_recover_each_levels_effect() -> None:
    pw, truth = simulate_pilot_panel(n_people=2000, seed=3, tau_by_support={"high": 0.16, "standard": 0.05})
    out = pilot_effects(pw, activity_metrics=ACTIVE, estimators=("naive", "aipw", "did_cs"), window_end=truth.rollout_week,
                        baseline_end=week(8), pre_weeks=2, projection_strata=())
    high = _row(out, cohort="all", estimator="did_cs", support_level="high")
    standard = _row(out, cohort="all", estimator="did_cs", support_level="standard")
    assert high["ci_low"] <= 0.16 <= high["ci_high"]
    assert standard["ci_low"] <= 0.05 <= standard["ci_high"]
    aipw = {c: _row(out, cohort=c, estimator="aipw", support_level=truth.support[c])["estimate"]
            for c in ("wave-1", "wave-2", "wave-3")}
    assert aipw["wave-1"] > max(aipw["wave-2"], aipw["wave-3"]) + 0.05  # wave-1 is the high-support cohort


def test_support_levels_mixed_inside_a_cohort_get_their_own_rows(world) -> None:  # noqa: ANN001
    pw, truth = world
    mixed = pw.with_columns(
        pl.when(pl.col("pilot_cohort") == "wave-1")
        .then(pl.when(pl.col("person_key").str.slice(-1).cast(pl.Int32) % 2 == 0).then(pl.lit("high")).otherwise(pl.lit("light")))
        .otherwise(pl.col("pilot_support_level"))
        .alias("pilot_support_level")
    )
    out = pilot_effects(mixed, activity_metrics=ACTIVE, estimators=("naive", "aipw"), window_end=truth.rollout_week,
                        baseline_end=week(8), projection_strata=())
    levels = out.filter(pl.col("cohort") == "wave-1", pl.col("estimator") == "aipw")["support_level"].to_list()
    assert sorted(levels, key=str) == sorted([None, "high", "light"], key=str)


def test_small_arms_are_suppressed_without_numbers(world) -> None:  # noqa: ANN001
    pw, truth = world
    out = pilot_effects(pw, activity_metrics=ACTIVE, estimators=("naive", "aipw"), window_end=truth.rollout_week,
                        baseline_end=week(8), projection_strata=(), min_group_size=200)
    effect_rows = out.filter(pl.col("row_type") == "effect")
    assert effect_rows["suppressed"].all()
    assert effect_rows.select("estimate", "ci_low", "ci_high", "se", "naive_estimate", "n_treated").null_count().row(0) == (
        effect_rows.height,) * 6
    assert effect_rows["note"].str.contains("fewer than 200").all()


def test_team_kpi_rows_recover_the_planted_kpi_effect() -> None:
    pw, truth = simulate_pilot_panel(n_people=3000, seed=1, select_teams=True)
    kpi = simulate_team_kpi(pw, tau=-2.0, rollout_week=truth.rollout_week, seed=1)
    assignment = team_pilot_assignment(pw)
    planted = kpi.select("unit_id", "cohort").unique().sort("unit_id")
    assert assignment.select("unit_id", "cohort").sort("unit_id").equals(planted)
    out = pilot_effects(pw, kpi, activity_metrics=ACTIVE, estimators=("naive", "aipw", "did_cs"),
                        window_end=truth.rollout_week, baseline_end=week(8), pre_weeks=4, projection_strata=())
    kpi_rows = out.filter(pl.col("metric") == "first_response_hours")
    assert set(kpi_rows["metric_kind"]) == {"outcome"}
    pooled = _row(kpi_rows, cohort="all", estimator="did_cs", support_level=None)
    assert pooled["ci_low"] <= -2.0 <= pooled["ci_high"]
    assert pooled["n_treated"] == assignment["cohort"].is_not_null().sum()
    assert abs(pooled["naive_estimate"] - (-2.0)) > (pooled["ci_high"] - pooled["ci_low"]) / 2


def test_control_filter_keeps_people_whose_wave_starts_after_the_window(world) -> None:  # noqa: ANN001
    pw, _ = world
    w = pilot_windows(pw, cohort_end={"wave-1": week(12)})[0]  # wave-1 ends before wave-2/3 start
    controls = pw.filter(control_filter(w))["pilot_cohort"].unique().to_list()
    assert sorted(controls, key=str) == sorted([None, "wave-2", "wave-3"], key=str)


def test_cluster_reaches_every_estimator_but_matching() -> None:
    pw, truth = simulate_pilot_panel(n_people=800, seed=2, select_teams=True, team_week_sd=0.1)
    kw = dict(activity_metrics=ACTIVE, estimators=("naive", "aipw", "matching", "did_cs"),
              window_end=truth.rollout_week, baseline_end=week(8), pre_weeks=2, projection_strata=(),
              by_support_level=False)
    plain = pilot_effects(pw, **kw).filter(pl.col("row_type") == "effect")
    clustered = pilot_effects(pw, cluster="org_unit", **kw).filter(pl.col("row_type") == "effect")
    both = plain.join(clustered, on=["cohort", "estimator"], suffix="_cl")
    assert (both["estimate"] - both["estimate_cl"]).abs().max() < 1e-12  # point estimates unchanged
    changed = both.filter((pl.col("se") - pl.col("se_cl")).abs() > 1e-9)["estimator"].unique().sort().to_list()
    assert changed == ["aipw", "did_cs", "naive"]  # matching keeps its Abadie-Imbens variance
