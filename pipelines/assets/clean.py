"""Clean layer: de-duplicated, bot-filtered events with ISO weeks in the organisation's time zone,
and the HR directory history. The conservation check (rows in = kept + rejected + filtered, per
source) sits beside the events asset and blocks everything downstream when it fails."""


from dagster import AssetKey, MaterializeResult, asset

from pipelines.assets.ingest import CONFIG_KEY, ingest_asset_key
from pipelines.connectors import registered_connectors
from pipelines.metadata import markdown_table
from pipelines.resources import WarehouseResource
from pipelines.spark import EngineResource
from transforms import clean_events as clean_events_sql
from transforms import hr_history
from transforms.warehouse import read_config

GROUP = "clean"
CLEAN_EVENTS = AssetKey(["clean", "events"])
HR_DIRECTORY = AssetKey(["clean", "hr_directory"])


def platform_sources() -> list[str]:
    return [c.name for c in registered_connectors().values() if c.kind == "platform"]


def hr_sources() -> list[str]:
    return [c.name for c in registered_connectors().values() if c.kind == "hr"]


def survey_sources() -> list[str]:
    return [c.name for c in registered_connectors().values() if c.kind == "survey"]


@asset(
    key=CLEAN_EVENTS,
    group_name=GROUP,
    deps=[CONFIG_KEY, *(ingest_asset_key(s) for s in platform_sources())],
    description="clean.events: one row per real platform action; duplicates and automated accounts "
    "removed and counted; week_start/iso_week in the organisation's time zone.",
    kinds={"duckdb"},
)
def clean_events(warehouse: WarehouseResource, engine: EngineResource) -> MaterializeResult:
    recompute = engine.runner(warehouse.database).clean_events() if engine.is_spark else None
    with warehouse.get_connection() as con:
        config = read_config(con)
        clean_events_sql.build_clean_events(con, platform_sources(), config.settings, recompute)
        rows = con.execute(
            "SELECT source, rows_in, kept, rejected, filtered_duplicate, filtered_automated "
            "FROM quality.event_conservation ORDER BY source"
        ).pl()
    return MaterializeResult(
        metadata={
            "kept": int(rows["kept"].sum()),
            "conservation": markdown_table(rows),
            "engine": engine.name,
        }
    )


@asset(
    key=HR_DIRECTORY,
    group_name=GROUP,
    deps=[CONFIG_KEY, *(ingest_asset_key(s) for s in hr_sources())],
    description="clean.hr_directory: HR extracts collapsed into validity intervals (hires, leavers, transfers).",
    kinds={"duckdb"},
)
def hr_directory(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        hr_history.build_hr_directory(con, hr_sources(), config.settings)
        n, people = con.execute("SELECT count(*), count(DISTINCT employee_id) FROM clean.hr_directory").fetchone()
    return MaterializeResult(metadata={"intervals": int(n), "employees": int(people)})
