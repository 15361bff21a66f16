"""Outcome KPIs (``marts.outcome_kpis``, kind outcome) and one explicit link analysis (kind link).

:func:`outcome_kpis` puts each KPI value beside its unit's HR context (org unit, department, site,
headcount, frontline share) and pilot status, and nothing from the platform: no activity column
enters an outcome table. :func:`kpi_activity_lead_lag` is the one place where activity and an
outcome meet, as a labelled association (team active rate at week t against the KPI at t+k),
never as a blended score and never read as an effect.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl

from transforms.contracts import KPI_VALUES, ContractError
from transforms.contracts.config import KpiRegistry
from transforms.metrics.populations import require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_small_arms
from transforms.weeks import week_start_expr

log = logging.getLogger(__name__)

__all__ = [
    "ASSOCIATION_LABEL", "LEAD_LAG_SCHEMA", "kpi_activity_lead_lag", "kpi_activity_link", "outcome_kpis",
    "weekly_team_kpis",
]

ASSOCIATION_LABEL = "association, not effect"
#: Columns of the lead-lag table (one KPI) and of ``marts.kpi_activity_link`` (every team KPI stacked).
LEAD_LAG_SCHEMA: dict[str, pl.DataType] = {
    "lag_weeks": pl.Int32, "n_pairs": pl.Int64, "n_teams": pl.Int64, "correlation": pl.Float64,
    "slope_per_point": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "suppressed": pl.Boolean,
    "kpi": pl.Utf8, "unit": pl.Utf8, "direction": pl.Utf8, "within_team": pl.Boolean, "label": pl.Utf8,
    "interval_level": pl.Float64, "kind": pl.Utf8,
}
_UNIT_KEY = {"team": "org_unit", "site": "site"}


def _registry_frame(registry: KpiRegistry) -> pl.DataFrame:
    return pl.DataFrame(
        [{"kpi": k.name, "unit": k.unit, "direction": k.direction, "registry_unit_type": k.unit_type,
          "kpi_grain": k.grain} for k in registry.kpis],
        schema={"kpi": pl.Utf8, "unit": pl.Utf8, "direction": pl.Utf8, "registry_unit_type": pl.Utf8,
                "kpi_grain": pl.Utf8},
    )


def _check_kpis(kpi_values: pl.DataFrame, registry: KpiRegistry) -> None:
    require_columns(kpi_values, [c.name for c in KPI_VALUES.columns if not c.nullable], table="kpi_values")
    known = {k.name for k in registry.kpis}
    unknown = sorted(set(kpi_values["kpi"].unique().to_list()) - known)
    if unknown:
        raise ContractError(f"KPI(s) {', '.join(unknown)} are not in the KPI registry "
                            f"(known: {', '.join(sorted(known))})", file="kpi_values", locator="kpi")


def _unit_context(person_week: pl.DataFrame, key: str) -> pl.DataFrame:
    """HR context per unit (``key`` = org_unit or site) and week. Grain: unit x week."""
    return (
        person_week.filter(pl.col(key).is_not_null())
        .group_by(key, "week_start")
        .agg(
            pl.col("person_key").n_unique().cast(pl.Float64).alias("headcount"),
            (pl.col("worker_type") == "frontline").mean().alias("frontline_share"),
            pl.col("pilot_cohort").is_not_null().mean().alias("pilot_member_share"),
            (pl.col("pilot_status") == "during").fill_null(False).mean().alias("pilot_during_share"),
            pl.col("department").drop_nulls().mode().sort().first().alias("department"),
            pl.col("site").drop_nulls().mode().sort().first().alias("site") if key != "site"
            else pl.col("org_unit").drop_nulls().mode().sort().first().alias("org_unit"),
        )
        .rename({key: "unit_id"})
    )


def _with_period_context(rows: pl.DataFrame, context: pl.DataFrame, *, key: str) -> pl.DataFrame:
    """Each KPI row of ``rows`` beside the ``context`` rows (``key``, ``ctx_week``, ...) of the weeks
    of its period (the Mondays from ``week_start`` to ``period_end``), in week order. A row whose
    ``key`` has no context at all is kept once, its context null; a row whose ``key`` has context,
    but none in its period, is left out.

    An equi-join on (key, week) of each row's own weeks: joining every row to all of its key's
    weeks and filtering afterwards made a person-level KPI of 52 weeks meet 52 person-weeks each
    (270 M rows at 100,000 people, several GiB) to keep one.
    """
    weeks = rows.with_columns(
        pl.date_ranges("week_start", "period_end", interval="1w").alias("ctx_week")
    ).explode("ctx_week")
    matched = weeks.join(context, on=[key, "ctx_week"], how="inner", maintain_order="left")
    without_context = rows.join(context.select(key).unique(), on=key, how="anti")
    return pl.concat([matched, without_context], how="diagonal_relaxed")


@table_function(kind=MetricKind.OUTCOME, metrics=("kpi_value",), grain="KPI x unit x period")
def outcome_kpis(
    kpi_values: pl.DataFrame,
    registry: KpiRegistry,
    person_week: pl.DataFrame,
    *,
    employee_keys: pl.DataFrame | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """KPI values per unit and period with the unit's HR context and pilot status (``marts.outcome_kpis``).

    Grain: one row per KPI x unit x period (``week_start`` = Monday of ``period_start``). Denominator:
    none for the value (as delivered; unit and direction from the registry). Context, averaged over
    the weeks of the period: ``headcount`` (eligible people of the team / site; for an employee KPI,
    of their team), ``frontline_share``, ``pilot_member_share`` (assigned to any pilot),
    ``pilot_during_share`` (in a pilot's active period). Team and site values whose headcount is
    below ``min_group_size`` are suppressed (they would describe too few people). Employee-level
    KPIs need ``employee_keys`` (employee_id, person_key) so the mart carries pseudonyms only;
    they keep the person's ``pilot_status``.
    """
    _check_kpis(kpi_values, registry)
    require_columns(person_week, ["person_key", "week_start", "org_unit", "site", "department", "worker_type",
                                  "pilot_cohort", "pilot_status"], table="person_week")
    kpis = kpi_values.join(_registry_frame(registry), on="kpi", how="left").with_columns(
        week_start_expr("period_start").alias("week_start")
    )
    parts: list[pl.DataFrame] = []
    for unit_type, key in _UNIT_KEY.items():
        rows = kpis.filter(pl.col("unit_type") == unit_type)
        if rows.height == 0:
            continue
        ctx = _unit_context(person_week, key).rename({"week_start": "ctx_week"})
        joined = _with_period_context(rows, ctx, key="unit_id")
        keep = ["kpi", "unit_type", "unit_id", "period_start", "period_end", "week_start", "value", "unit",
                "direction"]
        agg = joined.group_by(keep).agg(
            pl.col("headcount").mean(), pl.col("frontline_share").mean(), pl.col("pilot_member_share").mean(),
            pl.col("pilot_during_share").mean(),
            pl.col("department").drop_nulls().first(),
            (pl.col("site") if key != "site" else pl.col("unit_id")).drop_nulls().first().alias("site"),
            (pl.col("unit_id") if key != "site" else pl.col("org_unit")).drop_nulls().first().alias("org_unit"),
        ).with_columns(pl.lit(None, dtype=pl.Utf8).alias("pilot_status"))
        parts.append(agg)
    employees = kpis.filter(pl.col("unit_type") == "employee")
    if employees.height:
        if employee_keys is None:
            raise ContractError("employee-level KPIs need employee_keys (employee_id -> person_key) so that the "
                                "mart holds pseudonyms only", file="kpi_values", locator="unit_type=employee")
        require_columns(employee_keys, ["employee_id", "person_key"], table="employee_keys")
        keyed = employees.join(employee_keys.select("employee_id", "person_key"), left_on="unit_id",
                               right_on="employee_id", how="left")
        if keyed["person_key"].null_count():
            log.warning("outcome_kpis: %d employee KPI row(s) without a person key are left out",
                        keyed["person_key"].null_count())
        keyed = keyed.filter(pl.col("person_key").is_not_null())
        team_ctx = _unit_context(person_week, "org_unit").rename({"unit_id": "org_unit", "week_start": "ctx_week"})
        person_rows = person_week.select(
            "person_key", pl.col("week_start").alias("ctx_week"), "org_unit", "pilot_status"
        )
        joined = _with_period_context(keyed, person_rows, key="person_key").join(
            team_ctx, on=["org_unit", "ctx_week"], how="left")
        agg = joined.group_by(["kpi", "unit_type", "person_key", "period_start", "period_end", "week_start", "value",
                               "unit", "direction"]).agg(
            pl.col("headcount").mean(), pl.col("frontline_share").mean(), pl.col("pilot_member_share").mean(),
            pl.col("pilot_during_share").mean(), pl.col("department").drop_nulls().first(),
            pl.col("site").drop_nulls().first(), pl.col("org_unit").drop_nulls().last(),
            pl.col("pilot_status").drop_nulls().last(),
        ).rename({"person_key": "unit_id"})
        parts.append(agg)
    columns = ["kpi", "unit_type", "unit_id", "period_start", "period_end", "week_start", "value", "unit", "direction",
               "org_unit", "department", "site", "headcount", "frontline_share", "pilot_member_share",
               "pilot_during_share", "pilot_status"]
    if not parts:
        empty = pl.DataFrame(schema={**{c: pl.Utf8 for c in columns}, "period_start": pl.Date, "period_end": pl.Date,
                                     "week_start": pl.Date, "value": pl.Float64, "headcount": pl.Float64,
                                     "frontline_share": pl.Float64, "pilot_member_share": pl.Float64,
                                     "pilot_during_share": pl.Float64})
        return with_kind(empty.select(columns).with_columns(pl.lit(False).alias("suppressed")), MetricKind.OUTCOME)
    table = pl.concat([p.select(columns) for p in parts], how="vertical_relaxed")
    table = table.with_columns(
        pl.when(pl.col("unit_type") == "employee").then(pl.lit(float(min_group_size)))
        .otherwise(pl.col("headcount").fill_null(0)).alias("__size")
    )
    published = suppress_small_arms(table, size_columns=["__size"], value_columns=["value"],
                                    min_group_size=min_group_size).drop("__size")
    return with_kind(published.sort("kpi", "unit_type", "unit_id", "period_start"), MetricKind.OUTCOME)


def _team_active_rate(person_week: pl.DataFrame, min_group_size: int) -> pl.DataFrame:
    return (
        person_week.filter(pl.col("org_unit").is_not_null())
        .group_by("org_unit", "week_start")
        .agg(pl.len().alias("headcount"), pl.col("is_active").mean().alias("active_rate"))
        .filter(pl.col("headcount") >= min_group_size)
        .rename({"org_unit": "unit_id"})
    )


@table_function(kind=MetricKind.LINK, metrics=("kpi_activity_lead_lag",), grain="KPI x lag")
def kpi_activity_lead_lag(
    kpi_values: pl.DataFrame,
    registry: KpiRegistry,
    person_week: pl.DataFrame,
    *,
    kpi: str,
    max_lag: int = 8,
    within_team: bool = False,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Lead-lag association of a team KPI at week t+k with the team's active rate at week t, k = 0..max_lag.

    Grain: one row per lag k. Denominator: team-weeks with both values (teams of at least
    ``min_group_size`` eligible people that week). Per lag: Pearson ``correlation`` and an OLS
    ``slope_per_point`` (KPI units per percentage point of active rate) with a (1 - alpha) interval,
    SEs clustered by team; with ``within_team`` both series are demeaned by team first (compares a
    team with itself over time). Labelled ``association, not effect``: teams that use the platform
    more may differ in many ways. Lags with fewer than ``min_group_size`` teams are suppressed.
    """
    _check_kpis(kpi_values, registry)
    definition = registry.get(kpi)
    if definition.unit_type != "team":
        raise ValueError(f"lead-lag analysis needs a team-level KPI; {kpi!r} is {definition.unit_type}-level")
    series = kpi_values.filter((pl.col("kpi") == kpi) & (pl.col("unit_type") == "team"))
    long_periods = series.filter((pl.col("period_end") - pl.col("period_start")).dt.total_days() > 6)
    if long_periods.height:
        raise ValueError(f"lead-lag analysis needs weekly KPI periods; {kpi!r} has {long_periods.height} longer period(s)")
    series = series.select("unit_id", week_start_expr("period_start").alias("kpi_week"), "value")
    rates = _team_active_rate(person_week, min_group_size)
    rows = []
    for k in range(max_lag + 1):
        pairs = rates.with_columns((pl.col("week_start") + pl.duration(weeks=k)).alias("kpi_week")).join(
            series, on=["unit_id", "kpi_week"], how="inner"
        )
        if within_team and pairs.height:
            pairs = pairs.with_columns(
                (pl.col("active_rate") - pl.col("active_rate").mean().over("unit_id")),
                (pl.col("value") - pl.col("value").mean().over("unit_id")),
            )
        rec: dict[str, object] = {"lag_weeks": k, "n_pairs": pairs.height, "n_teams": pairs["unit_id"].n_unique(),
                                  "correlation": None, "slope_per_point": None, "ci_low": None, "ci_high": None}
        if pairs.height >= 3 and pairs["unit_id"].n_unique() >= 2 and pairs["active_rate"].std() > 0:
            x = pairs["active_rate"].to_numpy() * 100
            y = pairs["value"].to_numpy()
            rec["correlation"] = float(np.corrcoef(x, y)[0, 1])
            from statsmodels.regression.linear_model import OLS  # heavy import, only when estimating

            groups = np.unique(pairs["unit_id"].to_numpy(), return_inverse=True)[1]
            fit = OLS(y, np.column_stack([np.ones_like(x), x])).fit(cov_type="cluster", cov_kwds={"groups": groups})
            lo, hi = fit.conf_int(alpha=alpha)[1]
            rec.update(slope_per_point=float(fit.params[1]), ci_low=float(lo), ci_high=float(hi))
        rows.append(rec)
    table = pl.DataFrame(rows, schema={c: LEAD_LAG_SCHEMA[c] for c in list(LEAD_LAG_SCHEMA)[:7]})
    published = suppress_small_arms(table, size_columns=["n_teams"],
                                    value_columns=["correlation", "slope_per_point", "ci_low", "ci_high"],
                                    min_group_size=min_group_size)
    return with_kind(
        published.with_columns(
            pl.lit(kpi).alias("kpi"), pl.lit(definition.unit).alias("unit"), pl.lit(definition.direction).alias("direction"),
            pl.lit(within_team).alias("within_team"), pl.lit(ASSOCIATION_LABEL).alias("label"),
            pl.lit(1 - alpha).alias("interval_level"),
        ),
        MetricKind.LINK,
    )



def weekly_team_kpis(registry: KpiRegistry) -> list[str]:
    """The registry's KPIs measured per team and week: those the lead-lag and pilot analyses take."""
    return [k.name for k in registry.kpis if k.unit_type == "team" and k.grain == "week"]


@table_function(kind=MetricKind.LINK, metrics=("kpi_activity_lead_lag",), grain="KPI x lag")
def kpi_activity_link(
    kpi_values: pl.DataFrame,
    registry: KpiRegistry,
    person_week: pl.DataFrame,
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """:func:`kpi_activity_lead_lag` for every weekly team KPI of the registry, stacked.

    Grain: one row per KPI x lag. Denominator: team-weeks with both values, per KPI and lag (as
    :func:`kpi_activity_lead_lag`). Without a weekly team KPI (no registry, no feed) the table is
    empty, with its columns (``LEAD_LAG_SCHEMA``).
    """
    parts = [
        kpi_activity_lead_lag(kpi_values, registry, person_week, kpi=name, min_group_size=min_group_size)
        for name in weekly_team_kpis(registry)
    ]
    if not parts:
        return pl.DataFrame(schema=LEAD_LAG_SCHEMA)
    return pl.concat(parts, how="diagonal_relaxed")

