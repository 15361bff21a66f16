"""Zulip realm export connector on its fixture (Zulip's export layout), counts established with plain json."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tarfile
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors import ConnectorError
from pipelines.connectors.zulip import ZulipConnector
from transforms.clean_events import CONTENT_IDENTITY

ROOT = Path(__file__).parents[1] / "fixtures" / "connectors" / "zulip"
EXPORT = ROOT / "platforms" / "zulip" / "zulip-export-x7k2pq"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
#: The dedup key of transforms/clean_events.py: content-identical events collapse on it.
CLEAN_KEY = list(CONTENT_IDENTITY)  # what the clean layer takes for one action


def _tables(batches) -> dict[str, pl.DataFrame]:  # noqa: ANN001
    out: dict[str, list[pl.DataFrame]] = {}
    for b in batches:
        out.setdefault(b.table, []).append(b.frame)
    return {t: pl.concat(f) for t, f in out.items()}


def _read(root: Path = ROOT) -> dict[str, pl.DataFrame]:
    return _tables(ZulipConnector(now=NOW).read_drop_zone(root))


def _independent_counts() -> dict[str, int]:
    realm = json.loads((EXPORT / "realm.json").read_text())
    users = {u["id"] for u in realm["zerver_userprofile"]} | {u["id"] for u in realm["zerver_userprofile_crossrealm"]}
    recipients = {r["id"] for r in realm["zerver_recipient"]}
    cutoff = NOW.timestamp() + 86400
    kept: set[int] = set()
    total = 0
    for f in sorted(EXPORT.glob("messages-*.json")):
        for m in json.loads(f.read_text())["zerver_message"]:
            total += 1
            ok = ("date_sent" in m and m["sender"] in users and m["recipient"] in recipients
                  and m["date_sent"] <= cutoff and m["id"] not in kept)
            if ok:
                kept.add(m["id"])
    reactions = sum(1 for r in realm["zerver_reaction"] if r["message"] in kept)
    joins = sum(1 for a in realm["zerver_realmauditlog"] if a["event_type"] in (301, 302))
    accounts = len(realm["zerver_userprofile"]) + len(realm["zerver_userprofile_crossrealm"])
    return {"messages": total, "kept": len(kept), "reactions": reactions, "joins": joins, "accounts": accounts,
            "reaction_rows": len(realm["zerver_reaction"])}


def test_counts_match_an_independent_count() -> None:
    expected = _independent_counts()
    assert expected == {"messages": 13, "kept": 8, "reactions": 3, "joins": 3, "accounts": 6, "reaction_rows": 4}
    t = _read()
    ev = t["events"]
    assert ev.filter(~pl.col("action").is_in(["react", "join"])).height == expected["kept"]
    assert ev.filter(pl.col("action") == "react").height == expected["reactions"]
    assert ev.filter(pl.col("action") == "join").height == expected["joins"]
    assert t["accounts"].height == expected["accounts"]
    # every message and reaction row is an event or a reject: nothing lost
    assert t["rejects"].height == (expected["messages"] - expected["kept"]) + (expected["reaction_rows"] - expected["reactions"])


def test_mapping_of_each_message() -> None:
    ev = _read()["events"].filter(~pl.col("action").is_in(["react", "join"])).sort("event_id")
    rows = ev.select("event_id", "action", "space_id", "thread_id", "account_id", "is_automated").rows()
    assert rows == [
        ("101", "post", "3", "101", "10", False),
        ("102", "reply", "3", "101", "11", False),
        ("103", "upload", "4", "103", "12", False),
        ("104", "reply", "4", "103", "14", True),  # a bot's message
        ("105", "post", "dm:10,11", "105", "11", False),
        ("106", "reply", "3", "101", "1", True),  # Notification Bot: topic resolved
        ("201", "reply", "3", "101", "13", False),  # topic "Welcome" = "welcome" (case-insensitive), other file
        ("202", "post", "dm-group:1", "202", "10", False),
    ]
    first = ev.filter(pl.col("event_id") == "101").row(0, named=True)
    assert first["occurred_at"] == dt.datetime(2024, 2, 29, 9, 46, 40, 123456, tzinfo=dt.UTC)  # exact microseconds
    assert first["hashtags"] == ["roadmap"] and first["is_question"] and first["body_chars"] == 33
    assert ev.filter(pl.col("event_id") == "102")["mention_count"].item() == 1  # @**Ana López**
    assert ev.filter(pl.col("event_id") == "105")["account_email"].item() == "bo.chen@northwind.example"


def test_two_emoji_of_one_person_stay_two_reactions_after_cleaning() -> None:
    reacts = _read()["events"].filter(pl.col("action") == "react").sort("event_id")
    assert reacts["event_id"].to_list() == ["101:react:+1:11", "101:react:tada:11", "102:react:heart:10"]
    assert reacts.select(CLEAN_KEY).is_unique().all()
    assert reacts.select("content_id", "reaction").rows() == [("101", "+1"), ("101", "tada"), ("102", "heart")]
    assert set(reacts["thread_id"]) == {"101"}
    # a reaction has no time in Zulip: it takes its message's time
    assert reacts["occurred_at"][0] == dt.datetime(2024, 2, 29, 9, 46, 40, 123456, tzinfo=dt.UTC)


def test_accounts_and_joins() -> None:
    t = _read()
    acc = t["accounts"].sort("account_id")
    assert acc.filter(pl.col("is_automated"))["account_id"].to_list() == ["1", "14"]
    assert acc.filter(pl.col("is_deleted"))["account_id"].to_list() == ["13"]
    assert acc.filter(pl.col("is_guest"))["account_id"].to_list() == ["12"]
    assert acc.filter(pl.col("account_id") == "10")["account_email"].item() == "ana.lopez@northwind.example"
    joins = t["events"].filter(pl.col("action") == "join").sort("event_id")
    assert joins.select("event_id", "account_id", "space_id").rows() == [
        ("join:501", "10", "3"), ("join:502", "11", "3"), ("join:503", "12", "4")]


def test_rejects_name_the_file_item_and_reason() -> None:
    rej = _read()["rejects"].sort("locator")
    assert rej.select("locator", "reason").rows() == [
        ("messages-000001.json[id=107]", "date_sent: missing, expected epoch seconds"),
        ("messages-000002.json[id=101]", "id: duplicate message id, first seen earlier"),
        ("messages-000002.json[id=203]", "sender: user 99 is not in realm.json"),
        ("messages-000002.json[id=204]", "recipient: 999 is not in realm.json zerver_recipient"),
        ("messages-000002.json[id=205]", "date_sent: after now + 1 day: a clock error"),
        ("realm.json[reaction=4]", "message: 107 is not a kept message of this export"),
    ]
    assert set(rej["file"]) == {"zulip-export-x7k2pq"}


def test_a_tarball_reads_like_the_directory(tmp_path: Path) -> None:
    zone = tmp_path / "platforms" / "zulip"
    zone.mkdir(parents=True)
    with tarfile.open(zone / "zulip-export-x7k2pq.tar.gz", "w:gz") as tar:
        tar.add(EXPORT, arcname="zulip-export-x7k2pq")
    from_tar = _read(tmp_path)
    from_dir = _read()
    for table in ("events", "accounts"):
        assert from_tar[table].equals(from_dir[table])


def test_a_broken_messages_file_is_quarantined_and_the_rest_goes_on(tmp_path: Path) -> None:
    export = tmp_path / "platforms" / "zulip" / "export"
    shutil.copytree(EXPORT, export)
    (export / "messages-000002.json").write_text('{"zerver_message": [{"id": 1,')
    t = _read(tmp_path)
    assert t["events"].filter(pl.col("source_file") == "messages-000001.json").height == 6
    broken = t["rejects"].filter(pl.col("locator") == "messages-000002.json")
    assert broken.height == 1 and "not a readable Zulip messages file" in broken["reason"].item()


def test_missing_realm_json_stops_with_the_export_named(tmp_path: Path) -> None:
    export = tmp_path / "platforms" / "zulip" / "export"
    shutil.copytree(EXPORT, export)
    (export / "realm.json").unlink()
    (export / "other").mkdir()
    (export / "other" / "realm.json").write_text("{")  # a nested realm.json that is not JSON
    with pytest.raises(ConnectorError, match="realm.json cannot be read"):
        _read(tmp_path)


def test_an_unreadable_archive_stops_with_the_file_named(tmp_path: Path) -> None:
    zone = tmp_path / "platforms" / "zulip"
    zone.mkdir(parents=True)
    (zone / "export.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(ConnectorError, match="export.tar.gz"):
        _read(tmp_path)


def _copy(tmp_path: Path) -> Path:
    return shutil.copytree(EXPORT, tmp_path / "platforms" / "zulip" / "export")


def test_a_doubled_messages_file_gives_the_same_events_and_quarantines_the_copies(tmp_path: Path) -> None:
    export = _copy(tmp_path)
    path = export / "messages-000001.json"
    path.write_bytes(path.read_bytes() * 2)  # two JSON objects, one after the other
    t, untouched = _read(tmp_path), _read()
    assert t["events"].drop("source_file").sort("event_id").equals(
        untouched["events"].drop("source_file").sort("event_id"))
    copies = len(json.loads((EXPORT / "messages-000001.json").read_text())["zerver_message"])
    new = t["rejects"].join(untouched["rejects"], on=["locator", "reason"], how="anti")
    # each message of the copy once (the one without date_sent was already quarantined for that)
    assert new.height == copies - 1
    assert set(new["reason"]) == {"id: duplicate message id, first seen earlier"}


@pytest.mark.parametrize("content", [b"", b" \n", None], ids=["empty", "blank", "doubled"])
def test_a_realm_json_that_is_not_one_object_stops_the_read(tmp_path: Path, content: bytes | None) -> None:
    realm = _copy(tmp_path) / "realm.json"
    realm.write_bytes(realm.read_bytes() * 2 if content is None else content)
    with pytest.raises(ConnectorError, match=r"export, realm.json: realm.json (holds \d JSON values|cannot be read)"):
        _read(tmp_path)


def test_a_repeated_audit_log_id_is_quarantined(tmp_path: Path) -> None:
    realm = _copy(tmp_path) / "realm.json"
    data = json.loads(realm.read_text())
    first = next(a for a in data["zerver_realmauditlog"] if a["event_type"] == 301)
    data["zerver_realmauditlog"].append({**first, "modified_stream": 999})
    realm.write_text(json.dumps(data))
    t = _read(tmp_path)
    joins = t["events"].filter(pl.col("event_id") == f"join:{first['id']}")
    assert joins["space_id"].to_list() == [str(first["modified_stream"])]  # the first one is kept
    dupes = t["rejects"].filter(pl.col("locator") == f"realm.json[auditlog={first['id']}]")
    assert dupes["reason"].to_list() == ["subscription audit log id: duplicate, first seen earlier"]


def test_a_folder_where_realm_json_or_a_messages_file_belongs_is_reported(tmp_path: Path) -> None:
    export = _copy(tmp_path)
    (export / "messages-000002.json").unlink()
    (export / "messages-000002.json").mkdir()
    t = _read(tmp_path)
    assert t["rejects"].filter(pl.col("locator") == "messages-000002.json")["reason"].to_list() == [
        "a folder (or not a regular file); expected a Zulip messages JSON file"]
    (export / "realm.json").unlink()
    (export / "realm.json").mkdir()
    with pytest.raises(ConnectorError, match="export, realm.json: realm.json is a folder"):
        _read(tmp_path)
