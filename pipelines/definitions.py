"""uptake's Dagster definitions: assets grouped by layer, checks beside them, the job every run
executes, its weekly schedule, the drop-zone sensor and the resources.

Locations come from the environment (``pipelines.locations``: ``UPTAKE_RAW_DIR``,
``UPTAKE_WAREHOUSE``, ``UPTAKE_REPORTS_DIR``, ``UPTAKE_PUBLISHED``): a variable that is set is
handed to the resource as a Dagster ``EnvVar`` (read when a run starts, shown as such in the UI);
unset ones take the defaults. The organisation's time zone and first report week come from the
drop zone's settings.yaml (the schedule needs them when the code location loads).
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Definitions, EnvVar

from pipelines.assets import all_asset_checks, all_assets
from pipelines.assets.report import weekly_partitions
from pipelines.locations import (
    PUBLISHED_ENV,
    RAW_ENV,
    REPORTS_ENV,
    WAREHOUSE_ENV,
    drop_zone_dir,
    published_dir,
    reports_dir,
    warehouse_path,
)
from pipelines.resources import DropZoneResource, MartInputsResource, PseudonymSecretResource, WarehouseResource
from pipelines.schedules import (
    build_drop_zone_sensor,
    first_report_week,
    organisation_time_zone,
    refresh_job,
    warehouse_engine_config,
    weekly_report_schedule,
)


def _location(explicit: str | Path | None, variable: str, default: Path) -> str | EnvVar:
    """An explicit location, else the environment variable (as an EnvVar) when set, else the default."""
    if explicit is not None:
        return str(explicit)
    return EnvVar(variable) if os.environ.get(variable) else str(default)


def build_resources(raw_dir: str | Path | None = None, warehouse: str | Path | None = None,
                    reports: str | Path | None = None, published: str | Path | None = None) -> dict[str, object]:
    """The resources of one installation; reports and published snapshots default next to the warehouse."""
    wh = Path(warehouse) if warehouse is not None else warehouse_path()
    raw = Path(raw_dir) if raw_dir is not None else drop_zone_dir()
    return {
        "warehouse": WarehouseResource(database=_location(warehouse, WAREHOUSE_ENV, wh),
                                       connection_config=warehouse_engine_config(raw)),
        "drop_zone": DropZoneResource(raw_dir=_location(raw_dir, RAW_ENV, drop_zone_dir()),
                                      reports_dir=_location(reports, REPORTS_ENV, reports_dir(wh)),
                                      published_dir=_location(published, PUBLISHED_ENV, published_dir(wh))),
        "pseudonym": PseudonymSecretResource(),
        "mart_inputs": MartInputsResource(),
    }


def build_definitions(raw_dir: str | Path | None = None, warehouse: str | Path | None = None,
                      reports: str | Path | None = None, published: str | Path | None = None) -> Definitions:
    raw = Path(raw_dir) if raw_dir is not None else drop_zone_dir()
    partitions = weekly_partitions(organisation_time_zone(raw), first_report_week(raw))
    assets = all_assets(partitions)
    return Definitions(
        assets=assets,
        asset_checks=all_asset_checks(assets),
        jobs=[refresh_job],
        schedules=[weekly_report_schedule()],
        sensors=[build_drop_zone_sensor(raw, partitions)],
        resources=build_resources(raw_dir, warehouse, reports, published),
    )


defs = build_definitions()
