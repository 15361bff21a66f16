"""Ingest layer: one asset per registered connector (generated from the registry) and one for the
drop zone's configuration files. Adding a connector touches no code here."""


import logging

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset

from pipelines.connectors import Connector, registered_connectors
from pipelines.connectors.config_files import load_drop_zone_config
from pipelines.exports import order_exports
from pipelines.resources import DropZoneResource, WarehouseResource
from pipelines.warehouse import write_batches

log = logging.getLogger(__name__)

GROUP = "ingest"


def ingest_asset_key(connector_name: str) -> AssetKey:
    return AssetKey(["raw", connector_name])


CONFIG_KEY = AssetKey(["raw", "drop_zone_config"])


def build_ingest_asset(connector: Connector) -> AssetsDefinition:
    """The ingest asset of one connector: its files in the drop zone to ``raw.<name>_<table>``."""

    @asset(
        key=ingest_asset_key(connector.name),
        group_name=GROUP,
        description=f"{connector.title}: {connector.reads}. Cannot see: {', '.join(connector.cannot_see) or 'nothing'}.",
        kinds={"duckdb", "polars"},
        tags={"connector": connector.name},
        deps=[CONFIG_KEY],
    )
    def _ingest(
        context: AssetExecutionContext, warehouse: WarehouseResource, drop_zone: DropZoneResource
    ) -> MaterializeResult:
        inputs = connector.inputs(drop_zone.path)
        canonical = connector.canonical_inputs(drop_zone.path)
        exports = order_exports(inputs, connector.export_time)
        with warehouse.get_connection() as con:
            counts = write_batches(con, connector.name, connector.yields, connector.read_drop_zone(drop_zone.path),
                                   canonical=canonical, exports=exports)
        context.log.info("%s: %d input(s), %d canonical file(s), %s", connector.name, len(inputs),
                         sum(len(f) for f in canonical.values()), dict(counts))
        return MaterializeResult(
            metadata={
                "inputs": MetadataValue.json([str(p.relative_to(drop_zone.path)) for p in inputs]),
                "canonical_files": MetadataValue.int(sum(len(f) for f in canonical.values())),
                **{f"rows_{t}": int(n) for t, n in sorted(counts.items())},
            }
        )

    return _ingest


@asset(
    key=CONFIG_KEY,
    group_name=GROUP,
    description="settings.yaml, pilots.yaml, kpi_registry.yaml, charters.yaml, surveys.yaml and kpis/*.csv, "
    "validated, to raw.settings, raw.pilot_cohorts, raw.pilot_members, raw.kpi_registry, raw.community_charters, "
    "raw.kpi_values.",
    kinds={"duckdb"},
)
def drop_zone_config(warehouse: WarehouseResource, drop_zone: DropZoneResource) -> MaterializeResult:
    from pipelines.config_tables import write_config_tables

    config = load_drop_zone_config(drop_zone.path)
    with warehouse.get_connection() as con:
        counts = write_config_tables(con, config)
    return MaterializeResult(metadata={f"rows_{k}": v for k, v in counts.items()})


def ingest_assets() -> list[AssetsDefinition]:
    """The config asset and one ingest asset per registered connector."""
    return [drop_zone_config, *(build_ingest_asset(c) for c in registered_connectors().values())]
