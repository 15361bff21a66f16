"""The inputs marts are computed from, each declared once: what it reads and how it is loaded.

Plain inputs read the warehouse (the configuration, ``marts.person_week``, the KPI feed, the
pseudonymous events a mart needs, filtered inside DuckDB); derived inputs are built once from
plain ones (the team KPI panel, the fitted Bass model) and shared by every mart that names them.

The pilot inputs (``pilot_person_week``, ``pilot_kpi_values`` and the team KPI panel built from
them) hold only the weeks before the end of the pilot comparison, and have fingerprints: once the
general roll-out has passed, a new week leaves them unchanged and the pilot marts are kept
(:mod:`transforms.marts.memo`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from transforms.clean_event_partitions import EVENT_PARTITIONS
from transforms.contracts.config import Charters, KpiRegistry, Pilots, Settings, Surveys, Targets
from transforms.marts import InputContext, digest, mart_input
from transforms.metrics.community_count_store import stored_community_counts
from transforms.metrics.community_outputs import CommunityCounts
from transforms.metrics.diffusion import BassDiffusion, bass_start_week, fit_bass_diffusion
from transforms.metrics.leader_reach_store import stored_leader_reach_counts
from transforms.metrics.populations import BASS_POPULATIONS
from transforms.pilot.effects_mart import PILOT_PERSON_WEEK_COLUMNS
from transforms.pilot.units import pilot_comparison_end
from transforms.pilot.units import team_kpi_panel as build_team_kpi_panel
from transforms.pseudonym import PERSON_KEYS_TABLE, PSEUDONYMOUS_EVENTS_VIEW
from transforms.warehouse import WarehouseConfig, read_config, read_table, relation_exists

PERSON_WEEK_TABLE = "marts.person_week"
KPI_VALUES_TABLE = "raw.kpi_values"



def _rows_fingerprint(ctx: InputContext, table: str, columns: Sequence[str], where: str,
                      params: dict[str, object]) -> str:
    """Row count and order-free sum of row hashes of ``table`` (``where``), computed in DuckDB."""
    cols = ", ".join(f'"{c}"' for c in columns)
    n, h = ctx.con.execute(f"SELECT count(*), sum(hash({cols})::HUGEINT) FROM {table} WHERE {where}", params).fetchone()
    return digest(table, n, h)


def _config_fingerprint(ctx: InputContext) -> str:
    return digest(*ctx.con.execute("SELECT name, body FROM raw.settings ORDER BY name").fetchall())


def _comparison_end(ctx: InputContext) -> dt.date | None:
    return pilot_comparison_end(ctx.get("settings"), ctx.get("pilots"))


@mart_input(reads=("raw.settings",), description="The drop zone's validated configuration (all its YAML files).",
            fingerprint=_config_fingerprint)
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


@mart_input(reads=(), needs=("config",), description="targets.yaml: the roadmap's targets.")
def targets(ctx: InputContext) -> Targets:
    return ctx.get("config").targets


@mart_input(reads=(), needs=("config",), description="surveys.yaml: the pulse surveys, their waves and questions.")
def surveys(ctx: InputContext) -> Surveys:
    return ctx.get("config").surveys


@mart_input(reads=(PERSON_WEEK_TABLE,),
            description="marts.person_week, whole: read into Python once for every mart that needs people.")
def person_week(ctx: InputContext) -> pl.DataFrame:
    return read_table(ctx.con, PERSON_WEEK_TABLE)


@mart_input(reads=("raw.kpi_values",), description="The outcome KPI feed as delivered (kpis/*.csv).")
def kpi_values(ctx: InputContext) -> pl.DataFrame:
    return read_table(ctx.con, KPI_VALUES_TABLE)


def _before_comparison_end(ctx: InputContext, column: str) -> tuple[str, dict[str, object]]:
    end = _comparison_end(ctx)
    return ("true", {}) if end is None else (f"{column} < $end", {"end": end})


def _pilot_person_week_fingerprint(ctx: InputContext) -> str:
    where, params = _before_comparison_end(ctx, "week_start")
    return digest(_comparison_end(ctx),
                   _rows_fingerprint(ctx, PERSON_WEEK_TABLE, PILOT_PERSON_WEEK_COLUMNS, where, params))


@mart_input(reads=(PERSON_WEEK_TABLE,), needs=("settings", "pilots"), fingerprint=_pilot_person_week_fingerprint,
            description="marts.person_week before the end of the pilot comparison (every week when it is still "
            "open), the columns the pilot marts read: all the pilot estimates use.")
def pilot_person_week(ctx: InputContext) -> pl.DataFrame:
    where, params = _before_comparison_end(ctx, "week_start")
    cols = ", ".join(f'"{c}"' for c in PILOT_PERSON_WEEK_COLUMNS)
    return ctx.con.execute(f"SELECT {cols} FROM {PERSON_WEEK_TABLE} WHERE {where}", params).pl()


def _pilot_kpi_values_fingerprint(ctx: InputContext) -> str:
    where, params = _before_comparison_end(ctx, "period_start")
    columns = [c for (c,) in ctx.con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = 'kpi_values' "
        "ORDER BY column_index").fetchall()]
    return digest(_comparison_end(ctx), _rows_fingerprint(ctx, KPI_VALUES_TABLE, columns, where, params))


@mart_input(reads=("raw.kpi_values",), needs=("settings", "pilots"), fingerprint=_pilot_kpi_values_fingerprint,
            description="The outcome KPI values of periods starting before the end of the pilot comparison.")
def pilot_kpi_values(ctx: InputContext) -> pl.DataFrame:
    where, params = _before_comparison_end(ctx, "period_start")
    return ctx.con.execute(f"SELECT * FROM {KPI_VALUES_TABLE} WHERE {where}", params).pl()


@mart_input(reads=(PERSON_KEYS_TABLE,), description="employee_id -> person_key, for employee-level KPIs.")
def employee_keys(ctx: InputContext) -> pl.DataFrame:
    return ctx.con.execute(f"SELECT employee_id, person_key FROM {PERSON_KEYS_TABLE}").pl()


@mart_input(reads=(), needs=("kpi_values", "kpi_registry", "person_week"),
            description="Weekly team KPIs with each team's pilot assignment (built once for effects and power).")
def team_kpi_panel(ctx: InputContext) -> pl.DataFrame:
    return build_team_kpi_panel(ctx.get("kpi_values"), ctx.get("kpi_registry"), ctx.get("person_week"))


@mart_input(reads=(), needs=("pilot_kpi_values", "kpi_registry", "pilot_person_week"),
            description="The weekly team KPIs before the end of the pilot comparison, with each team's pilot "
            "assignment (what the pilot effects read).")
def pilot_team_kpi_panel(ctx: InputContext) -> pl.DataFrame:
    return build_team_kpi_panel(ctx.get("pilot_kpi_values"), ctx.get("kpi_registry"), ctx.get("pilot_person_week"))


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


@mart_input(reads=(PSEUDONYMOUS_EVENTS_VIEW,), needs=("charters", "event_weeks"),
            description="The chartered communities' activity and outputs per community x week, counted in DuckDB "
            "from the pseudonymous clean events (no event leaves the engine), kept per week in the warehouse and "
            "counted again only for the weeks whose events or identities changed.")
def community_counts(ctx: InputContext) -> CommunityCounts:
    return stored_community_counts(ctx.con, PSEUDONYMOUS_EVENTS_VIEW, ctx.get("charters"), span=ctx.get("event_weeks"))


@mart_input(reads=(PSEUDONYMOUS_EVENTS_VIEW, PERSON_WEEK_TABLE),
            description="The top levels' content and the interactions with it, counted per week in DuckDB "
            "(no event leaves the engine), counted again only from the first week whose inputs changed.")
def leader_reach_counts(ctx: InputContext) -> pl.DataFrame:
    return stored_leader_reach_counts(ctx.con, PSEUDONYMOUS_EVENTS_VIEW, PERSON_WEEK_TABLE)


@mart_input(reads=("clean.survey_responses", PERSON_KEYS_TABLE),
            description="Pulse-survey answers of respondents matched to HR, with their person key (never an e-mail or "
            "employee id).")
def survey_answers(ctx: InputContext) -> pl.DataFrame:
    if not relation_exists(ctx.con, "clean.survey_responses"):  # a warehouse built before surveys existed
        return pl.DataFrame(schema={"person_key": pl.Utf8, "survey_id": pl.Utf8, "wave": pl.Utf8,
                                    "question_id": pl.Utf8, "answer": pl.Int16, "responded_on": pl.Date,
                                    "week_start": pl.Date, "response_id": pl.Utf8})
    return ctx.con.execute(
        f"""
        SELECT k.person_key, r.survey_id, r.wave, r.question_id, r.answer, r.responded_on, r.week_start, r.response_id
        FROM clean.survey_responses r JOIN {PERSON_KEYS_TABLE} k USING (employee_id)
        ORDER BY k.person_key, r.survey_id, r.wave, r.question_id, r.responded_on, r.response_id
        """
    ).pl()
