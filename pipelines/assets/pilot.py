"""Pilot marts: representativeness, effects (naive beside selection-corrected and staggered DiD,
event study, projection, by support level) and power for outcome KPIs."""

import datetime as dt

import polars as pl
from dagster import AssetKey, MaterializeResult, asset

from pipelines.assets.ingest import CONFIG_KEY
from pipelines.assets.marts import PERSON_WEEK
from pipelines.config_tables import WarehouseConfig, read_config
from pipelines.resources import WarehouseResource
from pipelines.warehouse import read_table, replace_table
from transforms.pilot.effects_mart import DEFAULT_ATTRIBUTES, pilot_effects
from transforms.pilot.power import kpi_power
from transforms.pilot.representativeness import pilot_representativeness
from transforms.pilot.units import person_baseline, team_pilot_assignment

GROUP = "marts"
PRE_ACTIVITY = ("is_active", "is_engaged", "is_contributor", "actions_total")
PRE_WEEKS = 8


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def first_pilot_start(config: WarehouseConfig) -> dt.date | None:
    starts = [c.start for c in config.pilots.cohorts]
    return _monday(min(starts)) if starts else None


def pilot_window_end(config: WarehouseConfig) -> dt.date | None:
    """The general roll-out: after it everyone has the platform and the pilot comparison ends."""
    return config.settings.general_rollout


def team_kpi_panel(kpi_values: pl.DataFrame, config: WarehouseConfig, person_week: pl.DataFrame) -> pl.DataFrame:
    """Weekly team-level KPIs with the team's pilot assignment (``cohort``, ``first_treat``)."""
    team_kpis = [k.name for k in config.kpi_registry.kpis if k.unit_type == "team" and k.grain == "week"]
    teams = team_pilot_assignment(person_week)
    return (
        kpi_values.filter(pl.col("kpi").is_in(team_kpis) & (pl.col("unit_type") == "team"))
        .select("kpi", "unit_id", (pl.col("period_start") - pl.duration(days=pl.col("period_start").dt.weekday() - 1))
                .alias("week_start"), "value")
        .join(teams.select("unit_id", "cohort", "first_treat", "support_level"), on="unit_id", how="left")
    )


@asset(key=AssetKey(["marts", "pilot_representativeness"]), group_name=GROUP, deps=[PERSON_WEEK],
       description="Pilot vs eligible population on every HR attribute and on pre-pilot activity: shares or "
       "means, standardized mean differences (flag above 0.1), a summary index and plain-language lines.",
       kinds={"duckdb", "polars"})
def pilot_representativeness_mart(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        start = first_pilot_start(config)
        if start is None:
            return MaterializeResult(metadata={"rows": 0, "note": "no pilot cohort declared"})
        people = person_baseline(read_table(con, "marts.person_week"), attributes=DEFAULT_ATTRIBUTES,
                                 activity=PRE_ACTIVITY, baseline_end=start, baseline_weeks=PRE_WEEKS)
        frame = pilot_representativeness(
            people, cohort_col="pilot_cohort", wave_col="pilot_wave", attributes=DEFAULT_ATTRIBUTES,
            pre_activity_cols=[f"pre_{c}" for c in PRE_ACTIVITY], min_group_size=config.settings.min_group_size,
        )
        return MaterializeResult(metadata={"rows": replace_table(con, "marts.pilot_representativeness", frame)})


@asset(key=AssetKey(["marts", "pilot_effects"]), group_name=GROUP, deps=[PERSON_WEEK, CONFIG_KEY],
       description="Pilot effects per cohort, metric (activity and outcome KPIs, each row with its kind) and "
       "estimator: naive beside ipw, aipw, matching and staggered DiD (Callaway & Sant'Anna, not-yet-treated); "
       "event-study rows; projection to the eligible population; by support level.",
       kinds={"duckdb", "polars"})
def pilot_effects_mart(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        if not config.pilots.cohorts:
            return MaterializeResult(metadata={"rows": 0, "note": "no pilot cohort declared"})
        pw = read_table(con, "marts.person_week")
        kpis = team_kpi_panel(read_table(con, "raw.kpi_values"), config, pw)
        frame = pilot_effects(
            pw, kpis if kpis.height else None, window_end=pilot_window_end(config),
            cohort_end={c.name: c.end for c in config.pilots.cohorts if c.end},
            baseline_end=first_pilot_start(config), pre_weeks=PRE_WEEKS,
            min_group_size=config.settings.min_group_size,
        )
        n = replace_table(con, "marts.pilot_effects", frame)
        headline = frame.filter((pl.col("row_type") == "effect") & (pl.col("metric") == "weekly_active_rate")
                                & (pl.col("estimand") == "ATT") & (pl.col("cohort") != "all"))
        return MaterializeResult(metadata={"rows": n, "activity_effect_rows": headline.height})


@asset(key=AssetKey(["marts", "pilot_power"]), group_name=GROUP, deps=[PERSON_WEEK, CONFIG_KEY],
       description="For each team-level outcome KPI: the minimum detectable effect for the pilot's size and "
       "duration, and the weeks needed to detect a 10% change.", kinds={"duckdb", "polars"})
def pilot_power_mart(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        config = read_config(con)
        start, end = first_pilot_start(config), pilot_window_end(config)
        pw = read_table(con, "marts.person_week")
        kpis = team_kpi_panel(read_table(con, "raw.kpi_values"), config, pw)
        if start is None or kpis.height == 0:
            return MaterializeResult(metadata={"rows": 0, "note": "no pilot or no team KPI"})
        last = end or pw["week_start"].max()
        weeks = max(1, (last - start).days // 7)
        frame = kpi_power(kpis, weeks=weeks, pre_weeks=PRE_WEEKS)
        return MaterializeResult(metadata={"rows": replace_table(con, "marts.pilot_power", frame),
                                           "pilot_weeks": weeks})


def pilot_assets():
    return [pilot_representativeness_mart, pilot_effects_mart, pilot_power_mart]
