"""The job every run executes (``refresh_all``: ingest to report, in one process), its weekly
schedule (Monday 06:00 in the organisation's time zone, for the week that just ended) and the
drop-zone sensor.

The schedule is built from the job's weekly partitions (the report asset's), so a past week is a
partition and a backfill of past weeks is one Dagster action. ``uptake run`` executes the same job.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from pathlib import Path

import yaml
from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    WeeklyPartitionsDefinition,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
    sensor,
)

from transforms.weeks import week_start_of

log = logging.getLogger(__name__)

DEFAULT_TIME_ZONE = "Europe/Paris"
#: First report week when settings.yaml gives no platform launch.
DEFAULT_FIRST_WEEK = dt.date(2020, 1, 6)
JOB_NAME = "refresh_all"

#: Everything, from ingest to the report, in one process: the marts share inputs loaded once per run
#: and the embedded warehouse has one writer.
refresh_job = define_asset_job(
    JOB_NAME, selection=AssetSelection.all(), executor_def=in_process_executor,
    description="Ingest the drop zone, rebuild what changed, every mart, the week's report and the published "
    "snapshots.",
)


def _settings(raw_dir: Path) -> dict:
    path = raw_dir / "settings.yaml"
    if not path.is_file():
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        log.warning("%s cannot be read as YAML; the schedule uses its defaults", path)
        return {}
    return loaded if isinstance(loaded, dict) else {}


def warehouse_engine_config(raw_dir: Path) -> dict[str, object]:
    """DuckDB's ``memory_limit``, ``temp_directory`` and ``threads`` for the run, from settings.yaml's
    ``warehouse_*`` keys (defaults of :class:`~transforms.contracts.config.Settings`), each overridden
    by ``$UPTAKE_DUCKDB_MEMORY_LIMIT``, ``$UPTAKE_DUCKDB_TEMP_DIRECTORY``, ``$UPTAKE_DUCKDB_THREADS``.
    Invalid values are left to the settings check, which names them; here they fall back to defaults."""
    from transforms.contracts.config import Settings

    declared = _settings(raw_dir)
    fields = Settings.model_fields
    out: dict[str, object] = {}
    for key, env in (("memory_limit", "UPTAKE_DUCKDB_MEMORY_LIMIT"), ("temp_directory", "UPTAKE_DUCKDB_TEMP_DIRECTORY"),
                     ("threads", "UPTAKE_DUCKDB_THREADS")):
        value = os.environ.get(env) or declared.get(f"warehouse_{key}") or fields[f"warehouse_{key}"].default
        if value is None:
            continue
        if key == "threads":
            try:
                value = int(value)
            except (TypeError, ValueError):
                continue
        out[key] = value if key == "threads" else str(value)
    return out


def organisation_time_zone(raw_dir: Path) -> str:
    """The schedule's time zone: settings.yaml's ``time_zone``, else Europe/Paris."""
    return str(_settings(raw_dir).get("time_zone") or DEFAULT_TIME_ZONE)


def first_report_week(raw_dir: Path) -> dt.date:
    """The first week a report can be asked for: the Monday of settings.yaml's ``platform_launch``."""
    launch = _settings(raw_dir).get("platform_launch")
    if isinstance(launch, dt.date):
        return week_start_of(launch)
    try:
        return week_start_of(dt.date.fromisoformat(str(launch)))
    except ValueError:
        return DEFAULT_FIRST_WEEK


def weekly_report_schedule() -> ScheduleDefinition:
    """Every Monday at the partitions' hour: the whole job for the week that just ended."""
    return build_schedule_from_partitioned_job(
        refresh_job, name="weekly_adoption_report", default_status=DefaultScheduleStatus.STOPPED,
        description="Every Monday 06:00 in the organisation's time zone: refresh everything and write the "
        "report of the week that just ended.",
    )


def drop_zone_fingerprint(raw_dir: Path) -> str:
    """A digest of every file's path, size and modification time under the drop zone."""
    entries = []
    if raw_dir.is_dir():
        for p in sorted(raw_dir.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                st = p.stat()
                entries.append((str(p.relative_to(raw_dir)), st.st_size, st.st_mtime_ns))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def build_drop_zone_sensor(raw_dir: Path, partitions: WeeklyPartitionsDefinition) -> SensorDefinition:
    @sensor(
        name="drop_zone_new_files",
        job=refresh_job,
        minimum_interval_seconds=60,
        description=f"Starts a refresh (report of the last complete week) when files appear or change under {raw_dir}.",
        default_status=DefaultSensorStatus.STOPPED,
    )
    def _sensor(context: SensorEvaluationContext):  # noqa: ANN202 - a Dagster sensor
        digest = drop_zone_fingerprint(raw_dir)
        if digest == context.cursor:
            return SkipReason(f"no new files under {raw_dir}")
        context.update_cursor(digest)
        week = partitions.get_last_partition_key()
        if week is None:
            return SkipReason("no week has ended since the platform launch")
        return RunRequest(run_key=digest, partition_key=week)

    return _sensor
