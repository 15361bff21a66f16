"""Hand-made ``marts.target_status``, ``marts.next_wave_candidates`` and ``marts.next_wave_options``
for the report tests, on the weeks of :mod:`report.report_fixtures` (2026-03-02 to the report's
week 2026-04-06, ISO week 15).

Planted, hand-checked:
- "Active share at 50%" (activity, organisation): 30% in week 10 to 50% in week 22 (linear, 1/60 a
  week); week 15: 42% against 38.3% expected: on track. Its path runs past the report's week.
- "Faster first response in Sales" (outcome, department Sales, hours): 18 h to 12 h by week 22;
  week 15: 17.2 h against 15.5 h expected, 1.7 h behind, beyond 15% of 6 h (0.9 h): off track.
- "Ten answers a week in Q&A" (output, community Q&A): 2 to 10 by week 20; week 15: 5.5 against
  6.0 expected, 0.5 behind, between 5% (0.4) and 15% (1.2) of 8: at risk.
- The next wave: options of about 100 people; "balanced by department and worker type" teaches
  the most (mean |SMD| 0.08 against 0.41 for the highest uptake, 61% expected uptake against 70%);
  an org unit of 3 people, TINY-UNIT-9, that no table may list.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from report.report_fixtures import WEEKS
from transforms.pilot.next_wave import CANDIDATES_SCHEMA, OPTIONS_SCHEMA
from transforms.targets.status import TARGET_STATUS_SCHEMA

W10 = WEEKS[0]
SMALL_UNIT = "TINY-UNIT-9"


def _week(i: int) -> dt.date:
    return W10 + dt.timedelta(weeks=i)


def _target_rows(name: str, *, ptype: str, population: str, kind: str, metric: str, registered: str, unit: str,
                 direction: str, baseline: float, value: float, due_week: int, actuals: list[float],
                 statuses: list[str]) -> list[dict]:
    rows = []
    for i in range(due_week + 1):
        expected = baseline + (value - baseline) * i / due_week
        seen = i < len(actuals)
        actual = actuals[i] if seen else None
        sign = 1 if value > baseline else -1
        rows.append({
            "target": name, "population_type": ptype, "population": population, "metric_kind": kind,
            "metric": metric, "registered_metric": registered, "unit": unit, "direction": direction,
            "path": "linear", "start_date": W10, "due_date": _week(due_week), "target_value": value,
            "baseline": baseline, "tolerance": 0.05, "at_risk_band": 0.10, "week_start": _week(i), "actual": actual,
            "expected": expected, "shortfall": sign * (expected - actual) if seen else None,
            "status": statuses[i] if seen else None, "reached": (sign * (actual - value) >= 0) if seen else None,
            "is_future": not seen, "group_size": 200 if seen else None, "suppressed": False,
            "knot": "start" if i == 0 else ("due" if i == due_week else None),
            "knot_value": baseline if i == 0 else (value if i == due_week else None),
            "projected_date": None, "projected_on_time": None, "projection_note": None,
            "rule": "on track: at most 5% of the distance ...", "note": None,
        })
    return rows


def target_status() -> pl.DataFrame:
    rows = _target_rows("Active share at 50%", ptype="organisation", population="organisation", kind="activity",
                        metric="active_rate", registered="active_rate", unit="share", direction="higher_is_better",
                        baseline=0.30, value=0.50, due_week=12, actuals=[0.30, 0.33, 0.36, 0.38, 0.40, 0.42],
                        statuses=["on_track"] * 6)
    rows += _target_rows("Faster first response in Sales", ptype="department", population="Sales", kind="outcome",
                         metric="first_response_hours", registered="kpi_value", unit="hours",
                         direction="lower_is_better", baseline=18.0, value=12.0, due_week=12,
                         actuals=[18.0, 17.8, 17.6, 17.5, 17.3, 17.2],
                         statuses=["on_track", "on_track", "at_risk", "at_risk", "off_track", "off_track"])
    rows += _target_rows("Ten answers a week in Q&A", ptype="community", population="Q&A", kind="output",
                         metric="community_outputs", registered="community_outputs", unit="outputs per week",
                         direction="higher_is_better", baseline=2.0, value=10.0, due_week=10,
                         actuals=[2.0, 3.0, 3.5, 4.4, 5.0, 5.5],
                         statuses=["on_track", "on_track", "on_track", "on_track", "at_risk", "at_risk"])
    return pl.DataFrame(rows, schema=TARGET_STATUS_SCHEMA)


def next_wave_options() -> pl.DataFrame:
    base = {"as_of_week": WEEKS[-1] + dt.timedelta(weeks=1), "target_size": 100, "model_auc": 0.62,
            "model_auc_low": 0.55, "model_auc_high": 0.69, "model_brier": 0.231, "model_brier_base_rate": 0.245,
            "model_people": 40, "model_person_weeks": 200, "model_teams": 6, "model_folds": 4, "uptake_weeks": 8,
            "trained_on": "wave-1", "kind": "activity"}
    rows = [
        {"option": "highest_uptake", "description": "", "candidates": 9, "populations": "A-1, A-2", "headcount": 98,
         "expected_uptake": 0.70, "extrapolated_share": 0.0, "mean_abs_smd": 0.41, "teaches_most": False},
        {"option": "by_worker_type", "description": "", "candidates": 10, "populations": "A-1, F-1",
         "headcount": 101, "expected_uptake": 0.64, "extrapolated_share": 0.2, "mean_abs_smd": 0.17,
         "teaches_most": False},
        {"option": "by_department_and_worker_type", "description": "", "candidates": 11, "populations": "A-1, F-2",
         "headcount": 97, "expected_uptake": 0.61, "extrapolated_share": 0.3, "mean_abs_smd": 0.08,
         "teaches_most": True},
    ]
    return pl.DataFrame([{**base, **r} for r in rows], schema=OPTIONS_SCHEMA)


def next_wave_candidates() -> pl.DataFrame:
    as_of = WEEKS[-1] + dt.timedelta(weeks=1)
    rows = [("site", "HQ", 120, 0.66, False, 0.35), ("site", "PLANT", 80, 0.41, True, 0.52)]
    rows += [("org_unit", f"A-{i}", 10, 0.72 - 0.01 * i, False, 1.1) for i in range(1, 12)]
    rows += [("org_unit", SMALL_UNIT, 3, 0.95, False, 2.0)]  # below the minimum size: never listed
    return pl.DataFrame(
        [{"as_of_week": as_of, "population_type": t, "population": p, "headcount": n, "expected_uptake": u,
          "extrapolated": e, "uptake_rank": None, "mean_abs_smd": smd, "representativeness_rank": None,
          "stratum": None, "options": None, "kind": "activity"} for t, p, n, u, e, smd in rows],
        schema=CANDIDATES_SCHEMA,
    )


def roadmap_tables() -> dict[str, pl.DataFrame]:
    return {"marts.target_status": target_status(), "marts.next_wave_candidates": next_wave_candidates(),
            "marts.next_wave_options": next_wave_options()}
