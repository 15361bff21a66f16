"""Never-active employees, the digital divide and time to first activity."""

from __future__ import annotations

import polars as pl
import pytest
from metric_fixtures import make_person_week, week

from transforms.metrics.non_users import digital_divide, never_active, time_to_first_activity


def _panel() -> pl.DataFrame:
    rows = []
    for i in range(6):
        for w in range(3):
            # office: o0..o3 active every week; frontline: f_i active from week i+1 on (f0 from week 1...)
            rows.append({"person_key": f"o{i}", "w": w, "passive": int(i < 4), "worker_type": "office",
                         "eligible_from": week(0)})
            rows.append({"person_key": f"f{i}", "w": w, "passive": int(i < w), "worker_type": "frontline",
                         "has_account": i < 3, "eligible_from": week(0)})
    return make_person_week(rows)


def test_never_active_by_population_uses_eligible_headcount():
    out = never_active(_panel(), populations=["organisation", "worker_type"], min_group_size=5)
    got = {r["population"]: r for r in out.iter_rows(named=True)}
    assert got["organisation"]["eligible"] == 12 and got["organisation"]["never_active"] == 6
    # frontline: f0 (from week 1), f1 (from week 2) active; f2..f5 never; 3 of those have no account
    assert got["frontline"]["never_active"] == 4
    assert got["frontline"]["never_active_without_account"] == 3
    assert got["frontline"]["never_active_rate"] == pytest.approx(4 / 6)
    assert got["office"]["never_active_rate"] == pytest.approx(2 / 6)


def test_never_active_as_of_an_earlier_week():
    out = never_active(_panel(), as_of=week(0), min_group_size=1)
    assert out["as_of_week"][0] == week(0) and out["never_active"][0] == 8


def test_digital_divide_gap_in_points_per_week_and_pooled():
    out = digital_divide(_panel())
    weekly = out.filter(pl.col("scope") == "week").sort("week_start")
    assert weekly["gap_points"].to_list() == pytest.approx([400 / 6, 300 / 6, 200 / 6])
    pooled = out.filter(pl.col("scope") == "pooled").row(0, named=True)
    assert pooled["reference_active_rate"] == pytest.approx(12 / 18)
    assert pooled["focus_active_rate"] == pytest.approx(3 / 18)
    assert pooled["gap_points"] == pytest.approx(50.0)


def test_digital_divide_suppressed_when_an_arm_is_small():
    pw = _panel().filter(~pl.col("person_key").is_in(["f3", "f4", "f5"]))
    out = digital_divide(pw, min_group_size=5)
    assert out["suppressed"].all() and out["gap_points"].null_count() == out.height


def test_time_to_first_activity_with_censoring():
    out = time_to_first_activity(_panel(), populations=["worker_type"], min_group_size=1)
    got = {r["population"]: r for r in out.iter_rows(named=True)}
    f = got["frontline"]
    assert (f["people"], f["adopted"], f["censored"]) == (6, 2, 4)
    # Kaplan-Meier: 1 of 6 at week 1, then 1 of 5 at week 2 -> adopted share 1/6, then 1/3
    assert f["weeks_p25"] == 2.0 and f["weeks_median"] is None
    assert f["share_within_4w"] == pytest.approx(1 / 3)
    o = got["office"]
    assert o["weeks_median"] == 0.0 and o["share_within_4w"] == pytest.approx(4 / 6)


def test_time_to_first_activity_starts_at_eligible_from():
    rows = [{"person_key": f"p{i}", "w": w, "passive": int(w >= 2), "eligible_from": week(-3)} for i in range(5)
            for w in range(4)]
    out = time_to_first_activity(make_person_week(rows))
    assert out["weeks_median"][0] == 5.0  # from week -3 to week 2
