"""Eligibility from the HR directory: employment, scope, site launch, eligible_from, direct reports."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from transforms.clean_events import build_clean_events
from transforms.contracts import HR_SNAPSHOTS
from transforms.eligibility import build_employee_weeks
from transforms.hr_history import build_hr_directory


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


EXTRACTS = ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-02"]
WEEKS = [d(x) for x in EXTRACTS]  # the extracts are Mondays


def snap(date: str, emp: str, **kw) -> dict:
    row = {"snapshot_date": d(date), "employee_id": emp, "manager_id": "F", "site": "HQ-PARIS", "country": "FR",
           "hire_date": d("2019-01-01")}
    row.update(kw)
    return row


def launch_history() -> list[dict]:
    rows = []
    for x in EXTRACTS:
        rows.append(snap(x, "A"))
        rows.append(snap(x, "B", site="PLANT-LYON"))
        rows.append(snap(x, "C", site="PLANT-LYON" if x < "2026-01-12" else "HQ-PARIS"))
        if x >= "2026-02-02":
            rows.append(snap(x, "D", hire_date=d("2026-01-28")))
        if x <= "2026-01-12":
            rows.append(snap(x, "E"))
        elif x == "2026-01-19":
            rows.append(snap(x, "E", termination_date=d("2026-01-13")))
        rows.append(snap(x, "F", manager_id=None))
    return rows


def build(con, load, settings, rows) -> None:
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, rows)
    build_hr_directory(con, ["hr_csv"], settings)
    build_clean_events(con, [], settings)
    build_employee_weeks(con, settings)


@pytest.fixture
def launched(con, load, make_settings):
    # Lyon gets the platform on Wednesday 21 January
    settings = make_settings(site_launch={"PLANT-LYON": d("2026-01-21")})
    build(con, load, settings, launch_history())
    return con, settings


def eligible_by_week(con) -> dict[dt.date, list[str]]:
    rows = con.execute(
        "SELECT week_start, list(employee_id ORDER BY employee_id) FROM clean.employee_week "
        "WHERE is_eligible GROUP BY ALL ORDER BY 1"
    ).fetchall()
    return dict(rows)


def test_eligible_headcount_by_week(launched):
    con, _ = launched
    assert eligible_by_week(con) == {
        d("2026-01-05"): ["A", "E", "F"],             # Lyon not launched (B, C); D not hired
        d("2026-01-12"): ["A", "C", "E", "F"],        # C moved to Paris; E leaves Tuesday 13th
        d("2026-01-19"): ["A", "B", "C", "F"],        # Lyon launches Wednesday 21st
        d("2026-01-26"): ["A", "B", "C", "D", "F"],   # D hired Wednesday 28th
        d("2026-02-02"): ["A", "B", "C", "D", "F"],
    }


def test_eligible_from_per_person(launched):
    con, _ = launched
    got = dict(con.execute("SELECT DISTINCT employee_id, eligible_from FROM clean.employee_week").fetchall())
    assert got == {
        "A": d("2026-01-05"), "B": d("2026-01-21"), "C": d("2026-01-12"), "D": d("2026-01-28"),
        "E": d("2026-01-05"), "F": d("2026-01-05"),
    }


def test_not_eligible_rows_say_why(launched):
    con, _ = launched
    got = con.execute(
        "SELECT employee_id, in_scope, platform_available FROM clean.employee_week "
        "WHERE week_start = DATE '2026-01-05' AND NOT is_eligible ORDER BY 1"
    ).fetchall()
    assert got == [("B", True, False), ("C", True, False)]


def test_direct_reports_count_employed_not_only_eligible(launched):
    con, _ = launched
    got = con.execute(
        "SELECT week_start, direct_reports FROM clean.employee_week WHERE employee_id = 'F' ORDER BY 1"
    ).fetchall()
    assert [n for _, n in got] == [4, 4, 3, 4, 4]  # A B C E, A B C E, A B C, A B C D, A B C D


def test_scope_by_country_and_worker_type(con, load, make_settings):
    settings = make_settings(scope={"countries": ["fr"], "worker_types": ["office"]},
                             worker_type={"field": "site", "values": {"PLANT-LYON": "frontline"}})
    rows = [
        snap("2026-01-05", "G"),
        snap("2026-01-05", "H", country="DE"),
        snap("2026-01-05", "I", site="PLANT-LYON"),
        snap("2026-01-05", "J", country=None),
    ]
    build(con, load, settings, rows)
    assert eligible_by_week(con) == {d("2026-01-05"): ["G"]}
    assert con.execute("SELECT count(*) FROM clean.employee_week WHERE in_scope").fetchone() == (1,)


def test_incremental_weeks_equal_full_build(launched):
    con, settings = launched
    full = con.execute("SELECT * FROM clean.employee_week ORDER BY week_start, employee_id").fetchall()
    con.execute("DELETE FROM clean.employee_week WHERE week_start >= DATE '2026-01-19'")
    build_employee_weeks(con, settings, weeks=["2026-W04", d("2026-01-26"), d("2026-02-02")])
    again = con.execute("SELECT * FROM clean.employee_week ORDER BY week_start, employee_id").fetchall()
    assert again == full
    with pytest.raises(ValueError, match="expected the Monday"):
        build_employee_weeks(con, settings, weeks=[d("2026-01-27")])


def test_one_extract_taken_today_makes_the_platform_history_eligible(con, load, make_settings):
    """A single HR extract dated after a year of platform activity: people hired before it are
    eligible in the earlier weeks (back-filled from hire_date and flagged), others from their hire."""
    from transforms.contracts import EVENTS

    settings = make_settings(platform_launch=d("2025-06-02"))
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, [
        snap("2026-06-01", "OLD", hire_date=d("2019-01-01")),
        snap("2026-06-01", "NEW", hire_date=d("2026-03-04")),  # a Wednesday
        snap("2026-06-01", "NO_HIRE_DATE", hire_date=None),
    ])
    load("raw.slack_events", EVENTS, [
        {"source": "slack", "event_id": "m1", "occurred_at": dt.datetime(2025, 6, 3, 9, tzinfo=dt.UTC),
         "account_id": "U1", "action": "post", "is_automated": False},
    ])
    build_hr_directory(con, ["hr_csv"], settings)
    build_clean_events(con, ["slack"], settings)
    build_employee_weeks(con, settings)
    weeks = eligible_by_week(con)
    assert min(weeks) == d("2025-06-02")  # the weeks start with the platform data, not the extract
    assert weeks[d("2025-06-02")] == ["OLD"]
    assert weeks[d("2026-03-02")] == ["NEW", "OLD"]  # NEW from the week of their hire
    assert weeks[d("2026-06-01")] == ["NEW", "NO_HIRE_DATE", "OLD"]
    backfilled = con.execute(
        "SELECT employee_id, count(*), min(week_start), max(week_start) FROM clean.employee_week "
        "WHERE hr_backfilled GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert backfilled == [
        ("NEW", 13, d("2026-03-02"), d("2026-05-25")),
        ("OLD", 52, d("2025-06-02"), d("2026-05-25")),
    ]


def test_a_rebuild_of_every_week_writes_only_the_weeks_that_changed(con, load, make_settings, caplog):
    settings = make_settings(site_launch={"PLANT-LYON": d("2026-01-21")})
    first = [r for r in launch_history() if r["snapshot_date"] < d("2026-02-02")]
    build(con, load, settings, first)
    # one more extract: D is hired, and C moves to Lyon in it
    new = [r for r in launch_history() if r["snapshot_date"] == d("2026-02-02")]
    new = [{**r, "site": "PLANT-LYON"} if r["employee_id"] == "C" else r for r in new]
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, new)
    build_hr_directory(con, ["hr_csv"], settings)
    con.execute("UPDATE clean.employee_week SET level = 99 WHERE week_start = DATE '2026-01-05'")
    with caplog.at_level(logging.INFO, logger="transforms.eligibility"):
        build_employee_weeks(con, settings)
    # the new week, the week of D's hire (Wednesday 28 January, known from the new extract) and the
    # week whose stored row was altered; the weeks of 12 and 19 January are left as they were
    assert "3 of 5 week(s) changed" in caplog.text
    got = con.execute("SELECT * FROM clean.employee_week ORDER BY week_start, employee_id").fetchall()
    con.execute("DROP TABLE clean.employee_week")
    build_employee_weeks(con, settings)
    assert got == con.execute("SELECT * FROM clean.employee_week ORDER BY week_start, employee_id").fetchall()
    assert ("C", "PLANT-LYON") in con.execute(
        "SELECT employee_id, site FROM clean.employee_week WHERE week_start = DATE '2026-02-02'").fetchall()
