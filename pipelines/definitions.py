"""uptake's Dagster definitions: assets grouped by layer, checks beside them, the weekly schedule,
the drop-zone sensor and the resources (paths from ``UPTAKE_*`` environment variables)."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Definitions

from pipelines.assets import all_asset_checks, all_assets
from pipelines.resources import (
    DEFAULT_DROP_ZONE,
    DEFAULT_REPORTS,
    DEFAULT_WAREHOUSE,
    DropZoneResource,
    PseudonymSecretResource,
    WarehouseResource,
)
from pipelines.schedules import build_drop_zone_sensor, organisation_time_zone, refresh_job, weekly_report_schedule


def build_resources(raw_dir: str | Path, warehouse: str | Path, reports_dir: str | Path) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(database=str(warehouse)),
        "drop_zone": DropZoneResource(raw_dir=str(raw_dir), reports_dir=str(reports_dir)),
        "pseudonym": PseudonymSecretResource(),
    }


def build_definitions(
    raw_dir: str | Path | None = None, warehouse: str | Path | None = None, reports_dir: str | Path | None = None
) -> Definitions:
    raw = Path(raw_dir or os.environ.get("UPTAKE_RAW_DIR", DEFAULT_DROP_ZONE))
    wh = warehouse or os.environ.get("UPTAKE_WAREHOUSE", DEFAULT_WAREHOUSE)
    reports = reports_dir or os.environ.get("UPTAKE_REPORTS_DIR", DEFAULT_REPORTS)
    return Definitions(
        assets=all_assets(),
        asset_checks=all_asset_checks(),
        jobs=[refresh_job],
        schedules=[weekly_report_schedule(organisation_time_zone(raw))],
        sensors=[build_drop_zone_sensor(raw)],
        resources=build_resources(raw, wh, reports),
    )


defs = build_definitions()
