"""The inputs marts are computed from, each declared once: what it reads and how it is loaded.

Plain inputs read the warehouse (the configuration, ``marts.person_week``, the KPI feed, the
pseudonymous events a mart needs, filtered inside DuckDB); derived inputs are built once from
plain ones (the team KPI panel, the fitted Bass model) and shared by every mart that names them.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.clean_event_partitions import EVENT_PARTITIONS
from transforms.contracts.config import Charters, KpiRegistry, Pilots, Settings
from transforms.marts import InputContext, mart_input
from transforms.metrics.diffusion import BassDiffusion, bass_start_week, fit_bass_diffusion
from transforms.metrics.manager_relay import CONTRIBUTION_ACTIONS, LEADER_MAX_LEVEL
from transforms.metrics.populations import BASS_POPULATIONS
from transforms.pilot.units import team_kpi_panel as build_team_kpi_panel
from transforms.pseudonym import PERSON_KEYS_TABLE, PSEUDONYMOUS_EVENTS_VIEW
from transforms.warehouse import WarehouseConfig, read_config, read_table, register_frame, relation_exists

PERSON_WEEK_TABLE = "marts.person_week"


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


@mart_input(reads=("raw.settings",), description="The drop zone's validated configuration (all four YAML files).")
def config(ctx: InputContext) -> WarehouseConfig:
    return read_config(ctx.con)


@mart_input(reads=(), needs=("config",), description="settings.yaml: time zone, minimum group size, roll-out dates.")
def settings(ctx: InputContext) -> Settings:
    return ctx.get("config").settings


@mart_input(reads=(), needs=("config",), description="pilots.yaml: the pilot cohorts.")
def pilots(ctx: InputContext) -> Pilots:
    return ctx.get("config").pilots


@mart_input(reads=(), needs=("config",), description="kpi_registry.yaml: the outcome KPIs' definitions.")
def kpi_registry(ctx: InputContext) -> KpiRegistry:
    return ctx.get("config").kpi_registry


@mart_input(reads=(), needs=("config",), description="charters.yaml: the communities and their expected outputs.")
def charters(ctx: InputContext) -> Charters:
    return ctx.get("config").charters


@mart_input(reads=(PERSON_WEEK_TABLE,),
            description="marts.person_week, whole: read into Python once for every mart that needs people.")
def person_week(ctx: InputContext) -> pl.DataFrame:
    return read_table(ctx.con, PERSON_WEEK_TABLE)


@mart_input(reads=("raw.kpi_values",), description="The outcome KPI feed as delivered (kpis/*.csv).")
def kpi_values(ctx: InputContext) -> pl.DataFrame:
    return read_table(ctx.con, "raw.kpi_values")


@mart_input(reads=(PERSON_KEYS_TABLE,), description="employee_id -> person_key, for employee-level KPIs.")
def employee_keys(ctx: InputContext) -> pl.DataFrame:
    return ctx.con.execute(f"SELECT employee_id, person_key FROM {PERSON_KEYS_TABLE}").pl()


@mart_input(reads=(), needs=("kpi_values", "kpi_registry", "person_week"),
            description="Weekly team KPIs with each team's pilot assignment (built once for effects and power).")
def team_kpi_panel(ctx: InputContext) -> pl.DataFrame:
    return build_team_kpi_panel(ctx.get("kpi_values"), ctx.get("kpi_registry"), ctx.get("person_week"))


@mart_input(reads=(), needs=("person_week", "settings"),
            description="The Bass model fitted (and bootstrapped) once per population from the roll-out week.")
def bass_diffusion(ctx: InputContext) -> BassDiffusion:
    s: Settings = ctx.get("settings")
    return fit_bass_diffusion(ctx.get("person_week"), start_week=bass_start_week(s), populations=BASS_POPULATIONS,
                              min_group_size=s.min_group_size)


@mart_input(reads=("clean.events",), description="The first and last week of the clean events (the communities' grid).")
def event_weeks(ctx: InputContext) -> tuple[dt.date | None, dt.date | None]:
    if relation_exists(ctx.con, EVENT_PARTITIONS):  # the clean layer's partitions: no scan of the events
        first, last = ctx.con.execute(
            f"SELECT min(week_start), max(week_start) FROM {EVENT_PARTITIONS} WHERE kept > 0").fetchone()
    else:
        first, last = ctx.con.execute("SELECT min(week_start), max(week_start) FROM clean.events").fetchone()
    return first, last


@mart_input(reads=(PSEUDONYMOUS_EVENTS_VIEW,), needs=("charters",),
            description="Pseudonymous clean events in the chartered communities' spaces (filtered in DuckDB).")
def community_events(ctx: InputContext) -> pl.DataFrame:
    ch: Charters = ctx.get("charters")
    spaces = pl.DataFrame([{"source": s.source, "space_id": s.space_id} for c in ch.communities for s in c.spaces],
                          schema={"source": pl.Utf8, "space_id": pl.Utf8})
    with register_frame(ctx.con, "__charter_spaces", spaces) as view:
        return ctx.con.execute(
            f"""
            SELECT e.* FROM {PSEUDONYMOUS_EVENTS_VIEW} e
            SEMI JOIN (SELECT DISTINCT source, space_id FROM {view}) s
              ON s.source = e.source AND s.space_id = e.space_id
            ORDER BY e.source, e.occurred_at, e.event_id
            """
        ).pl()


@mart_input(reads=(PSEUDONYMOUS_EVENTS_VIEW, PERSON_WEEK_TABLE),
            description="Pseudonymous events that are the top levels' content or interactions with it "
            "(filtered in DuckDB).")
def leader_events(ctx: InputContext) -> pl.DataFrame:
    return ctx.con.execute(
        f"""
        WITH human AS (SELECT * FROM {PSEUDONYMOUS_EVENTS_VIEW} WHERE NOT coalesce(is_automated, false)),
        leader_content AS (
            SELECT DISTINCT e.content_id FROM human e
            JOIN {PERSON_WEEK_TABLE} p ON p.person_key = e.person_key AND p.week_start = e.week_start
            WHERE p.level <= {LEADER_MAX_LEVEL} AND e.content_id IS NOT NULL
              AND e.action IN ({_sql_list(CONTRIBUTION_ACTIONS)})
        )
        SELECT e.* FROM human e
        WHERE e.content_id IN (SELECT content_id FROM leader_content)
           OR (e.action = 'reply' AND e.thread_id IN (SELECT content_id FROM leader_content))
        ORDER BY e.source, e.occurred_at, e.event_id
        """
    ).pl()

