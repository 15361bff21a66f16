"""Small hand-made tidy tables for every mart the report reads, with planted, hand-checkable numbers.

The organisation: 200 eligible employees every week (120 office, 80 frontline; 40 in pilot wave 1),
six weeks from 2026-03-02 (ISO week 10) to 2026-04-06 (ISO week 15, the report's week).

Planted truths the tests check in the rendered report:
- organisation active share: 30%, 33%, 36%, 38%, 40%, 42% (week 15: 42.0%, +2.0 points on week 14);
- contributors in week 15: 30 (28 in week 14); ever active in week 15: 61.0% (60.0% in week 14);
- office vs frontline active share: week 11 45% vs 21% (gap 24 points), week 15 50% vs 30% (gap 20);
- department "Tiny" has 3 eligible people and is NOT flagged suppressed: no chart may draw it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.contracts.config import KpiDefinition

W0 = dt.date(2026, 3, 2)
WEEKS = [W0 + dt.timedelta(weeks=i) for i in range(6)]
REPORT_WEEK = WEEKS[-1]

ORG_ACTIVE = [0.30, 0.33, 0.36, 0.38, 0.40, 0.42]
ORG_CONTRIBUTORS = [20, 22, 24, 26, 28, 30]
ORG_EVER = [0.40, 0.46, 0.52, 0.56, 0.60, 0.61]
OFFICE_ACTIVE = [0.40, 0.45, 0.47, 0.48, 0.49, 0.50]
FRONTLINE_ACTIVE = [0.15, 0.21, 0.25, 0.28, 0.28, 0.30]
TINY_DEPARTMENT = "Tiny"


def _iso(d: dt.date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def _curve_row(week: dt.date, ptype: str, pop: str, eligible: int, active: float, contributors: int | None = None,
               ever: float | None = None, suppressed: bool = False) -> dict:
    a = round(active * eligible)
    c = contributors if contributors is not None else round(0.15 * eligible)
    e = ever if ever is not None else min(1.0, active + 0.2)
    row = {
        "week_start": week, "iso_week": _iso(week), "population_type": ptype, "population": pop,
        "eligible": eligible, "active": a, "engaged": round(0.7 * a), "contributors": c,
        "ever_active": round(e * eligible), "active_rate": active, "engaged_rate": round(0.7 * a) / eligible,
        "contributor_rate": c / eligible, "ever_active_rate": e, "suppressed": suppressed, "kind": "activity",
    }
    if suppressed:
        for k in ("eligible", "active", "engaged", "contributors", "ever_active", "active_rate", "engaged_rate",
                  "contributor_rate", "ever_active_rate"):
            row[k] = None
    return row


def adoption_curve() -> pl.DataFrame:
    rows = []
    for i, w in enumerate(WEEKS):
        rows.append(_curve_row(w, "organisation", "organisation", 200, ORG_ACTIVE[i], ORG_CONTRIBUTORS[i],
                               ORG_EVER[i]))
        rows.append(_curve_row(w, "worker_type", "office", 120, OFFICE_ACTIVE[i]))
        rows.append(_curve_row(w, "worker_type", "frontline", 80, FRONTLINE_ACTIVE[i]))
        rows.append(_curve_row(w, "pilot_wave", "wave 1", 40, 0.6 + 0.02 * i))
        rows.append(_curve_row(w, "pilot_wave", "non_pilot", 160, ORG_ACTIVE[i] - 0.05))
        rows.append(_curve_row(w, "department", "Sales", 100, 0.45 + 0.01 * i))
        rows.append(_curve_row(w, "department", "Logistics", 97, 0.12 + 0.01 * i))
        # an upstream bug: a 3-person cell NOT flagged suppressed; the report must still hide it
        rows.append(_curve_row(w, "department", TINY_DEPARTMENT, 3, 0.99))
        rows.append(_curve_row(w, "site", "HQ", 150, 0.45))
        rows.append(_curve_row(w, "site", "Plant", 46, 0.20))
        rows.append(_curve_row(w, "site", "Depot", 4, 0.5, suppressed=True))
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("eligible", "active", "engaged", "contributors", "ever_active").cast(pl.Int64))


def usage_segments() -> pl.DataFrame:
    shares = {"Power user": 0.05, "Habitual user": 0.15, "Novice user": 0.20, "Low user": 0.20, "Non-user": 0.40}
    rows = [{"week_start": w, "population_type": "organisation", "population": "organisation", "segment": s,
             "people": round(v * 200), "eligible": 200, "share": v, "suppressed": False, "kind": "activity"}
            for w in WEEKS for s, v in shares.items()]
    return pl.DataFrame(rows)


def lifecycle() -> pl.DataFrame:
    people = {"new": 12, "returning": 60, "resurrecting": 8, "dormant": 15, "lapsed": 25, "never_active": 80}
    rows = [{"week_start": w, "population_type": "organisation", "population": "organisation", "state": s,
             "people": v, "eligible": 200, "share": v / 200, "suppressed": False, "kind": "activity"}
            for w in WEEKS for s, v in people.items()]
    return pl.DataFrame(rows)


def retention() -> pl.DataFrame:
    rows = []
    for ci, c in enumerate(WEEKS[:4]):
        for k in range(0, 6 - ci):
            rows.append({"cohort_type": "first_active_week", "population_type": "organisation",
                         "population": "organisation", "cohort": _iso(c), "cohort_start": c, "weeks_since": k,
                         "week_start": c + dt.timedelta(weeks=k), "eligible": 20, "retained_on": 20 if k == 0 else 10,
                         "retention_on": 1.0 if k == 0 else 0.5, "eligible_on_or_after": 20,
                         "retained_on_or_after": 20 if k == 0 else 12, "retention_on_or_after": 1.0 if k == 0 else 0.6,
                         "suppressed": False, "kind": "activity"})
    return pl.DataFrame(rows)


def inequality() -> pl.DataFrame:
    return pl.DataFrame([{"period_start": WEEKS[0], "period_end": WEEKS[-1], "population_type": "organisation",
                          "population": "organisation", "eligible": 200, "contributors": 60, "contributions": 900,
                          "lurker_share": 0.70, "light_contributor_share": 0.26, "heavy_contributor_share": 0.04,
                          "heavy_contributors": 8, "top1pct_contribution_share": None, "gini_eligible": 0.9,
                          "gini_contributors": 0.55, "suppressed": False, "kind": "activity"}])


def diffusion() -> pl.DataFrame:
    weeks = [W0 + dt.timedelta(weeks=i) for i in range(12)]
    obs = [0.40, 0.46, 0.52, 0.56, 0.60, 0.61] + [None] * 6
    proj = [0.40 + 0.035 * i for i in range(12)]
    return pl.DataFrame({"week_start": weeks, "observed_share": obs, "projected_share": proj,
                         "projected_low": [p - 0.03 for p in proj], "projected_high": [p + 0.03 for p in proj],
                         "weeks_to_50": [9.0] * 12, "weeks_to_80": [24.0] * 12, "kind": ["activity"] * 12})


def non_users() -> pl.DataFrame:
    rows = [("organisation", "organisation", 200, 78), ("worker_type", "office", 120, 30),
            ("worker_type", "frontline", 80, 48)]
    return pl.DataFrame([{"as_of_week": REPORT_WEEK, "population_type": t, "population": p, "eligible": e,
                          "never_active": n, "never_active_without_account": n // 2, "never_active_rate": n / e,
                          "suppressed": False, "kind": "activity"} for t, p, e, n in rows])


def digital_divide() -> pl.DataFrame:
    rows = []
    for i, w in enumerate(WEEKS):
        rows.append({"scope": "week", "week_start": w, "attribute": "worker_type", "reference": "office",
                     "focus": "frontline", "reference_people": 120, "focus_people": 80,
                     "reference_eligible": 120, "reference_active": round(120 * OFFICE_ACTIVE[i]),
                     "reference_active_rate": OFFICE_ACTIVE[i], "focus_eligible": 80,
                     "focus_active": round(80 * FRONTLINE_ACTIVE[i]), "focus_active_rate": FRONTLINE_ACTIVE[i],
                     "gap_points": 100 * (OFFICE_ACTIVE[i] - FRONTLINE_ACTIVE[i]), "suppressed": False,
                     "kind": "activity"})
    return pl.DataFrame(rows)


def manager_relay() -> pl.DataFrame:
    rows = []
    for w in WEEKS:
        rows.append({"week_start": w, "manager_active_prev_week": True, "members": 60, "team_active_rate": 0.52,
                     "kind": "activity"})
        rows.append({"week_start": w, "manager_active_prev_week": False, "members": 50, "team_active_rate": 0.43,
                     "kind": "activity"})
    return pl.DataFrame(rows)


def pilot_representativeness() -> pl.DataFrame:
    return pl.DataFrame({
        "attribute": ["worker_type", "department", "department", "tenure_band", "pre_active_rate"],
        "level": ["frontline", "Sales", "Logistics", "1-3y", None],
        "pilot_value": [0.10, 0.70, 0.20, 0.30, 0.55],
        "population_value": [0.40, 0.50, 0.48, 0.32, 0.30],
        "smd": [-0.72, 0.41, -0.60, -0.04, 0.52],
    })


def pilot_effects() -> pl.DataFrame:
    rows = []
    for outcome, naive, est, (lo, hi) in (("active_rate", 0.24, 0.098, (0.061, 0.135)),
                                          ("resolution_hours", -6.0, -1.5, (-4.0, 1.0))):
        rows.append({"outcome": outcome, "method": "naive", "estimand": "ATT", "estimate": naive, "se": 0.01,
                     "ci_low": naive - 0.02, "ci_high": naive + 0.02, "naive_difference": naive,
                     "n_treated": 40, "n_control": 160})
        for m, shift in (("ipw", 0.004), ("aipw", 0.0), ("matching", -0.006)):
            rows.append({"outcome": outcome, "method": m, "estimand": "ATT", "estimate": est + shift, "se": 0.02,
                         "ci_low": lo + shift, "ci_high": hi + shift, "naive_difference": naive,
                         "n_treated": 40, "n_control": 160})
    # an arm below the minimum group size: must not be drawn
    rows.append({"outcome": "active_rate", "method": "tiny_arm_method", "estimand": "ATT", "estimate": 0.9,
                 "se": 0.1, "ci_low": 0.7, "ci_high": 1.1, "naive_difference": 0.24, "n_treated": 3, "n_control": 160})
    return pl.DataFrame(rows)


def pilot_event_study() -> pl.DataFrame:
    rel = list(range(-4, 6))
    est = [0.01, -0.01, 0.0, 0.01, 0.03, 0.05, 0.07, 0.08, 0.09, 0.091]
    return pl.DataFrame({"outcome": ["active_rate"] * 10, "relative_week": rel, "estimate": est,
                         "ci_low": [e - 0.03 for e in est], "ci_high": [e + 0.03 for e in est],
                         "pretrend_p": [0.41] * 10})


def pilot_projection() -> pl.DataFrame:
    return pl.DataFrame({"outcome": ["active_rate", "active_rate"], "scope": ["pilot", "population"],
                         "estimate": [0.098, 0.062], "ci_low": [0.061, 0.030], "ci_high": [0.135, 0.094]})


def pilot_power() -> pl.DataFrame:
    rows = [{"outcome": o, "weeks": w, "mde_relative": base / (w ** 0.5)} for o, base in
            (("active_rate", 0.4), ("resolution_hours", 0.8)) for w in range(2, 27, 2)]
    return pl.DataFrame(rows).with_columns(pl.lit(6).alias("current_weeks"))


def community_outputs() -> pl.DataFrame:
    rows = []
    for w in WEEKS:
        rows.append({"community": "IT help", "week_start": w, "outputs": 6, "target_per_week": 5.0,
                     "busy_without_outputs": False, "silent": False, "kind": "output"})
        rows.append({"community": "Ideas", "week_start": w, "outputs": 1, "target_per_week": 3.0,
                     "busy_without_outputs": False, "silent": False, "kind": "output"})
        rows.append({"community": "Chatter", "week_start": w, "outputs": 0, "target_per_week": 2.0,
                     "busy_without_outputs": True, "silent": False, "kind": "output"})
    return pl.DataFrame(rows)


def outcome_kpis() -> pl.DataFrame:
    rows = []
    for i, w in enumerate(WEEKS):
        for team, pilot_share, base in (("T1", 0.9, 40.0), ("T2", 0.0, 44.0), ("T3", 0.0, 46.0)):
            rows.append({"kpi": "resolution_hours", "unit_type": "team", "unit_id": team, "period_start": w,
                         "period_end": w + dt.timedelta(days=6), "value": base - 0.5 * i, "headcount": 20,
                         "pilot_share": pilot_share, "kind": "outcome"})
    return pl.DataFrame(rows)


def kpi_activity_link() -> pl.DataFrame:
    corr = [0.05, 0.12, 0.21, 0.31, 0.18]
    return pl.DataFrame({"kpi": ["resolution_hours"] * 5, "lag": list(range(5)), "correlation": corr,
                         "slope": [c * 2 for c in corr], "n": [60] * 5, "kind": ["link"] * 5})


def coverage() -> pl.DataFrame:
    return pl.DataFrame({"source": ["slack", "viva_engage", "hr_csv"], "rows_in": [1000, 500, 200],
                         "rows_kept": [950, 490, 198], "rows_filtered": [40, 5, 0], "rows_rejected": [10, 5, 2]})


def match_rates() -> pl.DataFrame:
    return pl.DataFrame({"source": ["slack", "viva_engage"], "accounts": [210, 190], "matched": [193, 188],
                         "match_rate": [193 / 210, 188 / 190]})


def rejects_summary() -> pl.DataFrame:
    return pl.DataFrame({"source": ["slack", "viva_engage", "hr_csv"], "contract": ["events", "events", "hr_snapshots"],
                         "reason": ["occurred_at: not a timestamp", "unknown action 'poke'", "employee_id missing"],
                         "rows": [10, 5, 2]})


KPI_REGISTRY = (
    KpiDefinition(name="resolution_hours", description="mean hours to resolve a service-desk ticket", unit="hours",
                  unit_type="team", direction="lower_is_better", grain="week", source="service desk"),
)


def all_tables() -> dict[str, pl.DataFrame]:
    """Every table the report reads, by warehouse name."""
    return {
        "marts.adoption_curve": adoption_curve(),
        "marts.usage_segments": usage_segments(),
        "marts.lifecycle": lifecycle(),
        "marts.retention": retention(),
        "marts.inequality": inequality(),
        "marts.diffusion": diffusion(),
        "marts.non_users": non_users(),
        "marts.digital_divide": digital_divide(),
        "marts.manager_relay": manager_relay(),
        "marts.pilot_representativeness": pilot_representativeness(),
        "marts.pilot_effects": pilot_effects(),
        "marts.pilot_event_study": pilot_event_study(),
        "marts.pilot_projection": pilot_projection(),
        "marts.pilot_power": pilot_power(),
        "marts.community_outputs": community_outputs(),
        "marts.outcome_kpis": outcome_kpis(),
        "marts.kpi_activity_link": kpi_activity_link(),
        "quality.coverage": coverage(),
        "quality.match_rates": match_rates(),
        "quality.rejects_summary": rejects_summary(),
    }
