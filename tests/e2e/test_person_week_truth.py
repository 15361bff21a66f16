"""Issue 4 acceptance on a simulated organisation run through `uptake run`: identity match rates
against the planted ones, person_week on HR denominators, conservation, idempotent re-runs and
overlapping exports, and no identifying data in any mart."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SimulatedRun, uptake_cli

pytestmark = pytest.mark.xdist_group("e2e")


def test_identity_match_rate_equals_the_planted_rate(simulated_run: SimulatedRun) -> None:
    with simulated_run.connect() as con:
        report = con.execute("SELECT source, human_accounts, match_rate FROM quality.identity_match_report").pl()
    planted = simulated_run.truth["identity"]
    assert set(report["source"]) == set(planted)
    for source, humans, rate in report.iter_rows():
        assert humans == planted[source]["human_accounts"], source
        assert abs(rate - planted[source]["match_rate"]) <= 0.005, (source, rate, planted[source]["match_rate"])


def test_person_week_rows_equal_eligible_headcount_week_by_week(simulated_run: SimulatedRun) -> None:
    with simulated_run.connect() as con:
        per_week = con.execute(
            "SELECT week_start::VARCHAR AS week_start, count(*) AS rows, count(*) FILTER (NOT is_active) AS idle, "
            "count(*) FILTER (NOT has_account) AS no_account, count(*) FILTER (is_active) AS active "
            "FROM marts.person_week GROUP BY ALL ORDER BY 1"
        ).pl()
    truth = pl.DataFrame(simulated_run.truth["weekly"]).select("week_start", "eligible", "active")
    joined = truth.join(per_week, on="week_start", how="full", coalesce=True)
    assert joined.height == len(simulated_run.truth["weekly"])
    assert joined["rows"].to_list() == joined["eligible"].to_list()
    assert int(per_week["rows"].sum()) == int(truth["eligible"].sum())
    # zero-activity employees and employees without any platform account are rows too
    assert per_week["idle"].min() > 0 and per_week["no_account"].sum() > 0
    # and the weekly active counts are exactly the planted observable ones
    assert per_week["active"].to_list() == truth["active"].to_list()


def test_events_are_conserved_per_source(simulated_run: SimulatedRun) -> None:
    with simulated_run.connect() as con:
        rows = con.execute(
            "SELECT source, sum(rows_in), sum(kept), sum(rejected), sum(filtered_duplicate), "
            "sum(filtered_automated), sum(filtered_overlap), bool_and(balanced) "
            "FROM quality.event_conservation GROUP BY ALL"
        ).fetchall()
    assert {r[0] for r in rows} >= {"slack", "viva_engage", "mattermost", "m365_usage"}
    for source, rows_in, kept, rejected, dup, bots, overlap, balanced in rows:
        assert balanced, source
        assert rows_in == kept + rejected + dup + bots + overlap, source
        if source in {"slack", "viva_engage", "mattermost", "m365_usage"}:  # the simulated platforms
            assert kept > 0, source
        else:  # registered, but the simulator writes no export for it: nothing in, nothing kept
            assert rows_in == kept == 0, source
    automated = {r[0]: r[5] for r in rows}
    assert automated["slack"] > 0  # the simulated bots were filtered, and counted


def _overlapping_slack_export(raw: Path) -> None:
    """Add a second Slack export that overlaps the first: the same workspace, its last half of days."""
    (src,) = sorted((raw / "platforms" / "slack").glob("*.zip"))
    dst = src.with_name("second_export_overlapping.zip")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        day_files = sorted(n for n in zin.namelist() if re.search(r"\d{4}-\d{2}-\d{2}\.json$", n))
        keep_from = day_files[len(day_files) // 2].rsplit("/", 1)[-1]
        for name in zin.namelist():
            base = name.rsplit("/", 1)[-1]
            if not re.search(r"\d{4}-\d{2}-\d{2}\.json$", name) or base >= keep_from:
                zout.writestr(name, zin.read(name))


def test_rerun_and_overlapping_export_leave_person_week_identical(
    simulated_run: SimulatedRun, tmp_path: Path, secret_file: Path
) -> None:
    env = {"UPTAKE_SECRET_FILE": str(secret_file)}
    raw = tmp_path / "raw"
    shutil.copytree(simulated_run.raw, raw)
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(simulated_run.warehouse, warehouse)
    # same drop zone again on the same warehouse
    uptake_cli("run", "--raw", str(raw), "--warehouse", str(warehouse), "--reports", str(tmp_path / "r"),
               "--until", "marts", env=env)
    # then an overlapping second export
    _overlapping_slack_export(raw)
    uptake_cli("run", "--raw", str(raw), "--warehouse", str(warehouse), "--reports", str(tmp_path / "r"),
               "--until", "marts", env=env)

    import duckdb

    order = "ORDER BY person_key, week_start"
    with simulated_run.connect() as con:
        before = con.execute(f"SELECT * FROM marts.person_week {order}").pl()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        after = con.execute(f"SELECT * FROM marts.person_week {order}").pl()
        superseded = con.execute(
            "SELECT sum(superseded) FROM raw.export_inputs WHERE \"table\" = 'events'"
        ).fetchone()[0]
    assert superseded > 0  # the overlap was seen (the newer export's rows replace the older's), not ignored
    assert before.equals(after)


def _identifying_values(run: SimulatedRun) -> set[str]:
    """Emails, names and employee ids from the HR extracts, and message text from the Slack export."""
    values: set[str] = set()
    hr = pl.concat([pl.read_csv(p, infer_schema_length=0) for p in sorted((run.raw / "hr").glob("hr_*.csv"))])
    for col in ("employee_id", "email", "display_name", "upn"):
        values |= {v for v in hr[col].drop_nulls().unique().to_list() if v and len(v) >= 5}
    (export,) = sorted((run.raw / "platforms" / "slack").glob("*.zip"))
    with zipfile.ZipFile(export) as z:
        texts = [m.get("text", "") for n in z.namelist() if n.endswith(".json") and "/" in n
                 for m in json.loads(z.read(n))]
    values |= {t for t in texts if len(t) >= 25}
    return values


def test_no_email_name_id_or_message_text_in_any_mart(simulated_run: SimulatedRun) -> None:
    forbidden = _identifying_values(simulated_run)
    assert len(forbidden) > 1000
    with simulated_run.connect() as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
        assert "person_week" in tables and len(tables) > 10
        for table in tables:
            frame = con.execute(f"SELECT * FROM marts.{table}").pl()
            for col in frame.columns:
                if frame[col].dtype == pl.Utf8:
                    leaked = set(frame[col].drop_nulls().unique().to_list()) & forbidden
                    assert not leaked, f"marts.{table}.{col} holds {sorted(leaked)[:3]}"
            assert not {"employee_id", "email", "display_name", "account_email", "manager_id"} & set(frame.columns)
