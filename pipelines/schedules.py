"""The weekly report schedule (Monday 06:00 in the organisation's time zone) and the drop-zone sensor."""

from __future__ import annotations

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
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

log = logging.getLogger(__name__)

DEFAULT_TIME_ZONE = "Europe/Paris"

#: Everything, from ingest to the report.
refresh_job = define_asset_job(
    "refresh_all", selection=AssetSelection.all(), description="Ingest the drop zone and rebuild every table and the report."
)


def organisation_time_zone(raw_dir: Path) -> str:
    """The schedule's time zone: ``$UPTAKE_TIME_ZONE``, else settings.yaml of the drop zone, else Paris."""
    env = os.environ.get("UPTAKE_TIME_ZONE")
    if env:
        return env
    settings = raw_dir / "settings.yaml"
    if settings.is_file():
        try:
            tz = (yaml.safe_load(settings.read_text(encoding="utf-8")) or {}).get("time_zone")
            if tz:
                return str(tz)
        except yaml.YAMLError:
            log.warning("%s is not valid YAML; the schedule uses %s", settings, DEFAULT_TIME_ZONE)
    return DEFAULT_TIME_ZONE


def weekly_report_schedule(time_zone: str) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="weekly_adoption_report",
        job=refresh_job,
        cron_schedule="0 6 * * 1",
        execution_timezone=time_zone,
        description=f"Every Monday 06:00 ({time_zone}): refresh everything and write the week's report.",
        default_status=DefaultScheduleStatus.STOPPED,
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


def build_drop_zone_sensor(raw_dir: Path):
    @sensor(
        name="drop_zone_new_files",
        job=refresh_job,
        minimum_interval_seconds=60,
        description=f"Starts a refresh when files appear or change under {raw_dir}.",
        default_status=DefaultSensorStatus.STOPPED,
    )
    def _sensor(context: SensorEvaluationContext):
        digest = drop_zone_fingerprint(raw_dir)
        if digest == context.cursor:
            return SkipReason(f"no new files under {raw_dir}")
        context.update_cursor(digest)
        return RunRequest(run_key=digest)

    return _sensor
