"""Rocket.Chat (mongoexport JSON lines) connector on its fixture, counts established with plain json."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors import ConnectorError
from pipelines.connectors.rocket_chat import RocketChatConnector
from transforms.clean_events import CONTENT_IDENTITY

ROOT = Path(__file__).parents[1] / "fixtures" / "connectors" / "rocket_chat"
EXPORT = ROOT / "platforms" / "rocket_chat" / "rocketchat-2024-03-08"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CLEAN_KEY = list(CONTENT_IDENTITY)  # what the clean layer takes for one action


def _read(root: Path = ROOT, **kwargs: object) -> dict[str, pl.DataFrame]:
    out: dict[str, list[pl.DataFrame]] = {}
    for b in RocketChatConnector(now=NOW, **kwargs).read_drop_zone(root):  # type: ignore[arg-type]
        out.setdefault(b.table, []).append(b.frame)
    return {t: pl.concat(f) for t, f in out.items()}


def _documents(name: str) -> tuple[list[dict], int]:
    docs, broken = [], 0
    for line in (EXPORT / name).read_text().splitlines():
        try:
            docs.append(json.loads(line))
        except json.JSONDecodeError:
            broken += 1
    return docs, broken


def test_counts_match_an_independent_count() -> None:
    messages, broken = _documents("rocketchat_message.json")
    users, broken_users = _documents("users.json")
    hidden = sum(1 for m in messages if m.get("_hidden"))
    ids: set[str] = set()
    kept = 0
    for m in messages:
        if m.get("_hidden") or "ts" not in m or "u" not in m or m["_id"] in ids:
            continue
        ids.add(m["_id"])
        kept += 1
    reactions = sum(len(v["usernames"]) for m in messages if m["_id"] in ids and not m.get("_hidden")
                    for v in m.get("reactions", {}).values()) - 0
    assert (len(messages) + broken, hidden, kept, reactions, len(users), broken_users) == (14, 1, 9, 3, 6, 1)
    t = _read()
    assert t["events"].filter(pl.col("action") != "react").height == kept
    assert t["events"].filter(pl.col("action") == "react").height == reactions
    assert t["accounts"].height == len(users)
    # lines in = kept + rejected + filtered (edit-history copies)
    assert len(messages) + broken == kept + t["rejects"].filter(pl.col("contract") == "events").height + hidden


def test_mapping_of_each_message() -> None:
    ev = _read()["events"].filter(pl.col("action") != "react").sort("occurred_at")
    assert ev.select("event_id", "action", "space_id", "thread_id", "account_id", "is_automated").rows() == [
        ("Nq3Wd8Kx2Lm5Pr7Ta", "join", "GENERAL", None, "aB3dE5fG7hJ9kL1mN", False),
        ("Hy6Zb1Cv4Xn7Mq2Ws", "post", "GENERAL", "Hy6Zb1Cv4Xn7Mq2Ws", "aB3dE5fG7hJ9kL1mN", False),
        ("Jk8Lp3Qr6St9Uv2Wx", "reply", "GENERAL", "Hy6Zb1Cv4Xn7Mq2Ws", "pQ2rS4tU6vW8xY0zA", False),
        ("Zx9Cv8Bn7Mq6Wd5Ke", "post", "dm:aB3dE5fG7hJ9kL1mNpQ2rS4tU6vW8xY0zA", "Zx9Cv8Bn7Mq6Wd5Ke",
         "aB3dE5fG7hJ9kL1mN", False),
        ("Qa1Ws2Ed3Rf4Tg5Yh", "join", "Xk4mPq8RtZ2nVw6Y1", None, "cD1eF3gH5iJ7kL9mN", False),  # au: the added user
        ("Fg5Hj8Kl1Zx4Cv7Bn", "upload", "Xk4mPq8RtZ2nVw6Y1", "Fg5Hj8Kl1Zx4Cv7Bn", "cD1eF3gH5iJ7kL9mN", False),
        ("Mn3Bv6Cx9Za2Sd5Fg", "post", "Xk4mPq8RtZ2nVw6Y1", "Mn3Bv6Cx9Za2Sd5Fg", "jIrAbOt0000000001", True),
        ("Rt5Yu6Io7Pa8Sd9Fg", "post", "GENERAL", "Rt5Yu6Io7Pa8Sd9Fg", "pQ2rS4tU6vW8xY0zA", True),  # topic changed
        ("Rm0Ve1Dm2Es3Sa4Ge", "post", "GENERAL", "Rm0Ve1Dm2Es3Sa4Ge", "zZ9yY8xX7wW6vV5uU", False),  # removed
    ]
    times = dict(zip(ev["event_id"], ev["occurred_at"], strict=True))
    # the three Extended JSON date forms: ISO text, legacy epoch ms, canonical $numberLong
    assert times["Hy6Zb1Cv4Xn7Mq2Ws"] == dt.datetime(2024, 3, 4, 9, 15, 0, 123000, tzinfo=dt.UTC)
    assert times["Fg5Hj8Kl1Zx4Cv7Bn"] == dt.datetime(2024, 3, 5, 14, 5, 7, tzinfo=dt.UTC)
    assert times["Zx9Cv8Bn7Mq6Wd5Ke"] == dt.datetime(2024, 3, 4, 12, 0, tzinfo=dt.UTC)
    removed = ev.filter(pl.col("event_id") == "Rm0Ve1Dm2Es3Sa4Ge").row(0, named=True)
    assert removed["body_chars"] is None  # no text features for a removed message


def test_two_emoji_of_one_person_stay_two_reactions_after_cleaning() -> None:
    reacts = _read()["events"].filter(pl.col("action") == "react").sort("event_id")
    assert reacts.select("event_id", "account_id").rows() == [
        ("Hy6Zb1Cv4Xn7Mq2Ws:react::tada::ana.lopez", "aB3dE5fG7hJ9kL1mN"),
        ("Hy6Zb1Cv4Xn7Mq2Ws:react::tada::bo.chen", "pQ2rS4tU6vW8xY0zA"),
        ("Hy6Zb1Cv4Xn7Mq2Ws:react::thumbsup::bo.chen", "pQ2rS4tU6vW8xY0zA"),
    ]
    assert reacts.select(CLEAN_KEY).is_unique().all()
    assert set(reacts["content_id"]) == {"Hy6Zb1Cv4Xn7Mq2Ws"}  # the message reacted to
    assert reacts["reaction"].to_list() == [":tada:", ":tada:", ":thumbsup:"]


def test_accounts() -> None:
    acc = _read()["accounts"].sort("account_id")
    assert acc.filter(pl.col("is_automated"))["account_id"].to_list() == ["jIrAbOt0000000001", "rocket.cat"]
    assert acc.filter(pl.col("is_deleted"))["username"].to_list() == ["dev.patel"]
    assert acc.filter(pl.col("is_guest"))["username"].to_list() == ["carla.ruiz"]
    assert acc.filter(pl.col("username") == "ana.lopez")["account_email"].item() == "ana.lopez@northwind.example"


def test_rejects_name_the_line_and_reason() -> None:
    rej = _read()["rejects"].sort("locator")
    assert rej.select("locator", "reason").rows() == [
        ("rocketchat_message.json line 10", 'ts: missing, expected {"$date": ...}'),
        ("rocketchat_message.json line 11", "u._id: missing, expected the author's user id"),
        ("rocketchat_message.json line 12", "not a JSON object (a truncated or broken line)"),
        ("rocketchat_message.json line 13", "_id: duplicate, first seen earlier"),
        ("users.json line 7", "not a JSON object"),
    ]


def test_small_chunks_give_the_same_result() -> None:
    assert _read(chunk_bytes=200)["events"].sort("event_id").equals(_read()["events"].sort("event_id"))


def test_a_zip_reads_like_the_directory(tmp_path: Path) -> None:
    zone = tmp_path / "platforms" / "rocket_chat"
    zone.mkdir(parents=True)
    with zipfile.ZipFile(zone / "dump.zip", "w") as z:
        for f in sorted(EXPORT.iterdir()):
            z.write(f, f"dump/{f.name}")
    assert _read(tmp_path)["events"].equals(_read()["events"])


def test_an_unknown_reactor_is_quarantined(tmp_path: Path) -> None:
    export = tmp_path / "platforms" / "rocket_chat" / "x"
    shutil.copytree(EXPORT, export)
    lines = (export / "users.json").read_text().splitlines()
    (export / "users.json").write_text("\n".join(line for line in lines if '"bo.chen"' not in line) + "\n")
    rej = _read(tmp_path)["rejects"]
    assert rej.filter(pl.col("reason") == "reactions: username 'bo.chen' is not in users.json").height == 2


def test_an_archive_without_messages_is_refused(tmp_path: Path) -> None:
    zone = tmp_path / "platforms" / "rocket_chat"
    zone.mkdir(parents=True)
    with zipfile.ZipFile(zone / "dump.zip", "w") as z:
        z.writestr("users.json", "{}\n")
    with pytest.raises(ConnectorError, match="no rocketchat_message"):
        _read(tmp_path)


def test_a_bom_at_the_start_of_a_dump_changes_nothing(tmp_path: Path) -> None:
    export = shutil.copytree(EXPORT, tmp_path / "platforms" / "rocket_chat" / "x")
    for name in ("rocketchat_message.json", "users.json", "rocketchat_room.json"):
        (export / name).write_bytes(b"\xef\xbb\xbf" + (export / name).read_bytes())
    t, untouched = _read(tmp_path), _read()
    for table in ("events", "accounts", "rejects"):
        assert t[table].drop("file", strict=False).equals(untouched[table].drop("file", strict=False)), table


def test_a_folder_where_a_dump_belongs_is_reported(tmp_path: Path) -> None:
    export = shutil.copytree(EXPORT, tmp_path / "platforms" / "rocket_chat" / "x")
    (export / "users.json").unlink()
    (export / "users.json").mkdir()
    rejects = _read(tmp_path)["rejects"]
    assert rejects.filter(pl.col("locator") == "users.json").select("contract", "reason").rows() == [
        ("accounts", "a folder (or not a regular file); expected mongoexport JSON lines")]
    (export / "rocketchat_message.json").unlink()
    (export / "rocketchat_message.json").mkdir()
    with pytest.raises(ConnectorError, match="x: not a Rocket.Chat export: .*rocketchat_message.json is a folder"):
        _read(tmp_path)


def test_a_broken_room_line_is_quarantined(tmp_path: Path) -> None:
    export = shutil.copytree(EXPORT, tmp_path / "platforms" / "rocket_chat" / "x")
    with (export / "rocketchat_room.json").open("a") as f:
        f.write('{"_id": "broken", "t": \n')
    lines = len((export / "rocketchat_room.json").read_text().splitlines())
    rejects = _read(tmp_path)["rejects"]
    assert rejects.filter(pl.col("locator") == f"rocketchat_room.json line {lines}")["reason"].to_list() == [
        "not a JSON object: the room's type is unknown (read as a channel)"]
