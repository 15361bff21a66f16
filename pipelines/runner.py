"""One way to run: the ``refresh_all`` job (the one the weekly schedule runs) for a drop zone, in one
Dagster run, with blocking checks enforced by Dagster (the assets downstream of a failed check are
not run), a progress callback per finished step, and failures turned into one clear line each.

``uptake run`` calls :func:`run_job`; tests call it too.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    InitLoggerContext,
    PartitionsDefinition,
    logger,
    partition_loading_context,
)
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR

from pipelines.assets import LAYERS
from pipelines.definitions import build_definitions
from pipelines.run_history import record_end, record_start
from pipelines.run_lock import WarehouseBusyError, warehouse_run_lock
from pipelines.schedules import JOB_NAME
from transforms.contracts.config import EngineSettings
from transforms.weeks import iso_week_label

log = logging.getLogger(__name__)

__all__ = ["LAYERS", "PipelineRunError", "RunOutcome", "WarehouseBusyError", "execute_job", "run_job"]

#: Called with (finished steps, total steps, the step's key) after every step of the run.
Progress = Callable[[int, int, str], None]
_progress: ContextVar[Progress | None] = ContextVar("uptake_progress", default=None)
_FINISHED = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED}


class PipelineRunError(RuntimeError):
    """The run failed: a blocking check, a step, or the arguments. The message is for the user."""


@dataclass(frozen=True)
class RunOutcome:
    """What a run did: the metadata of every materialised asset by asset key, the failed checks and
    steps (empty when the run succeeded) and each failure's message for the user."""

    run_id: str
    week: str | None
    metadata: dict[str, dict[str, object]] = field(default_factory=dict)
    #: check name -> (severity, blocking, description), for every check that did not pass
    check_failures: dict[str, tuple[str, bool, str]] = field(default_factory=dict)
    #: step key -> the exceptions the step raised under Dagster's wrapper, outermost first (" <- ")
    step_errors: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    #: step key -> wall-clock seconds of every step that succeeded, in the order they finished
    step_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def report_path(self) -> str | None:
        return (self.metadata.get("report/weekly_adoption_report") or {}).get("path")  # type: ignore[return-value]


class _ProgressHandler(logging.Handler):
    def __init__(self, total: int) -> None:
        super().__init__(logging.DEBUG)
        self.total, self.done = total, 0

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
        event = meta.get("dagster_event")
        callback = _progress.get()
        if event is not None and callback is not None and event.event_type in _FINISHED:
            self.done += 1
            callback(self.done, self.total, event.step_key or "")


@logger(config_schema={"total": int}, description="Reports each finished step to the caller of run_job.")
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    lg = logging.getLogger("uptake.run.progress")
    lg.handlers = [_ProgressHandler(init_context.logger_config["total"])]
    lg.setLevel(logging.DEBUG)
    lg.propagate = False
    return lg


def _selection(defs: Definitions, until: str) -> list[AssetKey] | None:
    if until not in LAYERS:
        raise PipelineRunError(f"--until {until!r}: expected one of {', '.join(LAYERS)}")
    if until == LAYERS[-1]:
        return None
    layers = set(LAYERS[: LAYERS.index(until) + 1])
    graph = defs.resolve_asset_graph()
    return [k for k in graph.get_all_asset_keys() if graph.get(k).group_name in layers]


def _user_message(error) -> str:  # noqa: ANN001 - a Dagster SerializableErrorInfo
    """The user's words for a failed step: the error as uptake's code raised it (the outermost error
    that is not Dagster's own), whose typed errors name the file, the field and what was expected,
    without the class name and without the library errors chained under it."""
    while error is not None and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    text = error.message.strip()
    prefix = f"{error.cls_name}: "
    return (text[len(prefix):] if text.startswith(prefix) else text) or error.cls_name


def _chain(error) -> list[str]:  # noqa: ANN001 - a Dagster SerializableErrorInfo
    out = []
    while error is not None:
        out.append(error.message.strip())
        error = error.cause
    return out


def _partition_key(defs: Definitions, week: dt.date | None, now: dt.datetime | None) -> str:
    with partition_loading_context(effective_dt=now):
        return _key_at(defs.resolve_job_def(JOB_NAME).partitions_def, week)


def _key_at(partitions: PartitionsDefinition, week: dt.date | None) -> str:
    if week is not None:
        key = week.isoformat()
        if not partitions.has_partition_key(key):
            first = partitions.get_first_partition_key()
            raise PipelineRunError(f"--week {iso_week_label(week)}: no such report week; weeks run from the "
                                   f"platform launch ({first}) to the last week that has ended")
        return key
    key = partitions.get_last_partition_key()
    if key is None:
        raise PipelineRunError("no week has ended since the platform launch (settings.yaml platform_launch)")
    return key


def execute_job(raw: Path, warehouse: Path, *, reports: Path | None = None, published: Path | None = None,
                week: dt.date | None = None, until: str = "report", progress: Progress | None = None,
                verbose: bool = False, now: dt.datetime | None = None,
                engine: EngineSettings | None = None) -> RunOutcome:
    """Run the ``refresh_all`` job for the drop zone ``raw`` into ``warehouse`` in one Dagster run and
    return what it did, failures included (see :func:`run_job`, which raises on them). ``engine``: what
    runs the events layers (default: the drop zone's settings.yaml ``engine:``, else DuckDB).

    The run holds the warehouse's lock (:mod:`pipelines.run_lock`) from the start:
    :class:`~pipelines.run_lock.WarehouseBusyError` at once when another run holds it. It records
    itself in ``quality.pipeline_runs`` (:mod:`pipelines.run_history`) when it starts and ends.
    """
    run_id = str(uuid.uuid4())
    with warehouse_run_lock(warehouse, run_id=run_id, raw=raw) as lock:
        try:
            defs = build_definitions(raw_dir=raw, warehouse=warehouse, reports=reports, published=published,
                                     engine=engine)
        except ValueError as exc:
            raise PipelineRunError(str(exc)) from None
        selection = _selection(defs, until)
        job = defs.resolve_job_def(JOB_NAME)
        partition = _partition_key(defs, week, now) if selection is None else None
        steps = len((job.get_subset(asset_selection=set(selection)) if selection else job).nodes_in_topological_order)
        instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
        job = job.with_logger_defs({**job.loggers, "uptake_progress": progress_logger})
        record_start(warehouse, lock, until=until, week=partition)
        failed: list[str] = ["(the run stopped before Dagster reported)"]
        message: str | None = None
        token = _progress.set(progress)
        try:
            result = job.execute_in_process(
                instance=instance, partition_key=partition, asset_selection=selection, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "CRITICAL"}},
                                        "uptake_progress": {"config": {"total": steps}}}},
                tags={"uptake/entry": "run_job"}, run_id=run_id,
            )
            outcome = _outcome(result, partition)
            failed = [*outcome.step_errors, *(name for name, (sev, blocking, _) in outcome.check_failures.items()
                                              if blocking and sev == "ERROR")]
            message = outcome.problems[0] if outcome.problems else None
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _progress.reset(token)
            record_end(warehouse, run_id, failed=failed, message=message)
    return outcome


def _outcome(result, partition: str | None) -> RunOutcome:  # noqa: ANN001 - Dagster's ExecuteInProcessResult
    """What the run did, from Dagster's result."""
    failed_checks = [ev for ev in result.get_asset_check_evaluations() if not ev.passed]
    step_failures = [e for e in result.all_events if e.is_step_failure]
    problems = [
        f"blocking check {ev.asset_check_key.name} on {ev.asset_key.to_user_string()} failed: {ev.description or ''}"
        for ev in failed_checks if ev.blocking and ev.severity.value == "ERROR"
    ] + [f"{e.step_key}: {_user_message(e.event_specific_data.error)}" for e in step_failures]
    step_errors = {e.step_key: " <- ".join(_chain(e.event_specific_data.error.cause)) for e in step_failures}
    metadata: dict[str, dict[str, object]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        metadata[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return RunOutcome(
        run_id=result.run_id, week=partition, metadata=metadata,
        check_failures={ev.asset_check_key.name: (ev.severity.value, ev.blocking, ev.description or "")
                        for ev in failed_checks},
        step_errors=step_errors, problems=tuple(problems),
        step_seconds={e.step_key: e.event_specific_data.duration_ms / 1000
                      for e in result.all_events if e.is_step_success and e.step_key},
    )


def run_job(raw: Path, warehouse: Path, **options: object) -> RunOutcome:
    """Run the ``refresh_all`` job for the drop zone ``raw`` into ``warehouse`` in one Dagster run.

    Options as :func:`execute_job`: ``week`` (a Monday) is the report's partition, by default the
    last week that has ended, like the schedule (a week beyond the data shows the data's latest
    complete week); ``until`` stops after a layer; ``progress(done, total, step)`` is called after
    each step; Dagster's own logs only with ``verbose``. Raises :class:`PipelineRunError` naming
    every failed blocking check and step.
    """
    outcome = execute_job(raw, warehouse, **options)  # type: ignore[arg-type]
    if outcome.problems:
        raise PipelineRunError("\n".join(outcome.problems) + "\n(the assets downstream of a failure were not run)")
    return outcome
