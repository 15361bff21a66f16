"""The warehouse's run lock (``pipelines.run_lock``) and the readers that respect it
(``pipelines.readers``): one run at a time, refused at once with the running one named, stale
locks of dead runs taken over with a warning, readers waiting with a message."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from dagster import asset

from pipelines.readers import connect_read_only
from pipelines.resources import WarehouseResource
from pipelines.run_lock import WarehouseBusyError, lock_path, run_holding, warehouse_run_lock
from tests.conftest import REPO

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipelines.run_lock import warehouse_run_lock
    with warehouse_run_lock(sys.argv[1], run_id="run-in-another-process", raw="/drop/zone"):
        Path(sys.argv[2]).write_text("held")
        time.sleep(float(sys.argv[3]))
""")


def _holder(warehouse: Path, tmp_path: Path, seconds: float = 600) -> subprocess.Popen:
    """Another process holding ``warehouse``'s lock for ``seconds``; returns once it holds it."""
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse), str(ready), str(seconds)], cwd=REPO)
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the holder did not start"
        time.sleep(0.02)
    return proc


def test_a_second_lock_is_refused_at_once_naming_the_first(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with warehouse_run_lock(warehouse, run_id="first", raw="/raw") as me:
        assert run_holding(warehouse) == me
        assert json.loads(lock_path(warehouse).read_text())["run_id"] == "first"
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError) as exc, warehouse_run_lock(warehouse, run_id="second"):
            pass
        assert time.monotonic() - started < 1
        assert f"run first (pid {os.getpid()} on {me.host}, started {me.started_at}, drop zone /raw)" in str(exc.value)
    assert run_holding(warehouse) is None
    assert not lock_path(warehouse).exists()  # a run that ends removes its lock file


def test_a_lock_held_by_another_process_and_released_by_its_death(tmp_path: Path, caplog) -> None:
    warehouse = tmp_path / "w.duckdb"
    proc = _holder(warehouse, tmp_path)
    try:
        holder = run_holding(warehouse)
        assert holder is not None and holder.pid == proc.pid and holder.run_id == "run-in-another-process"
        with pytest.raises(WarehouseBusyError, match=f"pid {proc.pid}"), warehouse_run_lock(warehouse, run_id="me"):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert lock_path(warehouse).is_file()  # SIGKILL: no clean-up, but the OS released the lock
    assert run_holding(warehouse) is None
    with caplog.at_level(logging.WARNING, logger="pipelines.run_lock"), \
            warehouse_run_lock(warehouse, run_id="next") as me:
        assert me.run_id == "next"
    assert "run run-in-another-process" in caplog.text and "did not finish" in caplog.text


def test_a_lock_file_of_another_host_is_not_taken_over(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    lock_path(warehouse).write_text(json.dumps({"pid": 4242, "host": "elsewhere", "started_at": "2026-01-01T00:00:00",
                                                "run_id": "remote", "raw": "/r"}))
    with pytest.raises(WarehouseBusyError, match=f"on another machine.*delete {lock_path(warehouse)}"), \
            warehouse_run_lock(warehouse, run_id="me"):
        pass
    assert "remote" in lock_path(warehouse).read_text()  # left as it was


def test_a_reader_waits_for_the_run_and_says_which(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    said: list[str] = []
    proc = _holder(warehouse, tmp_path, seconds=1.5)
    started = time.monotonic()
    with connect_read_only(warehouse, wait=60, say=said.append) as con:
        assert con.execute("SELECT 1").fetchone() == (1,)
    assert time.monotonic() - started >= 0.5
    proc.wait()
    assert len(said) == 1 and "run run-in-another-process" in said[0] and "waiting for it to finish" in said[0]


def test_a_reader_gives_up_after_its_wait_naming_the_run(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    proc = _holder(warehouse, tmp_path)
    try:
        with pytest.raises(WarehouseBusyError, match="run-in-another-process.*gave up after 1 s"):
            connect_read_only(warehouse, wait=1, say=lambda _: None)
    finally:
        proc.kill()
        proc.wait()


def test_a_dagster_run_outside_uptake_run_takes_the_lock_too(tmp_path: Path) -> None:
    """The UI, the schedule and the sensor start runs without ``uptake run``: their warehouse
    resource takes the lock, so such a run is refused too while another run writes."""
    from dagster import materialize

    warehouse = tmp_path / "w.duckdb"
    resources = {"warehouse": WarehouseResource(database=str(warehouse))}
    proc = _holder(warehouse, tmp_path)
    try:
        result = materialize([touches_the_warehouse], resources=resources, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_failure)
        assert "run-in-another-process" in str(failure.event_specific_data.error)
    finally:
        proc.kill()
        proc.wait()
    assert materialize([touches_the_warehouse], resources=resources).success
    assert not lock_path(warehouse).exists()


@asset
def touches_the_warehouse(warehouse: WarehouseResource) -> None:
    with warehouse.get_connection() as con:
        con.execute("CREATE TABLE IF NOT EXISTS t AS SELECT 1 AS x")


@asset
def first_step(warehouse: WarehouseResource) -> None:
    with warehouse.get_connection() as con:
        con.execute("CREATE OR REPLACE TABLE steps AS SELECT 1 AS step")
        con.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")  # a step's own, gone with its connection


@asset(deps=[first_step])
def second_step(warehouse: WarehouseResource) -> None:
    with warehouse.get_connection() as con:
        con.execute("INSERT INTO steps VALUES (2)")
        temps = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0]
        con.execute(f"INSERT INTO steps VALUES ({100 + temps})")
    # the step's connection is closed, the database stays open until the run ends (the resource
    # holds one connection for the run): a connection of this process with another configuration
    # is refused while it is open
    with pytest.raises(duckdb.ConnectionException, match="different configuration"):
        duckdb.connect(warehouse.database, read_only=True)


def test_steps_share_the_open_database_and_the_run_closes_it(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    assert materialize_steps(warehouse).success
    # closed at the end of the run: a read-only connection (another configuration) opens at once
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT list(step ORDER BY step) FROM steps").fetchone()[0] == [1, 2, 100]
    assert not lock_path(warehouse).exists()


def materialize_steps(warehouse: Path):  # noqa: ANN201 - Dagster's result
    from dagster import materialize

    return materialize([first_step, second_step], resources={"warehouse": WarehouseResource(database=str(warehouse))})
