"""Anomaly warnings against faults planted in the hand-made warehouse (known answers)."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import polars as pl
import pytest

from quality.anomalies import (
    daily_event_volumes,
    export_day_gaps,
    kpi_freshness,
    manager_chain_cycles,
    source_dispersion,
)
from quality.outcome import Severity
from quality.warehouse import load_context
from tests.quality.warehouse_fixture import delete_events, outcome_of


def test_daily_volumes_fill_empty_days_and_use_the_weekday_median(wh: duckdb.DuckDBPyConnection) -> None:
    vol = daily_event_volumes(wh, time_zone="Europe/Paris")
    slack = vol.filter(pl.col("source") == "slack")
    assert slack.height == 56  # 8 weeks of calendar days, first to last
    assert slack.filter(pl.col("weekday") <= 5)["events"].unique().to_list() == [30]
    assert slack.filter(pl.col("weekday") > 5)["events"].unique().to_list() == [2]
    mm = vol.filter(pl.col("source") == "mattermost")
    assert mm["day"].min() == dt.date(2026, 1, 5) and mm["day"].max() == dt.date(2026, 2, 27)
    assert mm.filter(pl.col("weekday") > 5)["events"].unique().to_list() == [0]  # weekends filled with 0
    assert export_day_gaps(vol).height == 0


def test_missing_export_day_is_named(wh: duckdb.DuckDBPyConnection) -> None:
    delete_events(wh, "slack", "occurred_at::DATE = DATE '2026-02-04'")
    delete_events(wh, "mattermost", "occurred_at::DATE = DATE '2026-01-21' AND account_id > 'M002'")  # 2 of 20 left: low volume (Poisson P(X <= 2 | 20) = 4e-7)
    o = outcome_of(wh, "missing_export_days")
    assert not o.passed and o.severity is Severity.WARN and not o.blocking
    assert "mattermost 2026-01-21 (Wed): 2 events vs typically 20" in o.message
    assert "slack 2026-02-04 (Wed): 0 events vs typically 30" in o.message
    rows = o.failing_rows.select("source", "day", "kind").rows()
    assert rows == [("mattermost", dt.date(2026, 1, 21), "low volume"), ("slack", dt.date(2026, 2, 4), "no events")]


def _volumes(source: str, candidate: int, typical: float, *, ordinary: list[int] | None = None,
             quietest_around: int | None = None) -> pl.DataFrame:
    """One source: ordinary working days (default: exactly the typical volume) and a candidate
    day (a Wednesday inside the span), all with the same typical volume; ``quietest_around``: the
    fewest events of the candidate's weekday in the neighbouring weeks (default: the typical)."""
    first = dt.date(2026, 1, 5)
    counts = ordinary if ordinary is not None else [int(typical)] * 20
    days = [first + dt.timedelta(days=7 * (i // 5) + i % 5) for i in range(len(counts))]
    candidate_day = dt.date(2026, 3, 4)
    return pl.DataFrame({
        "source": source, "day": [*days, candidate_day], "weekday": [d.isoweekday() for d in days] + [3],
        "events": [*counts, candidate], "typical": typical,
        "first_day": first, "last_day": dt.date(2026, 3, 29),
        "quietest_around": int(typical) if quietest_around is None else quietest_around,
    })


def test_gap_rule_needs_a_quarter_and_an_improbable_count() -> None:
    vol = pl.concat([
        _volumes("busy-0", 4, 20.0), _volumes("busy-1", 2, 20.0), _volumes("quiet", 0, 4.0),
        _volumes("ok", 11, 40.0),
    ])
    gaps = export_day_gaps(vol)
    # steady sources (Poisson): 4 of 20: P = 1.7e-5 (not improbable enough); 2 of 20: P = 4.5e-7;
    # 0 of 4: P = 0.018; 11 of 40: improbable (P = 1e-7) but not under a quarter
    assert gaps.select("source", "day").rows() == [("busy-1", dt.date(2026, 3, 4))]
    assert gaps["chance"].item() == pytest.approx(4.5e-7, rel=0.05)
    assert gaps["dispersion"].item() == 0.0


def test_bursty_community_days_are_not_missing_exports() -> None:
    """The issue's case: a Monday at 0 whose neighbours had 1, 72 and 17 events (median 17) is an
    ordinary day of a bursty community; the same 0 on a steady source of 17 a day is not."""
    bursty_days = [1, 72, 17, 3, 40, 0, 25, 9, 60, 2, 17, 30, 5, 90, 12, 1, 17, 44, 8, 21]
    vol = pl.concat([_volumes("bursty", 0, 17.0, ordinary=bursty_days, quietest_around=1),
                     _volumes("steady", 0, 17.0)])
    assert source_dispersion(vol).rows() == [("bursty", pytest.approx(1.12, abs=0.01)), ("steady", 0.0)]
    gaps = export_day_gaps(vol)
    assert gaps["source"].to_list() == ["steady"]
    # the former Poisson-only rule called the bursty community's quiet days missing exports
    poisson = export_day_gaps(vol, overdispersion=False)
    assert poisson.filter(pl.col("source") == "bursty").height == 4  # days with 0, 2, 1 and 0 events vs 17
    assert dt.date(2026, 3, 4) in poisson.filter(pl.col("source") == "bursty")["day"].to_list()


def test_bursty_sources_get_an_over_dispersed_law() -> None:
    """A few heavy users make most events: ordinary days swing far more than a Poisson count, so a
    quiet day (1 event vs a median of 16) is not a missing export; a day without any event still is
    (nothing says that a neighbouring week was quiet too)."""
    days = [dt.date(2026, 1, 5) + dt.timedelta(weeks=k) for k in range(8)]
    events = [16, 40, 6, 16, 1, 30, 9, 0]
    vol = pl.DataFrame({
        "source": ["slack"] * 8, "day": days, "weekday": [1] * 8, "events": events, "typical": [16.0] * 8,
        "first_day": [dt.date(2026, 1, 1)] * 8, "last_day": [dt.date(2026, 3, 31)] * 8,
    })
    assert export_day_gaps(vol)["events"].to_list() == [0]
    poisson_only = export_day_gaps(vol.with_columns(pl.lit(16).alias("events")).with_columns(
        pl.Series("events", [16, 16, 16, 16, 1, 16, 16, 0])))
    assert poisson_only["events"].to_list() == [1, 0]  # steady source: 1 of 16 is improbable


def test_quiet_weekends_and_edge_days_are_not_flagged(wh: duckdb.DuckDBPyConnection) -> None:
    # the first and last days of a source's span may be partial exports
    delete_events(wh, "mattermost", "occurred_at::DATE = DATE '2026-01-05' AND account_id > 'M001'")
    assert outcome_of(wh, "missing_export_days").passed


def test_identity_match_rate_under_threshold(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE quality.identity_match_report SET matched = 15, match_rate = 0.5 WHERE source = 'slack'")
    o = outcome_of(wh, "identity_match_rate")
    assert not o.passed and o.severity is Severity.WARN
    assert o.message == "identity match rate below 90%: slack 50.0%"
    wh.execute("UPDATE raw.settings SET body = json_merge_patch(body, '{\"identity_match_threshold\": 0.4}') "
               "WHERE name = 'settings'")
    assert outcome_of(wh, "identity_match_rate").passed


def test_match_rate_of_a_tiny_source_is_not_judged(wh: duckdb.DuckDBPyConnection) -> None:
    # 2 of 3 human accounts matched: reported, not judged (under 20 human accounts)
    wh.execute("UPDATE quality.identity_match_report SET human_accounts = 3, matched = 2, match_rate = 2 / 3 "
               "WHERE source = 'mattermost'")
    o = outcome_of(wh, "identity_match_rate")
    assert o.passed
    assert o.message == ("every source matches at least 90% of its accounts "
                         "(mattermost: under 20 human accounts, not judged)")


def test_missing_manager(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE clean.hr_directory SET manager_id = 'E999' WHERE employee_id IN ('E010', 'E014')")
    o = outcome_of(wh, "managers_missing")
    assert not o.passed
    assert o.message.startswith("2 employee(s) report to 1 manager_id(s) not in the directory at the time")
    assert "employee_id=E010, manager_id=E999" in o.message


def test_manager_who_left_before_the_interval_is_missing(wh: duckdb.DuckDBPyConnection) -> None:
    # E003 leaves the directory on 2026-01-19; E007 (reports to E003) gets a new interval from that
    # date with the same manager: only that interval dangles
    wh.execute("UPDATE clean.hr_directory SET valid_to = DATE '2026-01-19' WHERE employee_id IN ('E003', 'E007')")
    wh.execute("""INSERT INTO clean.hr_directory SELECT * REPLACE (DATE '2026-01-19' AS valid_from, NULL AS valid_to)
                  FROM clean.hr_directory WHERE employee_id = 'E007'""")
    o = outcome_of(wh, "managers_missing")
    assert not o.passed
    assert o.failing_rows.select("employee_id", "manager_id", "valid_from", "known_at_other_times").rows() == [
        ("E007", "E003", dt.date(2026, 1, 19), True)]


def test_manager_cycle_found_by_recursive_walk(wh: duckdb.DuckDBPyConnection) -> None:
    # E002 -> E001 (top) becomes E002 -> E006 -> E002; E001 -> E001 (self)
    wh.execute("UPDATE clean.hr_directory SET manager_id = 'E006' WHERE employee_id = 'E002'")
    wh.execute("UPDATE clean.hr_directory SET manager_id = 'E001' WHERE employee_id = 'E001'")
    cycles = manager_chain_cycles(wh)
    assert cycles.select("members", "length").rows() == [(["E001"], 1), (["E002", "E006"], 2)]
    assert cycles["first_seen"].to_list() == [dt.date(2026, 1, 5)] * 2
    o = outcome_of(wh, "manager_cycles")
    assert not o.passed and o.severity is Severity.WARN
    assert o.message == "2 manager cycle(s): E001 (from 2026-01-05); E002 -> E006 (from 2026-01-05)"


def test_cycle_limited_in_time(wh: duckdb.DuckDBPyConnection) -> None:
    # from 2026-02-02 E005 reports to E009, who reports to E005: a cycle of two, only from that date,
    # until E009 moves under E002 on 2026-02-16
    wh.execute("UPDATE clean.hr_directory SET valid_to = DATE '2026-02-02' WHERE employee_id = 'E005'")
    wh.execute("""INSERT INTO clean.hr_directory SELECT * REPLACE ('E009' AS manager_id, DATE '2026-02-02' AS valid_from,
                  NULL AS valid_to) FROM clean.hr_directory WHERE employee_id = 'E005'""")
    wh.execute("UPDATE clean.hr_directory SET valid_to = DATE '2026-02-16' WHERE employee_id = 'E009'")
    wh.execute("""INSERT INTO clean.hr_directory SELECT * REPLACE ('E002' AS manager_id, DATE '2026-02-16' AS valid_from,
                  NULL AS valid_to) FROM clean.hr_directory WHERE employee_id = 'E009'""")
    assert outcome_of(wh, "hr_directory_intervals").passed
    cycles = manager_chain_cycles(wh)
    assert cycles.select("members", "first_seen", "last_seen_before").rows() == [
        (["E005", "E009"], dt.date(2026, 2, 2), dt.date(2026, 2, 16))]


def test_kpi_freshness_known_answer(wh: duckdb.DuckDBPyConnection) -> None:
    fresh = kpi_freshness(wh, load_context(wh))
    # activity ends Sunday 2026-03-01; both KPIs' last weekly period ends the same day
    assert fresh.select("kpi", "latest_period_end", "data_last_week_end", "delay_days", "late").rows() == [
        ("first_response_hours", dt.date(2026, 3, 1), dt.date(2026, 3, 1), 0, False),
        ("resolution_rate", dt.date(2026, 3, 1), dt.date(2026, 3, 1), 0, False),
    ]


def test_late_kpi_feed(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("DELETE FROM raw.kpi_values WHERE kpi = 'resolution_rate' AND period_end > DATE '2026-02-01'")
    o = outcome_of(wh, "kpi_feed_late")
    assert not o.passed and o.severity is Severity.WARN
    assert o.message == ("late KPI feed: resolution_rate: latest period ends 2026-02-01, 28 days before "
                         "2026-03-01 (max 14)")
    wh.execute("DELETE FROM raw.kpi_values WHERE kpi = 'first_response_hours'")
    assert "first_response_hours: no values at all" in outcome_of(wh, "kpi_feed_late").message


def test_kpi_delivered_in_minutes_is_a_scale_jump(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("""UPDATE raw.kpi_values SET value = value * 60
                  WHERE kpi = 'first_response_hours' AND period_start >= DATE '2026-02-16'""")
    o = outcome_of(wh, "kpi_scale_jumps")
    assert not o.passed and o.severity is Severity.WARN
    # weeks of 2026-02-16 and 2026-02-23: team values 10/11/12 become 600/660/720
    assert "first_response_hours: scale jump x60 in 2 period(s) from 2026-02-16 (median 660 vs usual 11" in o.message
    assert "wrong unit?" in o.message
    assert "first_response_hours: 6 value(s) outside expected_range [0, 200]" in o.message  # 3 teams x 2 weeks
    assert o.metadata["scale_jumps"] == 2


def test_kpi_out_of_range_alone(wh: duckdb.DuckDBPyConnection) -> None:
    # median of the period (1.5 + 0.8) / 2 = 1.15 stays near the usual 0.8: out of range, no jump
    wh.execute("UPDATE raw.kpi_values SET value = 1.5 WHERE kpi = 'resolution_rate' AND unit_id = 'PARIS' "
               "AND period_start = DATE '2026-01-12'")
    o = outcome_of(wh, "kpi_scale_jumps")
    assert not o.passed
    assert o.message == "resolution_rate: 1 value(s) outside expected_range [0, 1]"


def test_unregistered_kpi(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("""INSERT INTO raw.kpi_values VALUES ('nps', 'site', 'PARIS', DATE '2026-01-05', DATE '2026-01-11',
                  30, 'kpis.csv')""")
    o = outcome_of(wh, "kpi_unregistered")
    assert not o.passed and o.message == "KPI(s) not in kpi_registry.yaml: nps"


def test_backfilled_person_weeks_are_counted_in_a_warning(wh: duckdb.DuckDBPyConnection) -> None:
    assert outcome_of(wh, "hr_backfilled_weeks").passed
    # the first two weeks of 12 employees rest on back-filled HR data (3 x 2 + ... = 24 person-weeks)
    wh.execute("""UPDATE clean.employee_week SET hr_backfilled = true
                  WHERE week_start < DATE '2026-01-19' AND employee_id <= 'E012'""")
    o = outcome_of(wh, "hr_backfilled_weeks")
    assert not o.passed and o.severity is Severity.WARN and not o.blocking
    assert o.message.startswith("24 of 240 eligible person-weeks (10%), in 2 week(s) from 2026-01-05 to 2026-01-12")
    assert "first HR extract (2026-01-05)" in o.message
    assert o.failing_rows.rows() == [(dt.date(2026, 1, 5), 12, 30), (dt.date(2026, 1, 12), 12, 30)]


def test_backfilled_intervals_do_not_count_as_missing_managers(wh: duckdb.DuckDBPyConnection) -> None:
    # E010 reports to E002 since 2020 by assumption: E002 only appears from the first extract
    wh.execute("""INSERT INTO clean.hr_directory BY NAME
                  SELECT * REPLACE (DATE '2020-01-01' AS valid_from, valid_from AS valid_to, true AS backfilled)
                  FROM clean.hr_directory WHERE employee_id = 'E010'""")
    assert outcome_of(wh, "managers_missing").passed
    wh.execute("UPDATE clean.hr_directory SET backfilled = false WHERE employee_id = 'E010'")
    assert not outcome_of(wh, "managers_missing").passed


def test_an_empty_day_beside_quiet_weeks_is_ordinary_beside_busy_ones_is_not() -> None:
    """Zero events means nobody acted: improbable in a neighbourhood whose weeks were all busy (a
    plain count), ordinary where a neighbouring week of that weekday was quiet too (issue 18: a
    Monday at 0 whose neighbours had 1, 72 and 17 events), both on the same bursty source."""
    bursty_days = [1, 72, 17, 3, 40, 5, 25, 9, 60, 2, 17, 30, 5, 90, 12, 1, 17, 44, 8, 21]
    quiet = _volumes("quiet_neighbour", 0, 17.0, ordinary=bursty_days, quietest_around=1)
    busy = _volumes("busy_neighbours", 0, 17.0, ordinary=bursty_days, quietest_around=14)
    gaps = export_day_gaps(pl.concat([quiet, busy]))
    assert gaps.select("source", "day", "kind").rows() == [("busy_neighbours", dt.date(2026, 3, 4), "no events")]
    assert gaps["chance"].item() == pytest.approx(math.exp(-17), rel=1e-6)
