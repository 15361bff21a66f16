"""Calibration of the pilot estimators on simulated organisations with a known answer.

For each seed, the simulator's own person x week panel (what a perfect pipeline yields, no files)
goes through :func:`transforms.pilot.effects_mart.pilot_effects`, activity (person level) and the
team KPI (team level), and every estimate is set beside the planted truth of that organisation:

- **pre-trend test**: whether it rejects at ``alpha`` (it should in about ``alpha`` of organisations
  whose trends are parallel by construction, and in nearly all with a planted pre-trend,
  :attr:`~pipelines.simulator.parameters.SimulationParameters.pilot_trend_adoption_hazard` /
  ``pilot_trend_kpi_hours``);
- **coverage**: whether each estimator's interval covers the planted ATT (activity: the realised
  ATT on observable weekly activity of the cohort's members over [start, general roll-out);
  KPI: the expected ATT, pooled over cohorts by treated team-weeks); the naive difference should
  miss it in most organisations.

Used by ``benchmarks/pretrend_calibration.py`` (20 organisations) and by the tests (a few).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from pipelines.simulator import simulate_truth_panel
from pipelines.simulator.parameters import SimulationParameters

ATTRIBUTES = ("worker_type", "site", "department", "level", "is_manager")
ACTIVITY_METRIC = "weekly_active_rate"
KPI_METRIC = "first_response_hours"
#: The planted pre-trend of the calibration: pilot teams take the platform up on their own (4% of the
#: not-yet-adopted members a week) and their KPI drifts down by 0.6 hours a week, in both worlds.
PLANTED_PRE_TREND = SimulationParameters(pilot_trend_adoption_hazard=0.04, pilot_trend_kpi_hours=-0.6)


def person_week_from_panel(panel: pl.DataFrame) -> pl.DataFrame:
    """The simulator's panel in the ``marts.person_week`` shape (eligible rows, observable states)."""
    return panel.filter(pl.col("eligible")).select(
        pl.col("employee_id").alias("person_key"), "week_start", *ATTRIBUTES, "org_unit",
        pl.col("active").alias("is_active"), pl.col("engaged").alias("is_engaged"),
        pl.col("contributor").alias("is_contributor"), "pilot_cohort", "pilot_wave",
        pl.col("pilot_start").alias("pilot_start_week"), pl.lit(None, pl.Utf8).alias("pilot_status"),
        "pilot_support_level",
    )


def kpi_panel_from_truth(panel: pl.DataFrame, truth: dict) -> pl.DataFrame:
    """The team KPI panel with each team's planted pilot assignment (``cohort``, ``first_treat``)."""
    cohorts = truth["pilot"]["cohorts"]
    starts = {n: dt.date.fromisoformat(c["start"]) for n, c in cohorts.items()}
    unit_cohort = {u: n for n, c in cohorts.items() for u in c["kpi_treated_units"]}
    teams = (panel.filter(pl.col("kpi_first_response_hours").is_not_null())
             .group_by("org_unit", "week_start").agg(pl.col("kpi_first_response_hours").first().alias("value")))
    return teams.select(
        pl.lit(KPI_METRIC).alias("kpi"), pl.col("org_unit").alias("unit_id"), "week_start", "value",
        pl.col("org_unit").replace_strict(unit_cohort, default=None, return_dtype=pl.Utf8).alias("cohort"),
    ).with_columns(pl.col("cohort").replace_strict(starts, default=None, return_dtype=pl.Date).alias("first_treat"))


def planted_kpi_att(truth: dict) -> float:
    """The cohorts' expected KPI ATTs pooled by treated team-weeks in their windows."""
    num = den = 0.0
    for c in truth["kpis"][KPI_METRIC]["cohorts"].values():
        weights = sum(e["units"] for e in c["kpi_att_by_event_time"])
        if weights and c["kpi_att_expected"] is not None:
            num += c["kpi_att_expected"] * weights
            den += weights
    return num / den


def calibrate_one(seed: int, *, employees: int = 2000, weeks: int = 40, params: SimulationParameters | None = None,
                  estimators: Sequence[str] = ("naive", "ipw", "aipw", "matching", "did_cs"),
                  alpha: float = 0.05) -> pl.DataFrame:
    """One simulated organisation: one row per metric, cohort and estimator (ATT rows of the whole
    cohorts), with the planted ATT, whether the interval covers it and, for ``did_cs``, the
    pre-trend test's p-value, drift and joint-test p-value."""
    panel, truth = simulate_truth_panel(employees, weeks, seed, params=params)
    rollout = dt.date.fromisoformat(truth["timeline"]["G_date"])
    from transforms.pilot.effects_mart import pilot_effects  # heavy import, only when estimating

    effects = pilot_effects(
        person_week_from_panel(panel), kpi_panel_from_truth(panel, truth),
        activity_metrics={ACTIVITY_METRIC: "is_active"}, attributes=ATTRIBUTES, estimators=tuple(estimators),
        window_end=rollout, by_support_level=False, projection_strata=(), alpha=alpha,
    )
    cohorts = truth["pilot"]["cohorts"]
    planted_activity = {n: c["activity_att_realised"] for n, c in cohorts.items()}
    planted_activity["all"] = (sum(c["activity_att_realised"] * c["person_weeks"] for c in cohorts.values())
                               / sum(c["person_weeks"] for c in cohorts.values()))
    planted_kpi = {n: c["kpi_att_expected"] for n, c in truth["kpis"][KPI_METRIC]["cohorts"].items()}
    planted_kpi["all"] = planted_kpi_att(truth)
    rows = effects.filter((pl.col("row_type") == "effect") & (pl.col("estimand") == "ATT") & ~pl.col("suppressed")
                          & pl.col("support_level").is_null() | (pl.col("row_type") == "effect")
                          & (pl.col("estimand") == "ATT") & ~pl.col("suppressed") & (pl.col("cohort") != "all"))
    planted = pl.DataFrame(
        [(ACTIVITY_METRIC, k, v) for k, v in planted_activity.items()]
        + [(KPI_METRIC, k, v) for k, v in planted_kpi.items() if v is not None],
        schema={"metric": pl.Utf8, "cohort": pl.Utf8, "planted": pl.Float64}, orient="row",
    )
    return (rows.unique(["metric", "cohort", "estimator"], keep="first", maintain_order=True)
            .join(planted, on=["metric", "cohort"], how="inner")
            .select(
                pl.lit(seed).alias("seed"), "metric", "cohort", "estimator", "estimate", "ci_low", "ci_high",
                "planted", ((pl.col("ci_low") <= pl.col("planted")) & (pl.col("planted") <= pl.col("ci_high")))
                .alias("covers"), "naive_estimate", "pre_trend_p", "pre_trend_gap", "n_treated", "n_control",
            ).sort("metric", "cohort", "estimator"))


def calibrate(seeds: Sequence[int], **kwargs: object) -> pl.DataFrame:
    """:func:`calibrate_one` for every seed, stacked."""
    return pl.concat([calibrate_one(s, **kwargs) for s in seeds])  # type: ignore[arg-type]


def summary(runs: pl.DataFrame, alpha: float = 0.05) -> pl.DataFrame:
    """Per metric, cohort and estimator: organisations, intervals covering the planted ATT and, for
    ``did_cs``, pre-trend rejections at ``alpha``."""
    return (runs.group_by("metric", "cohort", "estimator")
            .agg(pl.len().alias("organisations"), pl.col("covers").sum().alias("covering"),
                 (pl.col("pre_trend_p") < alpha).sum().alias("pre_trend_rejections"),
                 (pl.col("estimate") - pl.col("planted")).mean().alias("mean_error"))
            .sort("metric", "cohort", "estimator"))
