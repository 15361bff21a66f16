"""Stickiness and participation inequality against hand-computed values."""

from __future__ import annotations

import polars as pl
import pytest
from metric_fixtures import make_person_week, week

from transforms.metrics.inequality import participation_inequality
from transforms.metrics.stickiness import stickiness


def test_stickiness_counts_calendar_weeks_for_people_eligible_that_week():
    rows = []
    rows += [{"person_key": "a", "w": w, "passive": 1} for w in range(5)]                  # every week
    rows += [{"person_key": "b", "w": w, "passive": int(w == 4)} for w in range(5)]        # once
    rows += [{"person_key": "c", "w": w, "passive": 1} for w in (0, 1, 4)]                 # gap 2-3: counts as 0
    rows += [{"person_key": "d", "w": w} for w in range(5)]                                # never
    rows += [{"person_key": "e", "w": w, "passive": 1} for w in range(4)]                  # left after week 3
    out = stickiness(make_person_week(rows), min_group_size=1)
    w4 = out.filter(pl.col("week_start") == week(4)).row(0, named=True)
    # eligible in week 4: a, b, c, d. Active weeks in 1..4: a 4, b 1, c 2 (weeks 1, 4), d 0
    assert w4["eligible"] == 4
    assert w4["four_week_active"] == 3
    assert w4["mean_weekly_active"] == pytest.approx(7 / 4)
    assert w4["stickiness"] == pytest.approx(7 / 12)
    assert w4["window_complete"]
    w1 = out.filter(pl.col("week_start") == week(1)).row(0, named=True)
    assert not w1["window_complete"]


def test_stickiness_is_null_when_nobody_was_active_and_suppressed_when_small():
    rows = [{"person_key": f"p{i}", "w": 0} for i in range(5)]
    out = stickiness(make_person_week(rows), min_group_size=5)
    assert out["stickiness"][0] is None and not out["suppressed"][0]
    assert stickiness(make_person_week(rows), min_group_size=6)["suppressed"][0]


def _contributions(xs: list[int], dept: str = "D1", prefix: str = "p") -> list[dict]:
    rows = []
    for i, x in enumerate(xs):  # split over two weeks: the period sums them
        rows.append({"person_key": f"{prefix}{i}", "w": 0, "contribution": x // 2, "department": dept})
        rows.append({"person_key": f"{prefix}{i}", "w": 1, "contribution": x - x // 2, "department": dept})
    return rows


def test_90_9_1_shares_top1_and_gini_match_hand_computed_values():
    out = participation_inequality(make_person_week(_contributions([0, 0, 0, 0, 0, 0, 1, 1, 2, 6])),
                                   min_group_size=1)
    r = out.row(0, named=True)
    assert (r["eligible"], r["contributors"], r["contributions"]) == (10, 4, 10)
    assert r["lurker_share"] == pytest.approx(0.6)
    assert r["heavy_contributors"] == 1            # 6 of 10 contributions >= half
    assert r["heavy_contributor_share"] == pytest.approx(0.1)
    assert r["light_contributor_share"] == pytest.approx(0.3)
    assert r["top1pct_contribution_share"] == pytest.approx(0.6)  # ceil(10/100) = 1 person
    # ascending x: 0*6, 1, 1, 2, 6 -> G = 2*(7+8+18+60)/(10*10) - 11/10
    assert r["gini_eligible"] == pytest.approx(0.76)
    # contributors 1, 1, 2, 6 -> G = 2*(1+2+6+24)/(4*10) - 5/4
    assert r["gini_contributors"] == pytest.approx(0.4)
    assert (r["period_start"], r["period_end"]) == (week(0), week(1))


def test_equal_contributions_give_zero_gini_and_the_period_filter_applies():
    pw = make_person_week(_contributions([4] * 6))
    r = participation_inequality(pw, min_group_size=1).row(0, named=True)
    assert r["gini_eligible"] == pytest.approx(0.0) and r["gini_contributors"] == pytest.approx(0.0)
    only_w1 = participation_inequality(pw, start=week(1), end=week(1), min_group_size=1).row(0, named=True)
    assert only_w1["contributions"] == 12 and only_w1["period_start"] == week(1)


def test_top1_share_hidden_when_the_top_group_is_smaller_than_min_group_size():
    rows = _contributions([1] * 20 + [0] * 30)
    r = participation_inequality(make_person_week(rows), min_group_size=5).row(0, named=True)
    assert r["eligible"] == 50 and not r["suppressed"]
    assert r["top1pct_contribution_share"] is None  # top 1% = 1 person


def test_inequality_by_population_with_suppression():
    rows = _contributions([0, 1, 2, 3, 4, 5], "D1", "a") + _contributions([1, 1], "D2", "b") + \
        _contributions([9] * 3, "D3", "c")
    out = participation_inequality(make_person_week(rows), populations=["department"], min_group_size=5)
    got = dict(zip(out["population"], out["suppressed"]))
    assert got == {"D1": False, "D2": True, "D3": True}
    assert out.filter(pl.col("population") == "D1")["lurker_share"][0] == pytest.approx(1 / 6)


def test_gini_among_contributors_hidden_when_fewer_than_min_group_size_contributed():
    # 30 eligible people (a publishable population), 2 contributors with 1 and 5 contributions: the
    # Gini among those two would give the ratio of their counts, i.e. describe 2 people
    r = participation_inequality(make_person_week(_contributions([1, 5] + [0] * 28)), min_group_size=5).row(
        0, named=True)
    assert r["eligible"] == 30 and not r["suppressed"] and r["contributors"] == 2
    assert r["gini_contributors"] is None
    assert r["gini_eligible"] is not None  # over all 30 eligible people: published
    five = participation_inequality(make_person_week(_contributions([1, 1, 1, 1, 5] + [0] * 25)), min_group_size=5)
    assert five.row(0, named=True)["gini_contributors"] == pytest.approx(2 * (1 + 2 + 3 + 4 + 25) / (5 * 9) - 6 / 5)
