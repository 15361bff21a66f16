"""Outcome KPIs: a team-level KPI with a planted pilot effect and a site-level KPI without one.

``first_response_hours`` (team = org_unit of a customer-facing department, weekly, lower is better):
``value[u, t] = baseline[u] + shock[t] + noise[u, t] + effect * 1[u is a pilot team of cohort c and
t >= start_c + lag]`` (clipped at 0.5 hours, rounded to 0.01). Pilot teams are the org_unit
selectors of a cohort; volunteers do not make their team treated.

With ``pilot_trend_kpi_hours`` (default 0) the pilot teams' value also drifts by that many hours
per week in both worlds (a planted violation of parallel trends; the ATT is unchanged).

``absence_rate_pct`` (site, weekly, lower is better): baseline by site + noise; no pilot effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulator.organisation import DEPARTMENTS, SITE_CODES, SITES, Organisation
from pipelines.simulator.parameters import SimulationParameters, Timeline
from pipelines.simulator.pilots import PilotPlan

TEAM_KPI = "first_response_hours"
SITE_KPI = "absence_rate_pct"

REGISTRY: tuple[dict[str, object], ...] = (
    {"name": TEAM_KPI, "description": "Median hours to first response on customer tickets, per team",
     "unit": "hours", "unit_type": "team", "direction": "lower_is_better", "grain": "week",
     "source": "ServiceDesk", "expected_range": [0, 200], "max_delay_days": 14},
    {"name": SITE_KPI, "description": "Share of scheduled hours lost to absence, per site",
     "unit": "percent", "unit_type": "site", "direction": "lower_is_better", "grain": "week",
     "source": "HRIS absence module", "expected_range": [0, 100], "max_delay_days": 14},
)


@dataclass(frozen=True)
class KpiData:
    values: pl.DataFrame  # kpi, unit_type, unit_id, period_start, period_end, value
    team_value: np.ndarray  # float U x W (NaN where the team is not a KPI unit)
    truth: dict[str, object]


def build_kpis(org: Organisation, plan: PilotPlan, timeline: Timeline, params: SimulationParameters,
               rng: np.random.Generator) -> KpiData:
    U = len(org.team_code)
    W = timeline.weeks
    G = timeline.general_rollout
    lag = timeline.kpi_lag_weeks
    effect = params.kpi_effect_hours
    members = np.bincount(org.team_of[:, 0][org.team_of[:, 0] >= 0], minlength=U)
    customer = np.asarray([DEPARTMENTS[d].customer_facing for d in org.team_department])
    units = np.flatnonzero(customer & (members > 0))
    baseline = rng.uniform(6.0, 30.0, size=U)
    shock = rng.normal(0.0, 1.0, size=W)
    noise = rng.normal(0.0, 2.0, size=(U, W))
    untreated = baseline[:, None] + shock[None, :] + noise
    if params.pilot_trend_kpi_hours:  # planted selection on trend: pilot teams drift in both worlds
        trend_teams = np.intersect1d(np.concatenate([np.asarray(c.teams, dtype=np.int64) for c in plan.cohorts]), units)
        untreated[trend_teams] += params.pilot_trend_kpi_hours * np.arange(W)[None, :]
    treated_effect = np.zeros((U, W))
    weeks = np.arange(W)
    cohort_truth: dict[str, dict[str, object]] = {}
    for c in plan.cohorts:
        teams = np.intersect1d(np.asarray(c.teams, dtype=np.int64), units)
        on = weeks >= c.start_week + lag
        treated_effect[teams[:, None], weeks[None, :]] = np.where(on, effect, 0.0)[None, :]
        window = np.arange(c.start_week, G)
        by_e = [{"event_time": int(t - c.start_week), "kpi_att_expected": float(effect if t >= c.start_week + lag else 0.0),
                 "units": len(teams)} for t in window]
        expected = float(np.mean([b["kpi_att_expected"] for b in by_e])) if len(teams) and len(window) else None
        cohort_truth[c.name] = {
            "kpi": TEAM_KPI,
            "treated_units": sorted(org.team_code[teams].tolist()),
            "kpi_att_expected": expected,
            "kpi_att_by_event_time": by_e if len(teams) else [],
        }
    factual = np.maximum(np.round(np.maximum(untreated + treated_effect, 0.5), 2), 0.5)
    counterfactual = np.maximum(np.round(np.maximum(untreated, 0.5), 2), 0.5)
    for c in plan.cohorts:
        teams = [int(np.flatnonzero(org.team_code == code)[0]) for code in cohort_truth[c.name]["treated_units"]]
        if teams:
            diff = factual[teams, c.start_week:G] - counterfactual[teams, c.start_week:G]
            cohort_truth[c.name]["kpi_att_realised"] = round(float(diff.mean()), 6)
        else:
            cohort_truth[c.name]["kpi_att_realised"] = None
    team_value = np.full((U, W), np.nan)
    team_value[units] = factual[units]

    week_start = np.asarray(timeline.week_starts, dtype="datetime64[D]")
    team_rows = pl.DataFrame({
        "kpi": TEAM_KPI, "unit_type": "team",
        "unit_id": np.repeat(org.team_code[units].astype(str), W),
        "period_start": np.tile(week_start, len(units)),
        "value": factual[units].ravel(),
    })
    site_base = np.where([SITES[s][1] == "frontline" for s in SITE_CODES], 5.5, 3.0) + rng.normal(0, 0.5, len(SITE_CODES))
    site_values = np.round(np.clip(site_base[:, None] + rng.normal(0.0, 0.4, size=(len(SITE_CODES), W)), 0, 100), 2)
    site_rows = pl.DataFrame({
        "kpi": SITE_KPI, "unit_type": "site",
        "unit_id": np.repeat(np.asarray(SITE_CODES), W),
        "period_start": np.tile(week_start, len(SITE_CODES)),
        "value": site_values.ravel(),
    })
    values = (pl.concat([team_rows, site_rows])
              .with_columns(period_end=pl.col("period_start") + pl.duration(days=6))
              .select("kpi", "unit_type", "unit_id", "period_start", "period_end", "value"))
    truth = {
        TEAM_KPI: {
            "unit_type": "team", "direction": "lower_is_better", "effect": effect, "lag_weeks": lag,
            "model": "baseline[team] + shock[week] + N(0, 2) + effect * 1[pilot team of cohort c and week >= start_c + lag]",
            "units": len(units), "cohorts": cohort_truth,
        },
        SITE_KPI: {"unit_type": "site", "direction": "lower_is_better", "effect": 0.0,
                   "model": "baseline[site] + N(0, 0.4); no pilot effect", "units": len(SITE_CODES)},
    }
    return KpiData(values=values, team_value=team_value, truth=truth)
