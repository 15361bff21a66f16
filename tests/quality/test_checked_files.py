"""Row checks that read only the canonical files they have not passed (``quality.checked_files``):
same verdicts as on the whole table, files recorded only when the check passes, read again when a
file is re-delivered, the code or the context changes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import partial
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.publish import publish_marts, published_tables
from pipelines.warehouse import register_canonical
from quality import checked_files, gx_suites, sql_checks
from quality.outcome import CheckContext, CheckOutcome
from transforms.contracts import EVENTS
from transforms.warehouse import ensure_schemas

WEEK0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def _events(week: int, n: int = 30, **overrides: object) -> pl.DataFrame:
    rows = [{"event_id": f"w{week}-{i}", "occurred_at": WEEK0 + dt.timedelta(weeks=week, minutes=i),
             "account_id": f"U{i % 7}", "account_email": f"u{i % 7}@example.org", "action": "post",
             "space_id": "C1", "is_automated": False, "body_chars": 10 + i, "mention_count": 0, **overrides}
            for i in range(n)]
    return pl.DataFrame([{c: r.get(c) for c in EVENTS.names if c != "source"} for r in rows],
                        schema={c: t for c, t in EVENTS.schema.items() if c != "source"}, strict=False)


class Drop:
    """A warehouse with Slack's canonical event files registered as the ingest layer does."""

    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "canonical"
        self.folder.mkdir()
        self.con = duckdb.connect(str(tmp_path / "w.duckdb"))
        ensure_schemas(self.con)
        self.con.execute(EVENTS.duckdb_ddl("raw.slack_events__rows"))

    def write(self, week: int, frame: pl.DataFrame) -> None:
        frame.write_parquet(self.folder / f"week={week:02d}.parquet")

    def register(self) -> None:
        self.con.execute("DROP VIEW IF EXISTS raw.slack_events")
        register_canonical(self.con, "slack", "events", sorted(self.folder.glob("*.parquet")),
                           "raw.slack_events__rows")


@pytest.fixture()
def drop(tmp_path: Path) -> Drop:
    d = Drop(tmp_path)
    for week in range(3):
        d.write(week, _events(week))
    d.register()
    return d


CTX = CheckContext(source="slack", gx_sample_rows=40)
SUITE = partial(checked_files.by_file, table="raw.{source}_events", check=partial(gx_suites.run_suite, suite="events"))
REQUIRED = partial(checked_files.by_file, table="raw.{source}_events",
                   check=partial(sql_checks.required_and_vocabulary, contract=EVENTS))


def _read(outcome: CheckOutcome) -> tuple[int, int]:
    return outcome.metadata["files_checked"], outcome.metadata["files_passed_before"]


def test_a_passed_file_is_not_read_again_until_it_changes(drop: Drop) -> None:
    first = SUITE(drop.con, CTX)
    assert first.passed and _read(first) == (3, 0) and first.metadata["rows"] == 90
    again = SUITE(drop.con, CTX)
    assert again.passed and _read(again) == (0, 3) and again.metadata["rows"] == 90
    assert "3 file(s) passed before" in again.message
    # a new week, and week 1 delivered again with more rows: those two are read
    drop.write(3, _events(3))
    drop.write(1, _events(1, n=45))
    drop.register()
    weekly = SUITE(drop.con, CTX)
    assert weekly.passed and _read(weekly) == (2, 2) and weekly.metadata["rows"] == 135
    assert weekly.metadata["rows_validated"] == 40 and weekly.metadata["sampled"]  # 75 rows read, 40 sampled
    # each check keeps its own record; another context (sample size) reads everything again (and
    # its verdicts replace the others: one verdict per check and file)
    assert _read(REQUIRED(drop.con, CTX)) == (4, 0)
    assert _read(REQUIRED(drop.con, CTX)) == (0, 4)
    assert _read(SUITE(drop.con, dataclasses.replace(CTX, gx_sample_rows=41))) == (4, 0)


def test_other_code_reads_every_file_again(drop: Drop, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _read(REQUIRED(drop.con, CTX)) == (3, 0)
    assert _read(REQUIRED(drop.con, CTX)) == (0, 3)
    monkeypatch.setattr(checked_files, "code_fingerprint", lambda *packages: "an edited check")
    assert _read(REQUIRED(drop.con, CTX)) == (3, 0)


def test_the_record_is_run_state_and_not_published(drop: Drop, tmp_path: Path) -> None:
    assert SUITE(drop.con, CTX).passed
    recorded = drop.con.execute(f"SELECT count(*) FROM {checked_files.CHECKED_FILES}").fetchone()[0]
    assert recorded == 3
    publish_marts(drop.con, tmp_path / "published")
    assert not [t for t in published_tables(tmp_path / "published") if "checked" in t]


def test_a_bad_row_in_a_new_file_fails_as_on_the_whole_table_and_nothing_is_recorded(drop: Drop) -> None:
    unsampled = dataclasses.replace(CTX, gx_sample_rows=1000)
    assert SUITE(drop.con, unsampled).passed
    drop.write(3, _events(3, n=5, body_chars=-3))
    drop.register()
    by_file = SUITE(drop.con, unsampled)
    whole = gx_suites.run_suite(drop.con, unsampled, suite="events", table="raw.{source}_events")
    assert not by_file.passed and not whole.passed
    for outcome in (by_file, whole):
        assert "expect_column_values_to_be_between(body_chars): 5 unexpected, e.g. -3" in outcome.message
    assert _read(by_file) == (1, 3)
    assert _read(SUITE(drop.con, unsampled)) == (1, 3)  # the failing file is read again, and fails again


def test_a_failing_check_records_no_file_and_a_read_only_connection_records_nothing(drop: Drop,
                                                                                   tmp_path: Path) -> None:
    def failing(con: duckdb.DuckDBPyConnection, ctx: CheckContext, *, table: str, rows: str) -> CheckOutcome:
        n = con.execute(f"SELECT count(*) FROM {rows}").fetchone()[0]
        return CheckOutcome(False, f"{table}: {n} rows read", {})

    assert failing(drop.con, CTX, table="t", rows="raw.slack_events").message == "t: 90 rows read"
    outcome = checked_files.by_file(drop.con, CTX, check=failing, table="raw.{source}_events")
    assert outcome.message.startswith("raw.slack_events: 90 rows read") and _read(outcome) == (3, 0)
    assert _read(checked_files.by_file(drop.con, CTX, check=failing, table="raw.{source}_events")) == (3, 0)
    drop.con.close()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as ro:
        assert _read(SUITE(ro, CTX)) == (3, 0)
        assert _read(SUITE(ro, CTX)) == (3, 0)


def test_a_table_without_canonical_files_is_checked_whole(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schemas(con)
    con.execute(EVENTS.duckdb_ddl("raw.slack_events"))
    outcome = REQUIRED(con, CTX)
    assert outcome.passed and "files_checked" not in outcome.metadata
    assert REQUIRED(con, dataclasses.replace(CTX, source="zulip")).skipped  # raw.zulip_events is absent
