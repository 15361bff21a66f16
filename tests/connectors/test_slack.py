"""Slack connector: the real export sample (counts established here with plain json/zipfile), the
contract-kit fixture (hand-written, every expected figure counted by hand in the comments), bad inputs,
and the shared text features."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.connectors.base import ConnectorError
from pipelines.connectors.slack import SlackConnector
from pipelines.connectors.text_features import text_features_exprs, text_features_sql
from pipelines.warehouse import write_batches
from transforms.contracts import ACCOUNTS, EVENTS, REJECTS
from transforms.contracts.tables import TEXT_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
REAL_ZIP = ROOT.parent / "shared" / "realdata" / "slack" / "hfaran_testarchive.zip"
FIXTURE_ZONE = ROOT / "tests" / "fixtures" / "connectors" / "slack"
FIXTURE_EXPORT = FIXTURE_ZONE / "platforms" / "slack" / "export"
NOW = dt.datetime(2024, 3, 10, tzinfo=dt.UTC)


def collect(batches) -> dict[str, pl.DataFrame]:  # noqa: ANN001
    out: dict[str, list[pl.DataFrame]] = {}
    for b in batches:
        out.setdefault(b.table, []).append(b.frame)
    return {
        t: pl.concat(out[t]) if t in out else pl.DataFrame(schema=c.schema)
        for t, c in (("events", EVENTS), ("accounts", ACCOUNTS), ("rejects", REJECTS))
    }


def read(path: Path, **kwargs) -> dict[str, pl.DataFrame]:  # noqa: ANN003
    return collect(SlackConnector(now=kwargs.pop("now", NOW), **kwargs).read(path))


# -- the real sample ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_messages() -> list[tuple[str, dict]]:
    """Every message of the real zip as (member, message), read with zipfile + json only."""
    out = []
    with zipfile.ZipFile(REAL_ZIP) as z:
        for name in sorted(z.namelist()):
            if name.count("/") == 1 and name.endswith(".json"):
                out += [(name, m) for m in json.loads(z.read(name))]
    return out


@pytest.fixture(scope="module")
def real() -> dict[str, pl.DataFrame]:
    return collect(SlackConnector().read(REAL_ZIP))


def test_real_sample_message_counts(real, real_messages) -> None:  # noqa: ANN001
    subtypes = Counter(m.get("subtype") for _, m in real_messages)
    assert len(real_messages) == 158  # SOURCES.md: 158 messages
    assert subtypes["bot_message"] == 94  # SOURCES.md: 94 bot_message without a user key
    ev = real["events"]
    messages = ev.filter(pl.col("action") != "react")
    assert messages.height == 158  # nothing filtered or rejected: no tombstones, no hidden messages
    assert real["rejects"].height == 0
    actions = Counter(messages["action"].to_list())
    assert actions["join"] == subtypes["channel_join"] == 8
    assert actions["upload"] == subtypes["file_share"] == 3
    assert actions["reply"] == subtypes["file_comment"] == 1
    assert actions["post"] == 158 - 8 - 3 - 1
    # automated: the 94 bot_message and the 3 bot_add (integration added) system messages
    automated = messages.filter("is_automated")
    assert automated.height == subtypes["bot_message"] + subtypes["bot_add"] == 97
    bot_ids = {f"{_channel_id(n)}:{m['ts']}" for n, m in real_messages if m.get("subtype") == "bot_message"}
    assert bot_ids <= set(automated["event_id"].to_list())
    # bot messages have no user: their author is the bot id
    assert set(automated.filter(pl.col("event_id").is_in(list(bot_ids)))["account_id"].unique()) <= {
        m["bot_id"] for _, m in real_messages if m.get("subtype") == "bot_message"
    }


def test_real_sample_reactions_one_per_person(real, real_messages) -> None:  # noqa: ANN001
    expected = {
        f"{_channel_id(n)}:{m['ts']}:react:{r['name']}:{u}"
        for n, m in real_messages
        for r in m.get("reactions", [])
        for u in r["users"]
    }
    reacts = real["events"].filter(pl.col("action") == "react")
    assert len(expected) == 1  # one reaction ("botman" by U0BMYT2FL) on a bot message
    assert set(reacts["event_id"].to_list()) == expected
    assert reacts["account_id"].to_list() == ["U0BMYT2FL"]
    assert reacts["is_automated"].to_list() == [False]  # a person reacting to a bot is a person


def test_real_sample_accounts_and_spaces(real) -> None:  # noqa: ANN001
    acc = real["accounts"]
    with zipfile.ZipFile(REAL_ZIP) as z:
        users = json.loads(z.read("users.json"))
    assert acc.height == len(users) == 4
    assert sorted(acc["account_id"].to_list()) == sorted(u["id"] for u in users)
    assert not acc["is_deleted"].any() and not acc["is_automated"].any()
    assert set(real["events"]["space_id"].unique()) == {"C0JGLMMNX", "C0JL6CGQ2"}  # from channels.json


def test_real_sample_time_from_ts_not_file_name(real) -> None:  # noqa: ANN001
    ev = real["events"]
    # enrique/2016-01-14.json holds ts 1452837318.000002 = 2016-01-15 05:55:18.000002 UTC: the day
    # file is bucketed by the workspace's local date (Pacific time), the event keeps its real time
    row = ev.filter(pl.col("event_id") == "C0JGLMMNX:1452837318.000002").row(0, named=True)
    assert row["occurred_at"] == dt.datetime(2016, 1, 15, 5, 55, 18, 2, tzinfo=dt.UTC)
    assert row["source_file"] == "enrique/2016-01-14.json"
    assert row["action"] == "join" and row["account_id"] == "U0BMQB6JE"
    assert ev.schema["occurred_at"] == pl.Datetime("us", "UTC")


def test_real_sample_text_reduced_to_features(real, real_messages) -> None:  # noqa: ANN001
    ev = real["events"]
    assert not set(ev.columns) & set(TEXT_COLUMNS)
    assert ev["event_id"].is_unique().all()
    # a human post, its length counted here from the raw text
    name, msg = next((n, m) for n, m in real_messages if m.get("subtype") is None and m.get("text"))
    row = ev.filter(pl.col("event_id") == f"{_channel_id(name)}:{msg['ts']}").row(0, named=True)
    assert row["body_chars"] == len(msg["text"])
    # the file comment's features come from the comment, not the generated "commented on" text
    comment = next(m for _, m in real_messages if m.get("subtype") == "file_comment")
    row = ev.filter(pl.col("action") == "reply").row(0, named=True)
    assert row["account_id"] == comment["comment"]["user"]
    assert row["body_chars"] == len(comment["comment"]["comment"])


def _channel_id(member: str) -> str:
    return {"enrique": "C0JGLMMNX", "traveling-sailor": "C0JL6CGQ2"}[member.split("/")[0]]


# -- the contract-kit fixture --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_out() -> dict[str, pl.DataFrame]:
    return collect(SlackConnector(now=NOW).read_drop_zone(FIXTURE_ZONE))


def test_fixture_counts(fixture_out) -> None:  # noqa: ANN001
    ev = fixture_out["events"]
    # 17 messages in 6 day files; 2 filtered (message_changed, tombstone) -> 15 message events;
    # reactions: +1 by bob and carol, tada by bob, eyes by alice -> 4
    assert ev.height == 19
    assert Counter(ev["action"].to_list()) == {
        "post": 9,  # 6 people's posts + bot_message + channel_topic + deploy bot
        "reply": 3,  # bob's reply, carol's thread_broadcast, alice's reply to the deleted post
        "react": 4,
        "join": 1,
        "upload": 1,
        "share": 1,  # the DM re-share of F01SLIDES (upload: false)
    }
    assert ev.filter("is_automated")["event_id"].sort().to_list() == [
        "C01GENERAL:1709544000.000400",  # bot_message without user -> account B01CI
        "C01GENERAL:1709546000.000600",  # channel_topic (system)
        "C01GENERAL:1709630000.000300",  # deploy bot user (is_bot, bot_id)
    ]
    assert fixture_out["rejects"].height == 0
    assert ev["event_id"].is_unique().all()


def test_fixture_threads_broadcast_and_tombstone(fixture_out) -> None:  # noqa: ANN001
    ev = fixture_out["events"]
    parent = "C01GENERAL:1709542800.000100"
    in_thread = ev.filter((pl.col("thread_id") == parent) & (pl.col("action") != "react"))
    # the parent once (its copy in the broadcast's "root" is not an event) and its two replies
    assert sorted(in_thread["action"].to_list()) == ["post", "reply", "reply"]
    broadcast = ev.filter(pl.col("event_id") == "C01GENERAL:1709543400.000300").row(0, named=True)
    assert broadcast["action"] == "reply" and broadcast["account_id"] == "U03CAROL"  # a deleted user
    # the tombstone is no event; the reply to it keeps its thread
    assert ev.filter(pl.col("event_id") == "C01GENERAL:1709629200.000100").height == 0
    orphan = ev.filter(pl.col("event_id") == "C01GENERAL:1709629500.000200").row(0, named=True)
    assert orphan["thread_id"] == "C01GENERAL:1709629200.000100" and orphan["action"] == "reply"


def test_fixture_reactions_and_spaces(fixture_out) -> None:  # noqa: ANN001
    ev = fixture_out["events"]
    reacts = ev.filter(pl.col("action") == "react").sort("event_id")
    assert reacts["event_id"].to_list() == [
        "C01GENERAL:1709542800.000100:react:+1:U02BOB",
        "C01GENERAL:1709542800.000100:react:+1:U03CAROL",
        "C01GENERAL:1709542800.000100:react:tada:U02BOB",
        "C01GENERAL:1709631000.000400:react:eyes:U01ALICE",
    ]
    assert reacts["content_id"].to_list()[:3] == ["C01GENERAL:1709542800.000100"] * 3
    # reactions carry no time of their own in Slack exports: the message's time
    assert reacts["occurred_at"][0] == dt.datetime(2024, 3, 4, 9, 0, 0, 100, tzinfo=dt.UTC)
    spaces = set(ev["space_id"].unique())
    assert spaces == {"C01GENERAL", "C02IDEAS", "G01SECRET", "D01AB", "G02MPDM"}  # channels, group, DM, MPIM


def test_fixture_accounts(fixture_out) -> None:  # noqa: ANN001
    acc = fixture_out["accounts"].sort("account_id")
    assert acc["account_id"].to_list() == ["U01ALICE", "U02BOB", "U03CAROL", "U04DEPLOY", "U05GUEST", "USLACKBOT"]
    flags = {r["account_id"]: r for r in acc.iter_rows(named=True)}
    assert flags["U03CAROL"]["is_deleted"] and not flags["U03CAROL"]["is_automated"]  # deleted, no is_bot key
    assert flags["U04DEPLOY"]["is_automated"] and flags["USLACKBOT"]["is_automated"]
    assert flags["U05GUEST"]["is_guest"]
    assert flags["U01ALICE"]["account_email"] == "alice.martin@example.com"  # lower-cased
    ev = fixture_out["events"]
    assert ev.filter(pl.col("account_id") == "U01ALICE")["account_email"].unique().to_list() == [
        "alice.martin@example.com"
    ]


def test_fixture_text_features(fixture_out) -> None:  # noqa: ANN001
    ev = fixture_out["events"]
    post = ev.filter(pl.col("event_id") == "C01GENERAL:1709542800.000100").row(0, named=True)
    text = "Morning team, any #Idea for the offsite? <@U02BOB> <!here>"
    assert post["body_chars"] == len(text) == 58
    assert post["hashtags"] == ["idea"] and post["is_question"] is True
    assert post["mention_count"] == 2  # <@U02BOB> and <!here>
    guest = ev.filter(pl.col("event_id") == "C01GENERAL:1709631000.000400").row(0, named=True)
    assert guest["hashtags"] == ["idea", "ideas"]  # distinct, lower-cased, sorted
    assert guest["mention_count"] == 0  # an email address is not a mention
    join = ev.filter(pl.col("action") == "join").row(0, named=True)
    assert join["body_chars"] is None and join["mention_count"] is None  # system text is not the person's


def test_zip_equals_directory(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:  # zipped inside a folder, as some exports are
        for p in sorted(FIXTURE_EXPORT.rglob("*.json")):
            z.write(p, f"Acme Slack export/{p.relative_to(FIXTURE_EXPORT)}")
    from_zip = read(archive)
    from_dir = read(FIXTURE_EXPORT)
    assert from_zip["events"].equals(from_dir["events"])
    assert from_zip["accounts"].equals(from_dir["accounts"])


def test_same_input_twice_same_output_and_small_batches_agree() -> None:
    first = read(FIXTURE_EXPORT)
    again = read(FIXTURE_EXPORT)
    assert first["events"].equals(again["events"])
    one_file_batches = read(FIXTURE_EXPORT, files_per_batch=1)
    key = ["event_id"]
    assert one_file_batches["events"].sort(key).equals(first["events"].sort(key))


def test_written_to_warehouse(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    connector = SlackConnector(now=NOW)
    counts = write_batches(con, connector.name, connector.yields, connector.read_drop_zone(FIXTURE_ZONE))
    assert counts == {"events": 19, "accounts": 6}
    assert con.execute("SELECT count(*) FROM raw.slack_events WHERE action = 'react'").fetchone() == (4,)


# -- bad inputs ----------------------------------------------------------------------------------------


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(FIXTURE_EXPORT, target)
    return target


def test_truncated_day_file_is_quarantined_and_others_go_on(export: Path) -> None:
    day = export / "general" / "2024-03-05.json"
    day.write_bytes(day.read_bytes()[:300])
    out = read(export)
    rej = out["rejects"]
    assert rej.filter(pl.col("locator") == "general/2024-03-05.json").height == 1
    assert "unreadable day file" in rej["reason"][0] and rej["file"][0] == "export"
    ev = out["events"]
    assert ev.filter(pl.col("source_file") == "general/2024-03-05.json").height == 0
    # the other 5 files: 13 messages, 1 filtered (message_changed) -> 12, plus 3 reactions
    assert ev.height == 15


def test_wrong_encoding_is_quarantined(export: Path) -> None:
    (export / "ideas" / "2024-03-05.json").write_bytes(
        '[{"type": "message", "user": "U02BOB", "text": "caf\u00e9", "ts": "1709632000.000100"}]'.encode("latin-1")
    )
    out = read(export)
    rej = out["rejects"].filter(pl.col("locator") == "ideas/2024-03-05.json")
    assert rej.height == 1 and "UTF-8" in rej["reason"][0]
    assert out["events"].filter(pl.col("space_id") == "C02IDEAS").height == 0
    assert out["events"].height == 18


def test_missing_users_json(export: Path) -> None:
    (export / "users.json").unlink()
    out = read(export)
    assert out["accounts"].height == 0
    rej = out["rejects"]
    assert rej["locator"].to_list() == ["users.json"] and rej["contract"][0] == "accounts"
    assert out["events"].height == 19  # events still read; the deploy bot is still flagged by its bot_id
    assert out["events"].filter(pl.col("account_id") == "U04DEPLOY")["is_automated"].to_list() == [True]


def test_duplicate_ts_quarantined(export: Path) -> None:
    day = export / "ideas" / "2024-03-05.json"
    msgs = json.loads(day.read_text())
    (export / "ideas" / "2024-03-06.json").write_text(json.dumps([{**msgs[0], "text": "same ts again"}]))
    for batch_size in (2000, 1):  # same batch, and across batches (conversation split over batches)
        out = read(export, files_per_batch=batch_size)
        rej = out["rejects"]
        assert rej.height == 1, batch_size
        assert rej["locator"][0] == "ideas/2024-03-06.json[ts=1709632000.000100]"
        assert "duplicate" in rej["reason"][0]
        kept = out["events"].filter(pl.col("event_id") == "C02IDEAS:1709632000.000100")
        assert kept["source_file"].to_list() == ["ideas/2024-03-05.json"]


def test_future_and_malformed_ts_quarantined(export: Path) -> None:
    day = export / "secret-team" / "2024-03-04.json"
    msgs = json.loads(day.read_text())
    msgs += [
        # 2024-03-08: more than a day after the newest day file (2024-03-05)
        {"type": "message", "user": "U01ALICE", "text": "from the future", "ts": "1709900000.000100"},
        {"type": "message", "user": "U01ALICE", "text": "no time"},
        {"type": "message", "user": "U01ALICE", "text": "bad time", "ts": "yesterday"},
        {"type": "message", "text": "nobody wrote this", "ts": "1709547001.000100"},
    ]
    day.write_text(json.dumps(msgs))
    out = read(export)
    rej = out["rejects"].sort("locator")
    assert rej["locator"].to_list() == [
        "secret-team/2024-03-04.json[ts=1709547001.000100]",
        "secret-team/2024-03-04.json[ts=1709900000.000100]",
        "secret-team/2024-03-04.json[ts=missing]",
        "secret-team/2024-03-04.json[ts=yesterday]",
    ]
    reasons = rej["reason"].to_list()
    assert reasons[0].startswith("user: missing")
    assert reasons[1].startswith("occurred_at: 2024-03-08T12:13:20Z is after 2024-03-07T00:00:00Z")
    assert reasons[2].startswith("ts: missing") and reasons[3].endswith("found yesterday")
    assert out["events"].height == 19  # the original message of that file still there
    # the limit is also now + 1 day
    out = read(export, now=dt.datetime(2024, 3, 5, tzinfo=dt.UTC))
    assert out["rejects"].filter(pl.col("reason").str.contains("2024-03-06T00:00:00Z")).height >= 1


def test_field_of_wrong_type_quarantines_the_row_only(export: Path) -> None:
    day = export / "general" / "2024-03-05.json"
    msgs = json.loads(day.read_text())
    msgs[3]["reactions"] = "eyes"  # the guest's post: reactions must be an array
    msgs.append("not a message")
    day.write_text(json.dumps(msgs))
    out = read(export)
    rej = out["rejects"].sort("locator")
    assert rej["locator"].to_list() == [
        "general/2024-03-05.json[ts=1709631000.000400]",
        "general/2024-03-05.json[ts=missing]",
    ]
    assert rej["reason"].to_list() == ["reactions: expected array, found varchar", "message: expected a JSON object, found varchar"]
    ev = out["events"]
    # same file, other rows kept: the reply to the deleted post and the deploy bot
    assert ev.filter(pl.col("source_file") == "general/2024-03-05.json").height == 2


def test_reaction_listing_a_user_twice_counts_once(export: Path) -> None:
    day = export / "ideas" / "2024-03-05.json"
    msgs = json.loads(day.read_text())
    msgs[0]["reactions"] = [{"name": "+1", "users": ["U01ALICE", "U01ALICE", "U03CAROL"], "count": 3}]
    day.write_text(json.dumps(msgs))
    reacts = read(export)["events"].filter(pl.col("content_id") == "C02IDEAS:1709632000.000100")
    assert sorted(reacts.filter(pl.col("action") == "react")["account_id"].to_list()) == ["U01ALICE", "U03CAROL"]


def test_not_an_export_and_broken_zip_raise(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConnectorError, match="not a Slack export"):
        read(empty)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(ConnectorError, match="broken.zip"):
        read(broken)


# -- text features (shared helper) ---------------------------------------------------------------------

TEXTS = [
    ("Any #Idea here? see http://x.com/a?b=1#frag &#39; <#C123|general> #1 #idea (#Lean_2)", 84, ["idea", "lean_2"], True, 0),
    ("@ron Welcome mate!", 18, [], False, 1),
    ("mail bob@x.com, ping <@U0AB12|bob> <!here> @anne.m and <!subteam^S1|team>", 73, [], False, 4),
    ("really?*", 8, [], True, 0),
    ("\u00bfQu\u00e9\uff1f ok", 8, [], True, 0),
    ("#caf\u00e9 #CAF\u00c9", 11, ["caf\u00e9"], False, 0),
    ("", 0, [], False, 0),
    (None, None, None, None, None),
]


def test_text_features_polars_and_duckdb_agree_with_hand_counts() -> None:
    frame = pl.DataFrame({"t": [t[0] for t in TEXTS]}, schema={"t": pl.Utf8})
    expected = pl.DataFrame(
        {
            "body_chars": [t[1] for t in TEXTS],
            "hashtags": [t[2] for t in TEXTS],
            "is_question": [t[3] for t in TEXTS],
            "mention_count": [t[4] for t in TEXTS],
        },
        schema={"body_chars": pl.Int32, "hashtags": pl.List(pl.Utf8), "is_question": pl.Boolean, "mention_count": pl.Int16},
    )
    via_polars = frame.select(text_features_exprs("t"))
    via_duckdb = duckdb.connect().execute(f"SELECT {text_features_sql('t')} FROM frame").pl()
    assert via_polars.equals(expected)
    assert via_duckdb.equals(expected)


# -- the simulator's export against its planted events ------------------------------------------------


def test_simulated_export_matches_planted_events(tmp_path: Path) -> None:
    """Every planted slack action (tombstoned ones excepted: a deleted post is gone from an export)
    comes out once, with its kind and time; bot actions as automated posts."""
    from pipelines.simulator.slack_export import write_slack_export
    from pipelines.simulator.world import build_world

    world = build_world(150, 10, 1, dt.date(2026, 1, 5))
    write_slack_export(world, tmp_path)
    planted = world.events.events.filter((pl.col("source") == "slack") & ~pl.col("tombstone"))
    out = collect(SlackConnector().read_drop_zone(tmp_path))
    assert out["rejects"].height == 0
    got = out["events"].select(
        pl.when(pl.col("is_automated") & (pl.col("action") == "post")).then(pl.lit("bot")).otherwise("action").alias("kind"),
        "occurred_at",
    )
    want = planted.select("kind", pl.from_epoch("t_us", time_unit="us").dt.replace_time_zone("UTC").alias("occurred_at"))
    assert got.height == want.height > 0
    # reactions: Slack exports carry no reaction time, so only their number is compared there
    react = pl.col("kind") == "react"
    assert got.filter(react).height == want.filter(react).height
    assert got.filter(~react).sort("kind", "occurred_at").equals(want.filter(~react).sort("kind", "occurred_at"))
