"""clean.events / clean.activity_counts / quality.event_conservation against hand-computed answers."""

from __future__ import annotations

import datetime as dt

import pytest

from transforms.clean_events import build_clean_events, check_conservation, validate_sources
from transforms.contracts import ACCOUNTS, ACTIVITY_COUNTS, EVENTS, REJECTS


def utc(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC)


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def ev(event_id: str, when: str, account: str = "U1", action: str = "post", *, file: str = "a.zip",
       automated: bool = False, space: str = "C1", content: str | None = None, source: str = "slack") -> dict:
    return {
        "source": source, "event_id": event_id, "occurred_at": utc(when), "account_id": account,
        "action": action, "space_id": space, "content_id": content or event_id, "is_automated": automated,
        "body_chars": 10, "source_file": file,
    }


EXPORT_A = [
    ev("e1", "2026-01-06 09:00"),
    ev("e2", "2026-01-07 09:00", "U2", "reply"),
    ev("e3", "2026-01-08 09:00", "U2", "post", content="m3"),
    # the same message recorded again under another id: content-identical repeat of e3
    ev("e4", "2026-01-08 09:00", "U2", "post", content="m3"),
]
# a later export overlapping A: e3 and e4 again, plus a new e6
EXPORT_B = [
    ev("e3", "2026-01-08 09:00", "U2", "post", content="m3", file="b.zip"),
    ev("e4", "2026-01-08 09:00", "U2", "post", content="m3", file="b.zip"),
    ev("e6", "2026-01-13 09:00", "U1", "react", file="b.zip"),
]


def kept(con, source: str = "slack") -> list[tuple]:
    return con.execute(
        "SELECT event_id, account_id, action, occurred_at, week_start FROM clean.events WHERE source = ? "
        "ORDER BY event_id", [source]
    ).fetchall()


def test_same_export_twice_changes_nothing(con, load, make_settings):
    load("raw.slack_events", EVENTS, EXPORT_A)
    build_clean_events(con, ["slack"], make_settings())
    once = kept(con)
    assert [r[0] for r in once] == ["e1", "e2", "e3"]
    load("raw.slack_events", EVENTS, EXPORT_A)  # the same export ingested a second time
    build_clean_events(con, ["slack"], make_settings())
    assert kept(con) == once
    row = con.execute(
        "SELECT rows_in, kept, rejected, filtered_duplicate, filtered_automated, balanced "
        "FROM quality.event_conservation WHERE source = 'slack'"
    ).fetchone()
    assert row == (8, 3, 0, 5, 0, True)


def test_overlapping_export_adds_only_new_events(con, load, make_settings):
    load("raw.slack_events", EVENTS, EXPORT_A + EXPORT_B)
    build_clean_events(con, ["slack"], make_settings())
    assert [r[0] for r in kept(con)] == ["e1", "e2", "e3", "e6"]
    # the kept copy of e3 is the one of the later export
    assert con.execute("SELECT source_file FROM clean.events WHERE event_id = 'e3'").fetchone() == ("b.zip",)
    row = con.execute(
        "SELECT rows_in, kept, filtered_duplicate FROM quality.event_conservation WHERE source = 'slack'"
    ).fetchone()
    assert row == (7, 4, 3)


def test_week_assignment_in_organisation_time_zone(con, load, make_settings):
    load("raw.slack_events", EVENTS, [
        ev("sun_late", "2026-01-11 22:30"),   # Sunday 23:30 in Paris (CET): week of Monday 5 January
        ev("mon_early", "2026-01-11 23:30"),  # Monday 00:30 in Paris: week of Monday 12 January
        ev("summer_sun", "2026-06-07 21:30"),  # Sunday 23:30 CEST: week of 1 June
        ev("summer_mon", "2026-06-07 22:30"),  # Monday 00:30 CEST: week of 8 June
        ev("new_year", "2020-12-31 23:30"),   # Friday 1 January 2021 00:30 in Paris: ISO 2020-W53
    ])
    build_clean_events(con, ["slack"], make_settings())
    got = dict(
        (r[0], r[1:])
        for r in con.execute("SELECT event_id, occurred_on, week_start, iso_week FROM clean.events").fetchall()
    )
    assert got == {
        "sun_late": (d("2026-01-11"), d("2026-01-05"), "2026-W02"),
        "mon_early": (d("2026-01-12"), d("2026-01-12"), "2026-W03"),
        "summer_sun": (d("2026-06-07"), d("2026-06-01"), "2026-W23"),
        "summer_mon": (d("2026-06-08"), d("2026-06-08"), "2026-W24"),
        "new_year": (d("2021-01-01"), d("2020-12-28"), "2020-W53"),
    }
    # the same instants in UTC weeks would put sun_late and mon_early in one week
    build_clean_events(con, ["slack"], make_settings(time_zone="UTC"))
    utc_weeks = dict(con.execute("SELECT event_id, week_start FROM clean.events").fetchall())
    assert utc_weeks["sun_late"] == utc_weeks["mon_early"] == d("2026-01-05")


def test_conservation_per_source_with_every_disposition(con, load, make_settings):
    load("raw.slack_events", EVENTS, EXPORT_A + EXPORT_B + [
        ev("bot1", "2026-01-06 10:00", "B1", automated=True),
        ev("e8", "2026-01-06 11:00", "BOTACCT"),           # account flagged automated in the user list
        ev("e9", "1970-01-01 00:00", "U1"),                # unset clock: rejected here
        ev("e10", "2026-01-06 12:00", "   "),              # blank account: rejected here
    ])
    load("raw.slack_accounts", ACCOUNTS, [
        {"source": "slack", "account_id": "BOTACCT", "is_automated": True, "is_deleted": False},
        {"source": "slack", "account_id": "U1", "is_automated": False, "is_deleted": False},
    ])
    load("raw.mattermost_events", EVENTS, [
        ev("m1", "2026-01-06 09:00", source="mattermost"),
        ev("m1", "2026-01-06 09:00", source="mattermost"),
    ])
    load("quality.rejects", REJECTS, [
        {"contract": "events", "file": "a.zip", "locator": "row 3", "reason": "action: expected one of ...",
         "source": "slack"},
        {"contract": "events", "file": "a.zip", "locator": "row 4", "reason": "ts: cannot read", "source": "slack"},
        {"contract": "accounts", "file": "users.json", "locator": "row 1", "reason": "x", "source": "slack"},
        {"contract": "events", "file": "mm.jsonl", "locator": "line 9", "reason": "x", "source": "mattermost"},
    ])
    build_clean_events(con, ["slack", "mattermost", "viva_engage"], make_settings())
    rows = con.execute(
        "SELECT source, input, rows_in, raw_rows, connector_rejects, kept, rejected, filtered_duplicate, "
        "filtered_automated, filtered_overlap, balanced FROM quality.event_conservation ORDER BY source"
    ).fetchall()
    assert rows == [
        # 2 + 1 mattermost: rows in 3 = kept 1 + rejected 1 + duplicate 1
        ("mattermost", "events", 3, 2, 1, 1, 1, 1, 0, 0, True),
        # slack: 11 raw + 2 event rejects; kept e1 e2 e3 e6; rejected 2 + e9 + e10; 3 duplicates; 2 automated
        ("slack", "events", 13, 11, 2, 4, 4, 3, 2, 0, True),
    ]
    assert check_conservation(con) == []
    here = con.execute(
        "SELECT source, locator, reason FROM quality.rejects WHERE contract = 'clean.events' ORDER BY locator"
    ).fetchall()
    assert [(s, loc) for s, loc, _ in here] == [("slack", "event_id=e10"), ("slack", "event_id=e9")]
    assert "account_id" in here[0][2] and "occurred_at" in here[1][2]
    # re-running replaces this module's rejects instead of piling them up
    build_clean_events(con, ["slack", "mattermost"], make_settings())
    assert con.execute("SELECT count(*) FROM quality.rejects WHERE contract = 'clean.events'").fetchone() == (2,)


def test_check_conservation_names_an_unbalanced_source(con, load, make_settings):
    load("raw.slack_events", EVENTS, EXPORT_A)
    build_clean_events(con, ["slack"], make_settings())
    con.execute(
        "UPDATE quality.event_conservation SET kept = kept - 1, "
        "balanced = rows_in = kept - 1 + rejected + filtered_duplicate + filtered_automated + filtered_overlap"
    )
    failures = check_conservation(con)
    assert len(failures) == 1 and failures[0].startswith("slack events: rows in 4 != kept 2")


def counts(account: str, start: str, end: str, n: int, action: str = "post", file: str = "r1.csv") -> dict:
    return {"source": "m365_usage", "account_id": account, "period_start": d(start), "period_end": d(end),
            "action": action, "count": n, "source_file": file}


def test_activity_counts_allocated_to_weeks(con, load, make_settings):
    load("raw.m365_usage_activity_counts", ACTIVITY_COUNTS, [
        counts("a", "2026-01-08", "2026-01-14", 6),    # Thu..Wed: 4 days in week 5 Jan, 3 in week 12 Jan
        counts("b", "2026-01-10", "2026-01-16", 7),    # Sat..Fri: 2 days / 5 days
        counts("c", "2026-01-01", "2026-01-30", 10),   # 30 days over five weeks: 4, 7, 7, 7, 5 days
        counts("d", "2026-01-05", "2026-01-11", 0),    # a zero is kept as a row
    ])
    build_clean_events(con, ["m365_usage"], make_settings())
    got = con.execute(
        "SELECT account_id, week_start, iso_week, count FROM clean.activity_counts ORDER BY account_id, week_start"
    ).fetchall()
    assert got == [
        ("a", d("2026-01-05"), "2026-W02", 6),
        ("b", d("2026-01-12"), "2026-W03", 7),
        # floor(10*days/30) = 1,2,2,2,1; the two left-over units go to the largest remainders:
        # week of 26 Jan (50 % 30 = 20), then the earliest of the ties at 10 (29 Dec)
        ("c", d("2025-12-29"), "2026-W01", 2),
        ("c", d("2026-01-05"), "2026-W02", 2),
        ("c", d("2026-01-12"), "2026-W03", 2),
        ("c", d("2026-01-19"), "2026-W04", 2),
        ("c", d("2026-01-26"), "2026-W05", 2),
        ("d", d("2026-01-05"), "2026-W02", 0),
    ]


def test_every_period_of_up_to_seven_days_goes_to_its_majority_week_ties_to_the_later(con, load, make_settings):
    """Every start weekday x every length from 1 to 7 days, against the rule counted day by day."""
    rows, expected = [], {}
    for offset in range(7):  # 2026-01-05 is a Monday
        start = d("2026-01-05") + dt.timedelta(days=offset)
        for n_days in range(1, 8):
            end = start + dt.timedelta(days=n_days - 1)
            account = f"s{offset}n{n_days}"
            rows.append(counts(account, start.isoformat(), end.isoformat(), n_days))
            days_per_week: dict[dt.date, int] = {}
            for i in range(n_days):
                day = start + dt.timedelta(days=i)
                monday = day - dt.timedelta(days=day.weekday())
                days_per_week[monday] = days_per_week.get(monday, 0) + 1
            expected[account] = max(days_per_week, key=lambda w: (days_per_week[w], w))
    load("raw.m365_usage_activity_counts", ACTIVITY_COUNTS, rows)
    build_clean_events(con, ["m365_usage"], make_settings())
    got = con.execute("SELECT account_id, week_start, count FROM clean.activity_counts").fetchall()
    assert len(got) == 49
    assert {a: w for a, w, _ in got} == expected
    assert all(c == int(a.split("n")[1]) for a, _, c in got)
    assert expected["s3n6"] == d("2026-01-05")  # Thu..Tue: 4 days, then 2
    assert expected["s4n6"] == d("2026-01-12")  # Fri..Wed: 3 and 3, the later week


def test_activity_counts_duplicates_overlaps_rejects_conserved(con, load, make_settings):
    load("raw.m365_usage_activity_counts", ACTIVITY_COUNTS, [
        counts("a", "2026-01-05", "2026-01-11", 5),
        counts("a", "2026-01-05", "2026-01-11", 5, file="r2.csv"),   # same report delivered twice
        counts("a", "2026-01-12", "2026-01-18", 3),
        counts("a", "2026-01-08", "2026-01-14", 9),                  # overlaps the first week's report
        counts("a", "2026-01-12", "2026-01-18", 4, action="react"),  # another action: independent
        counts("b", "2026-01-05", "2026-01-11", -1),                 # negative: rejected
        counts("bot", "2026-01-05", "2026-01-11", 50),               # automated account
    ])
    load("raw.m365_usage_accounts", ACCOUNTS, [
        {"source": "m365_usage", "account_id": "bot", "is_automated": True, "is_deleted": False},
    ])
    build_clean_events(con, ["m365_usage"], make_settings())
    got = con.execute(
        "SELECT account_id, action, week_start, count FROM clean.activity_counts ORDER BY account_id, action, week_start"
    ).fetchall()
    assert got == [
        ("a", "post", d("2026-01-05"), 5),
        ("a", "post", d("2026-01-12"), 3),
        ("a", "react", d("2026-01-12"), 4),
    ]
    row = con.execute(
        "SELECT input, rows_in, kept, rejected, filtered_duplicate, filtered_automated, filtered_overlap, balanced "
        "FROM quality.event_conservation WHERE source = 'm365_usage'"
    ).fetchone()
    assert row == ("activity_counts", 7, 3, 1, 1, 1, 1, True)


def test_no_sources_gives_empty_typed_tables(con, make_settings):
    build_clean_events(con, ["slack"], make_settings())
    assert con.execute("SELECT count(*) FROM clean.events").fetchone() == (0,)
    cols = [r[0] for r in con.execute("DESCRIBE clean.events").fetchall()]
    assert cols == [*EVENTS.names, "occurred_on", "week_start", "iso_week"]
    assert con.execute("SELECT count(*) FROM quality.event_conservation").fetchone() == (0,)


def test_bad_source_names_are_refused(con, make_settings):
    with pytest.raises(ValueError, match="invalid source name"):
        build_clean_events(con, ["slack; DROP TABLE x"], make_settings())
    with pytest.raises(ValueError, match="list of names"):
        validate_sources("slack")


def test_rolling_daily_d7_reports_tile_into_weeks(con, load, make_settings):
    start = d("2026-01-05")
    rows = [
        counts("a", str(start + dt.timedelta(days=i)), str(start + dt.timedelta(days=i + 6)), 10 + i)
        for i in range(15)  # refreshed every day, each over the last 7 days
    ] + [counts("a", "2026-01-05", "2026-02-03", 99)]  # and a D30 report over the same days
    load("raw.m365_usage_activity_counts", ACTIVITY_COUNTS, rows)
    build_clean_events(con, ["m365_usage"], make_settings())
    got = con.execute(
        "SELECT period_start, period_end, week_start, count FROM clean.activity_counts ORDER BY period_start"
    ).fetchall()
    assert got == [
        (d("2026-01-05"), d("2026-01-11"), d("2026-01-05"), 10),
        (d("2026-01-12"), d("2026-01-18"), d("2026-01-12"), 17),
        (d("2026-01-19"), d("2026-01-25"), d("2026-01-19"), 24),
    ]
    row = con.execute(
        "SELECT rows_in, kept, filtered_overlap, balanced FROM quality.event_conservation"
    ).fetchone()
    assert row == (16, 3, 13, True)


def test_week_helpers():
    from transforms.weeks import as_week_starts, iso_week_label, week_start_of

    assert week_start_of(d("2026-01-11")) == d("2026-01-05") and week_start_of(d("2026-01-12")) == d("2026-01-12")
    assert iso_week_label(d("2027-01-01")) == "2026-W53" and iso_week_label(d("2026-01-01")) == "2026-W01"
    assert as_week_starts(["2026-W03", d("2026-01-05"), "2026-W02"]) == [d("2026-01-05"), d("2026-01-12")]
    with pytest.raises(ValueError, match="no such ISO week"):
        as_week_starts(["2025-W53"])
    with pytest.raises(ValueError, match="expected a Monday date"):
        as_week_starts(["2026-01-05"])


def test_a_timestamp_in_the_future_is_a_clock_error(con, load, make_settings):
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    load("raw.slack_events", EVENTS, [ev("now", "2026-01-06 09:00"), ev("later", future)])
    build_clean_events(con, ["slack"], make_settings())
    assert [r[0] for r in kept(con)] == ["now"]
    reason = con.execute("SELECT reason FROM quality.rejects WHERE contract = 'clean.events'").fetchone()[0]
    assert reason == "occurred_at: more than a day in the future, a clock error"
    assert check_conservation(con) == []


def test_only_the_weeks_whose_rows_changed_are_rebuilt(con, load, make_settings):
    from transforms.clean_event_partitions import EVENT_PARTITIONS

    load("raw.slack_events", EVENTS, EXPORT_A + [ev("e7", "2026-01-20 09:00")])
    build_clean_events(con, ["slack"], make_settings())
    before = dict(con.execute(f"SELECT week_start, fingerprint FROM {EVENT_PARTITIONS}").fetchall())
    assert sorted(before) == [d("2026-01-05"), d("2026-01-19")]
    # a re-export adds one event in the week of 19 January: that partition only changes
    load("raw.slack_events", EVENTS, [ev("e8", "2026-01-21 09:00", file="b.zip")])
    build_clean_events(con, ["slack"], make_settings())
    after = dict(con.execute(f"SELECT week_start, fingerprint FROM {EVENT_PARTITIONS}").fetchall())
    assert after[d("2026-01-05")] == before[d("2026-01-05")]
    assert after[d("2026-01-19")] != before[d("2026-01-19")]
    assert [r[0] for r in kept(con)] == ["e1", "e2", "e3", "e7", "e8"]
    # and a full rebuild from nothing gives the same rows
    incremental = kept(con)
    for table in (EVENT_PARTITIONS, "clean.event_candidates", "clean.event_counts", "clean.event_days",
                  "clean.account_events"):
        con.execute(f"DELETE FROM {table}")
    build_clean_events(con, ["slack"], make_settings())
    assert kept(con) == incremental


def test_two_emoji_of_one_person_on_one_message_are_two_reactions(con, make_settings, tmp_path):
    """A reaction carries its message's time and id; only its emoji tells a person's two reactions
    on one message apart. Both go through the Slack connector and the clean layer."""
    import json

    from pipelines.connectors.slack import SlackConnector
    from pipelines.warehouse import write_batches

    export = tmp_path / "export"
    (export / "general").mkdir(parents=True)
    (export / "users.json").write_text(json.dumps([
        {"id": u, "name": u.lower(), "profile": {"email": f"{u.lower()}@northwind.example"}} for u in ("U1", "U2")
    ]))
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (export / "general" / "2026-01-06.json").write_text(json.dumps([
        {"type": "message", "user": "U2", "text": "hello", "ts": "1767690000.000100",
         "reactions": [{"name": "+1", "users": ["U1", "U2"], "count": 2},
                       {"name": "tada", "users": ["U1"], "count": 1}]},
    ]))
    connector = SlackConnector()
    write_batches(con, "slack", connector.yields, connector.read(export))
    build_clean_events(con, ["slack"], make_settings())
    reactions = con.execute(
        "SELECT account_id, reaction FROM clean.events WHERE action = 'react' ORDER BY account_id, reaction"
    ).fetchall()
    assert reactions == [("U1", "+1"), ("U1", "tada"), ("U2", "+1")]
    assert con.execute(
        "SELECT filtered_duplicate, balanced FROM quality.event_conservation WHERE source = 'slack'"
    ).fetchone() == (0, True)


def test_same_reaction_listed_twice_is_still_a_duplicate(con, load, make_settings):
    """Content-identical repeats (another id, same person, message and emoji) are still filtered."""
    react = {"action": "react", "content": "m1", "account": "U1"}
    load("raw.slack_events", EVENTS, [
        {**ev("m1:react:+1:U1", "2026-01-06 09:00", **react), "reaction": "+1"},
        {**ev("m1:react:+1:U1:copy", "2026-01-06 09:00", **react), "reaction": "+1"},
        {**ev("m1:react:tada:U1", "2026-01-06 09:00", **react), "reaction": "tada"},
    ])
    build_clean_events(con, ["slack"], make_settings())
    assert con.execute("SELECT event_id FROM clean.events ORDER BY event_id").fetchall() == [
        ("m1:react:+1:U1",), ("m1:react:tada:U1",)
    ]


def test_partitions_disposed_of_in_batches_or_one_by_one_give_the_same_tables(con, load, make_settings,
                                                                              monkeypatch):
    """Small partitions go through the queries together (a batch), big ones alone: every clean table
    must be the same either way, duplicates, rejects, automated accounts and the weekless rows included."""
    import transforms.clean_event_partitions as partitions

    load("raw.slack_events", EVENTS, EXPORT_A + EXPORT_B + [
        ev("bot1", "2026-01-06 10:00", "B1", automated=True), ev("e8", "2026-01-20 11:00", "BOTACCT"),
        ev("e9", "1970-01-01 00:00", "U1"), ev("e10", "2026-01-27 12:00", "   "),
    ])
    load("raw.slack_accounts", ACCOUNTS, [
        {"source": "slack", "account_id": "BOTACCT", "is_automated": True, "is_deleted": False}])
    load("raw.mattermost_events", EVENTS, [ev("m1", "2026-01-06 09:00", source="mattermost")] * 2
         + [ev("m2", "2026-01-14 09:00", "U7", source="mattermost")])
    tables = ("clean.event_partitions", "clean.event_candidates", "clean.event_counts", "clean.event_days",
              "clean.account_events", "clean.events")

    def build(batch_rows: int) -> dict[str, list[tuple]]:
        monkeypatch.setattr(partitions, "BATCH_ROWS", batch_rows)
        con.execute("DROP TABLE IF EXISTS clean.event_partitions")  # every partition is rebuilt
        build_clean_events(con, ["slack", "mattermost"], make_settings())
        return {t: con.execute(f"SELECT * EXCLUDE (occurred_at), occurred_at::VARCHAR FROM {t} ORDER BY ALL"
                               if t in ("clean.event_candidates", "clean.events") else
                               f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}

    together, one_by_one = build(10**9), build(0)
    assert together == one_by_one
    assert len(together["clean.event_partitions"]) == 7  # slack: 4 weeks and the weekless rows; mattermost: 2
    assert {r[-3] for r in together["clean.event_candidates"]} >= {"duplicate", "rejected", "kept"}
