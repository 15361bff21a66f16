"""Usage segments: exact answers on hand-built person-weeks (gaps, late joiners, short windows)."""

from __future__ import annotations

import polars as pl
import pytest
from metric_fixtures import make_person_week, week

from transforms.metrics.usage_segments import SEGMENTS, SegmentRules, usage_segment_shares, usage_segments


def _panel() -> pl.DataFrame:
    rows = []
    # A: 1 action in weeks 0..8, nothing in weeks 9..13
    rows += [{"person_key": "A", "w": w, "passive": int(w <= 8)} for w in range(14)]
    # B: late joiner (from week 4), absent in weeks 7-8 (a gap), 30 actions in every week present
    rows += [{"person_key": "B", "w": w, "passive": 30} for w in (4, 5, 6, 9, 10)]
    # C: never active
    rows += [{"person_key": "C", "w": w} for w in range(4)]
    # D: one action in week 0 only
    rows += [{"person_key": "D", "w": w, "passive": int(w == 0)} for w in range(4)]
    return make_person_week(rows)


def _seg(table: pl.DataFrame, person: str, w: int) -> dict:
    return table.filter((pl.col("person_key") == person) & (pl.col("week_start") == week(w))).row(0, named=True)


@pytest.mark.parametrize(
    ("person", "w", "window_len", "active_weeks", "mean", "segment"),
    [
        ("A", 8, 9, 9, 1.0, "Habitual user"),      # 9/9 active weeks >= ceil(9*9/12)=7; mean 1 < 15
        ("A", 11, 12, 9, 0.75, "Habitual user"),   # full window: 9 of 12 -> habit, even with mean < 1
        ("A", 12, 12, 8, 8 / 12, "Low user"),      # window 1..12: 8 active weeks -> no habit, mean 0.67
        ("A", 13, 12, 7, 7 / 12, "Low user"),
        ("B", 4, 1, 1, 30.0, "Power user"),        # first week of history: window of 1
        ("B", 6, 3, 3, 30.0, "Power user"),
        ("B", 9, 6, 4, 20.0, "Novice user"),       # weeks 7-8 missing count as zero: 4 of 6 < ceil(4.5)=5
        ("B", 10, 7, 5, 150 / 7, "Novice user"),
        ("C", 3, 4, 0, 0.0, "Non-user"),
        ("D", 0, 1, 1, 1.0, "Habitual user"),
        ("D", 1, 2, 1, 0.5, "Low user"),
        ("D", 3, 4, 1, 0.25, "Low user"),
    ],
)
def test_segments_match_hand_computed_answers(person, w, window_len, active_weeks, mean, segment):
    row = _seg(usage_segments(_panel()), person, w)
    assert row["window_len"] == window_len
    assert row["active_weeks"] == active_weeks
    assert row["mean_actions"] == pytest.approx(mean)
    assert row["segment"] == segment


def test_one_row_per_person_week_and_kind():
    pw = _panel()
    seg = usage_segments(pw)
    assert seg.height == pw.height
    assert set(seg["kind"]) == {"activity"}


def test_without_scaling_no_habit_before_nine_active_weeks():
    seg = usage_segments(_panel(), rules=SegmentRules(scale_short_windows=False))
    assert _seg(seg, "B", 4)["segment"] == "Novice user"
    assert _seg(seg, "A", 8)["segment"] == "Habitual user"  # 9 active weeks by week 8
    assert _seg(seg, "A", 7)["segment"] == "Novice user"   # 8 active weeks, mean 1


def _vivainsights_reference(pw: pl.DataFrame) -> dict[tuple[str, object], str]:
    """The vivainsights "12w" rules written out independently with pandas: rolling over the person's
    rows (min_periods 1) for the mean, the count of rows with >= 1 action in the last 12 rows >= 9."""
    frame = pw.select("person_key", "week_start", "actions_total").sort("person_key", "week_start").to_pandas()
    by = frame.groupby("person_key")["actions_total"]
    mean = by.transform(lambda x: x.rolling(window=12, min_periods=1).mean())
    habit = by.transform(lambda x: (x >= 1).astype(int).rolling(window=12, min_periods=1).sum()) >= 9
    out = {}
    for key, when, m, h in zip(frame["person_key"], frame["week_start"], mean, habit, strict=True):
        out[(key, when.date() if hasattr(when, "date") else when)] = (
            "Power user" if h and m >= 15 else "Habitual user" if h else "Novice user" if m >= 1
            else "Low user" if m > 0 else "Non-user")
    return out


def test_vivainsights_option_is_its_exact_behaviour():
    """SegmentRules.vivainsights(): strict 9 of the last 12 rows, no scaling at the start, rows not weeks.
    B's gap (weeks 7-8) is skipped, so week 10 is its 5th row: mean 30, no habit -> Novice (default: 7-week
    calendar window, mean 150/7)."""
    pw = _panel()
    seg = usage_segments(pw, rules=SegmentRules.vivainsights())
    reference = _vivainsights_reference(pw)
    got = {(r["person_key"], r["week_start"]): r["segment"] for r in seg.iter_rows(named=True)}
    assert got == reference
    b10 = _seg(seg, "B", 10)
    assert (b10["window_len"], b10["active_weeks"], b10["mean_actions"]) == (5, 5, 30.0)
    assert _seg(seg, "B", 4)["segment"] == "Novice user" and _seg(usage_segments(pw), "B", 4)["segment"] == "Power user"


def test_thresholds_are_configurable():
    seg = usage_segments(_panel(), rules=SegmentRules(power_mean=0.5, novice_mean=0.25))
    assert _seg(seg, "A", 8)["segment"] == "Power user"
    assert _seg(seg, "D", 3)["segment"] == "Novice user"
    with pytest.raises(ValueError, match="habit_weeks"):
        SegmentRules(habit_weeks=13)


def test_metric_is_configurable():
    pw = _panel().with_columns(pl.lit(0, dtype=pl.Int64).alias("actions_contribution"))
    seg = usage_segments(pw, metric="actions_contribution")
    assert set(seg["segment"]) == {"Non-user"}


def test_shares_per_week_use_eligible_headcount():
    shares = usage_segment_shares(_panel(), min_group_size=1)
    w3 = shares.filter(pl.col("week_start") == week(3))
    assert w3["segment"].to_list() == list(SEGMENTS)
    got = dict(zip(w3["segment"], w3["people"]))
    # week 3: A habitual (4 of 4), C non-user, D low; B not yet eligible
    assert got == {"Power user": 0, "Habitual user": 1, "Novice user": 0, "Low user": 1, "Non-user": 1}
    assert set(w3["eligible"]) == {3}
    assert w3.filter(pl.col("segment") == "Low user")["share"][0] == pytest.approx(1 / 3)


def test_shares_are_suppressed_below_min_group_size():
    shares = usage_segment_shares(_panel(), min_group_size=5)
    assert shares["suppressed"].all()
    assert shares["people"].null_count() == shares.height



def test_a_frame_cut_to_recent_weeks_with_first_row_week_gives_the_same_segments():
    # E: rows in weeks 0-2, then away, back in weeks 14-16. Weeks 14+ need weeks 3+ (12-week
    # windows); in the rows from week 3 on, E's first row is week 14, so only first_row_week keeps
    # E's window at 12 weeks rather than 1 to 3.
    pw = make_person_week([{"person_key": "E", "w": w, "passive": 20} for w in (0, 1, 2, 14, 15, 16)]
                          + [{"person_key": "F", "w": w, "passive": w % 3} for w in range(17)])
    whole = usage_segments(pw).filter(pl.col("week_start") >= week(14)).sort("person_key", "week_start")
    firsts = pw.group_by("person_key").agg(pl.col("week_start").min().alias("first_row_week"))
    cut = pw.filter(pl.col("week_start") >= week(3)).join(firsts, on="person_key")

    def recent(frame: pl.DataFrame) -> pl.DataFrame:
        return usage_segments(frame).filter(pl.col("week_start") >= week(14)).sort("person_key", "week_start")

    assert recent(cut).equals(whole)
    assert _seg(whole, "E", 14)["window_len"] == 12
    assert _seg(recent(cut.drop("first_row_week")), "E", 14)["window_len"] == 1
