"""Issue 12, point 4: crash safety. ``uptake run`` is killed with SIGKILL at named points (when a
Dagster step starts, then after a few milliseconds: ``tests/e2e/interrupted_run.py``), then run again;
the marts are identical to those of an uninterrupted run, the warehouse always opens after the
kill, every published snapshot is whole, the killed run is recorded as unfinished (and a report
made then says so) and the re-run takes over its stale lock.

Half the points kill a first run (empty warehouse), half a weekly run over last week's warehouse
(a newer export arrived). ``UPTAKE_KILL_POINTS`` sets how many points run (default 3, what CI
runs: the Slack ingest, the clean events and the published snapshots; 20 for the whole set, the
first three plus 17 drawn with a fixed seed).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.run_lock import lock_path
from tests.conftest import REPO, TEST_SECRET
from tests.e2e.conftest import WeeklySetting
from tests.e2e.drop_zones import differing_marts, run_job_here

pytestmark = pytest.mark.xdist_group("weekly_runs")

KILL_POINTS_ENV = "UPTAKE_KILL_POINTS"
N_POINTS = int(os.environ.get(KILL_POINTS_ENV, "3"))
#: The points CI runs (step, milliseconds after its start), always the first ones.
FIXED_POINTS: tuple[tuple[str, float], ...] = (
    ("raw__slack", 30.0), ("clean__events", 50.0), ("report__published_marts", 20.0))
SEED = 12


def kill_points(steps: tuple[str, ...], n: int) -> list[tuple[str, float]]:
    """The first ``n`` kill points: :data:`FIXED_POINTS`, then steps and delays drawn with a fixed seed."""
    points = [p for p in FIXED_POINTS if p[0] in steps]
    rng = random.Random(SEED)
    others = [s for s in steps if s not in {p[0] for p in points}]
    while len(points) < n and others:
        points.append((others.pop(rng.randrange(len(others))), float(rng.choice([0, 10, 40, 150, 600]))))
    return points[:n]


def _killed_run(raw: Path, warehouse: Path, step: str, delay_ms: float) -> subprocess.CompletedProcess:
    secret = warehouse.parent / "pseudonym.key"
    secret.write_text(TEST_SECRET, encoding="ascii")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | {"UPTAKE_SECRET_FILE": str(secret)}
    return subprocess.run(
        [sys.executable, str(REPO / "tests" / "e2e" / "interrupted_run.py"), "kill", step, str(delay_ms), "run", "--raw",
         str(raw),
         "--warehouse", str(warehouse), "--reports", str(warehouse.parent / "reports"),
         "--published", str(warehouse.parent / "published")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=900)


def _readable_everywhere(warehouse: Path) -> None:
    """The warehouse opens and every table reads; every published file is a whole Parquet file."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        for schema, table in tables:
            con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
    published = warehouse.parent / "published"
    for path in published.rglob("*.parquet"):
        # a killed publish leaves its half-written files in its hidden staging folder, which no
        # reader opens and the next publish removes; what is published is moved out of it whole
        if not any(part.startswith(".") for part in path.relative_to(published).parts):
            pl.read_parquet(path)


@pytest.mark.parametrize("index", range(N_POINTS), ids=lambda i: f"kill_point_{i:02d}")
def test_a_killed_run_rerun_gives_the_uninterrupted_marts(weekly: WeeklySetting, index: int, tmp_path: Path) -> None:
    points = kill_points(weekly.steps, N_POINTS)
    if index >= len(points):
        pytest.skip(f"the job has only {len(weekly.steps)} steps")
    step, delay = points[index]
    warehouse = tmp_path / "warehouse.duckdb"
    if index % 2:
        shutil.copy(weekly.previous, warehouse)
    killed = _killed_run(weekly.this_week, warehouse, step, delay)
    assert killed.returncode == -9, f"{step}+{delay}ms: the run was not killed:\n{killed.stderr[-2000:]}"
    assert lock_path(warehouse).is_file()  # a SIGKILL leaves the lock file behind...
    if warehouse.is_file():
        _readable_everywhere(warehouse)
        from pipelines.run_history import last_run, stale_notice

        with duckdb.connect(str(warehouse), read_only=True) as con:
            record = last_run(con)
        if record is not None:
            assert record.status == "running"
            assert "did not finish" in (stale_notice(record, warehouse) or "")
    rerun = run_job_here(weekly.this_week, warehouse)  # ...which the next run takes over
    assert rerun.problems == (), f"{step}+{delay}ms"
    assert differing_marts(rerun.fingerprints, weekly.reference.fingerprints) == [], f"killed at {step}+{delay}ms"
    _readable_everywhere(warehouse)
    assert not lock_path(warehouse).exists()
    assert not list((tmp_path / "published").glob(".staging-*"))
