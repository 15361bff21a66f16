"""Mattermost connector: the real bulk-export sample (counts established here with plain json), the
mmctl 11 object samples, the contract-kit fixture (figures counted by hand in the comments) and bad
inputs."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors.base import ConnectorError
from pipelines.connectors.mattermost import MattermostConnector
from transforms.contracts import ACCOUNTS, EVENTS, REJECTS
from transforms.contracts.tables import TEXT_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "realdata" / "mattermost"
REAL_JSONL = REAL / "mm5_bulk_export" / "export.jsonl"
FIXTURE_ZONE = ROOT / "tests" / "fixtures" / "connectors" / "mattermost"
FIXTURE_JSONL = FIXTURE_ZONE / "platforms" / "mattermost" / "export.jsonl"
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
    return collect(MattermostConnector(now=kwargs.pop("now", NOW), **kwargs).read(path))


# -- the real mm5 bulk export --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_lines() -> list[dict]:
    return [json.loads(line) for line in REAL_JSONL.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def real() -> dict[str, pl.DataFrame]:
    return collect(MattermostConnector().read(REAL_JSONL))


def test_real_sample_counts(real, real_lines) -> None:  # noqa: ANN001
    posts = [o["post"] for o in real_lines if o["type"] == "post"]
    replies = [r for p in posts for r in (p.get("replies") or [])]
    reactions = [r for p in posts for r in (p.get("reactions") or [])]
    assert len(posts) == 20 and len(replies) == 1 and len(reactions) == 9  # SOURCES.md: 20 posts
    ev = real["events"]
    assert real["rejects"].height == 0
    assert ev.filter(pl.col("action") != "react").height == len(posts) + len(replies) == 21
    assert ev.filter(pl.col("action") == "react").height == len(reactions) == 9
    assert ev.filter(pl.col("action") == "reply").height == 1
    # this Mattermost 5 export has no post "type": "<user> joined the channel." / "... the team."
    # posts by that same user are joins, "x added to the channel by <user>." is a system post
    joins = [p for p in posts if p["message"] in (f"{p['user']} joined the channel.", f"{p['user']} joined the team.")]
    assert len(joins) == 7
    assert ev.filter(pl.col("action") == "join").height == 7
    assert ev.filter("is_automated")["event_id"].to_list() == [
        "gryffindor/dumbledores-army:1553166681045:harry"  # "ron added to the channel by harry."
    ]
    assert ev.filter(pl.col("action") == "post").height == 20 - 7


def test_real_sample_users_and_reply_older_than_parent(real, real_lines) -> None:  # noqa: ANN001
    acc = real["accounts"]
    users = [o["user"] for o in real_lines if o["type"] == "user"]
    assert acc.height == len(users) == 5
    assert sorted(acc["account_id"]) == sorted(u["username"] for u in users)  # referenced by username
    assert acc.filter(pl.col("account_id") == "ron")["account_email"].to_list() == ["ron@zulip.com"]
    ev = real["events"]
    reply = ev.filter(pl.col("action") == "reply").row(0, named=True)
    parent = ev.filter(pl.col("content_id") == reply["thread_id"]).row(0, named=True)
    assert reply["account_id"] == "ron" and parent["account_id"] == "harry"
    assert parent["action"] == "join"  # the reply hangs on "harry joined the channel."
    assert reply["occurred_at"] < parent["occurred_at"]  # the reply is 72 s older than its post
    assert reply["occurred_at"] == dt.datetime(2019, 3, 21, 11, 9, 44, 976000, tzinfo=dt.UTC)  # 1553166584976 ms


def test_real_sample_team_mismatch_and_features(real) -> None:  # noqa: ANN001
    ev = real["events"]
    assert not set(ev.columns) & set(TEXT_COLUMNS)
    # snape's post names team gryffindor but channel slytherin-quidditch-team, declared in slytherin only
    snape = ev.filter(pl.col("account_id") == "snape").row(0, named=True)
    assert snape["space_id"] == "slytherin/slytherin-quidditch-team"
    welcome = ev.filter(pl.col("event_id") == "gryffindor/gryffindor-quidditch-team:1553166519726:harry").row(
        0, named=True
    )
    assert welcome["body_chars"] == len("@ron Welcome mate!") and welcome["mention_count"] == 1
    react = ev.filter(pl.col("action") == "react").sort("occurred_at").row(0, named=True)
    # reactions keep their own time: harry's "tick" on his own "Hello world", 1553165521410 ms
    assert react["event_id"] == "gryffindor/gryffindor-quidditch-team:1553165193242:harry:react:tick:harry"
    assert react["occurred_at"] == dt.datetime(2019, 3, 21, 10, 52, 1, 410000, tzinfo=dt.UTC)


def test_mm11_object_samples(tmp_path: Path) -> None:
    """The mmctl 11 samples are pretty-printed single objects: put on one line each, they are a bulk export."""
    lines = [json.dumps({"type": "version", "version": 1})]
    for name in ("user", "bot", "post_with_replies", "direct_post"):
        lines.append(json.dumps(json.loads((REAL / "mm11_object_samples" / f"{name}.json").read_text())))
    export = tmp_path / "mm11.jsonl"
    export.write_text("\n".join(lines) + "\n")
    out = read(export, now=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    acc = out["accounts"].sort("account_id")
    assert acc["account_id"].to_list() == ["sysadmin", "system-bot"]
    assert acc["is_automated"].to_list() == [False, True]
    assert acc["account_email"].to_list() == ["sysadmin@sample.mattermost.com", None]
    ev = out["events"]
    assert out["rejects"].height == 0
    replies = ev.filter(pl.col("action") == "reply")
    root = "ad-1/amet-0:1768916201357:eugene.montgomery"
    assert replies.filter(pl.col("thread_id") == root).height == 3  # replies out of order, all attached
    dm = ev.filter(pl.col("space_id").str.starts_with("dm:")).row(0, named=True)
    assert dm["space_id"] == "dm:adam.torres,eugene.montgomery,rebecca.diaz"  # 3-member group DM
    assert dm["action"] == "post" and dm["account_id"] == "eugene.montgomery"


# -- the contract-kit fixture --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_out() -> dict[str, pl.DataFrame]:
    return collect(MattermostConnector(now=NOW).read_drop_zone(FIXTURE_ZONE))


def test_fixture_counts(fixture_out) -> None:  # noqa: ANN001
    ev = fixture_out["events"]
    # 8 post lines (1 direct, 1 with an attachment), 4 replies (3 on alice's post, 1 on the DM),
    # 3 reactions (2 on the post, 1 on a reply)
    assert Counter(ev["action"].to_list()) == {"post": 6, "upload": 1, "join": 1, "reply": 4, "react": 3}
    assert ev.filter(pl.col("action") == "upload")["event_id"].to_list() == ["acme/leads:1709542807000:alice"]
    assert sorted(ev.filter("is_automated")["event_id"].to_list()) == [
        "acme/ideas:1709542802000:ci-bot",  # a bot's post (bot line, props.from_bot)
        "acme/ideas:1709542803000:bob",  # props.from_webhook
        "acme/town-square:1709542801000:alice",  # system_add_to_channel
    ]
    assert fixture_out["rejects"].height == 0
    acc = fixture_out["accounts"].sort("account_id")
    assert acc["account_id"].to_list() == ["alice", "bob", "carol", "ci-bot", "gina"]
    flags = {r["account_id"]: r for r in acc.iter_rows(named=True)}
    assert flags["carol"]["is_deleted"] and flags["gina"]["is_guest"] and flags["ci-bot"]["is_automated"]
    assert flags["alice"]["account_email"] == "alice@acme.example" and flags["carol"]["display_name"] == "Caz"


def test_fixture_threads_reactions_features(fixture_out) -> None:  # noqa: ANN001
    ev = fixture_out["events"]
    root = "acme/town-square:1709542800000:alice"
    thread = ev.filter((pl.col("thread_id") == root) & (pl.col("action") == "reply")).sort("occurred_at")
    # listed carol (09:10), bob (09:05), gina (08:59:59, older than the post): all three attached
    assert thread["account_id"].to_list() == ["gina", "bob", "carol"]
    reacts = ev.filter(pl.col("action") == "react").sort("event_id")
    assert reacts["event_id"].to_list() == [
        "acme/town-square:1709542800000:alice:react:+1:bob",
        "acme/town-square:1709542800000:alice:react:+1:carol",
        "acme/town-square:1709543400000:carol:react:heart:alice",  # on a reply
    ]
    assert reacts["occurred_at"][0] == dt.datetime(2024, 3, 4, 9, 0, 5, tzinfo=dt.UTC)
    post = ev.filter(pl.col("event_id") == root).row(0, named=True)
    assert post["hashtags"] == ["idea"] and post["is_question"] and post["mention_count"] == 2
    assert post["account_email"] == "alice@acme.example"
    dm = ev.filter(pl.col("space_id") == "dm:alice,bob,carol").sort("occurred_at")
    assert dm["action"].to_list() == ["post", "reply"]
    join = ev.filter(pl.col("action") == "join").row(0, named=True)
    assert join["content_id"] == join["event_id"] and join["body_chars"] is None


def test_zip_and_directory_inputs(tmp_path: Path) -> None:
    archive = tmp_path / "mm.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIXTURE_JSONL, "import.jsonl")
    assert MattermostConnector().recognises(archive)
    assert read(archive)["events"].drop("source_file").equals(read(FIXTURE_JSONL)["events"].drop("source_file"))
    assert read(archive)["events"]["source_file"][0] == "mm.zip/import.jsonl"


def test_small_chunks_give_the_same_events() -> None:
    whole = read(FIXTURE_JSONL)
    chunked = read(FIXTURE_JSONL, chunk_bytes=300)  # about one line per chunk
    assert chunked["events"].sort("event_id").equals(whole["events"].sort("event_id"))
    assert chunked["accounts"].sort("account_id").equals(whole["accounts"].sort("account_id"))


# -- bad inputs ----------------------------------------------------------------------------------------


@pytest.fixture()
def lines() -> list[str]:
    return FIXTURE_JSONL.read_text().splitlines()


def _write(tmp_path: Path, lines: list[str] | list[bytes]) -> Path:
    path = tmp_path / "export.jsonl"
    if lines and isinstance(lines[0], bytes):
        path.write_bytes(b"\n".join(lines) + b"\n")  # type: ignore[arg-type]
    else:
        path.write_text("\n".join(lines) + "\n")  # type: ignore[arg-type]
    return path


def test_bad_lines_are_quarantined_and_others_go_on(tmp_path: Path, lines: list[str]) -> None:
    raw = [line.encode() for line in lines]
    raw[15] = raw[15][: len(raw[15]) // 2]  # line 16 (gina's post) truncated
    raw.insert(3, '{"type": "post", "post": {"team": "acme", "message": "caf\u00e9"}}'.encode("latin-1"))  # line 4
    path = _write(tmp_path, raw)
    out = read(path)
    rej = out["rejects"].sort("locator")
    assert rej["locator"].to_list() == ["line 17", "line 4"]
    assert rej["reason"].to_list() == ["line: not valid JSON", "line: not valid UTF-8"]
    assert rej["file"].to_list() == ["export.jsonl"] * 2
    assert out["events"].height == 15 - 1  # gina's post lost, everything else there
    assert out["accounts"].height == 5


def test_bad_fields_future_and_duplicates(tmp_path: Path, lines: list[str]) -> None:
    post = json.loads(lines[16])  # alice's private post in leads (line 17)
    bad_time = {**post, "post": {**post["post"], "create_at": "yesterday"}}
    no_user = {"type": "post", "post": {"team": "acme", "channel": "leads", "message": "who?", "create_at": 1709542900000}}
    future = {"type": "post", "post": {**post["post"], "create_at": 1710200000000}}  # 2024-03-11 > now + 1 day
    extra = [json.dumps(o) for o in (bad_time, no_user, future, post)]  # lines 21-24; line 24 repeats line 17
    out = read(_write(tmp_path, lines + extra))
    rej = out["rejects"].sort("locator")
    assert rej["locator"].to_list() == ["line 21", "line 22", "line 23", "line 24"]
    reasons = rej["reason"].to_list()
    assert reasons[0] == "create_at: expected epoch milliseconds, found varchar"
    assert reasons[1] == "user: missing, expected a username"
    assert reasons[2].startswith("create_at: 2024-03-11T") and "now + 1 day" in reasons[2]
    assert reasons[3].startswith("duplicate")
    assert out["events"].height == 15


def test_unreadable_inputs_raise(tmp_path: Path) -> None:
    not_jsonl = tmp_path / "notes.jsonl"
    not_jsonl.write_text("this is not\nJSON lines at all\n")
    with pytest.raises(ConnectorError, match="notes.jsonl"):
        read(not_jsonl)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ConnectorError, match="broken.zip"):
        read(broken)


def test_recognises(tmp_path: Path) -> None:
    connector = MattermostConnector()
    assert connector.recognises(FIXTURE_JSONL)
    other = tmp_path / "notes.txt"
    other.write_text("x")
    assert not connector.recognises(other)
    folder = tmp_path / "dump"
    folder.mkdir()
    assert not connector.recognises(folder)
    shutil.copy(FIXTURE_JSONL, folder / "export.jsonl")
    assert connector.recognises(folder)


# -- the simulator's export against its planted events ------------------------------------------------


def test_simulated_export_matches_planted_events(tmp_path: Path) -> None:
    """Every planted mattermost action (tombstoned ones excepted: a deleted post is gone from an export)
    comes out once, with its kind and time; the export keeps milliseconds; bot actions as automated posts."""
    from pipelines.simulator.mattermost_export import write_mattermost_export
    from pipelines.simulator.world import build_world

    world = build_world(150, 10, 1, dt.date(2026, 1, 5))
    write_mattermost_export(world, tmp_path)
    planted = world.events.events.filter((pl.col("source") == "mattermost") & ~pl.col("tombstone"))
    out = collect(MattermostConnector().read_drop_zone(tmp_path))
    assert out["rejects"].height == 0
    got = out["events"].select(
        pl.when(pl.col("is_automated") & (pl.col("action") == "post")).then(pl.lit("bot")).otherwise("action").alias("kind"),
        "occurred_at",
    )
    want = planted.select("kind", pl.from_epoch("t_us", time_unit="us").dt.replace_time_zone("UTC").dt.truncate("1ms").alias("occurred_at"))
    assert got.height == want.height > 0
    assert want.filter(pl.col("kind") == "react").height > 0  # reactions keep their own time here
    assert got.sort("kind", "occurred_at").equals(want.sort("kind", "occurred_at"))
