"""Outcome KPIs with their units' HR context, and their association with activity (kind link:
an association, not an effect)."""

from __future__ import annotations

import polars as pl

from transforms.contracts.config import KpiRegistry, Settings
from transforms.marts import mart
from transforms.metrics import outcome_kpis as outcomes
from transforms.metrics.registry import MetricKind


@mart("marts.outcome_kpis", kind=MetricKind.OUTCOME, grain="KPI x unit x period",
      description="KPI values per unit and week with the unit's HR context and pilot status. Outcome only.",
      read_by=("report", "notebooks"))
def outcome_kpis(kpi_values: pl.DataFrame, kpi_registry: KpiRegistry, person_week: pl.DataFrame,
                 employee_keys: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return outcomes.outcome_kpis(kpi_values, kpi_registry, person_week, employee_keys=employee_keys,
                                 min_group_size=settings.min_group_size)


@mart("marts.kpi_activity_link", kind=MetricKind.LINK, grain="KPI x lag",
      description="Team-level lead-lag association between the active rate and each weekly team KPI. "
      "Association, not effect.", read_by=("report", "notebooks"))
def kpi_activity_link(kpi_values: pl.DataFrame, kpi_registry: KpiRegistry, person_week: pl.DataFrame,
                      settings: Settings) -> pl.DataFrame:
    return outcomes.kpi_activity_link(kpi_values, kpi_registry, person_week, min_group_size=settings.min_group_size)
