"""marts.outcome_kpis (kind outcome) and the KPI / activity lead-lag association (kind link)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from metric_fixtures import make_person_week, week

from transforms.contracts import ContractError
from transforms.contracts.config import KpiRegistry
from transforms.metrics.outcome_kpis import ASSOCIATION_LABEL, kpi_activity_lead_lag, outcome_kpis

REGISTRY = KpiRegistry.model_validate({"kpis": [
    {"name": "first_response_hours", "description": "d", "unit": "hours", "unit_type": "team",
     "direction": "lower_is_better", "source": "ServiceDesk"},
    {"name": "monthly_nps", "description": "d", "unit": "points", "unit_type": "team", "grain": "month",
     "direction": "higher_is_better", "source": "Survey"},
    {"name": "site_output", "description": "d", "unit": "units", "unit_type": "site",
     "direction": "higher_is_better", "source": "MES"},
    {"name": "deals", "description": "d", "unit": "count", "unit_type": "employee",
     "direction": "higher_is_better", "source": "CRM"},
]})


def _kpi(kpi: str, unit_type: str, unit_id: str, start: dt.date, value: float, days: int = 6) -> dict:
    return {"kpi": kpi, "unit_type": unit_type, "unit_id": unit_id, "period_start": start,
            "period_end": start + dt.timedelta(days=days), "value": value}


def _people() -> pl.DataFrame:
    rows = []
    for i in range(6):  # T1: 6 people, 2 frontline, 3 in the pilot; t1p5 leaves after week 1
        for w in range(4):
            if i == 5 and w >= 2:
                continue
            rows.append({"person_key": f"t1p{i}", "w": w, "org_unit": "T1", "site": "S1", "department": "Ops",
                         "worker_type": "frontline" if i < 2 else "office", "passive": 1,
                         "pilot_cohort": "wave-1" if i < 3 else None, "pilot_wave": 1 if i < 3 else None,
                         "pilot_status": "during" if i < 3 else None})
    for i in range(3):  # T2: a team of 3
        rows += [{"person_key": f"t2p{i}", "w": w, "org_unit": "T2", "site": "S1", "department": "Ops"}
                 for w in range(4)]
    return make_person_week(rows)


def test_team_kpi_gets_its_unit_context_and_no_activity_column():
    kv = pl.DataFrame([_kpi("first_response_hours", "team", "T1", week(0), 12.5)])
    out = outcome_kpis(kv, REGISTRY, _people())
    r = out.row(0, named=True)
    assert (r["value"], r["unit"], r["direction"]) == (12.5, "hours", "lower_is_better")
    assert (r["headcount"], r["org_unit"], r["department"], r["site"]) == (6.0, "T1", "Ops", "S1")
    assert r["frontline_share"] == pytest.approx(2 / 6)
    assert r["pilot_member_share"] == pytest.approx(0.5) and r["pilot_during_share"] == pytest.approx(0.5)
    assert r["week_start"] == week(0) and not r["suppressed"]
    assert set(out["kind"]) == {"outcome"}
    assert not [c for c in out.columns if "active" in c or "action" in c]


def test_monthly_kpi_averages_the_context_over_its_weeks():
    kv = pl.DataFrame([_kpi("monthly_nps", "team", "T1", week(0), 40.0, days=27)])
    r = outcome_kpis(kv, REGISTRY, _people()).row(0, named=True)
    assert r["headcount"] == pytest.approx((6 + 6 + 5 + 5) / 4)


def test_small_team_values_are_suppressed():
    kv = pl.DataFrame([_kpi("first_response_hours", "team", "T2", week(1), 30.0),
                       _kpi("first_response_hours", "team", "UNKNOWN", week(1), 30.0)])
    out = outcome_kpis(kv, REGISTRY, _people())
    assert out["suppressed"].to_list() == [True, True] and out["value"].null_count() == 2
    assert outcome_kpis(kv, REGISTRY, _people(), min_group_size=3).filter(pl.col("unit_id") == "T2")["value"][0] == 30


def test_site_kpi_context():
    kv = pl.DataFrame([_kpi("site_output", "site", "S1", week(0), 100.0)])
    r = outcome_kpis(kv, REGISTRY, _people()).row(0, named=True)
    assert r["headcount"] == 9.0 and r["site"] == "S1"


def test_employee_kpis_need_pseudonyms_and_get_the_person_context():
    kv = pl.DataFrame([_kpi("deals", "employee", "E7", week(0), 3.0)])
    with pytest.raises(ContractError, match="employee_keys"):
        outcome_kpis(kv, REGISTRY, _people())
    keys = pl.DataFrame({"employee_id": ["E7"], "person_key": ["t1p1"]})
    r = outcome_kpis(kv, REGISTRY, _people(), employee_keys=keys).row(0, named=True)
    assert r["unit_id"] == "t1p1" and r["org_unit"] == "T1" and r["pilot_status"] == "during"
    assert r["value"] == 3.0 and r["headcount"] == 6.0


def test_unknown_kpi_is_a_contract_error():
    kv = pl.DataFrame([_kpi("vanity", "team", "T1", week(0), 1.0)])
    with pytest.raises(ContractError, match="vanity"):
        outcome_kpis(kv, REGISTRY, _people())


def _planted_lead_lag(seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Team KPI at t+2 = 100 - 0.5 * (team active rate at t, in points) + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(15):
        for w in range(24):
            rate = rng.uniform(0.1, 0.9)
            rows += [{"person_key": f"T{t}p{i}", "w": w, "org_unit": f"T{t}", "passive": int(rng.random() < rate)}
                     for i in range(8)]
    pw = make_person_week(rows)
    realised = pw.group_by("org_unit", "week_start").agg(pl.col("is_active").mean().alias("r")).sort("org_unit", "week_start")
    kv = realised.select(
        pl.lit("first_response_hours").alias("kpi"), pl.lit("team").alias("unit_type"),
        pl.col("org_unit").alias("unit_id"), (pl.col("week_start") + dt.timedelta(weeks=2)).alias("period_start"),
        (pl.col("week_start") + dt.timedelta(weeks=2, days=6)).alias("period_end"),
        (100 - 50 * pl.col("r") + pl.Series(rng.normal(0, 1, realised.height))).alias("value"),
    )
    return pw, kv


def test_lead_lag_finds_the_planted_lag_and_is_labelled_an_association():
    pw, kv = _planted_lead_lag()
    out = kpi_activity_lead_lag(kv, REGISTRY, pw, kpi="first_response_hours", max_lag=4).sort("lag_weeks")
    assert out["lag_weeks"].to_list() == [0, 1, 2, 3, 4]
    lag2 = out.filter(pl.col("lag_weeks") == 2).row(0, named=True)
    assert lag2["correlation"] < -0.9
    assert lag2["ci_low"] <= -0.5 <= lag2["ci_high"]
    others = out.filter(pl.col("lag_weeks") != 2)["correlation"].abs()
    assert others.max() < 0.2
    assert set(out["label"]) == {ASSOCIATION_LABEL} and set(out["kind"]) == {"link"}
    within = kpi_activity_lead_lag(kv, REGISTRY, pw, kpi="first_response_hours", max_lag=2, within_team=True)
    assert within.filter(pl.col("lag_weeks") == 2)["correlation"][0] < -0.9


def test_lead_lag_refuses_non_team_or_non_weekly_kpis_and_suppresses_few_teams():
    pw, kv = _planted_lead_lag()
    with pytest.raises(ValueError, match="team-level"):
        kpi_activity_lead_lag(kv, REGISTRY, pw, kpi="site_output")
    monthly = pl.DataFrame([_kpi("monthly_nps", "team", "T1", week(0), 40.0, days=27)])
    with pytest.raises(ValueError, match="weekly"):
        kpi_activity_lead_lag(monthly, REGISTRY, pw, kpi="monthly_nps")
    few = kv.filter(pl.col("unit_id").is_in(["T0", "T1", "T2"]))
    out = kpi_activity_lead_lag(few, REGISTRY, pw, kpi="first_response_hours", max_lag=1)
    assert out["suppressed"].all() and out["correlation"].null_count() == 2
