"""clean.activity_counts built from the new counter files only, against a full build of the same rows."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pytest

from tests.transforms.conftest import load_rows
from transforms.clean_activity_counts import FILES_TABLE, FRONTIER_TABLE
from transforms.clean_events import build_clean_events
from transforms.contracts import ACCOUNTS, ACTIVITY_COUNTS
from transforms.warehouse import ensure_schemas

RAW = "raw.m365_usage_activity_counts"


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def week_file(monday: str, accounts: tuple[str, ...] = ("a", "b", "c"), *, extra: list[dict] | None = None) -> list[dict]:
    """One weekly D7 report: a post count per account, plus ``extra`` rows in the same file."""
    start = d(monday)
    rows = [{"account_id": acc, "period_start": start, "period_end": start + dt.timedelta(days=6), "action": "post",
             "count": i + len(monday) % 3, "source_file": f"week={monday}.csv"} for i, acc in enumerate(accounts)]
    return rows + [{**r, "source_file": f"week={monday}.csv"} for r in extra or []]


def row(account: str, start: str, end: str, n: int, action: str = "post") -> dict:
    return {"account_id": account, "period_start": d(start), "period_end": d(end), "action": action, "count": n}


def state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        "counts": con.execute("SELECT * FROM clean.activity_counts ORDER BY ALL").fetchall(),
        "conservation": con.execute("SELECT * FROM quality.event_conservation ORDER BY ALL").fetchall(),
        "rejects": con.execute("SELECT contract, file, locator, reason, source, excerpt FROM quality.rejects "
                               "WHERE contract = 'clean.activity_counts' ORDER BY ALL").fetchall(),
        "files": con.execute(f"SELECT * FROM {FILES_TABLE} ORDER BY ALL").fetchall(),
        "frontier": con.execute(f"SELECT * FROM {FRONTIER_TABLE} ORDER BY ALL").fetchall(),
    }


def full_build(rows: list[dict], settings, automated: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    con = duckdb.connect(":memory:")
    ensure_schemas(con)
    load_rows(con, RAW, ACTIVITY_COUNTS, [{"source": "m365_usage", **r} for r in rows])
    load_rows(con, "raw.m365_usage_accounts", ACCOUNTS,
              [{"source": "m365_usage", "account_id": a, "is_automated": True, "is_deleted": False} for a in automated])
    build_clean_events(con, ["m365_usage"], settings)
    try:
        return state(con)
    finally:
        con.close()


@pytest.fixture
def weekly(con, make_settings, caplog):
    """Load rows into the raw counters, build, and say how the counters were built."""
    settings = make_settings()
    con.execute(ACCOUNTS.duckdb_ddl("raw.m365_usage_accounts"))

    def _run(rows: list[dict]) -> str:
        load_rows(con, RAW, ACTIVITY_COUNTS, [{"source": "m365_usage", **r} for r in rows])
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="transforms.clean_activity_counts"):
            build_clean_events(con, ["m365_usage"], settings)
        text = caplog.text
        return ("unchanged" if "no counter file changed" in text else
                "new files" if "new counter file(s) added" in text else "full")

    return _run


def everything(con) -> list[dict]:
    return [dict(zip(ACTIVITY_COUNTS.names, r, strict=True))
            for r in con.execute(f"SELECT {', '.join(ACTIVITY_COUNTS.names)} FROM {RAW}").fetchall()]


def test_a_new_weekly_file_is_added_alone_and_gives_the_full_build(con, weekly, make_settings):
    assert weekly(week_file("2026-01-05") + week_file("2026-01-12")) == "full"
    # the new week: rolling reports that overlap each other, a duplicate, a reject, a new account, a D30
    extra = [row("a", "2026-01-20", "2026-01-26", 4), row("a", "2026-01-19", "2026-01-25", 9),
             row("b", "2026-01-19", "2026-01-25", -2), row("new", "2026-01-19", "2026-02-17", 31, "react")]
    assert weekly(week_file("2026-01-19", extra=extra)) == "new files"
    assert state(con) == full_build(everything(con), make_settings())
    counts = dict(con.execute("SELECT account_id || '/' || period_start, sum(count) FROM clean.activity_counts "
                              "WHERE period_start >= '2026-01-19' GROUP BY ALL").fetchall())
    assert counts["a/2026-01-19"] == 9 and "a/2026-01-20" not in counts  # the earliest end wins the overlap
    assert counts["new/2026-01-19"] == 31                                 # spread over five weeks, summed whole
    row_ = con.execute("SELECT rows_in, kept, rejected, filtered_duplicate, filtered_overlap, balanced "
                       "FROM quality.event_conservation").fetchone()
    assert row_ == (13, 10, 1, 1, 1, True)


def test_a_rerun_reads_nothing_new(con, weekly, make_settings):
    weekly(week_file("2026-01-05"))
    before = state(con)
    assert weekly([]) == "unchanged"
    assert state(con) == before


def test_a_late_report_for_an_earlier_week_rebuilds_everything(con, weekly, make_settings):
    weekly(week_file("2026-01-05") + week_file("2026-01-12"))
    late = [{**row("a", "2026-01-01", "2026-01-30", 40), "source_file": "late_d30.csv"}]
    assert weekly(late) == "full"
    assert state(con) == full_build(everything(con), make_settings())
    # the D30 report overlaps the weekly ones of account a: the finer periods are kept
    assert con.execute("SELECT filtered_overlap FROM quality.event_conservation").fetchone() == (1,)


def test_a_new_copy_of_an_old_period_rebuilds_everything(con, weekly, make_settings):
    weekly(week_file("2026-01-05"))
    copy = [{**r, "source_file": "zz_again.csv"} for r in week_file("2026-01-05")]
    assert weekly(copy) == "full"
    full = full_build(everything(con), make_settings())
    assert state(con) == full
    files = {r[0] for r in con.execute("SELECT DISTINCT source_file FROM clean.activity_counts").fetchall()}
    assert files == {"zz_again.csv"}  # the copy from the last file is the one kept


def test_an_old_file_delivered_again_with_other_rows_rebuilds_everything(con, weekly, make_settings):
    weekly(week_file("2026-01-05") + week_file("2026-01-12"))
    con.execute(f"UPDATE {RAW} SET count = count + 100 WHERE source_file = 'week=2026-01-05.csv' AND account_id = 'b'")
    assert weekly(week_file("2026-01-19")) == "full"
    assert state(con) == full_build(everything(con), make_settings())


def test_an_account_newly_flagged_automated_rebuilds_everything(con, weekly, make_settings):
    weekly(week_file("2026-01-05"))
    load_rows(con, "raw.m365_usage_accounts", ACCOUNTS,
              [{"source": "m365_usage", "account_id": "c", "is_automated": True, "is_deleted": False}])
    assert weekly(week_file("2026-01-12")) == "full"
    assert state(con) == full_build(everything(con), make_settings(), automated=("c",))
    assert con.execute("SELECT count(*) FROM clean.activity_counts WHERE account_id = 'c'").fetchone() == (0,)


def test_rejects_of_earlier_files_survive_a_weekly_run(con, weekly, make_settings):
    weekly(week_file("2026-01-05", extra=[row(" ", "2026-01-05", "2026-01-11", 1)]))
    assert weekly(week_file("2026-01-12", extra=[row("a", "2026-01-18", "2026-01-12", 1)])) == "new files"
    reasons = [r[0] for r in con.execute("SELECT reason FROM quality.rejects ORDER BY file").fetchall()]
    assert reasons == ["account_id: required, found blank", "period_end: before period_start"]
    assert state(con) == full_build(everything(con), make_settings())


def test_a_source_added_later_rebuilds_everything(con, weekly, make_settings, caplog):
    weekly(week_file("2026-01-05"))
    load_rows(con, "raw.viva_insights_activity_counts", ACTIVITY_COUNTS,
              [{"source": "viva_insights", **r} for r in week_file("2026-01-05")])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="transforms.clean_activity_counts"):
        build_clean_events(con, ["m365_usage", "viva_insights"], make_settings())
    assert "new counter file(s) added" not in caplog.text and "no counter file changed" not in caplog.text
    sources = con.execute("SELECT source, count(*) FROM clean.activity_counts GROUP BY ALL ORDER BY 1").fetchall()
    assert sources == [("m365_usage", 3), ("viva_insights", 3)]
    assert con.execute("SELECT count(DISTINCT built_with) FROM clean.activity_count_files").fetchone() == (1,)
