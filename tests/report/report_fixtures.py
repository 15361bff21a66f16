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

#: Columns of transforms.pilot.effects_mart.PILOT_EFFECTS and of
#: transforms.pilot.representativeness.SCHEMA, written out so that these fixtures do not import
#: the estimators (scikit-learn takes seconds to import); test_report_schemas checks they agree.
PILOT_EFFECTS_SCHEMA = pl.Schema({
    "cohort": pl.Utf8, "wave": pl.Int16, "support_level": pl.Utf8, "metric": pl.Utf8, "metric_kind": pl.Utf8,
    "estimator": pl.Utf8, "estimand": pl.Utf8, "row_type": pl.Utf8, "event_time": pl.Int32, "estimate": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64, "se": pl.Float64, "naive_estimate": pl.Float64,
    "n_treated": pl.Int64, "n_control": pl.Int64, "pre_trend_p": pl.Float64, "pre_trend_gap": pl.Float64,
    "pre_trend_weeks": pl.Int32, "window_start": pl.Date,
    "window_end": pl.Date, "suppressed": pl.Boolean, "note": pl.Utf8,
})
REPRESENTATIVENESS_SCHEMA = pl.Schema({
    "cohort": pl.Utf8, "wave": pl.Int16, "row_type": pl.Utf8, "variable": pl.Utf8, "variable_kind": pl.Utf8,
    "level": pl.Utf8, "pilot_n": pl.Int64, "population_n": pl.Int64, "pilot_value": pl.Float64,
    "population_value": pl.Float64, "ratio": pl.Float64, "smd": pl.Float64, "imbalanced": pl.Boolean,
    "suppressed": pl.Boolean, "statement": pl.Utf8,
})

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
    """bass_projection: observed share to week 15, fitted and projected to 12 weeks."""
    weeks = [W0 + dt.timedelta(weeks=i) for i in range(12)]
    obs = [*ORG_EVER, *([None] * 6)]
    fitted = [0.40 + 0.035 * i for i in range(12)]
    return pl.DataFrame({
        "population_type": ["organisation"] * 12, "population": ["organisation"] * 12, "week_start": weeks,
        "weeks_since_start": list(range(12)), "observed_new_adopters": [10.0] * 6 + [None] * 6,
        "observed_share": obs, "fitted_share": fitted, "band_low": [f - 0.03 for f in fitted],
        "band_high": [f + 0.03 for f in fitted], "is_projection": [i >= 6 for i in range(12)],
        "status": ["ok"] * 12, "kind": ["activity"] * 12,
    }, schema_overrides={"observed_share": pl.Float64, "observed_new_adopters": pl.Float64})


def diffusion_parameters() -> pl.DataFrame:
    """bass_parameters: weeks to 50% = 9 (7 to 12), weeks to 80% = 24 (open-ended interval)."""
    rows = [("p", 0.01, 0.008, 0.012), ("q", 0.2, 0.15, 0.25), ("m", 150.0, 120.0, 180.0),
            ("weeks_to_50", 9.0, 7.0, 12.0), ("weeks_to_80", 24.0, 18.0, None)]
    return pl.DataFrame([{"population_type": "organisation", "population": "organisation", "headcount": 160,
                          "adopted_before": 40, "bass_population": 120, "weeks_observed": 6, "parameter": n,
                          "estimate": e, "low": lo, "high": hi, "status": "ok", "kind": "activity"}
                         for n, e, lo, hi in rows])


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
    """team_uptake_by_manager_activity: 52% vs 43% every week, pooled row the same."""
    rows = []
    for scope, w in [*(("week", w) for w in WEEKS), ("pooled", None)]:
        rows.append({"scope": scope, "week_start": w, "members_manager_active": 60, "active_manager_active": 31,
                     "rate_manager_active": 0.52, "members_manager_inactive": 50, "active_manager_inactive": 22,
                     "rate_manager_inactive": 0.43, "difference_points": 9.0, "suppressed": False,
                     "adopted_only": True, "kind": "activity"})
    return pl.DataFrame(rows, schema_overrides={"week_start": pl.Date})


def manager_relay_effect() -> pl.DataFrame:
    return pl.DataFrame([{"estimand": "member active | manager active t-1", "method": "OLS LPM", "estimate_pp": 6.1,
                          "std_error_pp": 1.6, "ci_low_pp": 3.0, "ci_high_pp": 9.2, "p_value": 0.001,
                          "n_member_weeks": 660, "n_members": 110, "n_weeks": 6, "members_manager_active": 60,
                          "members_manager_inactive": 50, "managers": 20, "interval_level": 0.95,
                          "kind": "activity"}])


def pilot_representativeness() -> pl.DataFrame:
    """pilot_representativeness rows (SCHEMA): 4 of 5 comparisons beyond |SMD| 0.1, the largest
    worker_type = frontline (-0.72); a suppressed level ('Tiny') must not be drawn."""
    rows = [("level", "worker_type", "frontline", 0.10, 0.40, -0.72), ("level", "department", "Sales", 0.70, 0.50, 0.41),
            ("level", "department", "Logistics", 0.20, 0.48, -0.60), ("level", "tenure_band", "1-3y", 0.30, 0.32, -0.04),
            ("mean", "pre_is_active", None, 0.55, 0.30, 0.52)]
    out = [{"cohort": "wave-1", "wave": 1, "row_type": t, "variable": v, "variable_kind": "text" if lv else "activity",
            "level": lv, "pilot_n": 40, "population_n": 200, "pilot_value": pv, "population_value": qv,
            "ratio": pv / qv, "smd": d, "imbalanced": abs(d) > 0.1, "suppressed": False,
            "statement": f"pilot wave-1: {v} {lv} {pv:.0%} vs {qv:.0%}"} for t, v, lv, pv, qv, d in rows]
    out.append({"cohort": "wave-1", "wave": 1, "row_type": "level", "variable": "department", "variable_kind": "text",
                "level": TINY_DEPARTMENT, "pilot_n": 2, "population_n": 3, "pilot_value": None,
                "population_value": None, "ratio": None, "smd": None, "imbalanced": False, "suppressed": True,
                "statement": "pilot wave-1: department suppressed (fewer than the minimum group size)"})
    out.append({"cohort": "wave-1", "wave": 1, "row_type": "summary", "variable": "mean_abs_smd",
                "variable_kind": "summary", "level": None, "pilot_n": 40, "population_n": 200, "pilot_value": 0.46,
                "population_value": None, "ratio": None, "smd": None, "imbalanced": True, "suppressed": False,
                "statement": "wave-1: mean |SMD| over 5 comparisons is 0.46 (4 above 0.1): the pilot is not "
                             "representative of the eligible population"})
    return pl.DataFrame(out, schema=REPRESENTATIVENESS_SCHEMA)


def _effect_row(**kw) -> dict:
    base = {c: None for c in PILOT_EFFECTS_SCHEMA.names()}
    base.update(wave=1, support_level="high", metric_kind="activity", estimand="ATT", row_type="effect",
                window_start=WEEKS[0], window_end=WEEKS[-1], suppressed=False, n_treated=40, n_control=160)
    base.update(kw)
    return base


def pilot_effects() -> pl.DataFrame:
    """Rows of the PILOT_EFFECTS contract: effects, a projection and an event study.

    weekly_active_rate, cohort wave-1: naive +0.24; ipw +0.102, aipw +0.098 (0.061 to 0.135),
    matching +0.092, did_cs +0.095 (0.060 to 0.130, pre-trend p = 0.41); projected onto the
    population: +0.062 (0.030 to 0.094). resolution_hours (team KPI, outcome): naive -6.0,
    aipw -1.5 (-4.0 to +1.0). A support-level row (restricted to 'low', 12 people) and a suppressed
    row must not be drawn.
    """
    rows = []
    act = {"naive": (0.24, 0.22, 0.26), "ipw": (0.102, 0.065, 0.139), "aipw": (0.098, 0.061, 0.135),
           "matching": (0.092, 0.055, 0.129)}
    for m, (e, lo, hi) in act.items():
        rows.append(_effect_row(cohort="wave-1", metric="weekly_active_rate", estimator=m, estimate=e, ci_low=lo,
                                ci_high=hi, se=0.019, naive_estimate=0.24))
    rows.append(_effect_row(cohort="wave-1", metric="weekly_active_rate", estimator="did_cs", estimate=0.095,
                            ci_low=0.060, ci_high=0.130, se=0.018, naive_estimate=0.24, pre_trend_p=0.41))
    est = [0.01, -0.01, 0.0, 0.01, 0.03, 0.05, 0.07, 0.08, 0.09, 0.091]
    for e_time, e in zip(range(-4, 6), est, strict=True):
        rows.append(_effect_row(cohort="wave-1", metric="weekly_active_rate", estimator="did_cs",
                                row_type="event_study", event_time=e_time, estimate=e, ci_low=e - 0.03,
                                ci_high=e + 0.03, se=0.015, naive_estimate=0.24, pre_trend_p=0.41))
    rows.append(_effect_row(cohort="wave-1", metric="weekly_active_rate", estimator="aipw", estimand="population",
                            estimate=0.062, ci_low=0.030, ci_high=0.094, se=0.016, naive_estimate=0.24,
                            note="re-weighted by worker_type; covers 100% of the eligible population"))
    # restricted to one support level inside the cohort: not a whole-cohort row, never drawn
    rows.append(_effect_row(cohort="wave-1", support_level="low", metric="weekly_active_rate", estimator="aipw",
                            estimate=0.5, ci_low=0.4, ci_high=0.6, n_treated=12))
    for m, (e, lo, hi) in {"naive": (-6.0, -6.5, -5.5), "aipw": (-1.5, -4.0, 1.0),
                            "matching": (-1.4, -4.2, 1.4)}.items():
        rows.append(_effect_row(cohort="wave-1", metric="resolution_hours", metric_kind="outcome", estimator=m,
                                estimate=e, ci_low=lo, ci_high=hi, se=1.2, naive_estimate=-6.0, n_treated=6,
                                n_control=20))
    # an arm below the minimum group size: suppressed, no numbers
    rows.append(_effect_row(cohort="wave-1", metric="resolution_hours", metric_kind="outcome", estimator="ipw",
                            n_treated=3, n_control=20, suppressed=True))
    return pl.DataFrame(rows, schema=PILOT_EFFECTS_SCHEMA, orient="row")


def pilot_power() -> pl.DataFrame:
    """kpi_power: 6 pilot teams vs 20, 6 weeks: MDE 4.9 hours = 11.7% of a 42-hour mean; a 10% change
    (4.2 hours) needs 9 weeks."""
    return pl.DataFrame([{"kpi": "resolution_hours", "mean": 42.0, "sigma_between": 3.0, "sigma_within": 4.0,
                          "rho": 0.3, "n_treated": 6, "n_control": 20, "weeks": 6, "pre_weeks": 8, "design": "did",
                          "mde": 4.9, "mde_relative": 4.9 / 42.0, "target_effect": 4.2,
                          "weeks_to_detect_target": 9}])


def community_outputs() -> pl.DataFrame:
    """community_outputs: IT help 6/week (target 5), Ideas 1/week (target 3), Chatter 0 (target 2)."""
    rows = []
    for w in WEEKS:
        for c, n, target, otype in (("IT help", 6, 5.0, "answered question"), ("Ideas", 1, 3.0, "idea"),
                                    ("Chatter", 0, 2.0, "shared practice")):
            rows.append({"community": c, "week_start": w, "outputs": n, "output_type": otype,
                         "rule": "hashtag", "target_per_week": target, "output_vs_target": n / target,
                         "kind": "output"})
    return pl.DataFrame(rows)


def community_flags() -> pl.DataFrame:
    rows = [("Chatter", 240.0, 0.0, True, False), ("IT help", 80.0, 6.0, False, False),
            ("Ideas", 20.0, 1.0, False, False)]
    return pl.DataFrame([{"community": c, "weeks": 6, "period_start": WEEKS[0], "period_end": WEEKS[-1],
                          "mean_weekly_actions": a, "mean_weekly_active_people": a / 4, "outputs": int(o * 6),
                          "outputs_per_week": o, "median_weekly_actions": 80.0, "silent": si,
                          "busy_without_outputs": b, "kind": "link"} for c, a, o, b, si in rows])


def outcome_kpis() -> pl.DataFrame:
    """outcome_kpis: team T1 (pilot, 20 people) 40.0 - 0.5 w; T2, T3 (not pilot) 44 / 46 - 0.5 w;
    team T9 has 3 people and a planted value of 999: suppressed upstream AND too small."""
    rows = []
    for i, w in enumerate(WEEKS):
        for team, share, base, head in (("T1", 0.9, 40.0, 20.0), ("T2", 0.0, 44.0, 20.0), ("T3", 0.0, 46.0, 20.0),
                                        ("T9", 0.0, 999.0, 3.0)):
            rows.append({"kpi": "resolution_hours", "unit_type": "team", "unit_id": team, "period_start": w,
                         "period_end": w + dt.timedelta(days=6), "week_start": w, "value": base - 0.5 * i,
                         "unit": "hours", "direction": "lower_is_better", "org_unit": team, "department": "Support",
                         "site": "HQ", "headcount": head, "frontline_share": 0.0, "pilot_member_share": share,
                         "pilot_during_share": share, "pilot_status": None, "suppressed": head < 5,
                         "kind": "outcome"})
    return pl.DataFrame(rows, infer_schema_length=None)


def kpi_activity_link() -> pl.DataFrame:
    """kpi_activity_lead_lag: strongest |r| = 0.31 at lag 3 (slope -0.12 hours per point)."""
    corr = [0.05, 0.12, 0.21, -0.31, 0.18]
    return pl.DataFrame({"lag_weeks": list(range(5)), "n_pairs": [60] * 5, "n_teams": [12] * 5,
                         "correlation": corr, "slope_per_point": [-0.12] * 5, "ci_low": [-0.20] * 5,
                         "ci_high": [-0.04] * 5, "suppressed": [False] * 5, "kind": ["link"] * 5,
                         "kpi": ["resolution_hours"] * 5, "unit": ["hours"] * 5,
                         "direction": ["lower_is_better"] * 5, "within_team": [False] * 5,
                         "label": ["association, not effect"] * 5, "interval_level": [0.95] * 5})


def coverage() -> pl.DataFrame:
    """source_row_flow: 1,700 rows in; 1,638 kept, 45 filtered, 17 rejected."""
    return pl.DataFrame({"source": ["slack", "slack", "viva_engage", "hr_csv"],
                         "table": ["events", "accounts", "events", "hr_snapshots"],
                         "rows_in": [900, 100, 500, 200], "kept": [852, 98, 490, 198], "rejected": [8, 2, 5, 2],
                         "filtered_duplicate": [10, 0, 5, 0], "filtered_automated": [30, 0, 0, 0],
                         "filtered": [40, 0, 5, 0], "balanced": [True] * 4})


def match_rates() -> pl.DataFrame:
    """identity_match: slack 193/210 = 91.9%, viva_engage 188/190 = 98.9%; threshold 95%."""
    return pl.DataFrame({"source": ["slack", "viva_engage"], "accounts": [215, 190], "automated": [5, 0],
                         "human_accounts": [210, 190], "matched": [193, 188], "match_rate": [193 / 210, 188 / 190],
                         "threshold": [0.95, 0.95], "below_threshold": [True, False]})


def weeks_covered() -> pl.DataFrame:
    return pl.DataFrame({"source": ["slack", "viva_engage"], "kind": ["events", "events"],
                         "first_week": [WEEKS[0], WEEKS[0]], "last_week": [WEEKS[-1], WEEKS[-1]],
                         "weeks_spanned": [6, 6], "weeks_with_data": [6, 5], "coverage": [1.0, 5 / 6],
                         "missing_weeks": [[], [_iso(WEEKS[2])]]})


def hr_completeness() -> pl.DataFrame:
    return pl.DataFrame({"field": ["department", "email", "manager_id", "site"], "employees": [200] * 4,
                         "filled": [200, 196, 180, 200], "share": [1.0, 0.98, 0.90, 1.0], "suppressed": [False] * 4})


def kpi_freshness() -> pl.DataFrame:
    return pl.DataFrame({"kpi": ["resolution_hours"], "latest_period_end": [WEEKS[-1] + dt.timedelta(days=6)],
                         "rows": [24], "max_delay_days": [14], "grain": ["week"],
                         "data_last_week_end": [WEEKS[-1] + dt.timedelta(days=6)], "delay_days": [0],
                         "late": [False]})


def rejects_summary() -> pl.DataFrame:
    return pl.DataFrame({"source": ["slack", "viva_engage", "hr_csv"], "contract": ["events", "events", "hr_snapshots"],
                         "reason": ["occurred_at: not a timestamp", "unknown action 'poke'", "employee_id missing"],
                         "rows": [10, 5, 2]})


# ----- perceived value (pulse surveys) ---------------------------------------------------------------

SURVEY_WAVES = {"w1": WEEKS[0], "w2": WEEKS[4]}
SURVEY_QUESTIONS = {"saves_time": ("The platform saves me time", "likert_5"),
                    "recommend": ("Would you recommend the platform?", "nps_0_10")}


def perception() -> pl.DataFrame:
    """marts.perception: 200 eligible every wave. saves_time top-2-box 35% (w1) -> 45% (w2); recommend
    NPS -20 -> -10; w2: 110 respondents (55%). The pilot's "wave 2" cell has 3 respondents and is NOT
    flagged suppressed: no table or chart may show it."""
    rows = []
    cells = {  # population_type, population: (eligible, respondents by wave)
        ("organisation", "organisation"): (200, {"w1": 100, "w2": 110}),
        ("worker_type", "office"): (120, {"w1": 70, "w2": 75}),
        ("worker_type", "frontline"): (80, {"w1": 30, "w2": 35}),
        ("pilot_wave", "wave 1"): (40, {"w1": 30, "w2": 32}),
        ("pilot_wave", "wave 2"): (10, {"w1": 3, "w2": 3}),
        ("pilot_wave", "non_pilot"): (150, {"w1": 67, "w2": 75}),
    }
    for wave, opens in SURVEY_WAVES.items():
        lift = 0.1 if wave == "w2" else 0.0
        for qid, (question, scale) in SURVEY_QUESTIONS.items():
            for (ptype, pop), (eligible, respondents) in cells.items():
                n = respondents[wave]
                nps = qid == "recommend"
                rows.append({
                    "survey_id": "pulse", "wave": wave, "opens": opens, "closes": opens + dt.timedelta(days=13),
                    "week_start": opens, "question_id": qid, "question": question, "scale": scale,
                    "direction": "higher_is_better", "population_type": ptype, "population": pop,
                    "respondents": n, "eligible": eligible, "response_rate": n / eligible,
                    "mean_answer": (5.5 if nps else 3.1) + 3 * lift, "top2_share": None if nps else 0.35 + lift,
                    "promoters_share": 0.2 if nps else None, "detractors_share": (0.4 - lift) if nps else None,
                    "nps": (-20 + 100 * lift) if nps else None, "suppressed": False, "kind": "perception"})
    return pl.DataFrame(rows)


def perception_pilot_effect() -> pl.DataFrame:
    """saves_time, wave-1: naive +0.60, aipw +0.33 (0.10 to 0.56); recommend: naive +1.50, aipw +0.80 (0.20 to 1.40)."""
    rows = []
    for qid, values in {"saves_time": {"naive": (0.6, 0.4, 0.8), "ipw": (0.35, 0.1, 0.6), "aipw": (0.33, 0.1, 0.56),
                                       "matching": (0.3, 0.02, 0.58)},
                        "recommend": {"naive": (1.5, 1.0, 2.0), "aipw": (0.8, 0.2, 1.4)}}.items():
        for m, (e, lo, hi) in values.items():
            rows.append(_effect_row(cohort="wave-1", metric=qid, metric_kind="perception", estimator=m, estimate=e,
                                    ci_low=lo, ci_high=hi, se=0.1, naive_estimate=values["naive"][0], n_treated=30,
                                    n_control=140))
    return pl.DataFrame(rows, schema=PILOT_EFFECTS_SCHEMA, orient="row")


def perception_activity_link() -> pl.DataFrame:
    """saves_time: +0.90 points from never to always active (0.60 to 1.20), 180 respondents; recommend:
    +2.00 (1.40 to 2.60). The recommend "active most weeks" band has 3 respondents, not flagged: never drawn."""
    rows = []
    for qid, (question, scale) in SURVEY_QUESTIONS.items():
        slope = 2.0 if qid == "recommend" else 0.9
        base = {"survey_id": "pulse", "question_id": qid, "question": question, "scale": scale, "activity_weeks": 8,
                "correlation": None, "slope": None, "se": None, "ci_low": None, "ci_high": None, "note": None,
                "suppressed": False, "kind": "link"}
        rows.append({**base, "row_type": "slope", "band": None, "respondents": 180, "answers": 210,
                     "mean_answer": 3.2, "mean_active_share": 0.3, "correlation": 0.3, "slope": slope, "se": 0.15,
                     "ci_low": slope - 0.3 * (2 if qid == "recommend" else 1), "ci_high": slope + 0.3 *
                     (2 if qid == "recommend" else 1), "note": "Association, not effect."})
        for band, n, mean in (("never active", 100, 2.8), ("active up to half of the weeks", 77, 3.3),
                              ("active most weeks", 3 if qid == "recommend" else 33, 3.9)):
            rows.append({**base, "row_type": "band", "band": band, "respondents": n, "answers": n, "mean_answer": mean,
                         "mean_active_share": None})
    return pl.DataFrame(rows)


KPI_REGISTRY = (
    KpiDefinition(name="resolution_hours", description="mean hours to resolve a service-desk ticket", unit="hours",
                  unit_type="team", direction="lower_is_better", grain="week", source="service desk"),
)


def all_tables() -> dict[str, pl.DataFrame]:
    """Every table the report reads, by warehouse name."""
    from report.roadmap_fixtures import roadmap_tables  # it builds on this module's weeks

    return {
        **roadmap_tables(),
        "marts.adoption_curve": adoption_curve(),
        "marts.usage_segments": usage_segments(),
        "marts.lifecycle": lifecycle(),
        "marts.retention": retention(),
        "marts.inequality": inequality(),
        "marts.diffusion": diffusion_parameters(),
        "marts.diffusion_projection": diffusion(),
        "marts.non_users": non_users(),
        "marts.digital_divide": digital_divide(),
        "marts.manager_relay": manager_relay_effect(),
        "marts.team_uptake_by_manager": manager_relay(),
        "marts.pilot_representativeness": pilot_representativeness(),
        "marts.pilot_effects": pilot_effects(),
        "marts.pilot_power": pilot_power(),
        "marts.community_outputs": community_outputs(),
        "marts.community_flags": community_flags(),
        "marts.outcome_kpis": outcome_kpis(),
        "marts.kpi_activity_link": kpi_activity_link(),
        "marts.perception": perception(),
        "marts.perception_pilot_effect": perception_pilot_effect(),
        "marts.perception_activity_link": perception_activity_link(),
        "quality.coverage": coverage(),
        "quality.match_rates": match_rates(),
        "quality.weeks_covered": weeks_covered(),
        "quality.hr_completeness": hr_completeness(),
        "quality.kpi_freshness": kpi_freshness(),
        "quality.rejects_summary": rejects_summary(),
    }
