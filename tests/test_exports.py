"""Several exports of one platform (``pipelines.exports`` through ``pipelines.warehouse.write_batches``):
the newer export wins where it overlaps an older one, against hand-made exports whose answer is
known row by row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.connectors.base import Batch
from pipelines.exports import order_exports
from pipelines.warehouse import write_batches
from transforms.contracts import ACCOUNTS, EVENTS

OLD, NEW = Path("exports/old.zip"), Path("exports/new.zip")
DAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _events(*rows: tuple[str, str, int, int]) -> pl.DataFrame:
    """(event id, space, hours after DAY, body_chars) -> events rows of one account."""
    return pl.DataFrame({
        "source": "slack", "event_id": [r[0] for r in rows],
        "occurred_at": [DAY + dt.timedelta(hours=r[2]) for r in rows], "account_id": "U1",
        "account_email": "u1@example.com", "action": "post", "space_id": [r[1] for r in rows],
        "thread_id": None, "content_id": [r[0] for r in rows], "is_automated": False,
        "body_chars": [r[3] for r in rows], "hashtags": None, "is_question": None, "mention_count": None,
        "reaction": None, "source_file": "day.json",
    }).cast(EVENTS.schema)


def _accounts(*rows: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame({
        "source": "slack", "account_id": [r[0] for r in rows], "account_email": [r[1] for r in rows],
        "account_upn": None, "employee_number": None, "username": None, "display_name": None,
        "is_automated": False, "is_deleted": False, "is_guest": None,
    }).cast(ACCOUNTS.schema)


def _ingest(batches: list[Batch], times: dict[Path, dt.datetime]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    exports = order_exports(list(times), times.__getitem__)
    counts = write_batches(con, "slack", ("events", "accounts"), batches, exports=exports)
    con.execute("CREATE TEMP TABLE counts AS SELECT * FROM (VALUES " + ", ".join(
        f"('{k}', {v})" for k, v in counts.items()) + ") t(k, v)")
    return con


def _rows(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int]]:
    rows = con.execute("SELECT event_id, space_id, body_chars FROM raw.slack_events").fetchall()
    return {e: (s, n) for e, s, n in rows}


def test_exports_are_ordered_by_their_time_then_by_name() -> None:
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    times = {Path("b.zip"): t, Path("a.zip"): t, Path("z.zip"): t - dt.timedelta(days=1)}
    assert [e.path.name for e in order_exports(times, times.__getitem__)] == ["z.zip", "a.zip", "b.zip"]
    assert [e.rank for e in order_exports(times, times.__getitem__)] == [0, 1, 2]


def test_the_newer_export_wins_inside_its_span_and_spaces_only() -> None:
    old = _events(("C1:0", "C1", 0, 10),    # before the newer export's first event: kept from the old one
                  ("C1:5", "C1", 5, 10),    # edited in the newer export: its version wins
                  ("C1:6", "C1", 6, 10),    # deleted in the newer export, inside its span: gone
                  ("C2:7", "C2", 7, 10),    # a channel the newer export holds too: deleted there
                  ("C3:7", "C3", 7, 10),    # a channel the newer export does not hold (private): kept
                  ("C1:30", "C1", 30, 10))  # after the newer export's last event: kept
    new = _events(("C1:4", "C1", 4, 20), ("C1:5", "C1", 5, 99), ("C2:9", "C2", 9, 20), ("C1:20", "C1", 20, 20))
    con = _ingest([Batch("events", old, OLD), Batch("events", new, NEW)],
                  {OLD: DAY, NEW: DAY + dt.timedelta(days=7)})
    assert _rows(con) == {
        "C1:0": ("C1", 10), "C3:7": ("C3", 10), "C1:30": ("C1", 10),
        "C1:4": ("C1", 20), "C1:5": ("C1", 99), "C2:9": ("C2", 20), "C1:20": ("C1", 20),
    }
    register = {(e.split("/")[-1], t): (r, s) for e, t, r, s in con.execute(
        'SELECT export, "table", rows, superseded FROM raw.export_inputs').fetchall()}
    assert register[("old.zip", "events")] == (6, 3) and register[("new.zip", "events")] == (4, 0)
    assert dict(con.execute("SELECT * FROM counts").fetchall()) == {"events": 7, "superseded_events": 3,
                                                                     "accounts": 0}


def test_the_order_is_the_export_time_not_the_file_name() -> None:
    old = _events(("C1:5", "C1", 5, 10))
    new = _events(("C1:5", "C1", 5, 99))
    con = _ingest([Batch("events", new, NEW), Batch("events", old, OLD)],
                  {OLD: DAY + dt.timedelta(days=7), NEW: DAY})  # "old.zip" was made later
    assert _rows(con) == {"C1:5": ("C1", 10)}


def test_a_broken_clock_in_the_newer_export_covers_nothing() -> None:
    old = _events(("C1:5", "C1", 5, 10), ("C1:6", "C1", 6, 10))
    new = _events(("C1:5", "C1", 5, 99)).vstack(_events(("C1:epoch", "C1", 0, 1)).with_columns(
        pl.lit(dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).cast(EVENTS.schema["occurred_at"]).alias("occurred_at")))
    con = _ingest([Batch("events", old, OLD), Batch("events", new, NEW)],
                  {OLD: DAY, NEW: DAY + dt.timedelta(days=7)})
    # the newer export's span is its one plausible event: the old C1:6 is outside it
    assert _rows(con) == {"C1:5": ("C1", 99), "C1:6": ("C1", 10), "C1:epoch": ("C1", 1)}


def test_accounts_of_the_newer_export_replace_the_older_rows() -> None:
    con = _ingest([Batch("accounts", _accounts(("U1", "old@example.com"), ("U2", "left@example.com")), OLD),
                   Batch("accounts", _accounts(("U1", "new@example.com")), NEW)],
                  {OLD: DAY, NEW: DAY + dt.timedelta(days=1)})
    assert sorted(con.execute("SELECT account_id, account_email FROM raw.slack_accounts").fetchall()) == [
        ("U1", "new@example.com"), ("U2", "left@example.com")]


@pytest.mark.parametrize("n_exports", [0, 1])
def test_one_export_is_written_as_it_is(n_exports: int) -> None:
    old = _events(("C1:5", "C1", 5, 10), ("C1:5", "C1", 5, 10))  # a repeat inside one export stays for the clean layer
    con = _ingest([Batch("events", old, OLD)], {OLD: DAY} if n_exports else {})
    assert con.execute("SELECT count(*) FROM raw.slack_events").fetchone() == (2,)
    rows = con.execute('SELECT "table", rows, superseded FROM raw.export_inputs').fetchall()
    assert rows == ([("events", 2, 0)] if n_exports else [])


def test_an_export_time_is_the_time_stored_in_the_zip_not_when_the_file_arrived(tmp_path: Path) -> None:
    """An old export copied into the folder today is still old: a zip keeps its members' times."""
    import os
    import zipfile

    from pipelines.connectors.slack import SlackConnector

    made = dt.datetime(2026, 2, 1, 8, 30, tzinfo=dt.UTC)
    path = tmp_path / "old.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("users.json", date_time=(2026, 1, 31, 12, 0, 0)), "[]")
        zf.writestr(zipfile.ZipInfo("general/2026-01-30.json", date_time=(2026, 2, 1, 8, 30, 0)), "[]")
    assert SlackConnector().export_time(path) == made  # the file itself was written just now
    folder = tmp_path / "unpacked"
    (folder / "general").mkdir(parents=True)
    for i, name in enumerate(("users.json", "general/2026-01-30.json")):
        (folder / name).write_text("[]")
        os.utime(folder / name, (made.timestamp() - i * 60,) * 2)
    assert SlackConnector().export_time(folder) == made  # a folder: its newest file
