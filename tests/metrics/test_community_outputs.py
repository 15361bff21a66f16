"""Community outputs by charter rule, community activity, and the busy/silent flags."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from metric_fixtures import make_events, week

from transforms.contracts.config import Charters
from transforms.metrics.community_outputs import (
    CommunityFlagRules,
    community_activity,
    community_flags,
    community_outputs,
)

T0 = dt.datetime(2026, 1, 5, 9)  # Monday of week 0


def _charters(within_hours: int | None = 48) -> Charters:
    return Charters.model_validate({"communities": [
        {"name": "QA", "spaces": [{"source": "slack", "space_id": "Q"}], "purpose": "answers",
         "output_type": "answered question", "rule": {"kind": "answered_question", "within_hours": within_hours},
         "target_per_week": 4},
        {"name": "Ideas", "spaces": [{"source": "slack", "space_id": "I"}, {"source": "mattermost", "space_id": "I2"}],
         "purpose": "ideas", "output_type": "idea", "rule": {"kind": "hashtag", "tag": "#Idea"}},
    ]})


def _question(qid: str, at: dt.datetime, account: str = "asker", person: str | None = "P-asker",
              is_question: bool = True) -> dict:
    return {"event_id": qid, "account_id": account, "person_key": person, "action": "post", "space_id": "Q",
            "content_id": qid, "thread_id": qid, "is_question": is_question, "at": at}


def _reply(rid: str, qid: str, at: dt.datetime, account: str, person: str | None = None, **kw) -> dict:
    return {"event_id": rid, "account_id": account, "person_key": person, "action": "reply", "space_id": "Q",
            "content_id": rid, "thread_id": qid, "at": at, **kw}


def _qa_events() -> pl.DataFrame:
    h = dt.timedelta(hours=1)
    sunday_night = T0 + dt.timedelta(days=6, hours=14)  # Sunday 23:00 of week 0
    return make_events([
        _question("q1", T0), _reply("r1", "q1", T0 + 5 * h, "expert"),                  # answered
        _question("q2", T0), _reply("r2", "q2", T0 + h, "asker", "P-asker"),             # self-reply only
        _question("q3", T0), _reply("r3", "q3", T0 + 50 * h, "expert"),                  # too late for 48 h
        _question("q4", sunday_night), _reply("r4", "q4", sunday_night + 2 * h, "expert"),  # answered in week 1
        _question("q5", T0, is_question=False), _reply("r5", "q5", T0 + h, "expert"),    # not a question
        _question("q6", T0), _reply("r6a", "q6", T0 + h, "e1"), _reply("r6b", "q6", T0 + 2 * h, "e2"),  # once
        _question("q7", T0), _reply("r7", "q7", T0 + h, "bot", is_automated=True),       # a bot answer
        _question("q8", T0), _reply("r8", "q8", T0 + h, "asker-alt", "P-asker"),         # same person, other account
        _question("q9", T0 + dt.timedelta(days=7)), _reply("r9", "q9", T0 + dt.timedelta(days=7, hours=1), "e1"),
    ])


def test_answered_questions_follow_the_charter_rule_exactly():
    out = community_outputs(_qa_events(), _charters()).filter(pl.col("community") == "QA").sort("week_start")
    # week 0: q1, q4 (question week, answered on Monday), q6; week 1: q9
    assert out["outputs"].to_list() == [3, 1]
    assert out["output_vs_target"].to_list() == pytest.approx([0.75, 0.25])
    assert set(out["kind"]) == {"output"} and "actions" not in out.columns


def test_answered_question_without_a_time_limit():
    out = community_outputs(_qa_events(), _charters(within_hours=None)).filter(pl.col("community") == "QA")
    assert out.sort("week_start")["outputs"].to_list() == [4, 1]  # q3 now counts


def test_hashtag_outputs_across_spaces_of_one_community():
    ev = make_events([
        {"event_id": "1", "account_id": "a", "action": "post", "space_id": "I", "hashtags": ["idea"], "at": T0},
        {"event_id": "2", "account_id": "b", "action": "reply", "space_id": "I", "hashtags": ["idea", "x"], "at": T0},
        {"event_id": "3", "account_id": "c", "action": "react", "space_id": "I", "hashtags": ["idea"], "at": T0},
        {"event_id": "4", "account_id": "d", "action": "post", "space_id": "I", "hashtags": ["ideas"], "at": T0},
        {"event_id": "5", "account_id": "e", "action": "post", "space_id": "OTHER", "hashtags": ["idea"], "at": T0},
        {"event_id": "6", "source": "mattermost", "account_id": "f", "action": "post", "space_id": "I2",
         "hashtags": ["idea"], "at": T0 + dt.timedelta(days=8)},
        {"event_id": "7", "account_id": "g", "action": "post", "space_id": "I", "hashtags": None, "at": T0},
    ])
    out = community_outputs(ev, _charters()).filter(pl.col("community") == "Ideas").sort("week_start")
    assert out["outputs"].to_list() == [2, 1]
    assert out["target_per_week"].null_count() == 2 and out["output_vs_target"].null_count() == 2


def test_community_activity_counts_and_suppression():
    act = community_activity(_qa_events(), _charters(), min_group_size=1)
    qa0 = act.filter((pl.col("community") == "QA") & (pl.col("week_start") == week(0))).row(0, named=True)
    # week 0: q1..q8 (q4 on Sunday night) and the human replies r1, r2, r3, r5, r6a, r6b, r8
    # (r4 falls on Monday of week 1; the bot's r7 is not counted)
    assert (qa0["posts"], qa0["replies"], qa0["actions"]) == (8, 7, 15)
    # people: P-asker (two accounts, one person) + expert, e1, e2 -> 4
    assert qa0["active_people"] == 4
    ideas = act.filter(pl.col("community") == "Ideas")
    assert ideas["actions"].to_list() == [0, 0]  # weeks without events are zeros, not missing
    hidden = community_activity(_qa_events(), _charters(), min_group_size=5)
    assert hidden.filter(pl.col("community") == "QA")["suppressed"].all()


def _flag_events() -> tuple[pl.DataFrame, Charters]:
    per_week = {"Busy": (40, 0), "B": (10, 1), "C": (10, 1), "D": (12, 1), "Quiet": (0.25, 0), "Lively": (30, 2),
                "Middling": (8, 0)}
    rows, communities = [], []
    for name, (actions, outputs) in per_week.items():
        communities.append({"name": name, "spaces": [{"source": "slack", "space_id": name}], "purpose": "p",
                            "output_type": "idea", "rule": {"kind": "hashtag", "tag": "idea"}})
        for w in range(4):
            n = int(actions) if actions >= 1 else int(w == 0)
            for i in range(n):
                rows.append({"event_id": f"{name}-{w}-{i}", "account_id": f"u{i % 7}", "action": "read",
                             "space_id": name, "at": T0 + dt.timedelta(weeks=w, hours=i)})
            for i in range(outputs):
                rows.append({"event_id": f"{name}-{w}-o{i}", "account_id": f"u{i}", "action": "post",
                             "space_id": name, "hashtags": ["idea"], "at": T0 + dt.timedelta(weeks=w, hours=i)})
    return make_events(rows), Charters.model_validate({"communities": communities})


def test_busy_without_outputs_and_silent_are_flagged_exactly():
    events, charters = _flag_events()
    flags = community_flags(events, charters)
    got = {r["community"]: (r["busy_without_outputs"], r["silent"]) for r in flags.iter_rows(named=True)}
    # mean weekly actions (reads + tagged posts): Busy 40, B 11, C 11, D 13, Quiet 0.25, Lively 32, Middling 8;
    # the median is 11: Busy is busy and makes nothing;
    # Lively and D are busy but productive; Middling makes nothing but is below the median; Quiet is silent
    assert got == {"Busy": (True, False), "B": (False, False), "C": (False, False), "D": (False, False),
                   "Quiet": (False, True), "Lively": (False, False), "Middling": (False, False)}
    busy = flags.filter(pl.col("community") == "Busy").row(0, named=True)
    assert busy["mean_weekly_actions"] == 40 and busy["outputs"] == 0 and busy["weeks"] == 4
    assert busy["median_weekly_actions"] == 11
    assert set(flags["kind"]) == {"link"}


def test_flag_thresholds_are_configurable():
    events, charters = _flag_events()
    strict = community_flags(events, charters, rules=CommunityFlagRules(busy_multiple=5.0))  # 40 < 50
    assert not strict["busy_without_outputs"].any()
    lenient = community_flags(events, charters, rules=CommunityFlagRules(near_zero_outputs_per_week=1.5,
                                                                           busy_multiple=0.5))
    flagged = set(lenient.filter(pl.col("busy_without_outputs"))["community"])
    assert flagged == {"Busy", "Middling", "B", "C", "D"}  # 1 output a week is now "near zero"; Lively makes 2
