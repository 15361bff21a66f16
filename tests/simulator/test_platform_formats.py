"""The platform exports have the real formats, with the real traps."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from tests.simulator.conftest import DropZone

PARIS = ZoneInfo("Europe/Paris")


def _slack(drop_zone: DropZone) -> tuple[zipfile.ZipFile, Path]:
    path = next((drop_zone.path / "platforms" / "slack").glob("*.zip"))
    return zipfile.ZipFile(path), path


def test_slack_zip_has_the_workspace_export_structure(drop_zone: DropZone) -> None:
    zf, _ = _slack(drop_zone)
    with zf:
        names = zf.namelist()
        users = json.loads(zf.read("users.json"))
        channels = json.loads(zf.read("channels.json"))
        assert {"users.json", "channels.json", "integration_logs.json"} <= set(names)
        assert {"id", "name", "created", "members"} <= set(channels[0])
        channel_names = {c["name"] for c in channels}
        day_files = [n for n in names if "/" in n]
        assert day_files and all(re.fullmatch(r"[a-z0-9\-]+/\d{4}-\d{2}-\d{2}\.json", n) for n in day_files)
        assert {n.split("/")[0] for n in day_files} <= channel_names
        profile = users[0]["profile"]
        assert {"id", "name", "real_name", "deleted", "profile"} <= set(users[0]) and "email" in profile
        assert any(u.get("is_bot") for u in users)
        deleted = [u for u in users if u["deleted"]]
        assert deleted and any("is_bot" not in u for u in deleted)
        assert zf.read(day_files[0]).startswith(b"[\n    {")  # indented JSON array


def test_slack_day_files_are_bucketed_by_paris_date_and_ts_are_unique_strings(drop_zone: DropZone) -> None:
    zf, _ = _slack(drop_zone)
    crosses_utc_midnight = 0
    subtypes: Counter[str] = Counter()
    with zf:
        for name in (n for n in zf.namelist() if "/" in n):
            channel, day = name.split("/")
            seen: set[str] = set()
            for m in json.loads(zf.read(name)):
                assert isinstance(m["ts"], str) and re.fullmatch(r"\d{10}\.\d{6}", m["ts"])
                assert m["ts"] not in seen
                seen.add(m["ts"])
                at = dt.datetime.fromtimestamp(float(m["ts"]), tz=dt.UTC)
                assert at.astimezone(PARIS).date().isoformat() == day.removesuffix(".json"), (name, m["ts"])
                crosses_utc_midnight += at.date() != at.astimezone(PARIS).date()
                subtypes[m.get("subtype", "")] += 1
                if m.get("subtype") == "bot_message":
                    assert "user" not in m and m["bot_id"].startswith("B")
                if "parent_user_id" in m:
                    assert float(m["thread_ts"]) < float(m["ts"])
                for r in m.get("reactions", []):
                    assert r["count"] == len(r["users"]) == len(set(r["users"]))
    assert crosses_utc_midnight > 0  # some messages sit on the other side of midnight in UTC
    assert {"bot_message", "channel_join", "thread_broadcast", "tombstone"} <= set(subtypes)


def test_viva_engage_csvs_have_bom_multiline_bodies_and_mixed_booleans(drop_zone: DropZone) -> None:
    path = next((drop_zone.path / "platforms" / "viva_engage").glob("*.zip"))
    with zipfile.ZipFile(path) as zf:
        assert {"Messages.csv", "Users.csv", "Groups.csv", "Topics.csv", "Files.csv"} <= set(zf.namelist())
        raw = zf.read("Messages.csv")
        groups = list(csv.DictReader(io.StringIO(zf.read("Groups.csv").decode("utf-8-sig"), newline="")))
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert list(rows[0])[:4] == ["id", "replied_to_id", "thread_id", "group_id"]
    assert any("\n" in r["body"] for r in rows)
    assert {r["in_private_group"] for r in rows} >= {"false", "FALSE"}
    starters = [r for r in rows if not r["replied_to_id"]]
    assert starters and all(r["thread_id"] == r["id"] for r in starters)
    replies = [r for r in rows if r["replied_to_id"]]
    assert replies and all(r["thread_id"] == r["replied_to_id"] for r in replies)
    assert any(r["deleted_at"] for r in rows)
    assert any(r["sender_type"] == "bot" for r in rows)
    assert any(r["participants"].startswith("user:") for r in rows)
    assert any(g["private"] == "True" for g in groups)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", r["created_at"]) for r in rows)


def test_mattermost_bulk_export_lines(drop_zone: DropZone) -> None:
    path = next((drop_zone.path / "platforms" / "mattermost").glob("*.jsonl"))
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"type": "version", "version": 1}
    types = Counter(x["type"] for x in lines)
    assert types["team"] == 1 and types["channel"] >= 3 and types["user"] > 5 and types["bot"] == 1
    users = {x["user"]["username"] for x in lines if x["type"] == "user"}
    bots = {x["bot"]["username"] for x in lines if x["type"] == "bot"}
    posts = [x["post"] for x in lines if x["type"] == "post"]
    assert all(p["user"] in users | bots for p in posts)
    assert any(p["replies"] for p in posts) and any(p["reactions"] for p in posts)
    assert any(p["reactions"] is None for p in posts)
    for p in posts:
        for r in p["replies"] or []:
            assert r["user"] in users and r["create_at"] > p["create_at"]


def test_m365_reports_have_old_and_new_layouts_and_chat_only_in_active_weeks(drop_zone: DropZone) -> None:
    world = drop_zone.world
    files = sorted((drop_zone.path / "platforms" / "m365_usage").glob("TeamsUserActivityUserDetail_*.csv"))
    assert len(files) == world.timeline.weeks
    headers = [f.read_bytes().split(b"\n", 1)[0] for f in files]
    assert all(h.startswith(b"\xef\xbb\xbfReport Refresh Date,") for h in headers)
    widths = Counter(len(h.split(b",")) for h in headers)
    assert set(widths) == {12, 33}
    upn_to_person = {u.lower(): p for u, p in world.m365.select("upn", "person").iter_rows()}
    active = world.behaviour.factual.active
    chat_weeks = 0
    for week, path in enumerate(files):
        report = pl.read_csv(path, infer_schema=False)
        assert set(report["Report Period"]) == {"7"}
        assert report["Report Refresh Date"][0] == world.timeline.sunday(week).isoformat()
        chat = report.filter((pl.col("Team Chat Message Count").cast(int) + pl.col("Private Chat Message Count").cast(int)) > 0)
        for upn in chat["User Principal Name"]:
            p = upn_to_person[upn.lower()]
            if p >= 0:
                chat_weeks += 1
                assert active[p, week], (upn, week)
    assert chat_weeks > 20


def test_viva_engage_usage_reports_carry_reads_only_for_active_weeks(drop_zone: DropZone) -> None:
    """The Viva Engage activity user detail report: one D7 file per week, its real header, every Viva
    Engage user with a tenant identity listed, reads in active weeks only (the one export with reads)."""
    world = drop_zone.world
    files = sorted((drop_zone.path / "platforms" / "m365_usage").glob("VivaEngageActivityUserDetail_*.csv"))
    assert len(files) == world.timeline.weeks
    upn_to_person = {u.lower(): p for u, p in world.m365.select("upn", "person").iter_rows()}
    active = world.behaviour.factual.active
    reads = likes = 0
    for week, path in enumerate(files):
        assert path.read_bytes().startswith(b"\xef\xbb\xbfReport Refresh Date,User Principal Name,Display Name,")
        report = pl.read_csv(path, infer_schema=False)
        assert set(report["Report Period"]) == {"7"}
        assert report["Report Refresh Date"][0] == world.timeline.sunday(week).isoformat()
        assert set(report["User State"]) <= {"Active", "Deleted"}
        for upn, read, liked in report.select("User Principal Name", "Read Count", "Liked Count").iter_rows():
            p = upn_to_person[upn.lower()]
            assert p >= 0 and world.identity.uses[p, 2] and world.identity.visible[p]
            if int(read) or int(liked):
                assert active[p, week], (upn, week)
            reads += int(read) > 0
            likes += int(liked) > 0
    assert reads > 100 and likes > 20
