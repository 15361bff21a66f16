"""Identity layer: platform accounts resolved to employees by the configured rules, the match
report, events carrying the HR attributes valid at their time, and the pseudonymous keys the marts
use (``clean.person_keys``, and ``clean.events_pseudonymous``: events with the person key of their
resolved account); pulse-survey respondents resolved by the same rules (``clean.survey_responses``)."""


from dagster import AssetKey, MaterializeResult, asset

from pipelines.assets.clean import CLEAN_EVENTS, HR_DIRECTORY, platform_sources, survey_sources
from pipelines.assets.ingest import CONFIG_KEY, ingest_asset_key
from pipelines.metadata import markdown_table
from pipelines.resources import PseudonymSecretResource, WarehouseResource
from transforms import hr_history
from transforms import identity as identity_sql
from transforms import surveys as surveys_sql
from transforms.pseudonym import build_person_keys, build_pseudonymous_events
from transforms.warehouse import read_config

GROUP = "identity"
IDENTITY_MAP = AssetKey(["clean", "identity_map"])
PERSON_KEYS = AssetKey(["clean", "person_keys"])
EVENTS_PSEUDONYMOUS = AssetKey(["clean", "events_pseudonymous"])
SURVEY_RESPONSES = AssetKey(["clean", "survey_responses"])


@asset(
    key=IDENTITY_MAP,
    group_name=GROUP,
    deps=[CONFIG_KEY, HR_DIRECTORY, CLEAN_EVENTS, *(ingest_asset_key(s) for s in platform_sources())],
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


@asset(
    key=PERSON_KEYS,
    group_name=GROUP,
    deps=[HR_DIRECTORY],
    description="clean.person_keys: employee_id -> person_key (HMAC with the installation's secret) for every "
    "employee and manager of the HR directory. Never published.",
    kinds={"duckdb"},
)
def person_keys(warehouse: WarehouseResource, pseudonym: PseudonymSecretResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        n = build_person_keys(con, pseudonym.key())
    return MaterializeResult(metadata={"rows": n})


@asset(
    key=EVENTS_PSEUDONYMOUS,
    group_name=GROUP,
    deps=[CLEAN_EVENTS, IDENTITY_MAP, PERSON_KEYS],
    description="clean.events_pseudonymous (a view): clean events with the person key of their resolved "
    "account instead of any e-mail or file name; what the event marts read.",
    kinds={"duckdb"},
)
def events_pseudonymous(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        build_pseudonymous_events(con)
    return MaterializeResult(metadata={"view": "clean.events_pseudonymous"})


@asset(
    key=SURVEY_RESPONSES,
    group_name=GROUP,
    deps=[CONFIG_KEY, HR_DIRECTORY, *(ingest_asset_key(s) for s in survey_sources())],
    description="clean.survey_responses: pulse-survey answers with the employee each respondent was matched to by "
    "the identity rules (clean.survey_identity_map, quality.survey_match_report); e-mails stay in raw.",
    kinds={"duckdb"},
)
def survey_responses(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        identity_sql.resolve_respondents(con, survey_sources(), config.settings)
        rows = surveys_sql.build_survey_responses(con, survey_sources())
        report = con.execute("SELECT * FROM quality.survey_match_report ORDER BY source").pl()
    return MaterializeResult(metadata={"rows": rows, "match_report": markdown_table(report)})
