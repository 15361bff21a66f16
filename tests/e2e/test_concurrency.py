"""Issue 12, point 5: concurrency. While ``uptake run`` writes a warehouse (this week's run over
last week's warehouse), a second ``uptake run`` on it is refused at once with a message naming the
running one; ``uptake report`` is made from the published snapshots (saying so); a notebook reading
the published marts never fails; ``uptake check`` waits for the run, then passes. The first run
ends as if alone. And after a failed run, ``uptake report`` says so on the page and on stderr."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.publish import load_mart, published_config, published_tables, read_published_table
from pipelines.run_lock import lock_path, run_holding
from tests.conftest import REPO, TEST_SECRET, uptake_cli
from tests.e2e.conftest import WeeklySetting
from tests.e2e.drop_zones import differing_marts
from tests.e2e.first_run import page_text
from tests.mart_fingerprints import mart_fingerprints

pytestmark = pytest.mark.xdist_group("weekly_runs")


def _env(base: Path) -> dict[str, str]:
    secret = base / "pseudonym.key"
    secret.write_text(TEST_SECRET, encoding="ascii")
    return {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | {"UPTAKE_SECRET_FILE": str(secret)}


#: Where the first run is held while the readers and the second run try (after its ingest, before
#: the clean layer: last week's tables in place, this week's raw rows written).
PAUSE_AT = "clean__events"


def _start_run(raw: Path, warehouse: Path, env: dict[str, str], flag: Path) -> subprocess.Popen:
    """``uptake run``, held when it starts :data:`PAUSE_AT` until ``flag`` is deleted."""
    flag.write_text("hold", encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "e2e" / "interrupted_run.py"), "pause", PAUSE_AT, str(flag),
         "run", "--raw", str(raw), "--warehouse", str(warehouse)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def _wait_for_holder(warehouse: Path, proc: subprocess.Popen, timeout: float = 300) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        holder = run_holding(warehouse)
        if holder is not None:
            return holder
        time.sleep(0.05)
    raise AssertionError(f"the run never took the warehouse's lock: {proc.communicate()}")


class NotebookReader(threading.Thread):
    """Reads every published mart over and over the way the notebooks do, recording any failure."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder, self.stop, self.reads, self.errors = folder, threading.Event(), 0, []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                assert published_config(self.folder).settings is not None
                for name in published_tables(self.folder):
                    read_published_table(name, self.folder)
                load_mart("marts.adoption_curve", directory=self.folder)
                self.reads += 1
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                self.errors.append(repr(exc))


def test_readers_and_a_second_run_while_a_run_writes(weekly: WeeklySetting, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(weekly.previous, warehouse)
    shutil.copytree(weekly.previous.parent / "published", tmp_path / "published")
    env = _env(tmp_path)
    reader = NotebookReader(tmp_path / "published")
    reader.start()
    flag = tmp_path / "hold"
    proc = _start_run(weekly.this_week, warehouse, env, flag)
    holder = _wait_for_holder(warehouse, proc)

    started = time.monotonic()
    second = uptake_cli("run", "--raw", str(weekly.this_week), "--warehouse", str(warehouse), env=env, check=False)
    refused_after = time.monotonic() - started
    assert second.returncode == 1
    message = " ".join(second.stderr.split())
    assert f"run {holder.run_id}" in message and f"pid {holder.pid}" in message and "being written by" in message
    assert refused_after < 30  # at once (a fresh interpreter's start-up), not DuckDB's 100 s of retries

    report = tmp_path / "during.html"
    during = uptake_cli("report", "--warehouse", str(warehouse), "--out", str(report), env=env, check=False)
    assert during.returncode == 0, during.stderr
    assert "made from the snapshots the last run published" in " ".join(during.stderr.split())
    assert "adoption report" in page_text(report.read_text(encoding="utf-8"))

    flag.unlink()  # the run goes on; the notebook keeps reading while it rewrites and publishes
    check = uptake_cli("check", "--warehouse", str(warehouse), env=env, check=False)  # waits for the run
    out, err = proc.communicate(timeout=900)
    reader.stop.set()
    reader.join(timeout=60)
    assert proc.returncode == 0, err
    assert check.returncode == 0, check.stdout[-3000:]
    assert run_holding(warehouse) is None and not lock_path(warehouse).exists()
    assert reader.errors == [] and reader.reads > 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert differing_marts(mart_fingerprints(con), weekly.reference.fingerprints) == []
        statuses = con.execute("SELECT status FROM quality.pipeline_runs ORDER BY started_at").fetchall()
    assert statuses == [("succeeded",), ("succeeded",)]  # last week's run and this one; the refused one is not a run


def test_a_report_after_a_failed_run_says_so(weekly: WeeklySetting, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(weekly.previous, warehouse)
    raw = tmp_path / "raw"
    shutil.copytree(weekly.this_week, raw)
    export = raw / "platforms" / "slack" / "b.zip"
    export.write_bytes(export.read_bytes()[: export.stat().st_size // 2])  # an interrupted download
    env = _env(tmp_path)
    failed = uptake_cli("run", "--raw", str(raw), "--warehouse", str(warehouse), env=env, check=False)
    assert failed.returncode == 1 and "raw__slack" in failed.stderr
    report = tmp_path / "after_failure.html"
    proc = uptake_cli("report", "--warehouse", str(warehouse), "--out", str(report), env=env)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        run_id, = con.execute("SELECT run_id FROM quality.pipeline_runs WHERE status = 'failed'").fetchone()
    for said in (" ".join(proc.stderr.split()), page_text(report.read_text(encoding="utf-8"))):
        assert f"The last pipeline run failed (run {run_id}" in said
        assert "raw__slack" in said
    french = tmp_path / "after_failure_fr.html"  # the banner in the page's language; stderr stays English
    proc = uptake_cli("report", "--warehouse", str(warehouse), "--out", str(french), "--lang", "fr", env=env)
    assert f"The last pipeline run failed (run {run_id}" in " ".join(proc.stderr.split())
    page = page_text(french.read_text(encoding="utf-8"))
    assert f"Le dernier passage du pipeline a échoué (passage {run_id}" in page and "raw__slack" in page
    assert "The last pipeline run" not in page
    ok = tmp_path / "after_success.html"  # last week's warehouse: its last run succeeded
    proc = uptake_cli("report", "--warehouse", str(weekly.previous), "--out", str(ok), env=env)
    assert "The last pipeline run" not in proc.stderr + page_text(ok.read_text(encoding="utf-8"))
