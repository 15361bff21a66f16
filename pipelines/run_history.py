"""What the warehouse's runs did: ``quality.pipeline_runs``, one row per run, written by the run itself.

A run writes its row when it starts (status ``running``) and again when it ends (``succeeded`` or
``failed``, with the steps and checks that failed and the first message). A run killed on the way
(SIGKILL, a machine stopped) leaves ``running`` behind with no lock held any more: readers call it
*unfinished*. ``uptake report`` reads the latest row: a report made after a failed or unfinished
run says so at the top of the page and on stderr (:func:`stale_notice`), since some tables may
still be those of an earlier run.

Columns: ``run_id``, ``started_at``, ``finished_at`` (UTC), ``status``, ``until`` (the last layer
asked for), ``week`` (the report's partition), ``failed`` (failed steps and blocking checks),
``message``, ``pid``, ``host``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.run_lock import RunLockInfo, run_holding
from transforms.warehouse import ensure_schemas, relation_exists

log = logging.getLogger(__name__)

__all__ = ["RUNS_TABLE", "RunRecord", "last_run", "record_end", "record_start", "stale_notice", "write_connection"]

RUNS_TABLE = "quality.pipeline_runs"
_DDL = (f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, "
        "finished_at TIMESTAMPTZ, status VARCHAR, until VARCHAR, week VARCHAR, failed VARCHAR[], message VARCHAR, "
        "pid INTEGER, host VARCHAR)")
#: How long a run waits for a reader's short read-only connection to close before writing its row.
WRITE_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    until: str | None
    week: str | None
    failed: tuple[str, ...]
    message: str | None


def write_connection(warehouse: str | Path, wait: float = WRITE_WAIT_SECONDS,
                     config: dict[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """A read-write connection to ``warehouse`` (DuckDB ``config`` if given), waiting (up to ``wait``
    seconds) while a reader's read-only connection holds the file; the lock error after that."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(str(warehouse), config=config or {})
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            log.info("%s is open in another process; waiting to write the run's record", warehouse)
            time.sleep(0.2)


def record_start(warehouse: str | Path, run: RunLockInfo, *, until: str, week: str | None) -> None:
    """Write the ``running`` row of ``run`` (the run holds the warehouse's lock)."""
    with write_connection(warehouse) as con:
        ensure_schemas(con)
        con.execute(_DDL)
        con.execute(f"INSERT OR REPLACE INTO {RUNS_TABLE} VALUES (?, ?, NULL, 'running', ?, ?, [], NULL, ?, ?)",
                    [run.run_id, dt.datetime.fromisoformat(run.started_at), until, week, run.pid, run.host])


def record_end(warehouse: str | Path, run_id: str, *, failed: Sequence[str], message: str | None) -> None:
    """Mark ``run_id`` ``succeeded`` (nothing ``failed``) or ``failed``."""
    with write_connection(warehouse) as con:
        con.execute(_DDL)
        con.execute(f"UPDATE {RUNS_TABLE} SET finished_at = ?, status = ?, failed = ?, message = ? WHERE run_id = ?",
                    [dt.datetime.now(dt.UTC), "failed" if failed else "succeeded", list(failed), message, run_id])


def last_run(con: duckdb.DuckDBPyConnection) -> RunRecord | None:
    """The latest run of the warehouse (by start), or None when no run was recorded."""
    if not relation_exists(con, RUNS_TABLE):
        return None
    row = con.execute(f"SELECT run_id, started_at, finished_at, status, until, week, failed, message "
                      f"FROM {RUNS_TABLE} ORDER BY started_at DESC, run_id LIMIT 1").fetchone()
    if row is None:
        return None
    return RunRecord(run_id=row[0], started_at=row[1], finished_at=row[2], status=row[3], until=row[4], week=row[5],
                     failed=tuple(row[6] or ()), message=row[7])


def stale_notice(record: RunRecord | None, warehouse: str | Path, *, language: str | None = None) -> str | None:
    """What a reader of ``warehouse`` must be told about its latest run, in ``language`` (default
    English), or None when it succeeded: a failed run (its time, failed steps and first message) or
    an unfinished one (killed, or still going when it holds the warehouse's lock)."""
    if record is None or record.status == "succeeded":
        return None
    from transforms.report.i18n import use_language  # the report's package: imported when a notice is due
    from transforms.report.run_notice import stale_run_notice

    holder = run_holding(warehouse) if record.status == "running" else None
    with use_language(language):
        return stale_run_notice(status=record.status, run_id=record.run_id, started_at=record.started_at,
                                failed=record.failed, message=record.message,
                                still_going=holder is not None and holder.run_id == record.run_id)
