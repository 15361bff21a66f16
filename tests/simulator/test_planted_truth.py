"""The planted model behaves as documented, on the default-sized organisation (2000 x 40)."""

from __future__ import annotations

import numpy as np
import polars as pl

Panel = tuple[pl.DataFrame, dict]


def _cohorts(truth: dict) -> dict[str, dict]:
    return truth["pilot"]["cohorts"]


def test_pilot_members_are_not_representative(demo_panel: Panel) -> None:
    panel, truth = demo_panel
    for name, c in _cohorts(truth).items():
        start = panel.filter(pl.col("week") == c["start_week"], pl.col("employed"))
        pilot = start.filter(pl.col("pilot_cohort") == name)
        rest = start.filter(pl.col("pilot_cohort").is_null())
        assert pilot.height == c["n_members"]
        office = [(df["worker_type"] == "office").mean() for df in (pilot, rest)]
        managers = [df["is_manager"].mean() for df in (pilot, rest)]
        assert office[0] > office[1] + 0.15, (name, office)
        assert managers[0] > managers[1], (name, managers)
        before = panel.filter(pl.col("week") < c["start_week"]).group_by("employee_id").agg(pl.col("active").any())
        was_active = start.join(before, on="employee_id", how="left").with_columns(pl.col("active_right").fill_null(False))
        shares = [was_active.filter(m)["active_right"].mean() for m in
                  (pl.col("pilot_cohort") == name, pl.col("pilot_cohort").is_null())]
        assert shares[0] > 2 * shares[1], (name, shares)
        comp = c["composition"]
        assert comp["early_adopter_share_pilot"] > 2 * comp["early_adopter_share_rest"]


def test_naive_difference_overstates_the_realised_effect(demo_panel: Panel) -> None:
    panel, truth = demo_panel
    G = truth["timeline"]["G"]
    for name, c in _cohorts(truth).items():
        assert c["naive_difference"] > c["activity_att_realised"] + 0.02, name
        assert abs(c["activity_att_realised"] - c["activity_att_expected"]) < 0.03, name
        window = panel.filter(pl.col("week").is_between(c["start_week"], G - 1), pl.col("eligible"))
        pilot_rate = window.filter(pl.col("pilot_cohort") == name)["active"].mean()
        rest_rate = window.filter(pl.col("pilot_cohort").is_null())["active"].mean()
        assert round(pilot_rate - rest_rate, 6) == c["naive_difference"]
        by_e = c["activity_att_by_event_time"]
        assert [b["event_time"] for b in by_e] == list(range(G - c["start_week"]))
        weights = np.array([b["person_weeks"] for b in by_e])
        pooled = np.average([b["att_realised"] for b in by_e], weights=weights)
        assert abs(pooled - c["activity_att_realised"]) < 1e-5
    # the high-support wave gets the larger push once onboarded (tau 0.15 vs 0.08)
    w1, w2 = _cohorts(truth)["wave-1"], _cohorts(truth)["wave-2"]
    assert w1["tau"] > w2["tau"]


def test_bass_adopters_follow_the_planted_curve(demo_panel: Panel) -> None:
    _, truth = demo_panel
    bass = truth["bass"]
    realised = np.array(bass["realised_new_adopters_by_week"], dtype=float)
    expected = np.array(bass["expected_new_adopters_by_week"])
    assert bass["M"] == round(bass["m_share"] * bass["population"])
    assert 0.85 < realised.sum() / expected.sum() < 1.1
    assert np.corrcoef(realised, expected)[0, 1] > 0.9
    assert abs(int(realised.argmax()) - int(expected.argmax())) <= 3
    # the first week follows the innovation rate p alone
    assert abs(realised[0] - bass["p"] * bass["M"]) < 4 * np.sqrt(bass["p"] * bass["M"])


def test_weekly_truth_equals_the_panel(demo_panel: Panel) -> None:
    panel, truth = demo_panel
    weekly = pl.DataFrame(truth["weekly"])
    from_panel = (panel.filter(pl.col("eligible")).group_by("week")
                  .agg(pl.len().alias("eligible"), pl.col("active").sum().alias("active"),
                       pl.col("active").filter(pl.col("worker_type") == "frontline").mean().alias("rate_front"),
                       pl.col("active").filter(pl.col("worker_type") == "office").mean().alias("rate_office"))
                  .sort("week"))
    assert from_panel["eligible"].to_list() == weekly["eligible"].to_list()
    assert from_panel["active"].to_list() == weekly["active"].to_list()
    gap = 100 * (from_panel["rate_office"] - from_panel["rate_front"])
    assert np.allclose(gap.to_numpy(), weekly["frontline_gap_points"].to_numpy())
    fg = truth["frontline_gap"]
    assert fg["last_8_weeks_mean_points"] > 10
    assert abs(fg["last_8_weeks_mean_points"] - float(gap.tail(8).mean())) < 1e-5
    ever = panel.filter(pl.col("eligible")).group_by("employee_id").agg(pl.col("active").any())["active"].sum()
    assert ever == truth["ever_active"]["total"]


def test_manager_relay_is_recoverable(demo_panel: Panel) -> None:
    """Active in t on the manager's activity in t-1, adopted members only, with week and group controls."""
    panel, truth = demo_panel
    p = panel.filter(pl.col("eligible"))
    prev = p.select("employee_id", pl.col("week") + 1, pl.col("adopted").alias("adopted_prev"))
    boss = p.select(pl.col("employee_id").alias("manager_id"), pl.col("week") + 1, pl.col("active").alias("mgr_prev"))
    d = (p.join(prev, on=["employee_id", "week"]).filter(pl.col("adopted_prev"))
         .join(boss, on=["manager_id", "week"], how="left")
         .with_columns(pl.col("mgr_prev").fill_null(False).cast(pl.Int64), pl.col("active").cast(pl.Int64),
                       pl.col("pilot_cohort").fill_null("none")))
    controls = d.select("week", "worker_type", "pilot_cohort").cast(pl.Utf8).to_dummies(drop_first=True)
    X = np.column_stack([np.ones(d.height), d["mgr_prev"].to_numpy(), controls.to_numpy()]).astype(float)
    y = d["active"].to_numpy().astype(float)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    cov = resid @ resid / (len(y) - X.shape[1]) * np.linalg.inv(X.T @ X)
    estimate, se = beta[1], np.sqrt(cov[1, 1])
    rho = truth["manager_relay"]["rho"]
    assert abs(estimate - rho) < 3 * se + 0.01, (estimate, se)
    assert "percentage points" in truth["manager_relay"]["estimand"]


def test_kpi_effect_truth(demo_panel: Panel) -> None:
    panel, truth = demo_panel
    kpi = truth["kpis"]["first_response_hours"]
    G = truth["timeline"]["G"]
    for c in _cohorts(truth).values():
        s, lag = c["start_week"], kpi["lag_weeks"]
        share = max(0, G - s - lag) / (G - s)
        assert abs(c["kpi_att_expected"] - kpi["effect"] * share) < 1e-9
        assert abs(c["kpi_att_realised"] - c["kpi_att_expected"]) < 0.02
        assert [b["kpi_att_expected"] for b in c["kpi_att_by_event_time"]] == [
            kpi["effect"] if e >= lag else 0.0 for e in range(G - s)]
    # the panel's team KPI: treated teams drop by about |effect| relative to the others after the lag
    w1 = _cohorts(truth)["wave-1"]
    teams = panel.filter(pl.col("kpi_first_response_hours").is_not_null()).group_by("org_unit", "week").agg(
        pl.col("kpi_first_response_hours").first()).with_columns(treated=pl.col("org_unit").is_in(w1["kpi_treated_units"]))
    pre = teams.filter(pl.col("week") < w1["start_week"])
    post = teams.filter(pl.col("week") >= w1["start_week"] + kpi["lag_weeks"])

    def gap(df: pl.DataFrame) -> float:
        m = df.group_by("treated").agg(pl.col("kpi_first_response_hours").mean())
        return float(m.filter(pl.col("treated"))[0, 1] - m.filter(~pl.col("treated"))[0, 1])

    assert abs((gap(post) - gap(pre)) - kpi["effect"]) < 1.0


def test_communities_busy_silent_and_productive(demo_panel: Panel) -> None:
    _, truth = demo_panel
    com = truth["communities"]
    c = com["communities"]
    assert set(com["busy_without_outputs"]) == {"Sales Excellence", "Wellbeing at Work"}
    assert com["silent"] == ["Safety Champions"]
    for name in com["busy_without_outputs"]:
        assert c[name]["outputs_total"] == 0 and c[name]["posts_total"] > 100
    assert c["Sales Excellence"]["reactions_total"] > 100
    assert c["Safety Champions"]["posts_total"] <= 10 and c["Safety Champions"]["outputs_total"] == 0
    for name in com["productive"]:  # a reader-dominated network: few contributors, but outputs every few weeks
        assert c[name]["outputs_total"] > 10
        assert sum(c[name]["outputs_by_week"]) == c[name]["outputs_total"]
    busiest = max(c, key=lambda n: c[n]["posts_total"])
    assert busiest in com["busy_without_outputs"]


def test_identity_truth(demo_panel: Panel) -> None:
    _, truth = demo_panel
    ident = truth["identity"]
    assert set(ident) == {"slack", "mattermost", "viva_engage", "m365_usage"}
    for source, d in ident.items():
        assert d["match_rate"] == round(d["matchable_human_accounts"] / d["human_accounts"], 6)
        assert 0.85 < d["match_rate"] < 1.0, source
    assert ident["slack"]["unmatchable_reasons"]["contractor"] > 0
    assert ident["viva_engage"]["unmatchable_reasons"]["unknown"] > 0
    variants = set(ident["slack"]["variants"]) | set(ident["viva_engage"]["variants"])
    assert {"exact", "case", "whitespace", "alias", "plus", "accents"} <= variants
    assert ident["slack"]["automated_accounts"] >= 2 and ident["slack"]["deactivated_leaver_accounts"] > 0


def test_readers_dominate_with_a_heavy_tail(demo_panel: Panel) -> None:
    """The planted roles give the 90-9-1 shape among the eligible, power users and 15+ action weeks."""
    panel, truth = demo_panel
    part = truth["participation"]
    roles = part["planted"]["roles"]
    assert roles["power"] < roles["contributor"] < roles["lurker"]
    ineq = part["inequality"]
    assert 0.85 <= ineq["lurker_share"] <= 0.95 and 0.05 <= ineq["light_contributor_share"] <= 0.13
    assert ineq["heavy_contributor_share"] <= 0.02 and ineq["top1pct_contribution_share"] >= 0.5
    pw = part["person_weeks"]
    assert pw["active_rate"] > pw["engaged_rate"] > pw["contributor_rate"] > 0
    assert pw["passive_only_rate"] > 0.02  # lurkers seen only through the Viva Engage usage report
    assert part["usage_segments_last_week"]["power_users"] > 0
    assert part["weekly_actions"]["share_with_15_or_more"] > 0.01
    # the panel's observed actions are the truth's: people with contributions over the period
    eligible = panel.filter(pl.col("eligible"))
    contributors = eligible.group_by("employee_id").agg(pl.col("contributor").any())["contributor"].sum()
    assert contributors == ineq["contributors"]
    assert eligible["actions_observed"].max() == part["weekly_actions"]["max"]
