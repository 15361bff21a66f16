"""Lifecycle states and retention triangles: exact answers on hand-built person-weeks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from metric_fixtures import make_person_week, week

from transforms.metrics.lifecycle import LIFECYCLE_STATES, lifecycle_shares, lifecycle_states
from transforms.metrics.retention import retention_triangle


def _lifecycle_panel() -> pl.DataFrame:
    rows = []
    rows += [{"person_key": "A", "w": w, "passive": int(w in (0, 1, 3))} for w in range(6)]
    rows += [{"person_key": "B", "w": w, "passive": int(w == 3)} for w in range(2, 6)]       # late joiner
    rows += [{"person_key": "C", "w": w, "passive": int(w == 0)} for w in range(3)]          # leaver, active before
    rows += [{"person_key": "D", "w": w, "passive": int(w in (1, 4))} for w in (0, 1, 4, 5)]  # gap in weeks 2-3
    rows += [{"person_key": "E", "w": w, "passive": int(w == 1)} for w in range(2)]          # active just before
    rows += [{"person_key": "F", "w": w} for w in range(6)]                                  # never active
    return make_person_week(rows, first_active={"C": week(-4), "E": week(-1)})


EXPECTED_STATES = {
    "A": ["new", "returning", "dormant", "resurrecting", "dormant", "lapsed"],
    "B": ["never_active", "new", "dormant", "lapsed"],
    "C": ["resurrecting", "dormant", "lapsed"],
    "D": ["never_active", "new", "resurrecting", "dormant"],
    "E": ["dormant", "resurrecting"],
    "F": ["never_active"] * 6,
}


def test_lifecycle_states_match_hand_computed_answers():
    states = lifecycle_states(_lifecycle_panel())
    got = {p: g.sort("week_start")["state"].to_list() for (p,), g in states.group_by("person_key")}
    assert got == EXPECTED_STATES


def test_new_means_first_activity_ever_even_when_the_window_is_cut():
    pw = _lifecycle_panel()
    cut = pw.filter(pl.col("week_start") >= week(3))  # A's first activity (week 0) is outside the cut
    states = lifecycle_states(cut)
    a = states.filter(pl.col("person_key") == "A").sort("week_start")["state"].to_list()
    assert a == ["resurrecting", "dormant", "lapsed"]  # never "new" again
    b = states.filter(pl.col("person_key") == "B").sort("week_start")["state"].to_list()
    assert b == ["new", "dormant", "lapsed"]


def test_lifecycle_shares_partition_eligible_headcount():
    shares = lifecycle_shares(_lifecycle_panel(), min_group_size=1)
    w4 = shares.filter(pl.col("week_start") == week(4))
    assert w4["state"].to_list() == list(LIFECYCLE_STATES)
    got = dict(zip(w4["state"], w4["people"]))
    # week 4: A dormant, B dormant, D resurrecting, F never; C and E have left (not dormant)
    assert got == {"new": 0, "returning": 0, "resurrecting": 1, "dormant": 2, "lapsed": 0, "never_active": 1}
    assert set(w4["eligible"]) == {4}
    sums = shares.group_by("week_start").agg(pl.col("people").sum(), pl.col("eligible").first())
    assert (sums["people"] == sums["eligible"]).all()


def test_lifecycle_shares_suppressed_below_min_group_size():
    shares = lifecycle_shares(_lifecycle_panel(), min_group_size=5)
    w4 = shares.filter(pl.col("week_start") == week(4))
    assert w4["suppressed"].all() and w4["share"].null_count() == w4.height
    w0 = shares.filter(pl.col("week_start") == week(0))  # A, C, D, E, F: 5 eligible
    assert not w0["suppressed"].any()


def _retention_panel() -> pl.DataFrame:
    rows = []
    rows += [{"person_key": "X1", "w": w, "passive": int(w in (0, 1, 3))} for w in range(4)]
    rows += [{"person_key": "X2", "w": w, "passive": int(w in (0, 2))} for w in range(4)]
    rows += [{"person_key": "X3", "w": w, "passive": int(w == 0)} for w in range(2)]       # leaves after week 1
    rows += [{"person_key": "Y1", "w": w, "passive": int(w in (1, 3))} for w in range(4)]
    rows += [{"person_key": "Z", "w": w} for w in range(4)]                                # never active
    start = week(1) + dt.timedelta(days=2)  # a Wednesday: the wave's week is its Monday
    for r in rows:
        if r["person_key"].startswith("X"):
            r.update(pilot_cohort="wave-1", pilot_wave=1, pilot_start_week=start)
    return make_person_week(rows)


def _cohort(tri: pl.DataFrame, cohort: str) -> list[tuple]:
    sub = tri.filter(pl.col("cohort") == cohort).sort("weeks_since")
    return list(zip(sub["weeks_since"], sub["eligible"], sub["retained_on"], sub["eligible_on_or_after"],
                    sub["retained_on_or_after"]))


def test_retention_by_first_active_week_on_and_on_or_after():
    tri = retention_triangle(_retention_panel(), min_group_size=1)
    assert _cohort(tri, "2026-W02") == [(0, 3, 3, 3, 3), (1, 3, 1, 3, 2), (2, 2, 1, 2, 2), (3, 2, 1, 2, 1)]
    assert _cohort(tri, "2026-W03") == [(0, 1, 1, 1, 1), (1, 1, 0, 1, 1), (2, 1, 1, 1, 1)]
    row = tri.filter((pl.col("cohort") == "2026-W02") & (pl.col("weeks_since") == 1)).row(0, named=True)
    assert row["retention_on"] == pytest.approx(1 / 3)
    assert row["retention_on_or_after"] == pytest.approx(2 / 3)
    assert row["cohort_size"] == 3
    assert set(tri["cohort"]) == {"2026-W02", "2026-W03"}  # Z never active: no cohort


def test_retention_by_pilot_wave_counts_every_assigned_member():
    tri = retention_triangle(_retention_panel(), cohort_by="pilot_wave", min_group_size=1)
    assert set(tri["cohort"]) == {"wave 1"}
    assert tri["cohort_start"][0] == week(1)
    # week 1: X1 active, X2 not, X3 not (still eligible); week 2: X2 active of X1, X2
    assert _cohort(tri, "wave 1") == [(0, 3, 1, 3, 2), (1, 2, 1, 2, 2), (2, 2, 1, 2, 1)]


def test_retention_split_by_population_and_suppressed():
    pw = _retention_panel().with_columns(
        pl.when(pl.col("person_key") == "X1").then(pl.lit("frontline")).otherwise(pl.lit("office")).alias("worker_type")
    )
    tri = retention_triangle(pw, population="worker_type", min_group_size=1)
    assert _cohort(tri.filter(pl.col("population") == "frontline"), "2026-W02")[1] == (1, 1, 1, 1, 1)
    hidden = retention_triangle(pw, min_group_size=5)
    assert hidden["suppressed"].all() and hidden["retention_on"].null_count() == hidden.height


def test_unknown_cohort_rule_is_refused():
    with pytest.raises(ValueError, match="cohort_by"):
        retention_triangle(_retention_panel(), cohort_by="signup")  # type: ignore[arg-type]


def _cohort_panel(seed: int) -> pl.DataFrame:
    """Cohorts of 2 to 12 people starting each week, some leaving, over 14 weeks."""
    rng = np.random.default_rng(seed)
    rows, n = [], 0
    for start in range(8):
        for _ in range(int(rng.integers(2, 13))):
            n += 1
            leave = int(rng.integers(start + 2, 20))
            for w in range(min(leave, 14)):
                active = w == start or (w > start and rng.random() < 0.5)
                rows.append({"person_key": f"P{n:03d}", "w": w, "passive": int(active)})
    return make_person_week(rows)


@pytest.mark.parametrize("seed", range(6))
def test_retention_suppression_hides_cohort_tails_and_is_not_recoverable(seed):
    tri = retention_triangle(_cohort_panel(seed), min_group_size=5)
    assert tri["suppressed"].any() and not tri["suppressed"].all()
    # every cohort shows weeks 0..j-1 and hides j.. (never its first weeks alone)
    for (cohort,), rows in tri.group_by("cohort"):
        flags = rows.sort("weeks_since")["suppressed"].to_list()
        assert flags == sorted(flags), (cohort, flags)
    # every shown cell describes at least 5 people, and hidden values are null
    shown = tri.filter(~pl.col("suppressed"))
    assert shown["eligible"].min() >= 5 and shown["cohort_size"].min() >= 5
    assert tri.filter(pl.col("suppressed"))["retention_on"].null_count() == int(tri["suppressed"].sum())
    # in a calendar week with shown cells, hidden cells are none, or two or more holding at least 5
    # people together (else one would be the week's ever-active headcount minus the shown cells)
    truth = retention_triangle(_cohort_panel(seed), min_group_size=1)
    hidden = truth.join(tri.filter(pl.col("suppressed")).select("cohort", "weeks_since"),
                        on=["cohort", "weeks_since"], how="semi")
    per_week = hidden.group_by("week_start").agg(pl.len().alias("n"), pl.col("eligible").sum().alias("size"))
    cells = truth.group_by("week_start").len("cells")
    per_week = per_week.join(cells, on="week_start")
    assert per_week.filter((pl.col("n") < pl.col("cells")) & ((pl.col("n") < 2) | (pl.col("size") < 5))).height == 0
