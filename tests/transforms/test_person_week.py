"""marts.person_week on HR denominators: rows, actions, pilots, keys, privacy, incremental builds.

A hand-built organisation of seven people over five ISO weeks (Paris time), with the answers
written out below.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from transforms.clean_events import build_clean_events
from transforms.contracts import ACCOUNTS, ACTIVITY_COUNTS, EVENTS, HR_SNAPSHOTS, PERSON_WEEK
from transforms.contracts.config import Pilots
from transforms.eligibility import EMPLOYEE_WEEK_TABLE, build_employee_weeks
from transforms.hr_history import build_hr_directory
from transforms.identity import resolve_identities
from transforms.person_week import build_person_week, refresh_person_week, weeks_to_rebuild
from transforms.pseudonym import person_key
from transforms.warehouse import MissingInputError, ensure_schemas

SECRET = b"test-secret-for-person-week-0001"
EXTRACTS = ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-02"]
W = {i + 1: dt.date.fromisoformat(x) for i, x in enumerate(EXTRACTS)}  # W[1] .. W[5], Mondays


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def utc(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC)


def key(emp: str) -> str:
    return person_key(emp, SECRET)


HIRES = {"M": "2015-06-01", "A": "2019-01-01", "B": "2024-06-01", "C": "2016-01-01", "D": "2022-01-01",
         "E": "2020-01-01", "F": "2026-01-28"}


def hr_rows() -> list[dict]:
    rows = []
    for x in EXTRACTS:
        def snap(emp: str, **kw) -> dict:
            row = {"snapshot_date": d(x), "employee_id": emp, "email": f"{emp.lower()}@northwind.example",
                   "display_name": f"Name Of {emp}", "manager_id": "M", "department": "Sales", "org_unit": "S1",
                   "site": "HQ-PARIS", "country": "FR", "level": 3, "hire_date": d(HIRES[emp])}
            row.update(kw)
            return row
        rows.append(snap("M", manager_id=None, level=2))
        rows.append(snap("A"))
        rows.append(snap("B", org_unit="S2" if x >= "2026-01-19" else "S1"))   # transfer seen on the 19th
        rows.append(snap("C", org_unit="S2"))
        rows.append(snap("D", site="PLANT-LYON", org_unit="L1"))               # Lyon launches Wed 21 Jan
        if x <= "2026-01-12":
            rows.append(snap("E"))
        elif x == "2026-01-19":
            rows.append(snap("E", termination_date=d("2026-01-13")))           # left Tuesday 13 Jan
        if x >= "2026-02-02":
            rows.append(snap("F"))                                             # hired Wed 28 Jan
    return rows


def ev(eid: str, when: str, account: str, action: str, automated: bool = False) -> dict:
    return {"source": "slack", "event_id": eid, "occurred_at": utc(when), "account_id": account,
            "action": action, "space_id": "C1", "content_id": eid, "is_automated": automated}


EVENTS_ROWS = [
    ev("1", "2026-01-06 10:00", "UA", "post"),      # A, week 1
    ev("2", "2026-01-13 10:00", "UA", "react"),     # A, week 2
    ev("3", "2026-01-13 11:00", "UA", "read"),
    ev("4", "2026-01-14 11:00", "UA", "read"),
    ev("5", "2026-01-25 23:30", "UA", "post"),      # Monday 26 Jan 00:30 in Paris: week 4
    ev("6", "2026-01-20 10:00", "UB", "react"),     # B, week 3
    ev("7", "2026-01-13 10:00", "UD", "post"),      # D, week 2, before Lyon's launch
    ev("8", "2026-01-06 10:00", "UM", "join"),      # M joins a channel: no activity tier
    ev("9", "2026-01-20 10:00", "UE", "post"),      # E, after leaving
    ev("10", "2026-01-07 10:00", "BOT", "post", automated=True),
]
ACCOUNT_ROWS = [
    {"source": "slack", "account_id": f"U{e}", "account_email": f"{e.lower()}@northwind.example",
     "display_name": f"Name Of {e}", "is_automated": False, "is_deleted": False}
    for e in ("M", "A", "B", "D", "E")
]
COUNTER_ROWS = [  # B's reads from the M365 usage report, week 2 (a D7 period Mon..Sun)
    {"source": "m365_usage", "account_id": "b@northwind.example", "account_email": "b@northwind.example",
     "period_start": d("2026-01-12"), "period_end": d("2026-01-18"), "action": "read", "count": 5},
]
PILOTS = Pilots(cohorts=[
    {"name": "wave-1", "wave": 1, "start": d("2026-01-12"), "end": d("2026-01-25"), "support_level": "high",
     "selectors": [{"org_unit": "S1"}]},
    {"name": "wave-2", "wave": 2, "start": d("2026-01-26"), "employee_ids": ["C", "A", "NOT-IN-HR"]},
])
SOURCES = ["slack", "m365_usage"]


def prepare(con, load, settings, events=EVENTS_ROWS) -> None:
    load("raw.hr_csv_hr_snapshots", HR_SNAPSHOTS, hr_rows())
    load("raw.slack_events", EVENTS, events)
    load("raw.slack_accounts", ACCOUNTS, ACCOUNT_ROWS)
    load("raw.m365_usage_activity_counts", ACTIVITY_COUNTS, COUNTER_ROWS)
    refresh(con, settings)


def refresh(con, settings) -> None:
    build_hr_directory(con, ["hr_csv"], settings)
    build_clean_events(con, SOURCES, settings)
    resolve_identities(con, SOURCES, settings)


@pytest.fixture(scope="module")
def settings(make_settings):
    return make_settings(site_launch={"PLANT-LYON": d("2026-01-21")})


@pytest.fixture(scope="module")
def built(settings, rows_loader):
    """Built once for the read-only tests of this module."""
    con = duckdb.connect(":memory:")
    ensure_schemas(con)
    prepare(con, lambda table, contract, rows: rows_loader(con, table, contract, rows), settings)
    build_person_week(con, settings, PILOTS, SECRET)
    yield con
    con.close()


def rows_of(con, emp: str, *cols: str) -> list[tuple]:
    return con.execute(
        f"SELECT week_start, {', '.join(cols)} FROM marts.person_week WHERE person_key = ? ORDER BY week_start",
        [key(emp)],
    ).fetchall()


def test_one_row_per_eligible_person_week(built):
    per_week = dict(built.execute(
        "SELECT week_start, count(*) FROM marts.person_week GROUP BY ALL ORDER BY 1").fetchall())
    # week 1-2: M A B C E (D's site not launched); 3: M A B C D (E left); 4-5: + F (hired 28 Jan)
    assert per_week == {W[1]: 5, W[2]: 5, W[3]: 5, W[4]: 6, W[5]: 6}
    assert sum(per_week.values()) == built.execute("SELECT count(*) FROM marts.person_week").fetchone()[0] == 27
    assert built.execute(
        "SELECT count(*) FROM (SELECT person_key, week_start FROM marts.person_week GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone() == (0,)


def test_exact_contract_columns(built):
    described = built.execute("DESCRIBE marts.person_week").fetchall()
    assert [r[0] for r in described] == PERSON_WEEK.names
    types = {r[0]: r[1] for r in described}
    assert types["level"] == "SMALLINT" and types["direct_reports"] == "INTEGER" and types["week_start"] == "DATE"


def test_zero_activity_and_accountless_people_are_present(built):
    assert rows_of(built, "C", "has_account", "actions_total", "is_active") == [
        (W[i], False, 0, False) for i in range(1, 6)
    ]
    # M only joined a channel: an account, no activity
    assert rows_of(built, "M", "has_account", "actions_total")[0] == (W[1], True, 0)


def test_actions_per_tier_from_events_and_counters(built):
    assert rows_of(built, "A", "actions_passive", "actions_reaction", "actions_contribution", "actions_total",
                   "is_active", "is_engaged", "is_contributor") == [
        (W[1], 0, 0, 1, 1, True, True, True),
        (W[2], 2, 1, 0, 3, True, True, False),
        (W[3], 0, 0, 0, 0, False, False, False),
        (W[4], 0, 0, 1, 1, True, True, True),     # the Sunday-night-UTC post is Monday in Paris
        (W[5], 0, 0, 0, 0, False, False, False),
    ]
    assert rows_of(built, "B", "actions_passive", "actions_reaction", "is_active", "is_engaged")[:3] == [
        (W[1], 0, 0, False, False),
        (W[2], 5, 0, True, False),                 # M365 counters
        (W[3], 0, 1, True, True),
    ]
    per_source = built.execute(
        "SELECT person_key, week_start, source, tier, actions FROM marts.person_week_source ORDER BY ALL"
    ).fetchall()
    assert sorted(per_source) == sorted([
        (key("A"), W[1], "slack", "contribution", 1),
        (key("A"), W[2], "slack", "passive", 2),
        (key("A"), W[2], "slack", "reaction", 1),
        (key("A"), W[4], "slack", "contribution", 1),
        (key("B"), W[2], "m365_usage", "passive", 5),
        (key("B"), W[3], "slack", "reaction", 1),
    ])
    total = built.execute("SELECT sum(actions_total) FROM marts.person_week").fetchone()[0]
    assert total == sum(r[4] for r in per_source) == 11


def test_first_active_week_is_over_all_data(built):
    # D was active in week 2 while not yet eligible; E's only post came after leaving
    assert rows_of(built, "D", "first_active_week") == [(W[i], W[2]) for i in range(3, 6)]
    assert rows_of(built, "E", "first_active_week") == [(W[1], W[3]), (W[2], W[3])]
    assert rows_of(built, "C", "first_active_week")[0] == (W[1], None)


def test_hr_attributes_of_the_week_and_managers(built):
    assert rows_of(built, "B", "org_unit", "tenure_band", "manager_key") == [
        (W[1], "S1", "1-3y", key("M")), (W[2], "S1", "1-3y", key("M")), (W[3], "S2", "1-3y", key("M")),
        (W[4], "S2", "1-3y", key("M")), (W[5], "S2", "1-3y", key("M")),
    ]
    bands = dict(built.execute(
        "SELECT person_key, tenure_band FROM marts.person_week WHERE week_start = ?", [W[5]]).fetchall())
    assert bands == {key("M"): "10y+", key("A"): "5-10y", key("B"): "1-3y", key("C"): "10y+",
                     key("D"): "3-5y", key("F"): "<1y"}
    # M manages everyone employed that week, eligible or not (D before Lyon's launch, E until leaving)
    assert rows_of(built, "M", "is_manager", "direct_reports", "manager_key") == [
        (W[1], True, 5, None), (W[2], True, 5, None), (W[3], True, 4, None), (W[4], True, 5, None),
        (W[5], True, 5, None),
    ]
    assert rows_of(built, "A", "is_manager", "direct_reports")[0] == (W[1], False, 0)
    assert rows_of(built, "D", "eligible_from")[0] == (W[3], d("2026-01-21"))


def test_pilot_assignment_is_intent_to_treat(built):
    cohorts = dict(built.execute(
        "SELECT DISTINCT person_key, pilot_cohort FROM marts.person_week").fetchall())
    # wave-1 = org unit S1 on 12 January: M, A, B (moves to S2 later, stays assigned), E (leaves the
    # next day); A is also listed in wave-2 but keeps the earlier wave; C is in wave-2 by id
    assert cohorts == {key("M"): "wave-1", key("A"): "wave-1", key("B"): "wave-1", key("E"): "wave-1",
                       key("C"): "wave-2", key("D"): None, key("F"): None}
    assert rows_of(built, "A", "pilot_status", "pilot_wave", "pilot_start_week", "pilot_support_level") == [
        (W[1], "pre", 1, W[2], "high"), (W[2], "during", 1, W[2], "high"), (W[3], "during", 1, W[2], "high"),
        (W[4], "after", 1, W[2], "high"), (W[5], "after", 1, W[2], "high"),
    ]
    assert [s for _, s in rows_of(built, "C", "pilot_status")] == ["pre", "pre", "pre", "during", "during"]
    assert [s for _, s in rows_of(built, "D", "pilot_status")] == [None, None, None]


def test_no_identifying_values_anywhere_in_marts(built):
    identifying = set()
    for emp in HIRES:
        identifying |= {emp, f"{emp.lower()}@northwind.example", f"Name Of {emp}"}
    identifying |= {"UA", "UB", "UD", "UE", "UM", "b@northwind.example"}
    tables = [r[0] for r in built.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
    assert sorted(tables) == ["person_week", "person_week_source"]
    scanned = 0
    for table in tables:
        cols = built.execute(f"DESCRIBE marts.{table}").fetchall()
        names = {c[0] for c in cols}
        assert not names & {"employee_id", "email", "display_name", "account_id", "account_email", "manager_id",
                            "text", "body", "message"}
        for col, _type, *_ in cols:
            values = {v for (v,) in built.execute(f'SELECT DISTINCT CAST("{col}" AS VARCHAR) FROM marts.{table}').fetchall()
                      if v is not None}
            scanned += len(values)
            assert not values & identifying, (table, col)
            assert not any("@" in v or "Name Of" in v for v in values), (table, col)
    assert scanned > 50


def new_export(con, load, settings) -> None:
    """A new export brings C's first activity in week 5 and a late event of A in week 2."""
    load("raw.slack_events", EVENTS, [
        ev("11", "2026-02-03 10:00", "UC", "post"),
        ev("12", "2026-01-15 10:00", "UA", "share"),
    ])
    load("raw.slack_accounts", ACCOUNTS, [
        {"source": "slack", "account_id": "UC", "account_email": "c@northwind.example", "is_automated": False,
         "is_deleted": False},
    ])
    refresh(con, settings)


@pytest.mark.parametrize("from_table", [False, True], ids=["staged", "employee_week_table"])
def test_incremental_build_equals_full_build(con, load, settings, from_table):
    """Also when the employee-weeks are read from ``clean.employee_week`` (as the pipeline does)."""
    def employee_weeks() -> dict:
        if not from_table:
            return {}
        build_employee_weeks(con, settings)
        return {"employee_weeks": EMPLOYEE_WEEK_TABLE}

    prepare(con, load, settings)
    build_person_week(con, settings, PILOTS, SECRET, **employee_weeks())
    assert weeks_to_rebuild(con, settings, PILOTS, SECRET, **employee_weeks()) == []
    new_export(con, load, settings)
    changed = weeks_to_rebuild(con, settings, PILOTS, SECRET, **employee_weeks())
    assert changed == [W[2], W[5]]
    build_person_week(con, settings, PILOTS, SECRET, weeks=changed, **employee_weeks())
    incremental = {t: con.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall()
                   for t in ("person_week", "person_week_source")}
    # C's person-level columns changed in the weeks that were not rebuilt too
    assert rows_of(con, "C", "has_account", "first_active_week")[0] == (W[1], True, W[5])
    assert weeks_to_rebuild(con, settings, PILOTS, SECRET) == []
    build_person_week(con, settings, PILOTS, SECRET)
    full = {t: con.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall()
            for t in ("person_week", "person_week_source")}
    assert incremental == full
    assert len(full["person_week"]) == 27 and len(full["person_week_source"]) == 8


def test_refresh_rebuilds_the_changed_weeks_and_equals_a_full_build(con, load, settings):
    """The pipeline's path: the fingerprints and the build staged once, in one transaction."""
    prepare(con, load, settings)
    build_employee_weeks(con, settings)
    table = {"employee_weeks": EMPLOYEE_WEEK_TABLE}
    assert refresh_person_week(con, settings, PILOTS, SECRET, **table) == list(W.values())  # first build
    assert refresh_person_week(con, settings, PILOTS, SECRET, **table) == []
    new_export(con, load, settings)
    build_employee_weeks(con, settings)
    assert refresh_person_week(con, settings, PILOTS, SECRET, **table) == [W[2], W[5]]
    refreshed = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                 for t in ("marts.person_week", "marts.person_week_source", "clean.person_week_fingerprints")}
    assert rows_of(con, "C", "has_account", "first_active_week")[0] == (W[1], True, W[5])
    assert refresh_person_week(con, settings, PILOTS, SECRET, **table) == []
    build_person_week(con, settings, PILOTS, SECRET)
    full = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in refreshed}
    assert refreshed == full
    assert len(full["marts.person_week"]) == 27 and len(full["clean.person_week_fingerprints"]) == len(W)


def test_pilot_or_secret_change_rebuilds_every_week(built, settings):
    other = Pilots(cohorts=[{"name": "wave-1", "wave": 1, "start": d("2026-01-19"), "employee_ids": ["A"]}])
    assert weeks_to_rebuild(built, settings, other, SECRET) == list(W.values())
    assert weeks_to_rebuild(built, settings, PILOTS, b"another-secret-0123456789") == list(W.values())


def test_missing_clean_tables_are_named(con, settings):
    with pytest.raises(MissingInputError, match="clean.event_counts does not exist"):
        build_person_week(con, settings, PILOTS, SECRET)
