"""DuckDB contract checks against faults planted in the hand-made warehouse."""

from __future__ import annotations

import datetime as dt

import duckdb

from quality.outcome import Severity
from quality.runner import run_checks
from tests.quality.warehouse_fixture import MATTERMOST_ROWS, SLACK_CLEAN_ROWS, SLACK_RAW_ROWS, outcome_of


def test_clean_warehouse_passes_every_check(wh: duckdb.DuckDBPyConnection) -> None:
    outcomes = run_checks(wh, only=["*"])
    failed = [(o.check, o.message) for o in outcomes if not o.passed]
    assert failed == []
    assert not [o.check for o in outcomes if o.skipped]
    # per-source checks were bound to the connectors found in the warehouse
    names = {o.check for o in outcomes}
    assert {"slack_events_schema", "mattermost_events_schema", "hr_csv_hr_snapshots_suite",
            "m365_usage_activity_counts_required_values", "slack_rejects", "kpi_feed_rejects"} <= names
    assert "m365_usage_events_schema" not in names  # m365_usage wrote no events table


def test_missing_column_breaks_the_schema(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("ALTER TABLE raw.slack_events DROP COLUMN action")
    o = outcome_of(wh, "slack_events_schema")
    assert not o.passed and o.severity is Severity.ERROR and o.blocking and o.target == "raw/slack"
    assert "raw.slack_events breaks the events contract: action: missing" in o.message
    assert o.failing_rows is not None and o.failing_rows["column"].to_list() == ["action"]


def test_wrong_type_and_text_column_break_the_schema(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("ALTER TABLE raw.slack_events ALTER body_chars TYPE VARCHAR")
    wh.execute("ALTER TABLE raw.slack_events ADD COLUMN text VARCHAR")
    o = outcome_of(wh, "slack_events_schema")
    assert not o.passed
    assert "body_chars: wrong type (expected Int32, found String)" in o.message
    assert "text: forbidden (message text)" in o.message


def test_required_value_and_vocabulary(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE raw.slack_events SET account_id = NULL WHERE event_id = 's-2026-01-05-001'")
    wh.execute("UPDATE raw.slack_events SET action = 'like' WHERE event_id IN ('s-2026-01-06-001', 's-2026-01-06-002')")
    o = outcome_of(wh, "slack_events_required_values")
    assert not o.passed
    assert "1 row(s) with account_id: required, found empty" in o.message
    assert "2 row(s) with action: expected one of visit, read" in o.message
    assert "event_id=s-2026-01-05-001" in o.message  # an example of the first broken rule
    assert dict(o.failing_rows.iter_rows()) == {
        "account_id: required, found empty": 1,
        "action: expected one of visit, read, react, post, reply, share, upload, join": 2,
    }


def test_activity_counts_extra_rules(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE raw.m365_usage_activity_counts SET count = -1 WHERE account_id = 'u001@northwind.example'")
    o = outcome_of(wh, "m365_usage_activity_counts_required_values")
    assert not o.passed and "8 row(s) with count: negative" in o.message  # 8 weekly rows of u001


def test_exact_reexport_copies_pass_but_changed_payload_fails(wh: duckdb.DuckDBPyConnection) -> None:
    # the fixture already holds 3 exact copies: they pass
    assert outcome_of(wh, "slack_events_conflicting_ids").passed
    wh.execute("""INSERT INTO raw.slack_events SELECT * REPLACE ('U999' AS account_id, 'other.zip' AS source_file)
                  FROM raw.slack_events WHERE event_id = 's-2026-01-20-007'""")
    o = outcome_of(wh, "slack_events_conflicting_ids")
    assert not o.passed and o.blocking
    assert "1 duplicate (source, event_id) id(s) with different payloads in account_id" in o.message
    assert "event_id=s-2026-01-20-007" in o.message
    assert o.failing_rows.select("event_id", "versions", "copies").row(0) == ("s-2026-01-20-007", 2, 2)


def test_strict_uniqueness_of_clean_and_marts(wh: duckdb.DuckDBPyConnection) -> None:
    o = outcome_of(wh, "clean_events_unique")
    assert o.passed and o.metadata["kept"] == SLACK_CLEAN_ROWS + MATTERMOST_ROWS
    assert o.metadata["partitions"] == 16  # 8 weeks x 2 event sources
    # a partition whose kept rows outnumber its distinct ids
    wh.execute("UPDATE clean.event_partitions SET kept_ids = kept - 1 "
               "WHERE source = 'slack' AND week_start = DATE '2026-01-05'")
    o = outcome_of(wh, "clean_events_unique")
    assert not o.passed
    assert o.message.startswith("clean.events: 1 surplus row(s) with a repeated (source, event_id) in 1 week "
                                "partition(s)")
    assert "2026-01-05" in o.message
    wh.execute("INSERT INTO marts.person_week SELECT * FROM marts.person_week LIMIT 2")
    o = outcome_of(wh, "person_week_unique")
    assert not o.passed and o.metadata["duplicate_keys"] == 2


def test_conservation_recomputed(wh: duckdb.DuckDBPyConnection) -> None:
    o = outcome_of(wh, "events_conserved")
    assert o.passed and o.metadata["rows_in"] == SLACK_RAW_ROWS + MATTERMOST_ROWS + 80  # + m365 counters
    assert o.metadata["kept"] == SLACK_CLEAN_ROWS + MATTERMOST_ROWS + 80
    # a kept event vanishes from the counts without being counted anywhere
    wh.execute("""UPDATE clean.event_counts SET events = events - 1 WHERE rowid = (
                  SELECT min(rowid) FROM clean.event_counts WHERE source = 'slack')""")
    o = outcome_of(wh, "events_conserved")
    assert not o.passed
    assert "slack events: 1240 in vs 1232 kept + 0 rejected + 8 filtered, but clean.events holds 1231" in o.message
    # the counts themselves do not add up, even if the table says balanced
    wh.execute("UPDATE quality.event_conservation SET filtered_duplicate = 0 WHERE source = 'mattermost'")
    wh.execute("UPDATE quality.event_conservation SET rows_in = 801 WHERE source = 'mattermost'")
    o = outcome_of(wh, "events_conserved")
    assert "mattermost events: 801 in vs 800 kept + 0 rejected + 0 filtered" in o.message
    # counters are compared with clean.activity_counts (distinct account, period, action)
    wh.execute("DELETE FROM clean.activity_counts WHERE account_id = 'u001@northwind.example'")
    o = outcome_of(wh, "events_conserved")
    assert "m365_usage activity_counts: 80 in vs 80 kept + 0 rejected + 0 filtered, but " \
           "clean.activity_counts holds 72" in o.message


def test_conservation_row_missing_for_a_source(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("DELETE FROM quality.event_conservation WHERE source = 'mattermost'")
    wh.execute("DELETE FROM clean.event_counts WHERE source = 'mattermost'")
    o = outcome_of(wh, "events_conserved")
    assert not o.passed and "no conservation row for mattermost events" in o.message


def test_clean_event_weeks(wh: duckdb.DuckDBPyConnection) -> None:
    # 23:30 UTC on Sunday 2026-01-11 is already Monday in Paris: week 2026-01-12
    assert outcome_of(wh, "clean_events_weeks").passed
    # 23:30 UTC on Sunday 2026-01-11 is already Monday in Paris: week 2026-01-12, not 2026-01-05
    quarter = "epoch(TIMESTAMPTZ '2026-01-11 23:30:00+00')::BIGINT // 900"
    assert wh.execute(f"SELECT week_start FROM clean.local_quarters WHERE quarter = {quarter}").fetchone()[0] == \
        dt.date(2026, 1, 12)
    wh.execute(f"UPDATE clean.local_quarters SET week_start = DATE '2026-01-05', iso_week = '2026-W02' "
               f"WHERE quarter = {quarter}")
    wh.execute(f"UPDATE clean.local_quarters SET iso_week = '2026-W1' WHERE quarter = {quarter} + 4")
    o = outcome_of(wh, "clean_events_weeks")
    assert not o.passed
    assert "1 row(s) with week_start: not the week of the quarter-hour in the organisation's time zone" in o.message
    assert "1 row(s) with iso_week: not the YYYY-Www label of week_start" in o.message


def test_hr_intervals(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE clean.hr_directory SET valid_to = DATE '2026-02-02' WHERE employee_id = 'E007'")
    wh.execute("""INSERT INTO clean.hr_directory SELECT * REPLACE (DATE '2026-01-19' AS valid_from, NULL AS valid_to)
                  FROM clean.hr_directory WHERE employee_id = 'E007'""")
    o = outcome_of(wh, "hr_directory_intervals")
    assert not o.passed
    assert o.message.startswith("clean.hr_directory: 1 bad interval(s) for 1 employee(s)")
    assert "employee_id=E007, valid_from=2026-01-05, problem=overlaps the next interval" in o.message


def test_identity_references_hr(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE clean.identity_map SET employee_id = 'E777' WHERE account_id = 'U003'")
    o = outcome_of(wh, "identity_map_references_hr")
    assert not o.passed and "source=slack, employee_id=E777" in o.message


def test_person_week_consistency(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("""UPDATE marts.person_week SET actions_total = actions_total + 1
                  WHERE week_start = DATE '2026-01-12' AND person_key IN (SELECT person_key FROM marts.person_week
                  WHERE week_start = DATE '2026-01-12' ORDER BY person_key LIMIT 3)""")
    o = outcome_of(wh, "person_week_consistent")
    assert not o.passed
    assert "3 person-week(s) with actions_total: not passive + reaction + contribution" in o.message


def test_adoption_curve_privacy_floor_and_rates(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("""INSERT INTO marts.adoption_curve VALUES (DATE '2026-01-05', '2026-W02', 'department', 'SMALL',
                  3, 2, 1, 1, 2, 2/3, 1/3, 1/3, 2/3, false, 'activity')""")
    wh.execute("""UPDATE marts.adoption_curve SET active_rate = 0.5
                  WHERE population = 'all' AND week_start = DATE '2026-01-05'""")
    o = outcome_of(wh, "adoption_curve_consistent")
    assert not o.passed and o.severity is Severity.ERROR and o.blocking
    assert "1 cell(s) with published cell under min_group_size=5" in o.message
    assert "1 cell(s) with active_rate: not active / eligible" in o.message


def test_pilot_effects_floor_and_interval(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE marts.pilot_effects SET n_control = 3, estimate = 0.3 WHERE estimator = 'did'")
    o = outcome_of(wh, "pilot_effects_consistent")
    assert not o.passed
    assert "1 estimate(s) with estimate outside [ci_low, ci_high]" in o.message
    assert "1 estimate(s) with n_control under min_group_size=5" in o.message


def test_optional_tables_are_skipped_not_failed(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("DROP TABLE marts.pilot_effects")
    o = outcome_of(wh, "pilot_effects_consistent")
    assert o.passed and o.skipped and "not in the warehouse" in o.message
    wh.execute("DROP TABLE marts.person_week")
    assert not outcome_of(wh, "person_week_schema").passed  # a contract table must exist
    assert outcome_of(wh, "person_week_unique").skipped


def test_rejects_name_file_and_reason(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("""INSERT INTO quality.rejects VALUES
        ('events', 'export_2026-01.zip', 'channels/general/2026-01-07.json:3', 'occurred_at: cannot read as Datetime',
         'slack', 'ts=abc'),
        ('events', 'export_2026-01.zip', 'channels/general/2026-01-07.json:9', 'occurred_at: cannot read as Datetime',
         'slack', 'ts=xyz'),
        ('events', 'export_2026-01.zip', NULL, 'action: expected one of visit', 'slack', repeat('x', 300))""")
    o = outcome_of(wh, "slack_rejects")
    assert not o.passed and o.severity is Severity.WARN and not o.blocking
    assert o.message.startswith(
        "slack: 3 row(s) quarantined: 2 in export_2026-01.zip (occurred_at: cannot read as Datetime); "
        "1 in export_2026-01.zip (action: expected one of visit)")
    assert "1 without file/locator/reason" in o.message and "1 with an excerpt over 200 characters" in o.message
    assert outcome_of(wh, "mattermost_rejects").passed


def test_rejects_provenance_across_sources(wh: duckdb.DuckDBPyConnection) -> None:
    assert outcome_of(wh, "rejects_provenance").passed
    wh.execute("""INSERT INTO quality.rejects VALUES
        ('events', 'a.zip', 'line 3', 'action: expected one of visit', NULL, NULL),
        ('events', NULL, NULL, 'x', 'slack', NULL)""")
    o = outcome_of(wh, "rejects_provenance")
    assert not o.passed and o.target == "quality/run_summary"
    assert o.message == ("quality.rejects: 1 reject(s) with source: empty; 1 reject(s) with file: empty; "
                         "1 reject(s) with locator: empty (e.g. source=None, file=a.zip, locator=line 3)")


def test_empty_tables_pass(wh: duckdb.DuckDBPyConnection) -> None:
    # a connector with no input leaves empty, typed tables: every check passes on them
    for table in ("raw.slack_events", "clean.event_partitions", "clean.event_candidates", "clean.event_counts",
                  "clean.event_days", "clean.account_events", "clean.local_quarters", "quality.event_conservation",
                  "marts.person_week", "marts.adoption_curve", "raw.kpi_values", "clean.hr_directory",
                  "clean.identity_map"):
        wh.execute(f"DELETE FROM {table}")
    outcomes = run_checks(wh)
    failed = {o.check: o.message for o in outcomes if not o.passed}
    assert set(failed) == {"events_conserved", "kpi_feed_late"}
    # registered KPIs with no value while mattermost still has activity: late, rightly
    assert failed["kpi_feed_late"] == ("late KPI feed: first_response_hours: no values at all; "
                                       "resolution_rate: no values at all")
    # conservation notices that slack and mattermost have raw tables but no conservation row
    [conserved] = [o for o in outcomes if o.check == "events_conserved"]
    assert "no conservation row for m365_usage activity_counts, mattermost events, slack events" in conserved.message
