"""Pilot marts: who is in the pilot compared with everyone (representativeness), what it changed
(naive beside selection-corrected and staggered DiD estimates, event study, projection, support
levels) and how long an outcome needs before an effect can be seen (power).

Without a pilot cohort (or, for power, without a weekly team KPI) each table is written empty
with its columns: there is nothing to compare.

Representativeness and effects read ``pilot_person_week`` (and the team KPI panel built from it):
person-weeks before the end of the pilot comparison only, which is all they use. Once the general
roll-out has passed, later weeks change neither, and a weekly run keeps them as they are
(:mod:`transforms.marts.memo`)."""

from __future__ import annotations

import polars as pl

from transforms.contracts import empty_frame
from transforms.contracts.config import Pilots, Settings
from transforms.marts import mart
from transforms.metrics.registry import MetricKind
from transforms.pilot.effects_mart import DEFAULT_ATTRIBUTES, PILOT_EFFECTS
from transforms.pilot.effects_mart import pilot_effects as pilot_effect_rows
from transforms.pilot.power import KPI_POWER_SCHEMA, kpi_power
from transforms.pilot.representativeness import SCHEMA as REPRESENTATIVENESS_SCHEMA
from transforms.pilot.representativeness import pilot_representativeness as compare
from transforms.pilot.units import PRE_ACTIVITY, PRE_WEEKS, first_pilot_start, person_baseline, pilot_window_end


@mart("marts.pilot_representativeness", kind=None, grain="cohort x variable x level",
      description="Pilot vs eligible population on every HR attribute and on pre-pilot activity: shares or "
      "means, standardized mean differences (flag above 0.1), a summary index and plain-language lines.",
      read_by=("report", "notebooks"))
def pilot_representativeness(pilot_person_week: pl.DataFrame, pilots: Pilots, settings: Settings) -> pl.DataFrame:
    start = first_pilot_start(pilots)
    if start is None:
        return pl.DataFrame(schema=REPRESENTATIVENESS_SCHEMA)
    people = person_baseline(pilot_person_week, attributes=DEFAULT_ATTRIBUTES, activity=PRE_ACTIVITY,
                             baseline_end=start, baseline_weeks=PRE_WEEKS)
    return compare(people, cohort_col="pilot_cohort", wave_col="pilot_wave", attributes=DEFAULT_ATTRIBUTES,
                   pre_activity_cols=[f"pre_{c}" for c in PRE_ACTIVITY], min_group_size=settings.min_group_size)


@mart("marts.pilot_effects", kind=None, grain="cohort x support level x metric x estimator x estimand x event time",
      description="Pilot effects per cohort and metric (activity and outcome KPIs, each row naming its kind): "
      "naive beside ipw, aipw, matching and staggered DiD (Callaway & Sant'Anna, not-yet-treated); "
      "event-study rows; projection to the eligible population; by support level. Intervals of naive, ipw and "
      "aipw are small-sample t intervals (per-arm n/(n-1), Welch-Satterthwaite df; CR1 and G-1 df when clustered).",
      read_by=("report", "notebooks"))
def pilot_effects(pilot_person_week: pl.DataFrame, pilot_team_kpi_panel: pl.DataFrame, pilots: Pilots,
                  settings: Settings) -> pl.DataFrame:
    if not pilots.cohorts:
        return empty_frame(PILOT_EFFECTS)
    return pilot_effect_rows(
        pilot_person_week, pilot_team_kpi_panel if pilot_team_kpi_panel.height else None, window_end=pilot_window_end(settings),
        cohort_end={c.name: c.end for c in pilots.cohorts if c.end}, baseline_end=first_pilot_start(pilots),
        pre_weeks=PRE_WEEKS, min_group_size=settings.min_group_size,
    )


@mart("marts.pilot_power", kind=MetricKind.OUTCOME, grain="weekly team KPI",
      description="For each weekly team KPI: the minimum detectable effect for the pilot's size and duration, "
      "and the weeks needed to detect a 10% change.")
def pilot_power(person_week: pl.DataFrame, team_kpi_panel: pl.DataFrame, pilots: Pilots,
                settings: Settings) -> pl.DataFrame:
    start = first_pilot_start(pilots)
    if start is None or team_kpi_panel.height == 0:
        return pl.DataFrame(schema=KPI_POWER_SCHEMA)
    last = pilot_window_end(settings) or person_week["week_start"].max()
    weeks = max(1, (last - start).days // 7)
    return kpi_power(team_kpi_panel, weeks=weeks, pre_weeks=PRE_WEEKS)
