"""uptake's Dagster definitions: assets grouped by layer, checks beside them, the job every run
executes, its weekly schedule, the drop-zone sensor and the resources.

Locations come from the environment (``pipelines.locations``: ``UPTAKE_RAW_DIR``,
``UPTAKE_WAREHOUSE``, ``UPTAKE_REPORTS_DIR``, ``UPTAKE_PUBLISHED``); the organisation's time zone and
first report week from the drop zone's settings.yaml.
"""

from __future__ import annotations

from pathlib import Path

from dagster import Definitions

from pipelines.assets import all_asset_checks, all_assets
from pipelines.assets.report import weekly_partitions
from pipelines.locations import drop_zone_dir, published_dir, reports_dir, warehouse_path
from pipelines.resources import DropZoneResource, MartInputsResource, PseudonymSecretResource, WarehouseResource
from pipelines.schedules import (
    build_drop_zone_sensor,
    first_report_week,
    organisation_time_zone,
    refresh_job,
    weekly_report_schedule,
)


def build_resources(raw_dir: str | Path, warehouse: str | Path, reports: str | Path | None = None,
                    published: str | Path | None = None) -> dict[str, object]:
    """The resources of one installation; reports and published snapshots default next to the warehouse."""
    return {
        "warehouse": WarehouseResource(database=str(warehouse)),
        "drop_zone": DropZoneResource(raw_dir=str(raw_dir), reports_dir=str(reports or reports_dir(warehouse)),
                                      published_dir=str(published or published_dir(warehouse))),
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
        resources=build_resources(raw, warehouse if warehouse is not None else warehouse_path(), reports, published),
    )


defs = build_definitions()
