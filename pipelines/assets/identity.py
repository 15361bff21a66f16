"""Identity layer: platform accounts resolved to employees by the configured rules, the match
report, and events carrying the HR attributes valid at their time."""


from dagster import AssetKey, MaterializeResult, asset

from pipelines.assets.clean import CLEAN_EVENTS, HR_DIRECTORY, platform_sources
from pipelines.assets.ingest import ingest_asset_key
from pipelines.config_tables import read_config
from pipelines.metadata import markdown_table
from pipelines.resources import WarehouseResource
from transforms import hr_history
from transforms import identity as identity_sql

GROUP = "identity"
IDENTITY_MAP = AssetKey(["clean", "identity_map"])


@asset(
    key=IDENTITY_MAP,
    group_name=GROUP,
    deps=[HR_DIRECTORY, CLEAN_EVENTS, *(ingest_asset_key(s) for s in platform_sources())],
    description="clean.identity_map: each platform account -> employee_id by the configured rules in "
    "priority order; quality.identity_match_report per source; clean.events_hr: events with the HR "
    "attributes valid at their time.",
    kinds={"duckdb"},
)
def identity_map(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        identity_sql.resolve_identities(con, platform_sources(), config.settings)
        hr_history.build_events_hr(con)
        report = con.execute("SELECT * FROM quality.identity_match_report ORDER BY source").pl()
    return MaterializeResult(metadata={"match_report": markdown_table(report)})
