"""marts.adoption_curve against a hand-built person-week table."""

from __future__ import annotations

import polars as pl
import pytest
from metric_fixtures import make_person_week, week

from transforms.contracts import ContractError
from transforms.metrics.adoption_curve import ADOPTION_CURVE_COLUMNS, adoption_curve
from transforms.metrics.registry import assert_single_kind


def _org() -> pl.DataFrame:
    rows = []
    # D1: 10 people, only p1..p5 have a platform account; p10 was active before the data window
    for i in range(1, 11):
        for w in (0, 1):
            active = (w == 0 and i <= 4) or (w == 1 and i <= 2)
            rows.append({
                "person_key": f"p{i}", "w": w, "department": "D1", "has_account": i <= 5,
                "passive": int(active), "reaction": int(i == 2 and w == 0), "contribution": int(i == 2 and w == 1),
                "is_manager": i == 1, "direct_reports": 3 if i == 1 else 0,
            })
    # D2: 6 pilot people (wave 1)
    for i in range(1, 7):
        for w in (0, 1):
            active = (w == 0 and i == 1) or (w == 1 and i <= 3)
            rows.append({"person_key": f"q{i}", "w": w, "department": "D2", "passive": int(active),
                         "pilot_cohort": "wave-1", "pilot_wave": 1})
    # D3: 3 people; r1 leaves after week 0
    for i in range(1, 4):
        for w in (0, 1):
            if i == 1 and w == 1:
                continue
            rows.append({"person_key": f"r{i}", "w": w, "department": "D3", "passive": int(i == 1 and w == 0)})
    return make_person_week(rows, first_active={"p10": week(-3)})


def _cell(curve: pl.DataFrame, w: int, ptype: str, pop: str) -> dict:
    sub = curve.filter((pl.col("week_start") == week(w)) & (pl.col("population_type") == ptype)
                       & (pl.col("population") == pop))
    assert sub.height == 1, (w, ptype, pop)
    return sub.row(0, named=True)


def test_organisation_counts_and_rates_match_hand_computed_values():
    curve = adoption_curve(_org())
    assert tuple(curve.columns) == ADOPTION_CURVE_COLUMNS
    assert_single_kind(curve, expected="activity")
    w0 = _cell(curve, 0, "organisation", "organisation")
    assert (w0["eligible"], w0["active"], w0["engaged"], w0["contributors"], w0["ever_active"]) == (19, 6, 1, 0, 7)
    assert w0["active_rate"] == pytest.approx(6 / 19)
    assert w0["ever_active_rate"] == pytest.approx(7 / 19)
    assert w0["iso_week"] == "2026-W02"
    w1 = _cell(curve, 1, "organisation", "organisation")
    assert (w1["eligible"], w1["active"], w1["engaged"], w1["contributors"], w1["ever_active"]) == (18, 5, 1, 1, 8)
    assert w1["contributor_rate"] == pytest.approx(1 / 18)


def test_denominator_is_eligible_headcount_not_platform_accounts():
    curve = adoption_curve(_org(), populations=["department"])
    d1 = _cell(curve, 0, "department", "D1")
    # 10 eligible, 5 with accounts, 4 active: 40%, not 80%
    assert d1["eligible"] == 10
    assert d1["active_rate"] == pytest.approx(0.4)


def test_small_departments_are_suppressed_with_a_complement():
    curve = adoption_curve(_org(), min_group_size=5)
    # week 0: D3 has 3 people (primary), D2 (6) is the complement; D1 stays
    assert _cell(curve, 0, "department", "D3")["suppressed"]
    d2 = _cell(curve, 0, "department", "D2")
    assert d2["suppressed"] and d2["active"] is None and d2["eligible"] is None
    assert not _cell(curve, 0, "department", "D1")["suppressed"]
    # what the organisation total minus the published departments reveals covers >= 5 people
    org = _cell(curve, 0, "organisation", "organisation")["eligible"]
    published = curve.filter((pl.col("week_start") == week(0)) & (pl.col("population_type") == "department")
                             & ~pl.col("suppressed"))["eligible"].sum()
    assert org - published >= 5
    # no published cell describes fewer than 5 people anywhere
    assert curve.filter(~pl.col("suppressed"))["eligible"].min() >= 5


def test_min_group_size_is_an_argument():
    curve = adoption_curve(_org(), populations=["department"], min_group_size=2)
    d3 = _cell(curve, 1, "department", "D3")
    assert not d3["suppressed"] and d3["eligible"] == 2 and d3["active_rate"] == 0.0


def test_pilot_wave_and_boolean_populations():
    curve = adoption_curve(_org(), populations=["pilot_wave", "is_manager"], min_group_size=1)
    assert _cell(curve, 1, "pilot_wave", "wave 1")["active"] == 3
    assert _cell(curve, 1, "pilot_wave", "non_pilot")["eligible"] == 12
    assert _cell(curve, 0, "is_manager", "true")["eligible"] == 1
    assert set(curve["population_type"].unique()) == {"pilot_wave", "is_manager"}


def test_missing_attribute_is_its_own_population_and_input_is_untouched():
    pw = _org().with_columns(pl.when(pl.col("person_key") == "p1").then(None).otherwise(pl.col("site")).alias("site"))
    before = pw.clone()
    curve = adoption_curve(pw, populations=["site"], min_group_size=1)
    assert _cell(curve, 0, "site", "(unknown)")["eligible"] == 1
    assert pw.equals(before)


def test_missing_column_raises_a_contract_error_naming_it():
    with pytest.raises(ContractError, match="is_engaged"):
        adoption_curve(_org().drop("is_engaged"))
    with pytest.raises(ContractError, match="site"):
        adoption_curve(_org().drop("site"), populations=["site"])


def test_duplicated_person_weeks_are_refused_with_the_key():
    pw = _org()
    with pytest.raises(ContractError, match="person_key='p1'"):
        adoption_curve(pl.concat([pw, pw.filter(pl.col("person_key") == "p1").head(1)]))
