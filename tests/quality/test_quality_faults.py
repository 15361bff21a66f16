"""Fault injection on a simulated drop zone, through the real pipeline (``pipelines.cli.materialise``)
with the quality registry bound as Dagster asset checks.

Each fault is planted in a copy of one simulated organisation; the test asserts that the right
check (or the connector's contract) fails with a message naming the problem, that assets
downstream of a blocking failure do not run, and that warnings let the run finish. Clean simulated
data passes every check. Faults that only warn share one run (they sit on independent inputs).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from quality.outcome import CheckOutcome
from quality.runner import run_checks
from quality.warehouse import table_exists

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]

EMPLOYEES, WEEKS, SEED = 300, 12, 5
START = dt.date(2026, 1, 5)
MISSING_DAY = dt.date(2026, 3, 11)  # a Wednesday in week 10, when the platform is busy
KPI_UNIT_SLIP_FROM = dt.date(2026, 3, 2)  # first_response_hours delivered in minutes from week 9


@dataclass(frozen=True)
class PipelineRun:
    raw: Path
    warehouse: Path
    error: str | None  # the one-line message the CLI shows when the run stops
    check_failures: dict[str, tuple[str, bool, str]]  # Dagster check evaluations that failed
    step_errors: dict[str, str]  # failed step -> message of the exception that caused it

    def _connect(self) -> duckdb.DuckDBPyConnection:
        # the configuration of dagster-duckdb's connections: DuckDB refuses a differently configured
        # one beside a connection still open in this process (dagster-duckdb's get_connection does
        # not close its connection when the asset raises)
        return duckdb.connect(str(self.warehouse), config={"custom_user_agent": "dagster"})

    def outcomes(self) -> dict[str, CheckOutcome]:
        con = self._connect()
        try:
            return {o.check: o for o in run_checks(con)}
        finally:
            con.close()

    def has_table(self, name: str) -> bool:
        con = self._connect()
        try:
            return table_exists(con, name)
        finally:
            con.close()


def run_pipeline(raw: Path, base: Path) -> PipelineRun:
    """Run the whole job for ``raw`` into a fresh warehouse; a stopped run keeps its message."""
    from pipelines.runner import execute_job

    warehouse = base / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DAGSTER_HOME", raising=False)
        mp.setenv("UPTAKE_SECRET_FILE", str(base / "pseudonym.key"))
        outcome = execute_job(raw, warehouse, reports=base / "reports", published=base / "published")
    return PipelineRun(raw=raw, warehouse=warehouse, error="\n".join(outcome.problems) or None,
                       check_failures=outcome.check_failures, step_errors=outcome.step_errors)


@pytest.fixture(scope="module")
def drop_zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    simulator = pytest.importorskip("pipelines.simulator")
    raw = tmp_path_factory.mktemp("faults_sim") / "raw"
    simulator.simulate(raw, employees=EMPLOYEES, weeks=WEEKS, seed=SEED, start=START)
    return raw


def _copy(drop_zone: Path, base: Path) -> Path:
    raw = base / "raw"
    shutil.copytree(drop_zone, raw)
    return raw


@pytest.fixture(scope="module")
def clean_run(drop_zone: Path, tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    base = tmp_path_factory.mktemp("faults_clean")
    return run_pipeline(_copy(drop_zone, base), base)


# -- faults ----------------------------------------------------------------------------------------


def _rewrite_csv(path: Path, edit) -> None:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    header, rows = edit(list(rows[0].keys()), rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def drop_hr_column(raw: Path, column: str) -> Path:
    """Remove ``column`` from the latest HR CSV extract; returns the file."""
    path = sorted((raw / "hr").glob("hr_*.csv"))[-1]
    _rewrite_csv(path, lambda header, rows: ([h for h in header if h != column], rows))
    return path


def mattermost_canonical_copy_with_changed_post(raw: Path) -> str:
    """A canonical Parquet events file beside the Mattermost export repeating one of its posts (same
    event_id) with a different length; returns the post's user. Canonical files are read as they
    are (a newer export supersedes an older one, a canonical file supersedes nothing), so the two
    versions meet in ``raw.mattermost_events``."""
    from pipelines.connectors.mattermost import MattermostConnector

    events = pl.concat([b.frame for b in MattermostConnector().read_drop_zone(raw) if b.table == "events"])
    post = events.filter(pl.col("action") == "post").head(1)
    changed = post.with_columns((pl.col("body_chars") + 40).alias("body_chars"), pl.lit(None, pl.Utf8).alias("source_file"))
    folder = raw / "platforms" / "mattermost" / "canonical" / "events"
    folder.mkdir(parents=True)
    changed.write_parquet(folder / "part-0.parquet")
    return post["account_id"][0]


def truncate_mattermost(raw: Path, cut_bytes: int = 120) -> Path:
    """Cut the end off the Mattermost export, mid-line (an interrupted download)."""
    export = next((raw / "platforms" / "mattermost").glob("*.jsonl"))
    data = export.read_bytes()
    export.write_bytes(data[: len(data) - cut_bytes])
    return export


def drop_slack_day(raw: Path, day: dt.date) -> int:
    """Rewrite the Slack export zip without any channel's day file of ``day``; returns files removed."""
    export = next((raw / "platforms" / "slack").glob("*.zip"))
    rewritten = export.with_suffix(".tmp")
    removed = 0
    with zipfile.ZipFile(export) as src, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename.endswith(f"/{day.isoformat()}.json"):
                removed += 1
                continue
            dst.writestr(info, src.read(info.filename))
    os.replace(rewritten, export)
    return removed


def plant_manager_cycle(raw: Path) -> tuple[str, str]:
    """Make a manager B report to one of their own reports A in every HR source; returns (A, B)."""
    extracts = sorted((raw / "hr").glob("hr_*.csv"))
    frames = [pl.read_csv(p, infer_schema=False) for p in extracts]
    always = set.intersection(*(set(f["employee_id"]) for f in frames))
    first = frames[0]
    managers = set(first["manager_id"].drop_nulls())
    # A: someone present throughout whose manager B is present throughout and has a manager too
    pairs = first.filter(pl.col("employee_id").is_in(list(always)) & pl.col("manager_id").is_in(list(always)))
    with_boss = set(first.filter(pl.col("manager_id").is_not_null())["employee_id"])
    a, b = next((e, m) for e, m in pairs.select("employee_id", "manager_id").sort("employee_id").iter_rows()
                if m in with_boss and m in managers and e != m)

    def edit(header, rows):
        for row in rows:
            if row["employee_id"] == b:
                row["manager_id"] = a
        return header, rows

    for path in extracts:
        _rewrite_csv(path, edit)
    scim = raw / "hr" / "directory_scim.json"
    if scim.exists():
        doc = json.loads(scim.read_text(encoding="utf-8"))
        ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ids = {r.get("externalId"): r["id"] for r in doc["Resources"]}
        for r in doc["Resources"]:
            if r.get("externalId") == b and ext in r:
                r[ext]["manager"] = {"value": ids[a]}
        scim.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return a, b


def kpi_in_minutes(raw: Path, kpi: str, since: dt.date) -> int:
    """Deliver ``kpi`` in minutes instead of hours from ``since`` on; returns rows changed."""
    path = raw / "kpis" / f"{kpi}.csv"
    changed = 0

    def edit(header, rows):
        nonlocal changed
        for row in rows:
            if dt.date.fromisoformat(row["period_start"]) >= since:
                row["value"] = f"{float(row['value']) * 60:.2f}"
                changed += 1
        return header, rows

    _rewrite_csv(path, edit)
    return changed


# -- tests -----------------------------------------------------------------------------------------


def test_clean_simulated_data_passes_every_check(clean_run: PipelineRun) -> None:
    assert clean_run.error is None
    outcomes = clean_run.outcomes()
    failed = {name: o.message for name, o in outcomes.items() if not o.passed}
    # the one planted fault of the simulated drop zone: the pulse survey's anonymous Forms responses,
    # quarantined with their reason (a warning, not a blocking failure)
    assert set(failed) <= {"pulse_survey_rejects"} and "anonymous" in failed.get("pulse_survey_rejects", "anonymous")
    assert {"events_conserved", "missing_export_days", "manager_cycles", "kpi_scale_jumps",
            "person_week_unique", "adoption_curve_consistent"} <= set(outcomes)
    assert clean_run.has_table("quality.run_summary") and clean_run.has_table("marts.adoption_curve")


def test_missing_column_stops_the_run_naming_file_and_column(drop_zone: Path, tmp_path: Path) -> None:
    raw = _copy(drop_zone, tmp_path)
    path = drop_hr_column(raw, "employee_id")
    run = run_pipeline(raw, tmp_path)
    # the HR connector refuses the file (a broken contract, not bad rows): its asset fails
    assert run.error is not None and "raw__hr_csv" in run.error
    message = run.step_errors["raw__hr_csv"]
    assert f"{path}, line 1: missing column(s) employee_id" in message
    # its checks were not run, and nothing downstream of the ingest layer ran
    assert not any(name.startswith("hr_csv_") for name in run.check_failures)
    assert not run.has_table("clean.hr_directory") and not run.has_table("marts.person_week")


def test_duplicate_ids_with_different_payloads_block_downstream(drop_zone: Path, tmp_path: Path) -> None:
    raw = _copy(drop_zone, tmp_path)
    user = mattermost_canonical_copy_with_changed_post(raw)
    run = run_pipeline(raw, tmp_path)
    severity, blocking, description = run.check_failures["mattermost_events_conflicting_ids"]
    assert (severity, blocking) == ("ERROR", True)
    assert description.startswith(
        "raw.mattermost_events: 1 duplicate (source, event_id) id(s) with different payloads in body_chars")
    assert f":{user}" in description  # the event id names channel, time and user
    # besides the planted conflict, the simulated survey's anonymous responses (a warning)
    assert set(run.check_failures) == {"mattermost_events_conflicting_ids", "pulse_survey_rejects"}
    assert run.error is not None and "mattermost_events_conflicting_ids" in run.error
    # the blocking failure stopped the run: no clean layer, no marts
    assert run.has_table("raw.mattermost_events")
    assert not run.has_table("clean.events") and not run.has_table("marts.person_week")


def test_truncated_export_archive_stops_the_run(drop_zone: Path, tmp_path: Path) -> None:
    raw = _copy(drop_zone, tmp_path)
    export = next((raw / "platforms" / "slack").glob("*.zip"))
    data = export.read_bytes()
    export.write_bytes(data[: len(data) // 2])  # an interrupted download: no central directory
    run = run_pipeline(raw, tmp_path)
    assert run.error is not None and "raw__slack" in run.error
    message = run.step_errors["raw__slack"]
    assert f"{export}: cannot open as a zip archive" in message and "BadZipFile" in message
    assert not run.has_table("clean.events") and not run.has_table("marts.person_week")


def test_warnings_name_each_fault_and_let_the_run_finish(drop_zone: Path, tmp_path: Path) -> None:
    raw = _copy(drop_zone, tmp_path)
    assert drop_slack_day(raw, MISSING_DAY) > 0
    a, b = plant_manager_cycle(raw)
    assert kpi_in_minutes(raw, "first_response_hours", KPI_UNIT_SLIP_FROM) > 0
    truncated = truncate_mattermost(raw)
    run = run_pipeline(raw, tmp_path)
    assert run.error is None  # warnings never block
    assert run.has_table("marts.adoption_curve")
    outcomes = run.outcomes()
    failed = {name for name, o in outcomes.items() if not o.passed}
    assert failed == {"missing_export_days", "manager_cycles", "kpi_scale_jumps", "mattermost_rejects",
                      "pulse_survey_rejects"}  # the last one: the simulated survey's anonymous responses
    assert all(outcomes[name].severity.value == "warn" for name in failed)

    day = outcomes["missing_export_days"].message
    assert f"slack {MISSING_DAY} (Wed): 0 events vs typically" in day
    cycles = outcomes["manager_cycles"].message
    assert "manager cycle(s)" in cycles and " -> ".join(sorted([a, b])) in cycles
    kpi = outcomes["kpi_scale_jumps"].message
    jump = re.search(rf"first_response_hours: scale jump x([\d.]+) in 4 period\(s\) from {KPI_UNIT_SLIP_FROM}", kpi)
    assert jump and 50 <= float(jump.group(1)) <= 70  # x60, give or take the KPI's own drift
    assert "wrong unit?" in kpi and "outside expected_range [0, 200]" in kpi
    rejects = outcomes["mattermost_rejects"].message
    assert "mattermost: 1 row(s) quarantined" in rejects and truncated.name in rejects
    assert "not valid JSON" in rejects

