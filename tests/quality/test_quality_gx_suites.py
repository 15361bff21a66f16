"""Great Expectations 1.x suites: faults planted in the hand-made warehouse, sampling of big tables."""

from __future__ import annotations

import sys

import duckdb
import pandas as pd

from quality import gx_suites
from quality.outcome import Severity
from quality.registry import REGISTRY
from quality.runner import run_checks
from quality.warehouse import load_context
from tests.quality.warehouse_fixture import outcome_of


def test_suites_are_declared_without_importing_gx() -> None:
    # the declarations (and the whole registry) are plain data: GX is imported when a suite runs
    assert {"events", "hr_snapshots", "kpi_values", "person_week", "adoption_curve", "pilot_effects"} == set(
        gx_suites.SUITES)
    assert [c.name for c in REGISTRY if c.engine == "gx"] == [
        "{source}_events_suite", "{source}_hr_snapshots_suite", "kpi_values_suite", "person_week_suite",
        "adoption_curve_suite", "pilot_effects_suite"]


def test_events_suite_names_the_broken_expectation(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE raw.slack_events SET body_chars = -5 WHERE event_id IN ('s-2026-01-05-001', 's-2026-01-05-002')")
    wh.execute("UPDATE raw.slack_events SET account_email = 'Bob@Example.com' WHERE event_id = 's-2026-01-05-003'")
    o = outcome_of(wh, "slack_events_suite")
    assert "great_expectations" in sys.modules
    assert not o.passed and o.severity is Severity.ERROR and o.blocking
    assert o.message.startswith("raw.slack_events (1240 rows): ")
    assert "expect_column_values_to_be_between(body_chars): 2 unexpected, e.g. -5, -5" in o.message
    assert "expect_column_values_to_match_regex(account_email): 1 unexpected, e.g. 'Bob@Example.com'" in o.message
    assert o.metadata["failed_expectations"] == 2 and o.metadata["sampled"] is False
    assert outcome_of(wh, "mattermost_events_suite").passed


def test_hr_suite(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE raw.hr_csv_hr_snapshots SET worker_type = 'contractor' WHERE employee_id = 'E004'")
    wh.execute("UPDATE raw.hr_csv_hr_snapshots SET termination_date = DATE '2019-06-30' WHERE employee_id = 'E005'")
    o = outcome_of(wh, "hr_csv_hr_snapshots_suite")
    assert not o.passed
    assert "expect_column_values_to_be_in_set(worker_type): 2 unexpected, e.g. 'contractor'" in o.message  # 2 snapshots
    assert "expect_column_pair_values_a_to_be_greater_than_b(termination_date, hire_date): 2 unexpected" in o.message


def test_person_week_suite_refuses_emails_as_person_keys(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE marts.person_week SET person_key = 'e007@northwind.example' "
               "WHERE person_key = (SELECT min(person_key) FROM marts.person_week)")
    o = outcome_of(wh, "person_week_suite")
    assert not o.passed
    assert "expect_column_values_to_not_match_regex(person_key): 8 unexpected" in o.message  # 8 weeks


def test_adoption_curve_and_pilot_effect_suites(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE marts.adoption_curve SET engaged_rate = 1.2 WHERE population = 'PARIS' "
               "AND week_start = DATE '2026-01-05'")
    o = outcome_of(wh, "adoption_curve_suite")
    assert not o.passed and "expect_column_values_to_be_between(engaged_rate): 1 unexpected, e.g. 1.2" in o.message
    wh.execute("UPDATE marts.pilot_effects SET ci_high = 0.0 WHERE estimator = 'naive'")
    o = outcome_of(wh, "pilot_effects_suite")
    assert not o.passed and "expect_column_pair_values_a_to_be_greater_than_b(ci_high, ci_low): 1 unexpected" in o.message


def test_kpi_suite_periods(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE raw.kpi_values SET period_end = period_start - 1 WHERE unit_id = 'T1' "
               "AND period_start = DATE '2026-01-05'")
    o = outcome_of(wh, "kpi_values_suite")
    assert not o.passed
    assert "expect_column_pair_values_a_to_be_greater_than_b(period_end, period_start): 1 unexpected" in o.message


def test_large_tables_are_sampled(wh: duckdb.DuckDBPyConnection) -> None:
    ctx = load_context(wh, gx_sample_rows=500)
    [o] = run_checks(wh, only=["slack_events_suite"], context=ctx)
    assert o.passed and o.metadata["sampled"] is True
    assert o.metadata["rows"] == 1240 and o.metadata["rows_validated"] == 500
    assert "met on 500 sampled of 1240 row(s)" in o.message


def test_missing_columns_are_left_to_the_schema_check(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("ALTER TABLE raw.slack_events DROP COLUMN mention_count")
    o = outcome_of(wh, "slack_events_suite")
    assert o.passed and o.metadata["columns_absent"] == "mention_count"


def test_validate_frame_returns_one_row_per_expectation() -> None:
    frame = pd.DataFrame({"x": [1, 2, None], "y": ["a", "b", "z"]})
    result = gx_suites.validate_frame(
        frame,
        [gx_suites.Expect("ExpectColumnValuesToNotBeNull", {"column": "x"}),
         gx_suites.Expect("ExpectColumnValuesToBeInSet", {"column": "y", "value_set": ["a", "b"]})],
        suite_name="unit",
    )
    assert result.select("expectation", "success", "unexpected_count").rows() == [
        ("expect_column_values_to_not_be_null", False, 1),
        ("expect_column_values_to_be_in_set", False, 1),
    ]
