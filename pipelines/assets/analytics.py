"""Adoption analytics marts (issue: metric registry, segments, lifecycle, retention, non-users,
manager relay, communities, outcome KPIs, diffusion). Each asset reads published tables, calls one
pure function of ``transforms.metrics`` and replaces one ``marts.*`` table. Every table carries a
single metric kind (``kind`` column), checked before it is written."""

import datetime as dt
from collections.abc import Callable

import polars as pl
from dagster import AssetKey, AssetsDefinition, MaterializeResult, asset

from pipelines.assets.identity import IDENTITY_MAP
from pipelines.assets.ingest import CONFIG_KEY
from pipelines.assets.marts import PERSON_WEEK
from pipelines.config_tables import WarehouseConfig, read_config
from pipelines.resources import PseudonymSecretResource, WarehouseResource
from pipelines.warehouse import read_table, replace_table
from transforms.metrics import assert_single_kind
from transforms.metrics import community_outputs as communities
from transforms.metrics import diffusion, inequality, lifecycle, manager_relay, non_users, outcome_kpis
from transforms.metrics import retention, stickiness, usage_segments
from transforms.pseudonym import build_key_map

GROUP = "marts"
#: Population cuts used by the analytics marts besides the adoption curve (which uses all of them).
ANALYSIS_POPULATIONS: tuple[str, ...] = ("organisation", "worker_type", "pilot_wave", "department", "site")

PersonWeekTable = Callable[[pl.DataFrame, WarehouseConfig], pl.DataFrame]


def bass_start_week(config: WarehouseConfig) -> dt.date:
    """The Monday of the general roll-out week (settings.general_rollout, else platform_launch)."""
    day = config.settings.general_rollout or config.settings.platform_launch
    return day - dt.timedelta(days=day.weekday())


def _write(con, table: str, frame: pl.DataFrame) -> MaterializeResult:
    if "kind" in frame.columns and frame.height:
        assert_single_kind(frame)
    n = replace_table(con, table, frame)
    kind = frame["kind"][0] if "kind" in frame.columns and frame.height else None
    return MaterializeResult(metadata={"rows": n, **({"kind": kind} if kind else {})})


def person_week_mart(name: str, description: str, compute: PersonWeekTable) -> AssetsDefinition:
    """An asset computing ``marts.<name>`` from ``marts.person_week`` and the configuration."""

    @asset(key=AssetKey(["marts", name]), group_name=GROUP, deps=[PERSON_WEEK], description=description,
           kinds={"duckdb", "polars"})
    def _mart(warehouse: WarehouseResource) -> MaterializeResult:
        with warehouse.get_connection() as con:
            config = read_config(con)
            frame = compute(read_table(con, "marts.person_week"), config)
            return _write(con, f"marts.{name}", frame)

    return _mart


def _k(config: WarehouseConfig) -> int:
    return config.settings.min_group_size


def _retention(pw: pl.DataFrame, config: WarehouseConfig) -> pl.DataFrame:
    parts = [
        retention.retention_triangle(pw, cohort_by="first_active_week", min_group_size=_k(config)),
        retention.retention_triangle(pw, cohort_by="pilot_wave", min_group_size=_k(config)),
    ]
    return pl.concat(parts, how="diagonal_relaxed")


def _diffusion(pw: pl.DataFrame, config: WarehouseConfig, part: str) -> pl.DataFrame:
    fit = diffusion.fit_bass_diffusion(pw, start_week=bass_start_week(config),
                                       populations=("organisation", "worker_type"), min_group_size=_k(config))
    return fit.parameters if part == "parameters" else fit.projection


PERSON_WEEK_MARTS: list[tuple[str, str, PersonWeekTable]] = [
    ("usage_segments", "Share of eligible people per usage segment (Viva Insights convention), per week. Activity.",
     lambda pw, c: usage_segments.usage_segment_shares(pw, populations=ANALYSIS_POPULATIONS, min_group_size=_k(c))),
    ("lifecycle", "New / returning / resurrecting / dormant shares of eligible people per week. Activity.",
     lambda pw, c: lifecycle.lifecycle_shares(pw, populations=ANALYSIS_POPULATIONS, min_group_size=_k(c))),
    ("retention", "Cohort x weeks-since retention triangles, 'on' and 'on or after'. Activity.", _retention),
    ("stickiness", "Weekly active / 4-week active per population. Activity.",
     lambda pw, c: stickiness.stickiness(pw, populations=ANALYSIS_POPULATIONS, min_group_size=_k(c))),
    ("inequality", "Participation inequality: 90-9-1 shares, top-1% share, Gini. Activity.",
     lambda pw, c: inequality.participation_inequality(pw, populations=ANALYSIS_POPULATIONS, min_group_size=_k(c))),
    ("non_users", "Never-active eligible employees by population. Activity.",
     lambda pw, c: non_users.never_active(pw, populations=ANALYSIS_POPULATIONS, min_group_size=_k(c))),
    ("digital_divide", "Frontline vs office active-rate gap in points, per week. Activity.",
     lambda pw, c: non_users.digital_divide(pw, min_group_size=_k(c))),
    ("time_to_first_activity", "Weeks from eligibility to first activity (Kaplan-Meier). Activity.",
     lambda pw, c: non_users.time_to_first_activity(pw, populations=ANALYSIS_POPULATIONS, min_group_size=_k(c))),
    ("manager_relay", "Effect of the manager's activity last week on an adopted team member's activity. Activity.",
     lambda pw, c: manager_relay.manager_relay_effect(pw, min_group_size=_k(c))),
    ("team_uptake_by_manager", "Team uptake when the manager is active vs inactive. Activity.",
     lambda pw, c: manager_relay.team_uptake_by_manager_activity(pw, min_group_size=_k(c))),
    ("leader_activity", "Activity of the top levels (1-2). Activity.",
     lambda pw, c: manager_relay.leader_activity(pw, min_group_size=_k(c))),
    ("diffusion", "Bass model per population: p, q, m, peak week, weeks to 50%/80% (bootstrap intervals). Activity.",
     lambda pw, c: _diffusion(pw, c, "parameters")),
    ("diffusion_projection", "Bass fitted and projected cumulative adoption with bands. Activity.",
     lambda pw, c: _diffusion(pw, c, "projection")),
]


def pseudonymous_events(con, key: bytes) -> pl.DataFrame:
    """Human and automated clean events with ``person_key`` instead of the employee id."""
    build_key_map(con, key, "SELECT employee_id FROM clean.events_hr")
    frame = con.execute(
        """
        SELECT e.* EXCLUDE (account_email, source_file), k.person_key
        FROM clean.events e
        LEFT JOIN clean.events_hr h USING (source, event_id)
        LEFT JOIN __person_keys k ON k.employee_id = h.employee_id
        """
    ).pl()
    con.execute("DROP TABLE IF EXISTS __person_keys")
    return frame


EVENT_MARTS: list[tuple[str, str, Callable[[pl.DataFrame, pl.DataFrame, WarehouseConfig], pl.DataFrame]]] = [
    ("community_activity", "Activity in each chartered community per week. Activity.",
     lambda ev, pw, c: communities.community_activity(ev, c.charters, min_group_size=_k(c))),
    ("community_outputs", "Outputs per community and week by its charter's rule. Output.",
     lambda ev, pw, c: communities.community_outputs(ev, c.charters)),
    ("community_flags", "Communities busy without outputs, and silent ones. Link (activity vs output).",
     lambda ev, pw, c: communities.community_flags(ev, c.charters)),
    ("leader_reach", "Distinct people reached by the top levels' content per week. Activity.",
     lambda ev, pw, c: manager_relay.leader_content_reach(ev, pw, min_group_size=_k(c))),
]


def event_mart(name: str, description: str, compute) -> AssetsDefinition:
    @asset(key=AssetKey(["marts", name]), group_name=GROUP, deps=[PERSON_WEEK, IDENTITY_MAP],
           description=description, kinds={"duckdb", "polars"})
    def _mart(warehouse: WarehouseResource, pseudonym: PseudonymSecretResource) -> MaterializeResult:
        with warehouse.get_connection() as con:
            config = read_config(con)
            events = pseudonymous_events(con, pseudonym.key())
            frame = compute(events, read_table(con, "marts.person_week"), config)
            return _write(con, f"marts.{name}", frame)

    return _mart


def _employee_keys(con, key: bytes) -> pl.DataFrame:
    build_key_map(con, key, "SELECT DISTINCT employee_id FROM clean.hr_directory")
    frame = con.execute("SELECT employee_id, person_key FROM __person_keys").pl()
    con.execute("DROP TABLE IF EXISTS __person_keys")
    return frame


@asset(key=AssetKey(["marts", "outcome_kpis"]), group_name=GROUP, deps=[PERSON_WEEK, CONFIG_KEY],
       description="KPI values per unit and week with unit HR context and pilot status. Outcome only.",
       kinds={"duckdb", "polars"})
def outcome_kpis_mart(warehouse: WarehouseResource, pseudonym: PseudonymSecretResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        frame = outcome_kpis.outcome_kpis(
            read_table(con, "raw.kpi_values"), config.kpi_registry, read_table(con, "marts.person_week"),
            employee_keys=_employee_keys(con, pseudonym.key()), min_group_size=_k(config),
        )
        return _write(con, "marts.outcome_kpis", frame)


@asset(key=AssetKey(["marts", "kpi_activity_link"]), group_name=GROUP, deps=[PERSON_WEEK, CONFIG_KEY],
       description="Team-level lead-lag association between activity and each weekly team KPI. "
       "Association, not effect.", kinds={"duckdb", "polars"})
def kpi_activity_link(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        kpis = read_table(con, "raw.kpi_values")
        pw = read_table(con, "marts.person_week")
        parts = [
            outcome_kpis.kpi_activity_lead_lag(kpis, config.kpi_registry, pw, kpi=k.name, min_group_size=_k(config))
            for k in config.kpi_registry.kpis
            if k.unit_type == "team" and k.grain == "week"
        ]
        frame = pl.concat(parts, how="diagonal_relaxed") if parts else outcome_kpis.empty_kpi_activity_link(_k(config))
        return _write(con, "marts.kpi_activity_link", frame)


def analytics_assets() -> list[AssetsDefinition]:
    return [
        *(person_week_mart(n, d, f) for n, d, f in PERSON_WEEK_MARTS),
        *(event_mart(n, d, f) for n, d, f in EVENT_MARTS),
        outcome_kpis_mart,
        kpi_activity_link,
    ]
