"""Google Chat (Takeout) connector on its fixture, counts established with plain json."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors import ConnectorError
from pipelines.connectors.google_chat import GoogleChatConnector, parse_created_date
from transforms.clean_events import CONTENT_IDENTITY

ROOT = Path(__file__).parents[1] / "fixtures" / "connectors" / "google_chat"
TAKEOUT = ROOT / "platforms" / "google_chat" / "takeout-20240308T101500Z"
CHAT = TAKEOUT / "Takeout" / "Google Chat"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CLEAN_KEY = list(CONTENT_IDENTITY)  # what the clean layer takes for one action


def _read(root: Path = ROOT) -> dict[str, pl.DataFrame]:
    out: dict[str, list[pl.DataFrame]] = {}
    for b in GoogleChatConnector(now=NOW).read_drop_zone(root):
        out.setdefault(b.table, []).append(b.frame)
    return {t: pl.concat(f) for t, f in out.items()}


def test_counts_match_an_independent_count() -> None:
    messages = reactions = 0
    emails: set[str] = set()
    for f in sorted(CHAT.glob("Groups/*/messages.json")):
        for m in json.loads(f.read_text())["messages"]:
            messages += 1
            emails.add(m["creator"].get("email", "").lower())
            for r in m.get("reactions", []):
                reactions += len(r["reactor_emails"])
                emails |= {e.lower() for e in r["reactor_emails"]}
    for f in CHAT.glob("Groups/*/group_info.json"):
        emails |= {p["email"].lower() for p in json.loads(f.read_text())["members"]}
    emails.discard("")
    assert (messages, reactions, len(emails)) == (10, 3, 4)
    t = _read()
    kept = t["events"].filter(pl.col("action") != "react")
    assert kept.height == messages - 4  # bad date, no e-mail, unknown zone, repeated id
    assert t["events"].filter(pl.col("action") == "react").height == reactions
    assert t["rejects"].height == 4
    assert sorted(t["accounts"]["account_id"]) == sorted(emails)


def test_mapping_of_each_message() -> None:
    ev = _read()["events"].filter(pl.col("action") != "react").sort("occurred_at")
    short = ev.with_columns(pl.col("event_id").str.split("/").list.last().alias("m"),
                            pl.col("thread_id").str.split("/").list.last().alias("t"))
    assert short.select("m", "action", "space_id", "t", "account_id", "is_automated").rows() == [
        ("t1AbCdEfGh", "post", "AAAAbcdE12", "t1AbCdEfGh", "ana.lopez@northwind.example", False),
        ("m2XyZ0aB1c", "reply", "AAAAbcdE12", "t1AbCdEfGh", "bo.chen@northwind.example", False),
        ("ZxCvBnMaSd", "post", "dm:8xYzAbCdEfG", "ZxCvBnMaSd", "ana.lopez@northwind.example", False),
        ("t2DeFgHiJk", "upload", "AAAAbcdE12", "t2DeFgHiJk", "carla@partner.example", False),
        ("b1QrStUvWx", "reply", "AAAAbcdE12", "t2DeFgHiJk", "jira-cloud@system.gserviceaccount.com", True),
        ("r3MnOpQrSt", "reply", "AAAAbcdE12", "t2DeFgHiJk", "bo.chen@northwind.example", False),
    ]
    # 3:30 PM CET is 14:30 UTC (the narrow no-break space before PM is accepted)
    assert short.filter(pl.col("m") == "r3MnOpQrSt")["occurred_at"].item() == dt.datetime(2024, 3, 5, 14, 30, tzinfo=dt.UTC)
    first = short.row(0, named=True)
    assert first["hashtags"] == ["roadmap"] and first["is_question"]


def test_two_emoji_of_one_person_stay_two_reactions_after_cleaning() -> None:
    reacts = _read()["events"].filter(pl.col("action") == "react")
    bo = reacts.filter(pl.col("account_id") == "bo.chen@northwind.example")
    assert bo.height == 2 and bo["content_id"].n_unique() == 1 and bo["reaction"].n_unique() == 2
    assert reacts.select(CLEAN_KEY).is_unique().all()
    assert set(reacts["occurred_at"]) == {dt.datetime(2024, 3, 4, 9, 15, tzinfo=dt.UTC)}


def test_rejects_name_the_message_and_reason() -> None:
    rej = _read()["rejects"].sort("locator")
    reasons = dict(zip(rej["locator"].str.extract(r"message_id=[^/]+/([^/]+)/"), rej["reason"], strict=True))
    assert reasons["t3GhIjKlMn"].startswith("created_date: expected e.g. 'Monday, March 4, 2024")
    assert reasons["t4HiJkLmNo"] == "creator.email: missing, expected the author's e-mail address"
    assert reasons["t5IjKlMnOp"].startswith("created_date: unknown or ambiguous time zone 'XYZT'")
    assert reasons["t1AbCdEfGh"] == "message_id: duplicate, first seen earlier in this file"


@pytest.mark.parametrize(("text", "expected"), [
    ("Monday, March 4, 2024 at 9:15:00 AM UTC", dt.datetime(2024, 3, 4, 9, 15)),
    ("Monday, March 4, 2024 at 12:05:09 AM UTC", dt.datetime(2024, 3, 4, 0, 5, 9)),
    ("Monday, March 4, 2024 at 12:05:09 PM GMT+5:30", dt.datetime(2024, 3, 4, 6, 35, 9)),
    ("Thursday, July 4, 2024 at 8:00:00\u202fPM PDT", dt.datetime(2024, 7, 5, 3, 0)),
    ("Thursday, July 4, 2024 at 8:00:00 PM IST", None),
])
def test_takeout_dates(text: str, expected: dt.datetime | None) -> None:
    got = pl.DataFrame({"d": [text]}).select(parse_created_date("d")).item()
    assert got == (expected.replace(tzinfo=dt.UTC) if expected else None)


def test_a_zip_reads_like_the_directory(tmp_path: Path) -> None:
    zone = tmp_path / "platforms" / "google_chat"
    zone.mkdir(parents=True)
    with zipfile.ZipFile(zone / "takeout-20240308T101500Z-001.zip", "w") as z:
        for f in sorted(TAKEOUT.rglob("*.json")):
            z.write(f, str(f.relative_to(TAKEOUT)))
    assert _read(tmp_path)["events"].equals(_read()["events"])


def test_a_broken_messages_file_is_quarantined_and_the_rest_goes_on(tmp_path: Path) -> None:
    takeout = tmp_path / "platforms" / "google_chat" / "takeout"
    shutil.copytree(TAKEOUT, takeout)
    (takeout / "Takeout" / "Google Chat" / "Groups" / "DM 8xYzAbCdEfG" / "messages.json").write_text('{"messages": [')
    t = _read(tmp_path)
    assert t["events"].filter(pl.col("space_id") == "AAAAbcdE12").height == 8
    assert t["rejects"].filter(pl.col("locator") == "DM 8xYzAbCdEfG/messages.json").height == 1


def test_a_takeout_without_google_chat_is_refused(tmp_path: Path) -> None:
    zone = tmp_path / "platforms" / "google_chat"
    zone.mkdir(parents=True)
    with zipfile.ZipFile(zone / "takeout.zip", "w") as z:
        z.writestr("Takeout/Mail/info.json", "{}")
    with pytest.raises(ConnectorError, match="no 'Google Chat/Groups' folder"):
        _read(tmp_path)


def test_unreadable_people_files_are_quarantined_and_their_people_come_from_the_messages(tmp_path: Path) -> None:
    takeout = shutil.copytree(TAKEOUT, tmp_path / "platforms" / "google_chat" / "takeout")
    chat = takeout / "Takeout" / "Google Chat"
    user_info = next((chat / "Users").glob("*/user_info.json"))
    user_info.unlink()
    user_info.mkdir()  # a folder where the file belongs
    (chat / "Groups" / "Space AAAAbcdE12" / "group_info.json").write_text('{"members": [')
    t, untouched = _read(tmp_path), _read()
    people = t["rejects"].filter(pl.col("contract") == "accounts").sort("locator")
    assert people["locator"].to_list() == [
        "Space AAAAbcdE12/group_info.json", f"Users/{user_info.parent.name}/user_info.json"]
    broken, folder = people["reason"].to_list()
    assert broken.startswith("not readable (its people are taken from the messages only): ")
    assert '"Groups/Space AAAAbcdE12/group_info.json"' in broken  # the path inside the Takeout, not this machine's
    assert folder == "a folder (or not a regular file); expected a JSON file of people"
    assert t["events"].equals(untouched["events"])
    from_messages = set(untouched["events"]["account_id"])
    assert from_messages <= set(t["accounts"]["account_id"]) <= set(untouched["accounts"]["account_id"])


def test_a_folder_where_messages_json_belongs_is_quarantined(tmp_path: Path) -> None:
    takeout = shutil.copytree(TAKEOUT, tmp_path / "platforms" / "google_chat" / "takeout")
    messages = takeout / "Takeout" / "Google Chat" / "Groups" / "DM 8xYzAbCdEfG" / "messages.json"
    messages.unlink()
    messages.mkdir()
    t = _read(tmp_path)
    assert t["rejects"].filter(pl.col("locator") == "DM 8xYzAbCdEfG/messages.json")["reason"].to_list() == [
        "a folder (or not a regular file); expected Google Chat's messages.json"]
    assert t["events"].filter(pl.col("space_id") == "AAAAbcdE12").height == 8
