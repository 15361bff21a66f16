"""Marts layer: the person-week table on HR denominators and the adoption analytics built on it.
Marts hold pseudonymous person keys only."""


from dagster import AssetKey, MaterializeResult, asset

from pipelines.assets.clean import CLEAN_EVENTS, HR_DIRECTORY
from pipelines.assets.identity import IDENTITY_MAP
from pipelines.assets.ingest import CONFIG_KEY
from pipelines.config_tables import read_config
from pipelines.resources import PseudonymSecretResource, WarehouseResource
from pipelines.warehouse import read_table, replace_table
from transforms import eligibility
from transforms import person_week as person_week_sql
from transforms.metrics.adoption_curve import adoption_curve as adoption_curve_table

GROUP = "marts"
PERSON_WEEK = AssetKey(["marts", "person_week"])
ADOPTION_CURVE = AssetKey(["marts", "adoption_curve"])


@asset(
    key=PERSON_WEEK,
    group_name=GROUP,
    deps=[CONFIG_KEY, CLEAN_EVENTS, HR_DIRECTORY, IDENTITY_MAP],
    description="marts.person_week: one row per eligible employee per ISO week, zero-activity weeks "
    "included; HR attributes that week, actions per tier, pilot status. Pseudonymous keys.",
    kinds={"duckdb"},
)
def person_week(warehouse: WarehouseResource, pseudonym: PseudonymSecretResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        key = pseudonym.key()
        eligibility.build_employee_weeks(con, config.settings)
        weeks = person_week_sql.weeks_to_rebuild(con, config.settings, config.pilots, key)
        person_week_sql.build_person_week(con, config.settings, config.pilots, key, weeks=weeks)
        rows, people, n_weeks = con.execute(
            "SELECT count(*), count(DISTINCT person_key), count(DISTINCT week_start) FROM marts.person_week"
        ).fetchone()
    return MaterializeResult(
        metadata={"rows": int(rows), "people": int(people), "weeks": int(n_weeks), "weeks_rebuilt": len(weeks)}
    )


@asset(
    key=ADOPTION_CURVE,
    group_name=GROUP,
    deps=[PERSON_WEEK],
    description="marts.adoption_curve: per week and population, eligible, active, engaged, contributors, "
    "ever-active and their rates over eligible headcount; small cells suppressed. Kind: activity.",
    kinds={"duckdb", "polars"},
)
def adoption_curve(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        curve = adoption_curve_table(read_table(con, "marts.person_week"), min_group_size=config.settings.min_group_size)
        n = replace_table(con, "marts.adoption_curve", curve)
    return MaterializeResult(metadata={"rows": n})
