"""One run at a time per warehouse: an advisory lock file next to it, ``<warehouse>.lock``.

The embedded warehouse has one writer. Two runs on it at once would interleave their steps (each
step opens the file for a moment, and DuckDB makes the other wait up to 100 s, then fail), so a
run takes this lock first and a second run is refused at once, with a message naming the first.

- **Exclusion** is an OS lock (``flock``) on the open lock file, held for the whole run. The OS
  drops it when the process ends, however it ends (a SIGKILL, a crash), so a dead run never blocks
  the next one.
- **What the file says**: while a run holds it, JSON with the run's ``pid``, ``host``,
  ``started_at`` (UTC), ``run_id`` and drop zone; readers (``uptake report``, notebooks) use it to
  name the run they are waiting for. A run that ends normally removes the file.
- **Stale locks**: a file still naming a run whose lock the OS no longer holds was left by a run
  that died (killed, machine stopped). The next run takes it over with a warning naming the dead
  run; what that run left half done is redone (every layer is rebuilt from its inputs, each write
  is one transaction). A file naming a run on another host cannot be checked from here (a lock on
  a network share is not always shared): the run is refused, and the message says which file to
  delete if that run is gone.

POSIX only (``fcntl``), like the rest of the tooling (``dev.sh``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["RunLockInfo", "WarehouseBusyError", "held_here", "lock_path", "run_holding", "warehouse_run_lock"]

#: The locks this process holds, by lock file (so that a run started by ``uptake run``, which takes
#: the lock first, does not refuse itself when its warehouse resource starts).
_HELD: dict[str, RunLockInfo] = {}


class WarehouseBusyError(RuntimeError):
    """Another run holds the warehouse; the message names it (pid, host, start, run id)."""


@dataclass(frozen=True)
class RunLockInfo:
    """The run that holds (or held) a warehouse's lock."""

    pid: int
    host: str
    started_at: str
    run_id: str
    raw: str

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host}, started {self.started_at}, drop zone {self.raw})"


def lock_path(warehouse: str | Path) -> Path:
    """``<warehouse>.lock``, next to the warehouse file."""
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".lock")


def held_here(warehouse: str | Path) -> bool:
    """Whether this process holds ``warehouse``'s run lock."""
    return str(lock_path(warehouse).resolve()) in _HELD


def _read(fd: int) -> RunLockInfo | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 1 << 16).decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
        return RunLockInfo(pid=int(data["pid"]), host=str(data["host"]), started_at=str(data["started_at"]),
                           run_id=str(data["run_id"]), raw=str(data.get("raw", "")))
    except (ValueError, KeyError, TypeError):
        return RunLockInfo(pid=-1, host="?", started_at="?", run_id="(unreadable lock file)", raw="")


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def run_holding(warehouse: str | Path) -> RunLockInfo | None:
    """The run holding ``warehouse``'s lock now, or None when no run is going on.

    Takes nothing: the lock is tried and released at once. A file left by a dead run is not a
    holder (None)."""
    path = lock_path(warehouse)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _try_flock(fd):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return _read(fd) or RunLockInfo(pid=-1, host="?", started_at="?", run_id="(starting)", raw="")
    finally:
        os.close(fd)


def _acquire(path: Path) -> int:
    """An open descriptor of ``path`` holding its flock (the file being the one at ``path`` now)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_flock(fd):
            holder = _read(fd)
            os.close(fd)
            what = holder.describe() if holder else "another run (just starting)"
            raise WarehouseBusyError(
                f"{path.with_suffix('')} is being written by {what}; wait for it to finish "
                f"(its lock: {path}). Reports and notebooks can read the published snapshots meanwhile.")
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder removed the file between our open and our lock: take the new one


@contextmanager
def warehouse_run_lock(warehouse: str | Path, *, run_id: str, raw: str | Path = "") -> Iterator[RunLockInfo]:
    """Hold ``warehouse``'s run lock for the block; :class:`WarehouseBusyError` at once if a run
    holds it. A lock file left by a dead run on this host is taken over with a warning."""
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path)
    written = False
    try:
        previous = _read(fd)
        me = RunLockInfo(pid=os.getpid(), host=socket.gethostname(),
                         started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), run_id=run_id, raw=str(raw))
        if previous is not None:
            if previous.host not in (me.host, "?"):
                raise WarehouseBusyError(
                    f"{path} names {previous.describe()}, on another machine: if that run is still going, wait for "
                    f"it; if it is not, delete {path} and run again")
            log.warning("the previous %s did not finish (killed or crashed): its lock is taken over; this run "
                        "redoes what it left half done", previous.describe())
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(asdict(me)).encode("utf-8"))
        os.fsync(fd)
        written = True
        _HELD[str(path.resolve())] = me
        yield me
    finally:
        _HELD.pop(str(path.resolve()), None)
        if written:  # removed while still held: a run that opened the old file retries on the new one
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        os.close(fd)
