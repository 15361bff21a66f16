"""clean.hr_directory intervals (hires, leavers, transfers, rehires) and the as-of join of events."""

from __future__ import annotations

import datetime as dt
import logging
import re

import duckdb
import pytest

from tests.transforms.conftest import load_rows
from transforms.clean_events import build_clean_events
from transforms.contracts import EVENTS, HR_DIRECTORY, HR_SNAPSHOTS
from transforms.hr_history import build_events_hr, build_hr_directory
from transforms.identity import resolve_identities
from transforms.warehouse import MissingInputError, ensure_schemas
from transforms.weeks import data_weeks


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


EXTRACTS = ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]


def snap(date: str, emp: str, **kw) -> dict:
    row = {
        "snapshot_date": d(date), "employee_id": emp, "email": f"{emp.lower()}@northwind.example",
        "display_name": f"Person {emp}", "manager_id": "M1", "department": "Sales", "org_unit": "S1",
        "site": "HQ-PARIS", "country": "FR", "job_family": "sales", "level": 4, "hire_date": d("2019-03-01"),
    }
    row.update(kw)
    return row


def history() -> list[dict]:
    rows = []
    for date in EXTRACTS:
        rows.append(snap(date, "M1", manager_id=None, level=2))
        # stayer
        rows.append(snap(date, "E_STAY"))
        # transfer: S1 at HQ until the extract of 19 January, then S2 at the Lyon plant
        moved = date >= "2026-01-19"
        rows.append(snap(date, "E_MOVE", org_unit="S2" if moved else "S1", site="PLANT-LYON" if moved else "HQ-PARIS"))
        # hired on Thursday 8 January: first listed on the 12th
        if date >= "2026-01-12":
            rows.append(snap(date, "E_HIRE", hire_date=d("2026-01-08")))
        # leaves on 14 January: still listed on the 19th with its termination date, then gone
        if date <= "2026-01-12":
            rows.append(snap(date, "E_LEAVE"))
        elif date == "2026-01-19":
            rows.append(snap(date, "E_LEAVE", termination_date=d("2026-01-14")))
        # vanishes from the extracts after the 12th without any termination date
        if date <= "2026-01-12":
            rows.append(snap(date, "E_GONE"))
        # absent on the 12th, back on the 19th: two spells
        if date != "2026-01-12":
            rows.append(snap(date, "E_BACK", worker_type="FRONTLINE"))
    return rows


@pytest.fixture
def directory(con, load, make_settings):
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, history())
    settings = make_settings(worker_type={"field": "site", "values": {"PLANT-LYON": "frontline"}, "default": "office"})
    build_hr_directory(con, ["hr_csv", "hr_scim"], settings)
    return con


def intervals(con, emp: str, *, backfilled: bool = False) -> list[tuple]:
    """The employee's intervals from the extracts (with ``backfilled``: the back-filled ones too)."""
    return con.execute(
        "SELECT org_unit, site, worker_type, hire_date, termination_date, valid_from, valid_to "
        "FROM clean.hr_directory WHERE employee_id = ? AND (? OR NOT backfilled) ORDER BY valid_from",
        [emp, backfilled],
    ).fetchall()


def test_stayer_has_one_open_interval(directory):
    assert intervals(directory, "E_STAY") == [
        ("S1", "HQ-PARIS", "office", d("2019-03-01"), None, d("2026-01-05"), None)
    ]


def test_transfer_splits_at_the_extract_that_shows_it(directory):
    assert intervals(directory, "E_MOVE") == [
        ("S1", "HQ-PARIS", "office", d("2019-03-01"), None, d("2026-01-05"), d("2026-01-19")),
        # worker_type derived from the site mapping
        ("S2", "PLANT-LYON", "frontline", d("2019-03-01"), None, d("2026-01-19"), None),
    ]


def test_hire_between_extracts_starts_on_hire_date(directory):
    assert intervals(directory, "E_HIRE") == [
        ("S1", "HQ-PARIS", "office", d("2026-01-08"), None, d("2026-01-08"), None)
    ]


def test_leaver_ends_the_day_after_termination(directory):
    # the termination date is only known from the extract after the departure; it is carried back
    assert intervals(directory, "E_LEAVE") == [
        ("S1", "HQ-PARIS", "office", d("2019-03-01"), d("2026-01-14"), d("2026-01-05"), d("2026-01-15"))
    ]


def test_absent_from_later_extracts_ends_there(directory):
    assert intervals(directory, "E_GONE") == [
        ("S1", "HQ-PARIS", "office", d("2019-03-01"), None, d("2026-01-05"), d("2026-01-19"))
    ]


def test_gap_makes_two_spells_and_hr_worker_type_wins(directory):
    assert intervals(directory, "E_BACK") == [
        ("S1", "HQ-PARIS", "frontline", d("2019-03-01"), None, d("2026-01-05"), d("2026-01-12")),
        ("S1", "HQ-PARIS", "frontline", d("2019-03-01"), None, d("2026-01-19"), None),
    ]


def test_contract_columns_and_no_overlaps(directory):
    cols = [r[0] for r in directory.execute("DESCRIBE clean.hr_directory").fetchall()]
    assert cols == HR_DIRECTORY.names
    # 9 intervals from the extracts, and 6 back-filled before the first one (all but the new hire)
    assert directory.execute("SELECT count(*) FILTER (NOT backfilled), count(*) FILTER (backfilled) "
                             "FROM clean.hr_directory").fetchone() == (9, 6)
    overlaps = directory.execute(
        """SELECT count(*) FROM clean.hr_directory a JOIN clean.hr_directory b
           ON a.employee_id = b.employee_id AND a.valid_from < b.valid_from
          AND (a.valid_to IS NULL OR a.valid_to > b.valid_from)"""
    ).fetchone()
    assert overlaps == (0,)
    extracts = directory.execute("SELECT snapshot_date, rows_listed FROM clean.hr_extracts ORDER BY 1").fetchall()
    assert extracts == [(d("2026-01-05"), 6), (d("2026-01-12"), 6), (d("2026-01-19"), 6), (d("2026-01-26"), 5)]


def test_first_source_wins_on_the_same_day(con, load, make_settings):
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, [snap("2026-01-05", "E1", org_unit="FROM_CSV")])
    load("raw.hr_scim_hr_snapshots", HR_SNAPSHOTS, [snap("2026-01-05", "E1", org_unit="FROM_SCIM")])
    build_hr_directory(con, ["hr_scim", "hr_csv"], make_settings())
    assert con.execute("SELECT org_unit FROM clean.hr_directory WHERE NOT backfilled").fetchall() == [("FROM_SCIM",)]


def test_worker_type_mapping_values_with_quotes_are_matched_literally(con, load, make_settings):
    # the mapping is written into the SQL as literals: a quote in a site name must not end them
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, [
        snap("2026-01-05", "E1", site="O'HARE DEPOT"), snap("2026-01-05", "E2", site="HQ-PARIS"),
    ])
    settings = make_settings(worker_type={"field": "site", "values": {"O'HARE DEPOT": "frontline"},
                                          "default": "office"})
    build_hr_directory(con, ["hr_csv"], settings)
    assert con.execute("SELECT employee_id, worker_type FROM clean.hr_directory WHERE NOT backfilled "
                       "ORDER BY employee_id").fetchall() == [("E1", "frontline"), ("E2", "office")]


def test_event_gets_attributes_valid_at_its_local_date(directory, load, make_settings):
    con = directory
    def ev(eid: str, when: str) -> dict:
        return {"source": "slack", "event_id": eid, "occurred_at": dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC),
                "account_id": "U_MOVE", "account_email": "e_move@northwind.example", "action": "post",
                "is_automated": False}
    load("raw.slack_events", EVENTS, [
        ev("before", "2026-01-18 22:30"),   # Sunday 23:30 in Paris: still S1
        ev("after", "2026-01-18 23:30"),    # Monday 19 January 00:30 in Paris: S2 at the plant
        ev("early", "2025-12-01 10:00"),    # before the first extract: back-filled from the hire date
        ev("earliest", "2019-02-28 10:00"),  # before the hire date: no attributes
    ])
    settings = make_settings()
    build_clean_events(con, ["slack"], settings)
    resolve_identities(con, ["slack"], settings)
    build_events_hr(con)
    got = con.execute(
        "SELECT event_id, employee_id, org_unit, site, worker_type FROM clean.events_hr ORDER BY event_id"
    ).fetchall()
    assert got == [
        ("after", "E_MOVE", "S2", "PLANT-LYON", "frontline"),
        ("before", "E_MOVE", "S1", "HQ-PARIS", "office"),
        ("earliest", "E_MOVE", None, None, None),
        ("early", "E_MOVE", "S1", "HQ-PARIS", "office"),
    ]
    # the platform data starts before the first extract: the weeks start with it, here with the
    # week of the earliest HR interval (hired Friday 2019-03-01), which holds the earliest event
    assert data_weeks(con)[0] == d("2019-02-25") and data_weeks(con)[-1] == d("2026-01-26")


def test_missing_inputs_are_named(con):
    with pytest.raises(MissingInputError, match="clean.events does not exist"):
        build_events_hr(con)


def test_leaver_only_listed_after_leaving_gets_their_last_day(con, load, make_settings):
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, [
        snap("2026-01-05", "E_OLD", termination_date=d("2025-11-30")),
        snap("2026-01-12", "E_OLD", termination_date=d("2025-11-30")),
    ])
    build_hr_directory(con, ["hr_csv"], make_settings())
    assert intervals(con, "E_OLD") == [
        ("S1", "HQ-PARIS", "office", d("2019-03-01"), d("2025-11-30"), d("2025-11-30"), d("2025-12-01"))
    ]


def test_sources_form_one_sequence_and_missing_columns_carry_forward(con, load, make_settings):
    # weekly CSV extracts with level and hire date, then a SCIM export on a Sunday that has neither
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, [
        snap(x, e) for x in ("2026-01-05", "2026-01-12") for e in ("E1", "E2", "E3")
    ])
    load("raw.hr_scim_hr_snapshots", HR_SNAPSHOTS, [
        snap("2026-01-18", "E1", level=None, hire_date=None),
        # the SCIM export does carry manager_id: an explicit null is a change
        snap("2026-01-18", "E2", level=None, hire_date=None, manager_id=None),
        # E3 is not in the SCIM export: gone since 18 January
    ])
    build_hr_directory(con, ["hr_csv", "hr_scim"], make_settings())
    rows = con.execute(
        "SELECT employee_id, manager_id, level, hire_date, valid_from, valid_to FROM clean.hr_directory "
        "WHERE NOT backfilled ORDER BY employee_id, valid_from"
    ).fetchall()
    assert rows == [
        ("E1", "M1", 4, d("2019-03-01"), d("2026-01-05"), None),
        ("E2", "M1", 4, d("2019-03-01"), d("2026-01-05"), d("2026-01-18")),
        ("E2", None, 4, d("2019-03-01"), d("2026-01-18"), None),
        ("E3", "M1", 4, d("2019-03-01"), d("2026-01-05"), d("2026-01-18")),
    ]


def test_single_extract_back_fills_employment_from_hire_date(con, load, make_settings):
    """One extract taken today, a platform export going back a year: employment before the extract
    comes from hire_date, with the extract's attributes, flagged backfilled."""
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, [
        snap("2026-06-01", "E_OLD", hire_date=d("2019-03-01")),
        snap("2026-06-01", "E_NEW", hire_date=d("2026-02-16"), org_unit="S9"),
        snap("2026-06-01", "E_UNKNOWN", hire_date=None),       # no hire date: nothing assumed
        snap("2026-06-01", "E_TODAY", hire_date=d("2026-06-01")),  # hired on the extract's day
    ])
    build_hr_directory(con, ["hr_csv"], make_settings())
    rows = con.execute(
        "SELECT employee_id, org_unit, valid_from, valid_to, backfilled FROM clean.hr_directory "
        "ORDER BY employee_id, valid_from"
    ).fetchall()
    assert rows == [
        ("E_NEW", "S9", d("2026-02-16"), d("2026-06-01"), True),
        ("E_NEW", "S9", d("2026-06-01"), None, False),
        ("E_OLD", "S1", d("2019-03-01"), d("2026-06-01"), True),
        ("E_OLD", "S1", d("2026-06-01"), None, False),
        ("E_TODAY", "S1", d("2026-06-01"), None, False),
        ("E_UNKNOWN", "S1", d("2026-06-01"), None, False),
    ]


def test_later_extracts_are_not_back_filled(directory):
    """Only the first extract is back-filled: a rehire or a hire seen later keeps its own start."""
    assert intervals(directory, "E_BACK", backfilled=True)[0][5:] == (d("2019-03-01"), d("2026-01-05"))
    assert intervals(directory, "E_HIRE", backfilled=True) == intervals(directory, "E_HIRE")
    assert directory.execute(
        "SELECT count(*) FROM clean.hr_directory WHERE backfilled AND valid_to <> DATE '2026-01-05'"
    ).fetchone() == (0,)


def _directory_state(con) -> tuple[list[tuple], list[tuple]]:
    return (con.execute("SELECT * FROM clean.hr_directory ORDER BY ALL").fetchall(),
            con.execute("SELECT * FROM clean.hr_extracts ORDER BY ALL").fetchall())


def _full_build(rows: list[dict], settings, scim: list[dict] = ()) -> tuple[list[tuple], list[tuple]]:
    fresh = duckdb.connect(":memory:")
    ensure_schemas(fresh)
    load_rows(fresh, "raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, rows)
    load_rows(fresh, "raw.hr_scim_hr_snapshots", HR_SNAPSHOTS, list(scim))
    build_hr_directory(fresh, ["hr_csv", "hr_scim"], settings)
    try:
        return _directory_state(fresh)
    finally:
        fresh.close()


def test_each_new_extract_moves_only_its_employees_and_gives_the_full_build(con, load, make_settings, caplog):
    """Extract by extract through hires, a transfer, a leaver listed after leaving, one who vanishes
    and one who comes back: the weekly path equals a full build every week."""
    settings = make_settings(worker_type={"field": "site", "values": {"PLANT-LYON": "frontline"}, "default": "office"})
    extra = [snap(x, "E_LATE_LEAVER", termination_date=d("2026-02-20")) for x in EXTRACTS]  # known in advance
    rows = history() + extra
    moved = []
    for i, date in enumerate(EXTRACTS):
        load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, [r for r in rows if r["snapshot_date"] == d(date)])
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="transforms.hr_history"):
            build_hr_directory(con, ["hr_csv"], settings)
        if i:
            moved.append(int(re.search(r"added; (\d+) employee", caplog.text).group(1)))
        assert _directory_state(con) == _full_build([r for r in rows if r["snapshot_date"] <= d(date)], settings)
    # 12 Jan: E_HIRE listed, E_BACK absent, E_LATE_LEAVER (termination known); 19 Jan: E_MOVE moved,
    # E_LEAVE's termination, E_GONE gone, E_BACK back, E_LATE_LEAVER; 26 Jan: E_LEAVE gone, E_LATE_LEAVER
    assert moved == [3, 5, 2]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="transforms.hr_history"):
        build_hr_directory(con, ["hr_csv"], settings)
    assert "no HR extract changed" in caplog.text


@pytest.mark.parametrize("change", ["extract in between", "old extract altered", "settings", "second source"])
def test_anything_but_a_later_extract_rebuilds_every_employee(con, load, make_settings, caplog, change):
    settings = make_settings()
    rows = [r for r in history() if r["snapshot_date"] != d("2026-01-19")]
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, rows)
    build_hr_directory(con, ["hr_csv"], settings)
    if change == "extract in between":
        late = [r for r in history() if r["snapshot_date"] == d("2026-01-19")]
        load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, late)
        rows += late
    elif change == "old extract altered":
        con.execute("UPDATE raw.hr_csv_hr_snapshots SET department = 'Finance' "
                    "WHERE employee_id = 'E_STAY' AND snapshot_date = DATE '2026-01-05'")
        rows = [{**r, "department": "Finance"} if r["employee_id"] == "E_STAY" and r["snapshot_date"] == d("2026-01-05")
                else r for r in rows]
    elif change == "settings":
        settings = make_settings(worker_type={"field": "site", "values": {"HQ-PARIS": "frontline"}, "default": "office"})
    scim = [snap("2026-02-01", "E_STAY", level=None)] if change == "second source" else []
    load("raw.hr_scim_hr_snapshots", HR_SNAPSHOTS, scim)  # an SCIM export without level: carried forward
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="transforms.hr_history"):
        build_hr_directory(con, ["hr_csv", "hr_scim"], settings)
    assert "added" not in caplog.text and "no HR extract changed" not in caplog.text
    assert _directory_state(con) == _full_build(rows, settings, scim)
