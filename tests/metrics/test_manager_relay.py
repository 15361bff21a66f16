"""Managers as relays (planted effect recovered), team uptake, leaders' reach, identity prerequisites."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from metric_fixtures import make_events, make_person_week, week

from transforms.contracts import ContractError
from transforms.metrics.manager_relay import (
    identity_prerequisites,
    leader_activity,
    leader_content_reach,
    manager_relay_effect,
    manager_relay_panel,
    team_uptake_by_manager_activity,
)


def _planted(rho: float, *, seed: int, managers: int = 60, team: int = 8, weeks: int = 26,
             confounded: bool = False, vary_team: bool = False) -> pl.DataFrame:
    """Teams whose adopted members are active with P = a_i + rho * manager_active(t-1).

    With ``confounded``, department D0 has both more active managers and more active members, so
    the raw difference overstates rho; the department control must remove it.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(managers):
        dept = f"D{m % 2}"
        p_mgr = (0.8 if dept == "D0" else 0.2) if confounded else 0.5
        mact = rng.random(weeks) < p_mgr
        rows += [{"person_key": f"m{m}", "w": w, "passive": int(mact[w]), "department": dept, "is_manager": True,
                  "direct_reports": team, "level": 3} for w in range(weeks)]
        size = team if not vary_team else team - m % 3
        for j in range(size):
            base = (0.5 if dept == "D0" else 0.15) if confounded else rng.uniform(0.2, 0.5)
            wt = "frontline" if j < 3 else "office"
            for w in range(weeks):
                p = 1.0 if w == 0 else base + rho * mact[w - 1]  # week 0: everyone adopts
                rows.append({"person_key": f"m{m}e{j}", "w": w, "passive": int(rng.random() < p),
                             "manager_key": f"m{m}", "department": dept, "worker_type": wt})
    return make_person_week(rows)


def test_relay_interval_covers_the_planted_effect():
    out = manager_relay_effect(_planted(0.15, seed=1)).row(0, named=True)
    assert out["ci_low_pp"] <= 15.0 <= out["ci_high_pp"]
    assert out["estimate_pp"] == pytest.approx(15.0, abs=2.5)
    assert out["managers"] == 60 and out["n_members"] == 480
    assert out["n_member_weeks"] == 480 * 25  # week 0 has no previous manager week
    assert out["ci_high_pp"] - out["ci_low_pp"] < 6
    assert not out["suppressed"] and out["kind"] == "activity"


def test_controls_remove_department_confounding_that_the_raw_difference_keeps():
    pw = _planted(0.10, seed=2, confounded=True)
    adjusted = manager_relay_effect(pw).row(0, named=True)
    raw = team_uptake_by_manager_activity(pw).filter(pl.col("scope") == "pooled").row(0, named=True)
    assert raw["difference_points"] > 20          # biased by departments: 0.5 vs 0.15 baselines
    assert adjusted["ci_low_pp"] <= 10.0 <= adjusted["ci_high_pp"]


def test_week_fixed_effects_by_demeaning_equal_week_dummies():
    import statsmodels.formula.api as smf

    pw = _planted(0.15, seed=3, managers=12, team=6, weeks=10, vary_team=True)
    ours = manager_relay_effect(pw, min_group_size=2).row(0, named=True)
    panel = manager_relay_panel(pw).with_columns(
        pl.col("is_active").cast(pl.Float64).alias("y"), pl.col("manager_active_prev").cast(pl.Float64).alias("x"),
        pl.col("week_start").cast(pl.Utf8).alias("wk"), pl.col("pilot_status").fill_null("(none)").alias("pilot"),
    ).to_pandas()
    ref = smf.ols("y ~ x + team_size + C(department) + C(worker_type) + C(pilot) + C(wk)", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": pd_codes(panel["manager_key"])})
    assert ours["estimate_pp"] == pytest.approx(100 * ref.params["x"], abs=1e-8)
    assert ours["std_error_pp"] == pytest.approx(100 * ref.bse["x"], rel=0.05)  # df correction differs slightly


def pd_codes(series) -> np.ndarray:
    return np.unique(series.to_numpy(), return_inverse=True)[1]


def _tiny() -> pl.DataFrame:
    rows = [{"person_key": "M", "w": w, "passive": int(w == 0)} for w in range(3)]  # active week 0 only
    rows += [{"person_key": "N", "w": w, "passive": int(w == 1)} for w in range(3)]  # active week 1 only
    for j in range(3):
        rows += [{"person_key": f"a{j}", "w": w, "passive": int(w == 0 or (w == 1 and j == 0)), "manager_key": "M"}
                 for w in range(3)]
        rows += [{"person_key": f"b{j}", "w": w, "passive": int(w == 0 or j < 2), "manager_key": "N"}
                 for w in range(3)]
    rows += [{"person_key": "late", "w": w, "passive": int(w == 2), "manager_key": "M"} for w in range(3)]
    return make_person_week(rows)


def test_team_uptake_by_manager_activity_descriptive_numbers():
    out = team_uptake_by_manager_activity(_tiny(), min_group_size=1)
    w1 = out.filter(pl.col("week_start") == week(1)).row(0, named=True)
    # week 1: M was active in week 0 -> a0..a2 (a0 active); N was not -> b0..b2 (b0, b1 active)
    # 'late' is not adopted before week 1 and is left out
    assert (w1["members_manager_active"], w1["active_manager_active"]) == (3, 1)
    assert (w1["members_manager_inactive"], w1["active_manager_inactive"]) == (3, 2)
    assert w1["difference_points"] == pytest.approx(100 * (1 / 3 - 2 / 3))
    w2 = out.filter(pl.col("week_start") == week(2)).row(0, named=True)
    # week 2: N active in week 1 -> b's (b0, b1 active); M not -> a's (none active); late still not adopted
    assert (w2["members_manager_active"], w2["active_manager_active"]) == (3, 2)
    assert (w2["members_manager_inactive"], w2["active_manager_inactive"]) == (3, 0)
    pooled = out.filter(pl.col("scope") == "pooled").row(0, named=True)
    assert pooled["members_manager_active"] == 6 and pooled["rate_manager_active"] == pytest.approx(3 / 6)
    hidden = team_uptake_by_manager_activity(_tiny(), min_group_size=5)
    # weekly arms have 3 people each: hidden; pooled arms have 6 distinct people each: shown
    assert hidden.filter(pl.col("scope") == "week")["suppressed"].all()
    assert not hidden.filter(pl.col("scope") == "pooled")["suppressed"][0]


def test_relay_estimate_suppressed_when_an_arm_is_small():
    out = manager_relay_effect(_tiny(), min_group_size=5).row(0, named=True)
    assert out["suppressed"] and out["estimate_pp"] is None
    assert out["managers"] == 2


def test_leader_activity_rates_and_suppression():
    rows = [{"person_key": f"L{i}", "w": w, "level": 1 if i == 0 else 2, "passive": int(i < 3),
             "contribution": int(i == 0)} for i in range(5) for w in range(2)]
    rows += [{"person_key": f"x{i}", "w": w, "level": 4, "passive": 1} for i in range(5) for w in range(2)]
    out = leader_activity(make_person_week(rows))
    assert out["leaders"].to_list() == [5, 5]
    assert out["active_rate"].to_list() == pytest.approx([0.6, 0.6])
    assert out["contributor_rate"].to_list() == pytest.approx([0.2, 0.2])
    assert leader_activity(make_person_week(rows), max_level=1)["suppressed"].all()


def test_leader_content_reach_counts_distinct_other_people():
    pw = make_person_week(
        [{"person_key": "boss", "w": 0, "level": 1}]
        + [{"person_key": f"u{i}", "w": 0, "level": 5} for i in range(7)]
    )
    t = dt.datetime(2026, 1, 6, 10)
    ev = [{"event_id": "p", "account_id": "acc-boss", "person_key": "boss", "action": "post", "content_id": "c1",
           "thread_id": "c1", "at": t}]
    ev += [{"event_id": f"r{i}", "account_id": f"acc-u{i}", "person_key": f"u{i}", "action": "react",
            "content_id": "c1", "at": t} for i in range(5)]
    ev += [{"event_id": "rep", "account_id": "acc-u0", "person_key": "u0", "action": "reply", "content_id": "c2",
            "thread_id": "c1", "at": t}]                                    # u0 again: still one person
    ev += [{"event_id": "self", "account_id": "acc-boss", "person_key": "boss", "action": "react",
            "content_id": "c1", "at": t}]                                   # the author: not reach
    ev += [{"event_id": "bot", "account_id": "bot", "action": "react", "content_id": "c1", "is_automated": True,
            "at": t}]
    ev += [{"event_id": "ext", "account_id": "guest", "action": "read", "content_id": "c1", "at": t}]
    ev += [{"event_id": "other", "account_id": "acc-u6", "person_key": "u6", "action": "react", "content_id": "zz",
            "at": t}]                                                       # not leader content
    out = leader_content_reach(make_events(ev), pw, min_group_size=1).row(0, named=True)
    assert out["reach_people"] == 5
    assert out["reach_rate"] == pytest.approx(5 / 8)
    assert out["unresolved_accounts"] == 1
    assert (out["reactions"], out["replies"], out["reads"], out["leader_content_items"]) == (5, 1, 1, 1)
    hidden = leader_content_reach(make_events(ev), pw, min_group_size=5).row(0, named=True)
    assert hidden["suppressed"]  # one leader only


def test_identity_prerequisites_tidy_and_validated():
    match = pl.DataFrame({"source": ["slack", "viva_engage"], "accounts": [100, 50], "matched": [95, 40],
                          "match_rate": [0.95, 0.8]})
    completeness = pl.DataFrame({"field": ["manager_id", "site"], "completeness": [0.99, 0.7]})
    out = identity_prerequisites(match, completeness)
    assert out["prerequisite"].to_list() == ["identity_match_rate"] * 2 + ["profile_completeness"] * 2
    assert out["rate"].to_list() == [0.95, 0.8, 0.99, 0.7]
    assert out["denominator"].to_list()[:2] == [100, 50] and out["denominator"][2] is None
    assert set(out["kind"]) == {"prerequisite"}
    with pytest.raises(ContractError, match=r"hr_completeness, row 2: completeness must be a share"):
        identity_prerequisites(match, completeness.with_columns(pl.Series("completeness", [0.5, 70.0])))
    with pytest.raises(ContractError, match="match_rate"):
        identity_prerequisites(match.drop("match_rate"), completeness)
