"""The runner (selection, crash handling, exit code), the registry's expansion and `uptake check`."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
from rich.console import Console

from pipelines.check_cli import check_command
from quality.outcome import CheckOutcome, Severity
from quality.registry import REGISTRY, QualityCheck, expand
from quality.runner import evaluate, exit_code, run_checks, summary_table
from quality.warehouse import discover_sources, load_context
from tests.quality.warehouse_fixture import delete_events, warehouse_file


def test_registry_declares_severity_policy() -> None:
    by_name = {c.name: c for c in REGISTRY}
    assert len(by_name) == len(REGISTRY)  # names unique
    for name in ("events_conserved", "clean_events_unique", "person_week_unique", "{source}_events_schema",
                 "{source}_events_conflicting_ids", "adoption_curve_consistent"):
        assert by_name[name].severity is Severity.ERROR and by_name[name].blocking, name
    for name in ("missing_export_days", "identity_match_rate", "managers_missing", "manager_cycles",
                 "kpi_feed_late", "kpi_scale_jumps", "{source}_rejects"):
        assert by_name[name].severity is Severity.WARN and not by_name[name].blocking, name
    # every warning is non-blocking, every blocking check an error
    assert all(not c.blocking for c in REGISTRY if c.severity is Severity.WARN)


def test_expand_binds_per_source_checks() -> None:
    checks = expand(REGISTRY, {"events": ["slack"], "hr_snapshots": ["hr_csv"], "accounts": ["slack"]})
    names = [c.name for c in checks]
    assert len(names) == len(set(names))
    assert "slack_events_schema" in names and "hr_csv_hr_snapshots_suite" in names
    assert {"slack_rejects", "hr_csv_rejects"} <= set(names)
    assert not any("{source}" in c.name or "{source}" in c.target for c in checks)
    schema = next(c for c in checks if c.name == "slack_events_schema")
    assert schema.target == "raw/slack" and schema.source == "slack" and "raw.slack_events" in schema.description


def test_discover_sources(wh: duckdb.DuckDBPyConnection) -> None:
    assert discover_sources(wh) == {"activity_counts": ["m365_usage"], "hr_snapshots": ["hr_csv"],
                                    "accounts": ["slack"], "events": ["mattermost", "slack"],
                                    "survey_responses": []}


def test_only_selects_by_name_or_target(wh: duckdb.DuckDBPyConnection) -> None:
    assert [o.check for o in run_checks(wh, only=["clean/identity_map"])] == [
        "identity_map_unique", "identity_map_references_hr", "identity_match_rate"]
    assert [o.check for o in run_checks(wh, only=["kpi_feed_*"])] == ["kpi_feed_rejects", "kpi_feed_late"]


def test_a_crashing_check_fails_with_the_exception(wh: duckdb.DuckDBPyConnection) -> None:
    def broken(con: duckdb.DuckDBPyConnection, ctx: object) -> CheckOutcome:
        raise ZeroDivisionError("division by zero")

    check = QualityCheck("broken", "clean/events", Severity.ERROR, True, "always raises", broken)
    o = evaluate(wh, check, load_context(wh))
    assert not o.passed and o.fails_run and o.check == "broken" and o.target == "clean/events"
    assert o.message == "check raised ZeroDivisionError: division by zero"


def test_exit_code_and_summary(wh: duckdb.DuckDBPyConnection) -> None:
    delete_events(wh, "slack", "occurred_at::DATE = DATE '2026-02-04'")
    warn_only = run_checks(wh, only=["missing_export_days", "clean_events_unique"])
    assert exit_code(warn_only) == 0  # a warning never fails the run
    wh.execute("UPDATE clean.event_partitions SET kept_ids = kept - 1 WHERE week_start = DATE '2026-01-12'")
    outcomes = run_checks(wh, only=["missing_export_days", "clean_events_unique"])
    assert exit_code(outcomes) == 1
    table = summary_table(outcomes)
    assert table.select("check", "severity", "blocking", "passed").rows() == [
        ("clean_events_unique", "error", True, False), ("missing_export_days", "warn", False, False)]
    assert table.schema["seconds"] == pl.Float64


def test_check_command_on_clean_and_broken_warehouses(tmp_path: Path) -> None:
    path = warehouse_file(tmp_path / "w.duckdb")
    console = Console(record=True, width=250)
    assert check_command(path, console=console) == 0
    text = console.export_text()
    assert "uptake quality checks" in text and "events_conserved" in text and "FAIL" not in text
    assert "47 checks: 47 passed, 0 failed (error), 0 warning(s), 0 skipped" in text

    con = duckdb.connect(str(path))
    con.execute("UPDATE quality.event_conservation SET kept = 1000 WHERE source = 'slack'")
    con.execute("UPDATE quality.identity_match_report SET match_rate = 0.5 WHERE source = 'slack'")
    con.close()
    console = Console(record=True, width=250)
    assert check_command(path, console=console) == 1
    text = console.export_text()
    assert "FAIL" in text and "rows not conserved: slack events: 1240 in vs 1000 kept" in text
    assert "warn" in text and "identity match rate below 90%: slack 50.0%" in text
    assert "45 passed, 1 failed (error), 1 warning(s)" in text


def test_check_command_missing_warehouse(tmp_path: Path) -> None:
    console = Console(record=True, width=300)
    assert check_command(tmp_path / "nope.duckdb", console=console) == 2
    assert "does not exist" in console.export_text()
