"""Issue 18 acceptance: the report of a 70-person organisation's first run, without pilots, KPIs,
charters or targets. A year of Slack activity (simulated, in the real export format), one HR extract taken
after the last message, settings with only the required keys; run with ``uptake run`` and
``uptake report`` as a new user would."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.simulator import simulate
from tests.conftest import uptake_cli
from tests.e2e.first_run import page_text, report_defects

pytestmark = pytest.mark.xdist_group("first_run_report")

START = dt.date(2025, 6, 2)
WEEKS = 52


@pytest.fixture(scope="module")
def small_org(tmp_path_factory: pytest.TempPathFactory, secret_file: Path) -> tuple[Path, Path, dt.date]:
    base = tmp_path_factory.mktemp("first_run_70")
    raw = base / "raw"
    simulate(raw, employees=70, weeks=WEEKS, seed=5, start=START, progress=None)
    for part in ("platforms/mattermost", "platforms/viva_engage", "platforms/m365_usage", "kpis"):
        shutil.rmtree(raw / part)
    for name in ("pilots.yaml", "kpi_registry.yaml", "charters.yaml", "targets.yaml", "ground_truth.json",
                 "truth_weekly.csv",
                 "truth_accounts.csv", "hr/directory_scim.json"):
        (raw / name).unlink(missing_ok=True)
    *older, last = sorted((raw / "hr").glob("hr_*.csv"))
    for extract in older:
        extract.unlink()
    extract_date = START + dt.timedelta(weeks=WEEKS, days=10)  # after the last message
    last.rename(raw / "hr" / f"hr_{extract_date.isoformat()}.csv")
    (raw / "settings.yaml").write_text(f"organisation: Small Org\nplatform_launch: {START}\n", encoding="utf-8")
    warehouse = base / "warehouse.duckdb"
    uptake_cli("run", "--raw", str(raw), "--warehouse", str(warehouse), "--reports", str(base / "reports"),
               env={"UPTAKE_SECRET_FILE": str(secret_file)})
    return base, warehouse, extract_date


def _report(base: Path, warehouse: Path, week: str) -> str:
    out = base / f"report_{week}.html"
    uptake_cli("report", "--warehouse", str(warehouse), "--week", week, "--out", str(out))
    return out.read_text(encoding="utf-8")


def test_seventy_people_without_pilots_kpis_or_charters(small_org) -> None:
    base, warehouse, extract_date = small_org
    with duckdb.connect(str(warehouse), read_only=True) as con:
        eligible = con.execute("SELECT count(DISTINCT person_key) FROM marts.person_week").fetchone()[0]
        last_event_week = con.execute("SELECT max(week_start) FROM clean.events").fetchone()[0]
        first_week = con.execute("SELECT min(week_start) FROM marts.person_week").fetchone()[0]
        retention = con.execute("SELECT * FROM marts.retention").pl()
    assert 60 <= eligible <= 80
    assert first_week == START  # a year of history, although HR was extracted once, afterwards
    week = f"{last_event_week.isocalendar()[0]}-W{last_event_week.isocalendar()[1]:02d}"
    page = _report(base, warehouse, week)
    assert report_defects(page) == []
    text = page_text(page)
    # what is missing is named, with the file that fills it
    assert "No pilot cohort is declared" in text and "pilots.yaml" in text
    assert "No community charter is declared" in text and "charters.yaml" in text
    assert "No outcome KPI is registered" in text and "kpi_registry.yaml" in text and "kpis/*.csv" in text
    assert "No target is declared yet" in text and "targets.yaml" in text
    # the sources that sent nothing are listed in one line, not drawn
    assert "Nothing was received from" in text
    for silent in ("mattermost", "viva_engage", "m365_usage"):
        assert silent in text.split("Nothing was received from", 1)[1].split(".", 1)[0]
    assert "contributors (posted, replied, shared or uploaded)" in text
    # retention: every cohort shows its first weeks and hides the rest, never the reverse
    for _, rows in retention.group_by("cohort_type", "population_type", "population", "cohort"):
        flags = rows.sort("weeks_since")["suppressed"].to_list()
        assert flags == sorted(flags)
    shown = retention.filter(~pl.col("suppressed"))
    assert shown.height == 0 or shown["eligible"].min() >= 5


def test_the_default_week_is_the_latest_complete_week_with_data(small_org) -> None:
    """The HR extract comes 10 days after the last message: the weeks in between are eligible weeks
    with nothing measured. Neither the run's report nor ``uptake report`` without ``--week`` may
    show one of them ("0.0% active")."""
    base, warehouse, _ = small_org
    with duckdb.connect(str(warehouse), read_only=True) as con:
        last_event_week = con.execute("SELECT max(week_start) FROM clean.events").fetchone()[0]
        last_eligible_week = con.execute("SELECT max(week_start) FROM marts.adoption_curve").fetchone()[0]
    assert last_eligible_week > last_event_week  # the trap is there
    label = f"{last_event_week.isocalendar()[0]}-W{last_event_week.isocalendar()[1]:02d}"
    assert [p.name for p in (base / "reports").glob("*.html")] == [f"adoption_report_{label}.html"]
    out = base / "report_default.html"
    uptake_cli("report", "--warehouse", str(warehouse), "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert f"adoption report, week {label}" in page_text(page)
    summary = json.loads(page.split('id="report-summary">', 1)[1].split("</script>", 1)[0])
    assert summary["week"] == label and summary["headline"]["active_share"] > 0


def test_a_week_asked_for_beyond_the_data_shows_the_latest_week_with_data(small_org) -> None:
    """``uptake report --week`` of an HR-only week (after the last export) shows the data's latest
    complete week before it, as ``uptake run --week`` does, and says so on stderr; a week before any
    data is a one-line error."""
    base, warehouse, _ = small_org
    with duckdb.connect(str(warehouse), read_only=True) as con:
        last_event_week = con.execute("SELECT max(week_start) FROM clean.events").fetchone()[0]
        last_eligible_week = con.execute("SELECT max(week_start) FROM marts.adoption_curve").fetchone()[0]
    label = f"{last_event_week.isocalendar()[0]}-W{last_event_week.isocalendar()[1]:02d}"
    asked = f"{last_eligible_week.isocalendar()[0]}-W{last_eligible_week.isocalendar()[1]:02d}"
    out = base / "report_beyond.html"
    proc = uptake_cli("report", "--warehouse", str(warehouse), "--week", asked, "--out", str(out))
    assert f"{asked} is beyond the data" in " ".join(proc.stderr.split())
    assert f"the report shows {label}" in " ".join(proc.stderr.split())
    assert f"adoption report, week {label}" in page_text(out.read_text(encoding="utf-8"))
    before = uptake_cli("report", "--warehouse", str(warehouse), "--week", "2025-W01", "--out",
                        str(base / "report_before.html"), check=False)
    assert before.returncode == 1 and "has no week that has ended on or before 2025-W01" in before.stderr
    assert "Traceback" not in before.stderr and not (base / "report_before.html").exists()
