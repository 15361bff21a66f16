"""``uptake`` as a user runs it, interrupted at a named point (a test helper, run as a script).

    python tests/e2e/interrupted_run.py kill STEP DELAY_MS  run --raw ... --warehouse ...
    python tests/e2e/interrupted_run.py pause STEP FLAG_FILE run --raw ... --warehouse ...

When Dagster starts the step ``STEP`` (a step key, e.g. ``clean__events``): ``kill`` arms a timer
that sends SIGKILL to this process ``DELAY_MS`` milliseconds later (0: at once), wherever the run
is then (inside that step, or in a later one if it finished first); ``pause`` holds the run there
(lock held, between two writes) until ``FLAG_FILE`` is deleted. Nothing of the production code is
changed: the hook wraps the run's progress handler, which sees every Dagster event.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dagster import DagsterEventType  # noqa: E402
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR  # noqa: E402

from pipelines import runner  # noqa: E402


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _act(mode: str, arg: str) -> None:
    if mode == "kill":
        delay = float(arg) / 1000
        if delay <= 0:
            _kill()
        threading.Timer(delay, _kill).start()
    elif mode == "pause":
        while Path(arg).exists():
            time.sleep(0.05)
    else:
        raise SystemExit(f"mode {mode!r}: expected kill or pause")


def install(mode: str, step: str, arg: str) -> None:
    """Wrap the progress handler so that the start of ``step`` kills or pauses the run."""
    emit = runner._ProgressHandler.emit

    def emit_and_act(self: runner._ProgressHandler, record) -> None:  # noqa: ANN001 - a LogRecord
        event = (getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}).get("dagster_event")
        if event is not None and event.event_type == DagsterEventType.STEP_START and event.step_key == step:
            _act(mode, arg)
        emit(self, record)

    runner._ProgressHandler.emit = emit_and_act


if __name__ == "__main__":
    install(*sys.argv[1:4])
    from pipelines.cli import main

    sys.argv = ["uptake", *sys.argv[4:]]
    main()
