"""How a reader opens the warehouse while runs may be writing it.

DuckDB lets one process write a database file, or several read it, never both at once. A run
writes (each step opens the file for its time); a reader that opens it read-only in between makes
the run's next step wait, and a reader that tries while a step writes is refused by DuckDB. So
readers (``uptake report``, ``uptake check``, a notebook's fallback) read the published snapshots
while a run holds the warehouse (:mod:`pipelines.run_lock`), or wait for the run to end with a
message naming it, then open the file read-only for as short a time as they can.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from pipelines.run_lock import WarehouseBusyError, run_holding

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_WAIT_SECONDS", "connect_read_only"]

#: How long a reader waits for a run to finish before giving up.
DEFAULT_WAIT_SECONDS = 3600.0
_POLL_SECONDS = 0.5


def connect_read_only(warehouse: str | Path, *, wait: float = DEFAULT_WAIT_SECONDS,
                      say: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``warehouse`` once no run holds it and no other process writes it.

    While one does, ``say`` (default: a log warning) is told once what is awaited; after ``wait``
    seconds :class:`~pipelines.run_lock.WarehouseBusyError` names the run still going.
    """
    say = say or log.warning
    deadline = time.monotonic() + wait
    told: set[str] = set()
    while True:
        holder = run_holding(warehouse)
        if holder is None:
            try:
                return duckdb.connect(str(warehouse), read_only=True)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                reason = f"{warehouse} is open for writing by another process; waiting for it to close"
        else:
            reason = f"{warehouse} is being written by {holder.describe()}; waiting for it to finish"
        if time.monotonic() > deadline:
            raise WarehouseBusyError(f"{reason.split('; waiting')[0]}; gave up after {wait:.0f} s")
        if reason not in told:
            told.add(reason)
            say(reason)
        time.sleep(_POLL_SECONDS)
