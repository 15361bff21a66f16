"""Run summary and the report's coverage frames against hand-computed answers."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from quality import coverage
from quality.run_summary import build_run_summary, write_run_summary
from tests.quality.warehouse_fixture import delete_events


def test_run_summary_known_answer(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("""INSERT INTO quality.rejects VALUES
        ('hr_snapshots', 'hr_2026-01-05.csv', 'row 7', 'employee_id: required, found empty', 'hr_csv', NULL),
        ('kpi_values', 'kpis.csv', 'row 3', 'value: cannot read as Float64', 'kpi_feed', NULL)""")
    summary = build_run_summary(wh)
    rows = {(r["source"], r["table"]): r for r in summary.iter_rows(named=True)}
    assert set(rows) == {("hr_csv", "hr_snapshots"), ("kpi_feed", "kpi_values"), ("m365_usage", "activity_counts"),
                         ("mattermost", "events"), ("slack", "accounts"), ("slack", "events")}
    slack = rows[("slack", "events")]  # from quality.event_conservation
    assert (slack["rows_in"], slack["kept"], slack["rejected"], slack["filtered_duplicate"],
            slack["filtered_automated"], slack["filtered"], slack["balanced"]) == (1240, 1232, 0, 3, 5, 8, True)
    hr = rows[("hr_csv", "hr_snapshots")]  # 30 employees x 2 snapshots + 1 reject
    assert (hr["rows_in"], hr["kept"], hr["rejected"], hr["filtered"]) == (61, 60, 1, 0)
    kpi = rows[("kpi_feed", "kpi_values")]  # 3 teams x 8 weeks + 2 sites x 8 weeks
    assert (kpi["rows_in"], kpi["kept"], kpi["rejected"]) == (41, 40, 1)
    assert rows[("m365_usage", "activity_counts")]["kept"] == 80
    assert rows[("slack", "accounts")]["kept"] == 31
    assert (summary["rows_in"] == summary["kept"] + summary["rejected"] + summary["filtered"]).all()


def test_run_summary_flags_unbalanced_and_is_written(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE quality.event_conservation SET rows_in = 1250 WHERE source = 'slack'")
    written = write_run_summary(wh)
    assert written.filter(pl.col("source") == "slack", pl.col("table") == "events")["balanced"].to_list() == [False]
    assert wh.execute("SELECT count(*) FROM quality.run_summary").fetchone()[0] == written.height == 6
    assert "computed_at" in written.columns
    write_run_summary(wh)  # replaces, never appends
    assert wh.execute("SELECT count(*) FROM quality.run_summary").fetchone()[0] == 6


def test_source_row_flow_shares(wh: duckdb.DuckDBPyConnection) -> None:
    flow = coverage.source_row_flow(wh)
    slack = flow.filter(pl.col("source") == "slack", pl.col("table") == "events")
    assert slack["filtered_share"].item() == pytest.approx(8 / 1240)
    assert slack["rejected_share"].item() == 0


def test_weeks_covered_and_missing_weeks(wh: duckdb.DuckDBPyConnection) -> None:
    delete_events(wh, "mattermost", "timezone('Europe/Paris', occurred_at)::DATE BETWEEN DATE '2026-01-26' "
                  "AND DATE '2026-02-01'")
    weeks = coverage.weeks_covered(wh)
    mm = weeks.filter(pl.col("source") == "mattermost").row(0, named=True)
    assert (mm["kind"], mm["first_week"], mm["last_week"], mm["weeks_spanned"], mm["weeks_with_data"]) == (
        "events", dt.date(2026, 1, 5), dt.date(2026, 2, 23), 8, 7)
    assert mm["missing_weeks"] == ["2026-W05"] and mm["coverage"] == pytest.approx(7 / 8)
    slack = weeks.filter(pl.col("source") == "slack").row(0, named=True)
    assert slack["weeks_with_data"] == 8 and slack["missing_weeks"] == []
    hr = weeks.filter(pl.col("source") == "hr_csv").row(0, named=True)
    # two snapshots four weeks apart: weeks 2 and 6 with data, 3 missing in between
    assert (hr["kind"], hr["weeks_spanned"], hr["weeks_with_data"]) == ("hr_snapshots", 5, 2)
    assert hr["missing_weeks"] == ["2026-W03", "2026-W04", "2026-W05"]
    m365 = weeks.filter(pl.col("source") == "m365_usage").row(0, named=True)
    assert (m365["kind"], m365["weeks_with_data"], m365["missing_weeks"]) == ("activity_counts", 8, [])
    kpi = weeks.filter(pl.col("source") == "kpi_feed").row(0, named=True)
    assert (kpi["weeks_spanned"], kpi["weeks_with_data"]) == (8, 8)


def test_missing_days_is_the_checks_rule(wh: duckdb.DuckDBPyConnection) -> None:
    delete_events(wh, "slack", "occurred_at::DATE = DATE '2026-01-28'")
    days = coverage.missing_days(wh)
    assert days.select("source", "day", "events", "typical", "kind").rows() == [
        ("slack", dt.date(2026, 1, 28), 0, 30.0, "no events")]


def test_hr_completeness_known_answer(wh: duckdb.DuckDBPyConnection) -> None:
    comp = coverage.hr_completeness(wh)
    # 30 employees: E001 (top) has no manager, E028 no email, E029 no site
    assert comp.select("field", "employees", "filled").rows() == [
        ("department", 30, 30), ("email", 30, 29), ("manager_id", 30, 29), ("site", 30, 29)]
    assert comp.filter(pl.col("field") == "email")["share"].item() == pytest.approx(29 / 30)


def test_hr_completeness_by_group_suppresses_small_groups(wh: duckdb.DuckDBPyConnection) -> None:
    comp = coverage.hr_completeness(wh, by="site", fields=("email",))
    # PARIS = odd ids (15, E029's site is null so 14 PARIS + E029 in the null group), LYON = even ids (15)
    rows = {r["site"]: r for r in comp.iter_rows(named=True)}
    assert (rows["LYON"]["employees"], rows["LYON"]["filled"]) == (15, 14)  # E028 has no email
    assert (rows["PARIS"]["employees"], rows["PARIS"]["filled"]) == (14, 14)
    assert rows[None]["suppressed"] and rows[None]["employees"] is None and rows[None]["share"] is None
    with pytest.raises(ValueError, match="no column 'desk'"):
        coverage.hr_completeness(wh, by="desk")


def test_hr_completeness_as_of_excludes_leavers(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE clean.hr_directory SET termination_date = DATE '2026-01-31' WHERE employee_id IN ('E028', 'E030')")
    comp = coverage.hr_completeness(wh, as_of=dt.date(2026, 2, 2))
    assert comp.filter(pl.col("field") == "email").select("employees", "filled").row(0) == (28, 28)


def test_identity_match_and_kpi_freshness_frames(wh: duckdb.DuckDBPyConnection) -> None:
    wh.execute("UPDATE quality.identity_match_report SET match_rate = 0.85 WHERE source = 'mattermost'")
    ident = coverage.identity_match(wh)
    assert ident.select("source", "threshold", "below_threshold").rows() == [
        ("mattermost", 0.9, True), ("slack", 0.9, False)]
    fresh = coverage.kpi_feed_freshness(wh)
    assert fresh["late"].to_list() == [False, False]


def test_empty_warehouse_gives_empty_frames() -> None:
    con = duckdb.connect()
    assert coverage.weeks_covered(con).height == 0
    assert coverage.missing_days(con).height == 0
    assert coverage.hr_completeness(con).height == 0
    assert coverage.source_row_flow(con).height == 0
    assert coverage.identity_match(con).height == 0
