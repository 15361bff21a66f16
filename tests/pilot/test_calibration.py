"""Calibration of the pilot diagnostics on simulated organisations (a reduced version of
``benchmarks/pretrend_calibration.py``: 5 demo-sized organisations instead of 20).

Parallel trends hold by construction in the default simulator (pilots picked on activity level):
the pre-trend test must not fire in more than 2 of 5 (at a 5% level, 3 or more of 5 has a chance of
0.1%; the mis-sized chi-square test fired in 16 of 20); with a planted pre-trend it must fire in at
least 4 of 5; the adjusted intervals cover the planted ATT, the naive difference misses it."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.simulator.calibration import PLANTED_PRE_TREND, calibrate

SEEDS = range(5)
ESTIMATORS = ("naive", "aipw", "did_cs")

pytestmark = pytest.mark.xdist_group("calibration")


@pytest.fixture(scope="module")
def null() -> pl.DataFrame:
    return calibrate(SEEDS, estimators=ESTIMATORS)


@pytest.fixture(scope="module")
def planted() -> pl.DataFrame:
    return calibrate(SEEDS, estimators=("naive", "did_cs"), params=PLANTED_PRE_TREND)


def _rejections(runs: pl.DataFrame, metric: str, cohort: str = "all") -> int:
    rows = runs.filter((pl.col("estimator") == "did_cs") & (pl.col("metric") == metric) & (pl.col("cohort") == cohort))
    assert rows.height == len(SEEDS), (metric, cohort)
    return int((rows["pre_trend_p"] < 0.05).sum())


@pytest.mark.parametrize("metric", ["weekly_active_rate", "first_response_hours"])
def test_pre_trend_test_is_sized_on_parallel_trends_and_fires_on_a_planted_one(
    null: pl.DataFrame, planted: pl.DataFrame, metric: str
) -> None:
    assert _rejections(null, metric) <= 2
    assert _rejections(planted, metric) >= 4
    # the planted drift is what the test measures: a rising activity gap, a falling KPI gap
    drift = planted.filter((pl.col("estimator") == "did_cs") & (pl.col("metric") == metric)
                           & (pl.col("cohort") == "all"))["pre_trend_gap"]
    assert (drift > 0).all() if metric == "weekly_active_rate" else (drift < 0).all()


def test_adjusted_intervals_cover_the_planted_att_and_the_naive_difference_misses(null: pl.DataFrame) -> None:
    activity = null.filter(pl.col("metric") == "weekly_active_rate")
    for (cohort, estimator), part in activity.group_by("cohort", "estimator"):
        if estimator == "naive":
            continue
        assert part["covers"].sum() >= 4, (cohort, estimator, part.select("estimate", "ci_low", "ci_high", "planted"))
    naive = activity.filter((pl.col("estimator") == "naive") & (pl.col("cohort") == "wave-1"))
    assert (~naive["covers"]).sum() >= 4
    assert (naive["estimate"] > naive["planted"]).all()  # pilots were picked among the more active
    kpi = null.filter((pl.col("metric") == "first_response_hours") & (pl.col("estimator") == "did_cs"))
    assert kpi["covers"].sum() >= 4 * kpi["cohort"].n_unique()
    # team KPI, 6 to 12 pilot teams per wave: the small-sample t interval keeps the adjusted estimators honest
    for cohort, part in null.filter((pl.col("metric") == "first_response_hours")
                                    & (pl.col("estimator") == "aipw")).group_by("cohort"):
        assert part["covers"].sum() >= 4, (cohort, part.select("estimate", "ci_low", "ci_high", "planted"))
