"""Viva Engage network export connector against a hand-written export.

The fixture (tests/fixtures/connectors/viva_engage/export_dir/, zipped with a top folder into
platforms/viva_engage/export.zip) has UTF-8 BOMs, CRLF line ends, multi-line quoted bodies and
mixed-case booleans. Counts, established row by row when writing it:
- Messages.csv, 13 rows: 9 kept (1001-1008, 1013; 1004 carries an uploaded file), 4 quarantined: line 13 repeats id 1003,
  line 14 has created_at 'yesterday at noon', line 15 no sender_id, line 16 is dated 2099.
  Lines: 1002 spans lines 3-4 and 1004 lines 6-8 (bodies with line breaks).
- Users.csv, 9 rows: 7 accounts (11-17), line 9 repeats id 11, line 10 has no id; 6 of the 7 have
  a joined_at (17 is pending) -> 6 join events. The bot sender 9001 is not in Users.csv: +1 account.
- events = 9 messages + 6 joins = 15.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors.base import ConnectorError
from pipelines.connectors.viva_engage import VivaEngageConnector
from transforms.contracts import ACCOUNTS, EVENTS, REJECTS, ContractError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "connectors" / "viva_engage"
ZIP = FIXTURES / "platforms" / "viva_engage" / "export.zip"
DIR = FIXTURES / "export_dir"
NOW = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def _read(path: Path, **kwargs: object) -> dict[str, pl.DataFrame]:
    connector = VivaEngageConnector(now=NOW, **kwargs)  # type: ignore[arg-type]
    out: dict[str, list[pl.DataFrame]] = {"events": [], "accounts": [], "rejects": []}
    for batch in connector.read(path):
        out[batch.table].append(batch.frame)
    schemas = {"events": EVENTS.schema, "accounts": ACCOUNTS.schema, "rejects": REJECTS.schema}
    return {t: pl.concat(f) if f else pl.DataFrame(schema=schemas[t]) for t, f in out.items()}


@pytest.fixture(scope="module")
def from_zip() -> dict[str, pl.DataFrame]:
    return _read(ZIP)


def test_counts_and_schemas(from_zip: dict[str, pl.DataFrame]) -> None:
    events, accounts, rejects = from_zip["events"], from_zip["accounts"], from_zip["rejects"]
    assert events.schema == EVENTS.schema and accounts.schema == ACCOUNTS.schema and rejects.schema == REJECTS.schema
    assert events.height == 15
    assert events.group_by("action").len().sort("action").rows() == [
        ("join", 6), ("post", 4), ("reply", 4), ("upload", 1)
    ]
    # Users.csv's 7, then the bot sender 9001 (never listed in Users.csv) from Messages.csv
    assert accounts["account_id"].to_list() == ["11", "12", "13", "14", "15", "16", "17", "9001"]
    assert rejects.height == 6


def test_message_mapping(from_zip: dict[str, pl.DataFrame]) -> None:
    msgs = {r["event_id"]: r for r in from_zip["events"].filter(pl.col("action") != "join").iter_rows(named=True)}
    assert sorted(msgs) == ["1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1013"]
    # thread starters (thread_id == id) are posts, the rest replies in the starter's thread; a message
    # with 'uploadedfile:' among its attachments is an upload (1004), a link preview changes nothing (1003)
    assert {k: (v["action"], v["thread_id"]) for k, v in msgs.items()} == {
        "1001": ("post", "1001"), "1002": ("reply", "1001"), "1003": ("reply", "1001"),
        "1004": ("upload", "1004"), "1005": ("post", "1005"), "1006": ("post", "1006"),
        "1007": ("reply", "1004"), "1008": ("reply", "1001"), "1013": ("post", "1013"),
    }
    assert msgs["1001"]["occurred_at"] == dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
    assert msgs["1008"]["occurred_at"] == dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)  # ISO variant
    assert msgs["1001"]["space_id"] == "501" and msgs["1001"]["account_email"] == "user11@northwind.example"
    assert msgs["1005"]["space_id"] is None  # private conversation: no group
    assert msgs["1013"]["space_id"] == "999"  # unknown group: kept, warned
    # sender_type 'System' -> automated; the others are people
    assert [k for k, v in msgs.items() if v["is_automated"]] == ["1006"]
    assert msgs["1006"]["account_email"] is None
    # features: '#kickoff'; '@bob' + '[[user:11]]' and a question across a line break
    assert msgs["1001"]["hashtags"] == ["kickoff"] and msgs["1001"]["body_chars"] == 36
    assert msgs["1002"]["mention_count"] == 2 and msgs["1002"]["is_question"] is True
    assert msgs["1002"]["body_chars"] == len("How do I reset the\r\nline 3 press? @bob [[user:11]]")
    assert msgs["1004"]["hashtags"] == ["idea", "safety"] and msgs["1004"]["is_question"] is True
    # deleted message (deleted_at set, body emptied): kept as the reply it was, empty text
    assert (msgs["1007"]["action"], msgs["1007"]["body_chars"], msgs["1007"]["hashtags"]) == ("reply", 0, [])
    assert set(from_zip["events"]["source"]) == {"viva_engage"}


def test_no_message_text_leaves_the_connector(from_zip: dict[str, pl.DataFrame]) -> None:
    for frame in from_zip.values():
        for col, dtype in frame.schema.items():
            if dtype == pl.Utf8:
                values = " ".join(v for v in frame[col].to_list() if v)
                assert "reset" not in values and "badge readers" not in values, col


def test_accounts_and_joins(from_zip: dict[str, pl.DataFrame]) -> None:
    accounts = {r["account_id"]: r for r in from_zip["accounts"].iter_rows(named=True)}
    assert accounts["11"]["account_email"] == "alice.admin@northwind.example"
    assert [k for k, v in accounts.items() if v["is_deleted"]] == ["14", "15"]  # suspended, soft_delete
    assert [k for k, v in accounts.items() if v["is_guest"]] == ["16"]  # guest 'TRUE'
    assert [k for k, v in accounts.items() if v["is_automated"]] == ["9001"]
    assert (accounts["9001"]["display_name"], accounts["9001"]["account_email"]) == ("Name 9001", None)
    joins = from_zip["events"].filter(pl.col("action") == "join")
    assert joins["event_id"].to_list() == ["join:11", "join:12", "join:13", "join:14", "join:15", "join:16"]
    assert joins["occurred_at"][0] == dt.datetime(2025, 11, 3, 10, 0, tzinfo=dt.UTC)
    assert joins["space_id"].null_count() == 6


def test_rejects_name_file_line_and_reason(from_zip: dict[str, pl.DataFrame]) -> None:
    rejects = from_zip["rejects"]
    assert set(rejects["file"]) == {str(ZIP)}
    assert dict(zip(rejects["locator"], rejects["reason"], strict=True)) == {
        "Users.csv line 9": "duplicate user id: an earlier row was kept",
        "Users.csv line 10": "id: required, found empty",
        "Messages.csv line 13": "duplicate message id: an earlier row was kept",
        "Messages.csv line 14": "created_at: expected a time like '2026-03-02 09:15:00 UTC', found 'yesterday at noon'",
        "Messages.csv line 15": "sender_id: required, found empty",
        "Messages.csv line 16": "created_at: 2099-01-01 00:00:00 UTC is in the future "
        "(more than one day after the time of reading)",
    }
    assert dict(zip(rejects["locator"], rejects["excerpt"], strict=True))["Messages.csv line 13"] == (
        "id=1003 sender_id=11"
    )


def test_directory_and_small_batches_give_the_same_rows(from_zip: dict[str, pl.DataFrame]) -> None:
    for other in (_read(DIR), _read(ZIP, batch_rows=2)):
        assert other["events"].equals(from_zip["events"])
        assert other["accounts"].equals(from_zip["accounts"])
        assert other["rejects"].drop("file").sort("locator").equals(from_zip["rejects"].drop("file").sort("locator"))


def test_now_decides_what_is_in_the_future() -> None:
    early = VivaEngageConnector(now=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC))
    rejects = pl.concat([b.frame for b in early.read(ZIP) if b.table == "rejects"])
    future = rejects.filter(pl.col("reason").str.contains("in the future"))
    # limit = now + 1 day = 2026-03-03 12:00 UTC: 1004 (03-03 14:00), 1005 (03-03 15:00), 1006 and 1007
    # (03-04), 1013 (03-06) and the 2099 row are after it; 1008 (03-03 10:00) and all joins are not
    assert sorted(future["excerpt"]) == [
        "id=1004 sender_id=13", "id=1005 sender_id=12", "id=1006 sender_id=9001", "id=1007 sender_id=14",
        "id=1012 sender_id=11", "id=1013 sender_id=15",
    ]


def test_missing_users_and_groups_are_recorded_and_messages_go_on(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(DIR / "Messages.csv", export / "messages.CSV")  # base name matched case-insensitively
    out = _read(export)
    assert out["events"].height == 9
    # no Users.csv: the senders of the kept messages become the accounts, in order of appearance
    assert out["accounts"]["account_id"].to_list() == ["11", "12", "13", "9001", "14", "15"]
    assert out["accounts"].filter(pl.col("account_id") == "12")["account_email"].item() == "user12@northwind.example"
    files = out["rejects"].filter(pl.col("locator").str.ends_with(".csv") & pl.col("locator").str.contains("^[UG]"))
    assert files.select("locator", "reason").sort("locator").rows() == [
        ("Groups.csv", "file missing: group ids not checked"),
        ("Users.csv", "file missing: no accounts or join events"),
    ]


def test_broken_inputs_raise_errors_naming_the_file(tmp_path: Path) -> None:
    no_messages = tmp_path / "no_messages"
    no_messages.mkdir()
    shutil.copy(DIR / "Users.csv", no_messages / "Users.csv")
    with pytest.raises(ConnectorError, match="no Messages.csv in the export") as info:
        list(VivaEngageConnector().read(no_messages))
    assert info.value.file == str(no_messages)

    bad_zip = tmp_path / "export.zip"
    bad_zip.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ConnectorError, match="cannot open as a zip archive"):
        list(VivaEngageConnector().read(bad_zip))

    missing_col = tmp_path / "missing_col"
    missing_col.mkdir()
    (missing_col / "Messages.csv").write_text("id,thread_id,group_id,sender_type,body,created_at\n1,1,5,user,hi,x\n")
    with pytest.raises(ContractError) as err:
        list(VivaEngageConnector().read(missing_col))
    assert "missing column(s) sender_id; expected a Viva Engage Messages.csv" in str(err.value)
    assert err.value.file.endswith("Messages.csv")


def test_latin1_messages_decoded_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    export = tmp_path / "export.zip"
    text = (DIR / "Messages.csv").read_text(encoding="utf-8-sig").replace("Welcome", "Bienvenue à")
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("Messages.csv", text.encode("cp1252"))
        archive.writestr("Users.csv", (DIR / "Users.csv").read_bytes())
        archive.writestr("Groups.csv", (DIR / "Groups.csv").read_bytes())
    with caplog.at_level(logging.WARNING):
        out = _read(export)
    assert "not UTF-8" in caplog.text
    first = out["events"].filter(pl.col("event_id") == "1001").row(0, named=True)
    assert first["body_chars"] == len("Bienvenue à to Maintenance Q&A! #kickoff")


def test_read_twice_is_identical() -> None:
    assert _read(ZIP)["events"].equals(_read(ZIP)["events"])
