"""pilot_effects on the project simulator's planted truth (pipelines.simulator.simulate_truth_panel):
each cohort's adjusted intervals cover the planted ATT over [start, general roll-out), where the
naive pilot-minus-rest difference overshoots by more than the interval's half-width."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from transforms.pilot import pilot_effects

simulator = pytest.importorskip("pipelines.simulator")


@pytest.fixture(scope="module")
def run() -> tuple[pl.DataFrame, dict]:
    panel, truth = simulator.simulate_truth_panel(2000, 30, 0)
    person_week = panel.filter(pl.col("eligible")).select(
        pl.col("employee_id").alias("person_key"), "week_start", "worker_type", "site", "department", "level",
        "is_manager", pl.col("active").alias("is_active"), "pilot_cohort", "pilot_wave",
        pl.col("pilot_start").alias("pilot_start_week"), pl.lit(None, pl.Utf8).alias("pilot_status"),
        "pilot_support_level",
    )  # fmt: skip
    rollout = dt.date.fromisoformat(truth["timeline"]["G_date"])
    effects = pilot_effects(
        person_week, activity_metrics={"weekly_active_rate": "is_active"},
        attributes=("worker_type", "site", "department", "level", "is_manager"),
        estimators=("naive", "ipw", "aipw", "matching", "did_cs"), window_end=rollout, projection_strata=(),
        by_support_level=False,
    )  # fmt: skip
    return effects, truth


def test_adjusted_intervals_cover_the_simulators_planted_att(run) -> None:  # noqa: ANN001
    effects, truth = run
    cohorts = truth["pilot"]["cohorts"]
    assert set(cohorts) == set(effects.filter(pl.col("cohort") != "all")["cohort"])
    for name, t in cohorts.items():
        att = t["activity_att_expected"]
        rows = effects.filter(pl.col("cohort") == name, pl.col("row_type") == "effect")
        for r in rows.filter(pl.col("estimator") != "naive").iter_rows(named=True):
            assert r["ci_low"] <= att <= r["ci_high"], (name, r["estimator"], att, r)
        aipw = rows.filter(pl.col("estimator") == "aipw").row(0, named=True)
        assert aipw["naive_estimate"] - att > (aipw["ci_high"] - aipw["ci_low"]) / 2, name
        assert aipw["naive_estimate"] == pytest.approx(t["naive_difference"], abs=0.01)  # same window, same arms
        assert rows.filter(pl.col("estimator") == "did_cs")["window_end"][0] == dt.date.fromisoformat(
            truth["timeline"]["G_date"])


def test_a_short_history_gives_null_not_nan_where_nothing_can_be_computed() -> None:
    """12 weeks: some cohorts have no usable pre-period; their pre-trend figures are null, never
    NaN (NaN fails the mart's [0, 1] check and reads as a number in a notebook)."""
    panel, truth = simulator.simulate_truth_panel(300, 12, 0)
    person_week = panel.filter(pl.col("eligible")).select(
        pl.col("employee_id").alias("person_key"), "week_start", "worker_type", "site", "department", "level",
        "is_manager", pl.col("active").alias("is_active"), pl.col("contributor").alias("is_contributor"),
        "pilot_cohort", "pilot_wave", pl.col("pilot_start").alias("pilot_start_week"),
        pl.lit(None, pl.Utf8).alias("pilot_status"), "pilot_support_level",
    )  # fmt: skip
    effects = pilot_effects(
        person_week, activity_metrics={"weekly_active_rate": "is_active", "weekly_contributor_rate": "is_contributor"},
        attributes=("worker_type", "level"),
        estimators=("naive", "did_cs"), window_end=dt.date.fromisoformat(truth["timeline"]["G_date"]),
        projection_strata=(), min_group_size=1,
    )
    floats = [c for c, t in effects.schema.items() if t.is_float()]
    assert effects.height > 0
    assert effects.select(pl.sum_horizontal(pl.col(floats).is_nan().sum())).item() == 0
    assert effects.filter(pl.col("estimator") == "did_cs")["pre_trend_p"].drop_nulls().is_between(0, 1).all()
