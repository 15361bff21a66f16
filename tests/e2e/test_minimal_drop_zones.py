"""Issue 12, point 1: minimal drop zones run end to end.

Each platform connector alone with ``hr/`` (one extract made from the connector's own accounts,
padded with employees who never used the platform) and a ``settings.yaml`` holding only the two
required keys; no pilots, KPIs or charters. And the reverse: KPIs without pilots. Every run ends
without a failure (``uptake run``'s exit 0), every mart of the registry exists with its full
schema (empty where it cannot be computed), ``uptake check`` passes and the report says which
section is absent and which file would fill it.

Every registered platform connector runs (about 15 s of CPU each: the contract-kit exports are small);
``UPTAKE_MINIMAL_ZONES=slack,m365_usage`` (a comma-separated list) runs only those, e.g. while working
on one connector.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.connectors import registered_connectors
from pipelines.simulator import simulate
from tests.conftest import uptake_cli
from tests.e2e.drop_zones import run_job_here
from tests.e2e.first_run import page_text, report_defects
from tests.mart_fingerprints import STORED

FIXTURES = Path(__file__).parents[1] / "fixtures" / "connectors"
PLATFORMS = sorted(n for n, c in registered_connectors().items() if c.kind == "platform")
#: The connectors ``UPTAKE_MINIMAL_ZONES`` restricts the runs to (default: every platform connector).
ONLY = {n.strip() for n in os.environ.get("UPTAKE_MINIMAL_ZONES", "").split(",") if n.strip() and n.strip() != "all"}
#: Employees without any platform account added to the HR extract, so that groups reach the minimum size.
NON_USERS = 8
#: What the report must say for each absent part, and the file that fills it.
ABSENT_SECTIONS = {
    "pilots": ("No pilot cohort is declared", ("pilots.yaml",)),
    "charters": ("No community charter is declared", ("charters.yaml",)),
    "kpis": ("No outcome KPI is registered", ("kpi_registry.yaml", "kpis/*.csv")),
}


def _full_schemas() -> dict[str, list[str]]:
    """Every mart's columns (``name TYPE``) as a full run writes them (the stored fingerprints)."""
    return {name: entry["columns"] for name, entry in json.loads(STORED.read_text(encoding="utf-8")).items()}


def _people(name: str, raw: Path) -> tuple[list[tuple[str, str]], dt.date, dt.date]:
    """(employee id, e-mail) of everyone the connector's accounts (or counters) name, and the first
    and last day of its data."""
    frames: dict[str, list[pl.DataFrame]] = {}
    for batch in registered_connectors()[name].read_drop_zone(raw):
        frames.setdefault(batch.table, []).append(batch.frame)
    if "events" in frames:
        events = pl.concat(frames["events"])
        first, last = events["occurred_at"].min().date(), events["occurred_at"].max().date()
    else:
        counts = pl.concat(frames["activity_counts"])
        first, last = counts["period_start"].min(), counts["period_end"].max()
    if "accounts" in frames:
        accounts = pl.concat(frames["accounts"]).filter(~pl.col("is_automated")).unique("account_id").sort("account_id")
        people = [(r["employee_number"] or f"E{i:03d}", r["account_email"] or f"{r['username']}@minimal.example")
                  for i, r in enumerate(accounts.iter_rows(named=True))]
    else:
        ids = sorted(pl.concat(frames["activity_counts"])["account_id"].unique())
        people = [(f"E{i:03d}", upn) for i, upn in enumerate(ids)]
    return people, first, last


def minimal_zone(name: str, raw: Path) -> Path:
    """The connector's contract-kit export, one HR extract dated after its last day, two settings."""
    shutil.copytree(FIXTURES / name / "platforms" / name, raw / "platforms" / name)
    people, first, last = _people(name, raw)
    people += [(f"N{i:03d}", f"never.{i}@minimal.example") for i in range(NON_USERS)]
    (raw / "hr").mkdir()
    with (raw / "hr" / f"hr_{last + dt.timedelta(days=3)}.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["employee_id", "email", "department", "org_unit", "site", "hire_date"])
        for i, (employee, email) in enumerate(people):
            writer.writerow([employee, email, "Operations", f"OPS-{i % 2}", "HQ", "2020-01-06"])
    launch = first - dt.timedelta(days=first.weekday())
    (raw / "settings.yaml").write_text(f"organisation: Minimal {name}\nplatform_launch: {launch}\n", encoding="utf-8")
    return raw


def _assert_marts_have_full_schemas(warehouse: Path) -> dict[str, int]:
    expected = _full_schemas()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = {f"marts.{t}": [f"{c} {ty}" for c, ty, *_ in con.execute(f"DESCRIBE marts.{t}").fetchall()]
                 for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
        rows = {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in found}
    assert sorted(found) == sorted(expected), "the set of marts differs from a full run's"
    assert {t: c for t, c in found.items() if c != expected[t]} == {}
    return rows


def _assert_absent_sections_named(report: str, absent: tuple[str, ...]) -> None:
    page = Path(report).read_text(encoding="utf-8")
    assert report_defects(page) == []
    text = page_text(page)
    for part in absent:
        sentence, files = ABSENT_SECTIONS[part]
        assert sentence in text, part
        for file in files:
            assert file in text, file


def _check_passes(warehouse: Path) -> None:
    from rich.console import Console

    from pipelines.check_cli import check_command

    console = Console(record=True, width=200)
    assert check_command(warehouse, console=console) == 0, console.export_text()


@pytest.mark.parametrize("name", [
    n if not ONLY or n in ONLY else pytest.param(n, marks=pytest.mark.skip(reason="not in UPTAKE_MINIMAL_ZONES"))
    for n in PLATFORMS
])
def test_one_platform_and_hr_alone(name: str, tmp_path: Path) -> None:
    raw = minimal_zone(name, tmp_path / "raw")
    run = run_job_here(raw, tmp_path / "warehouse.duckdb")
    assert run.problems == ()
    rows = _assert_marts_have_full_schemas(run.warehouse)
    assert rows["marts.person_week"] > 0 and rows["marts.adoption_curve"] > 0
    for empty in ("marts.pilot_effects", "marts.pilot_representativeness", "marts.outcome_kpis",
                  "marts.community_outputs", "marts.kpi_activity_link"):
        assert rows[empty] == 0, empty
    _check_passes(run.warehouse)
    assert run.report is not None
    _assert_absent_sections_named(run.report, ("pilots", "charters", "kpis"))


def test_every_platform_connector_is_covered() -> None:
    """A new connector gets a minimal drop zone from its contract-kit fixture."""
    assert ONLY <= set(PLATFORMS), f"UPTAKE_MINIMAL_ZONES names no such platform connector: {ONLY - set(PLATFORMS)}"
    assert len(PLATFORMS) >= 8
    assert [n for n in PLATFORMS if not (FIXTURES / n / "platforms" / n).is_dir()] == []


def test_kpis_without_pilots_through_the_command_line(tmp_path: Path, secret_file: Path) -> None:
    raw = tmp_path / "raw"
    simulate(raw, employees=150, weeks=10, seed=9, start=dt.date(2026, 1, 5))
    for part in ("platforms/mattermost", "platforms/viva_engage", "platforms/m365_usage"):
        shutil.rmtree(raw / part)
    # targets.yaml goes too: the simulator's targets name pilot cohorts and chartered communities
    for name in ("pilots.yaml", "charters.yaml", "targets.yaml", "ground_truth.json", "hr/directory_scim.json"):
        (raw / name).unlink(missing_ok=True)
    assert (raw / "kpi_registry.yaml").is_file() and list((raw / "kpis").glob("*.csv"))
    warehouse = tmp_path / "warehouse.duckdb"
    env = {"UPTAKE_SECRET_FILE": str(secret_file)}
    proc = uptake_cli("run", "--raw", str(raw), "--warehouse", str(warehouse), env=env)  # asserts exit 0
    report = proc.stdout.strip().splitlines()[-1]
    assert uptake_cli("check", "--warehouse", str(warehouse), check=False).returncode == 0
    rows = _assert_marts_have_full_schemas(warehouse)
    assert rows["marts.outcome_kpis"] > 0 and rows["marts.kpi_activity_link"] > 0
    assert rows["marts.pilot_effects"] == rows["marts.pilot_representativeness"] == rows["marts.pilot_power"] == 0
    _assert_absent_sections_named(report, ("pilots", "charters"))
    assert "No outcome KPI is registered" not in page_text(Path(report).read_text(encoding="utf-8"))
