"""Where a target's metric comes from: one *metric source* per metric kind, registered once.

A target of ``targets.yaml`` names its metric by ``{kind, name}``. The source registered for that
kind knows which metric names exist (given the drop zone's configuration), which population types
it can cut by, which mart inputs it reads, and how to give the metric's weekly value for one
population. Three sources are built in:

- ``activity``: the adoption curve's rates (``active_rate``, ``engaged_rate``, ``contributor_rate``,
  ``ever_active_rate``) for the organisation, a department, a site, a worker type or a pilot cohort,
  computed by :func:`transforms.metrics.adoption_curve.adoption_curve` (the numbers of
  ``marts.adoption_curve``, suppression included). Denominator: eligible headcount. The
  ever-active rate is the adoption share the Bass model projects.
- ``output``: ``community_outputs``, the outputs a charter recognises per week
  (:func:`transforms.metrics.community_outputs.community_outputs`), for one community or summed over
  every chartered community (``organisation``). Counts of content items, not of people.
- ``outcome``: any KPI of ``kpi_registry.yaml``, the mean of its units' weekly values
  (:func:`transforms.metrics.outcome_kpis.outcome_kpis`, units below the minimum group size left
  out) over the organisation, a department or a site (a site KPI: the organisation or one site).

A new kind (e.g. ``perception``) is one module that calls :func:`register_metric_source` and is
listed in :data:`SOURCE_MODULES`; nothing else changes: the target model takes any registered kind,
the loader checks names against the source, and ``marts.target_status`` reads the inputs the source
declares.

Every source's ``series`` returns :data:`SERIES_SCHEMA`: one row per week with data, ``actual``
null and ``suppressed`` true for a group of fewer than ``min_group_size`` people.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from transforms.contracts.config import Target

__all__ = [
    "METRIC_SOURCES",
    "SERIES_SCHEMA",
    "SOURCE_MODULES",
    "MetricInfo",
    "MetricSource",
    "check_target",
    "load_sources",
    "metric_info",
    "register_metric_source",
    "source_of",
]

#: Columns every source's ``series`` returns (one row per week with data).
SERIES_SCHEMA = pl.Schema({"week_start": pl.Date, "actual": pl.Float64, "group_size": pl.Int64,
                           "suppressed": pl.Boolean})

#: Modules registering further sources (imported by :func:`load_sources`), e.g. a survey module's.
SOURCE_MODULES: tuple[str, ...] = ()

#: ``get(input_name)``: a mart input (``transforms.marts.inputs``), loaded on first use.
Getter = Callable[[str], Any]


@dataclass(frozen=True)
class MetricInfo:
    """What a target needs to know about its metric."""

    unit: str
    direction: str  # higher_is_better / lower_is_better / neutral
    registered_metric: str  # the metric of transforms.metrics.registry a chart of it declares
    adoption_share: bool = False  # a cumulative adoption share the Bass model projects
    population_types: tuple[str, ...] | None = None  # narrower than the source's, when the metric needs it
    description: str = ""


@dataclass(frozen=True)
class MetricSource:
    """The metrics of one kind that targets can name.

    ``metrics(config)`` gives the names known for a configuration (an object with the drop zone's
    models as attributes: ``kpi_registry``, ``charters``...); ``series(get, target, k)`` the weekly
    values of the target's metric for its population (:data:`SERIES_SCHEMA`), reading mart inputs
    named in ``needs`` through ``get``.
    """

    kind: str
    needs: tuple[str, ...]
    population_types: tuple[str, ...]
    metrics: Callable[[Any], Mapping[str, MetricInfo]]
    series: Callable[[Getter, Target, int], pl.DataFrame]
    description: str
    #: ``known_populations(config, population_type)``: the values a configuration declares for a type
    #: (cohorts, communities), or ``None`` when only the data knows them (departments, sites).
    known_populations: Callable[[Any, str], Collection[str] | None] | None = None
    #: The drop-zone file that declares the kind's metric names (``kpi_registry.yaml``), when a file does:
    #: a target naming an unknown metric is told which file to fix.
    metrics_declared_in: str | None = None
    #: The drop-zone file that declares the populations of a type (``pilot_cohort``: ``pilots.yaml``).
    populations_declared_in: Mapping[str, str] = field(default_factory=dict)


METRIC_SOURCES: dict[str, MetricSource] = {}


def register_metric_source(source: MetricSource) -> MetricSource:
    """Register the source of one kind (a kind is registered once)."""
    if source.kind in METRIC_SOURCES and METRIC_SOURCES[source.kind] is not source:
        raise ValueError(f"a metric source for kind {source.kind!r} is already registered")
    METRIC_SOURCES[source.kind] = source
    return source


def load_sources() -> dict[str, MetricSource]:
    """Every registered source: the built-in ones and those of :data:`SOURCE_MODULES`."""
    for module in SOURCE_MODULES:
        importlib.import_module(module)
    return METRIC_SOURCES


def source_of(kind: str) -> MetricSource:
    """The source of ``kind``; ``KeyError`` naming the known kinds otherwise."""
    sources = load_sources()
    try:
        return sources[kind]
    except KeyError:
        raise KeyError(f"no metric source for kind {kind!r} (known: {', '.join(sorted(sources))})") from None


def metric_info(target: Target, config: Any) -> MetricInfo:
    """The target's metric as its source describes it; ``KeyError`` when unknown."""
    source = source_of(target.metric.kind)
    known = source.metrics(config)
    if target.metric.name not in known:
        where = f" in {source.metrics_declared_in}" if source.metrics_declared_in else ""
        raise KeyError(f"{target.metric.kind} metric {target.metric.name!r} is unknown{where} (known: "
                       f"{', '.join(sorted(known)) or 'none'})")
    return known[target.metric.name]


def check_target(target: Target, config: Any) -> tuple[str, str] | None:
    """``(field, problem)`` when the target names an unknown kind or metric, a population type its
    metric cannot be cut by, or a population the configuration does not declare (a cohort of
    ``pilots.yaml``, a community of ``charters.yaml``); ``None`` when it is fine."""
    try:
        source = source_of(target.metric.kind)
    except KeyError as exc:
        return "metric.kind", str(exc.args[0])
    try:
        info = metric_info(target, config)
    except KeyError as exc:
        return "metric.name", str(exc.args[0])
    allowed = info.population_types or source.population_types
    if target.population.type not in allowed:
        declared = (f", as declared in {source.metrics_declared_in}"
                    if info.population_types and source.metrics_declared_in else "")
        return "population.type", (f"{target.metric.kind} metric {target.metric.name!r} cannot be cut by "
                                   f"{target.population.type} (it can by: {', '.join(allowed)}{declared})")
    known = source.known_populations(config, target.population.type) if source.known_populations else None
    if known is not None and target.population.label not in known:
        file = source.populations_declared_in.get(target.population.type)
        where = f" in {file}" if file else ""
        return "population.value", (f"{target.population.type} {target.population.label!r} is not declared{where} "
                                    f"(declared: {', '.join(sorted(known)) or 'none'})")
    return None


def _empty_series() -> pl.DataFrame:
    return pl.DataFrame(schema=SERIES_SCHEMA)


# ------------------------------------------------------------------------------------------- activity

_ACTIVITY = {
    "active_rate": "Share of eligible people active in the week",
    "engaged_rate": "Share of eligible people reacting or contributing in the week",
    "contributor_rate": "Share of eligible people contributing in the week",
    "ever_active_rate": "Share of eligible people active at least once so far (the adoption share)",
}


def _activity_metrics(config: Any) -> dict[str, MetricInfo]:
    return {name: MetricInfo(unit="share", direction="higher_is_better", registered_metric=name,
                             adoption_share=name == "ever_active_rate", description=text)
            for name, text in _ACTIVITY.items()}


def _activity_series(get: Getter, target: Target, min_group_size: int) -> pl.DataFrame:
    from transforms.metrics.adoption_curve import adoption_curve

    ptype = target.population.type
    curve = adoption_curve(get("person_week"), populations=(ptype,), min_group_size=min_group_size)
    rows = curve.filter(pl.col("population") == target.population.label)
    return rows.select(
        "week_start", pl.col(target.metric.name).cast(pl.Float64).alias("actual"),
        pl.col("eligible").cast(pl.Int64).alias("group_size"), pl.col("suppressed").cast(pl.Boolean),
    ).sort("week_start")


def _activity_populations(config: Any, population_type: str) -> Collection[str] | None:
    if population_type == "pilot_cohort":
        pilots = getattr(config, "pilots", None)
        return {"non_pilot", *(c.name for c in (pilots.cohorts if pilots is not None else []))}
    if population_type == "worker_type":
        return {"office", "frontline"}
    return None


register_metric_source(MetricSource(
    kind="activity", needs=("person_week",),
    population_types=("organisation", "department", "site", "worker_type", "pilot_cohort"),
    metrics=_activity_metrics, series=_activity_series,
    description="the adoption curve's weekly rates over eligible headcount (marts.adoption_curve)",
    known_populations=_activity_populations, populations_declared_in={"pilot_cohort": "pilots.yaml"},
))


# -------------------------------------------------------------------------------------------- outputs


def _output_metrics(config: Any) -> dict[str, MetricInfo]:
    return {"community_outputs": MetricInfo(unit="outputs per week", direction="higher_is_better",
                                            registered_metric="community_outputs",
                                            description="Outputs recognised by the charters' rules per week")}


def _output_series(get: Getter, target: Target, min_group_size: int) -> pl.DataFrame:
    from transforms.metrics.community_outputs import community_outputs

    start, end = get("event_weeks")
    charters = get("charters")
    if start is None or not charters.communities:
        return _empty_series()
    cells = community_outputs(get("community_counts"), charters, start=start, end=end)
    if target.population.type == "community":
        cells = cells.filter(pl.col("community") == target.population.value)
        if cells.height == 0:
            return _empty_series()
    return (
        cells.group_by("week_start").agg(pl.col("outputs").sum().cast(pl.Float64).alias("actual"))
        .with_columns(pl.lit(None, pl.Int64).alias("group_size"), pl.lit(False).alias("suppressed"))
        .select(SERIES_SCHEMA.names()).sort("week_start")
    )


def _output_populations(config: Any, population_type: str) -> Collection[str] | None:
    charters = getattr(config, "charters", None)
    if population_type == "community":
        return {c.name for c in (charters.communities if charters is not None else [])}
    return None


register_metric_source(MetricSource(
    kind="output", needs=("community_counts", "charters", "event_weeks"),
    population_types=("organisation", "community"), metrics=_output_metrics, series=_output_series,
    description="outputs recognised by the community charters (marts.community_outputs)",
    known_populations=_output_populations, populations_declared_in={"community": "charters.yaml"},
))


# ------------------------------------------------------------------------------------------- outcomes

#: Population types an outcome KPI can be averaged over, by the KPI's unit type.
_OUTCOME_POPULATIONS = {"team": ("organisation", "department", "site"), "site": ("organisation", "site"),
                        "employee": ("organisation", "department", "site")}


def _outcome_metrics(config: Any) -> dict[str, MetricInfo]:
    registry = getattr(config, "kpi_registry", None)
    return {k.name: MetricInfo(unit=k.unit, direction=k.direction, registered_metric="kpi_value",
                               population_types=_OUTCOME_POPULATIONS[k.unit_type], description=k.description)
            for k in (registry.kpis if registry is not None else [])}


def _outcome_series(get: Getter, target: Target, min_group_size: int) -> pl.DataFrame:
    from transforms.metrics.outcome_kpis import outcome_kpis

    values = get("kpi_values").filter(pl.col("kpi") == target.metric.name)
    if values.height == 0:
        return _empty_series()
    rows = outcome_kpis(values, get("kpi_registry"), get("person_week"), employee_keys=get("employee_keys"),
                        min_group_size=min_group_size)
    ptype = target.population.type
    if ptype == "site":
        rows = rows.filter(pl.when(pl.col("unit_type") == "site").then(pl.col("unit_id"))
                           .otherwise(pl.col("site")) == target.population.value)
    elif ptype == "department":
        rows = rows.filter(pl.col("department") == target.population.value)
    if rows.height == 0:
        return _empty_series()
    people = pl.when(pl.col("unit_type") == "employee").then(pl.lit(1.0)).otherwise(pl.col("headcount"))
    weekly = (
        rows.filter(~pl.col("suppressed").fill_null(False) & pl.col("value").is_not_null())
        .group_by("week_start")
        .agg(pl.col("value").mean().alias("actual"), people.sum().round(0).cast(pl.Int64).alias("group_size"))
    )
    small = pl.col("group_size").fill_null(0) < min_group_size
    return (
        rows.select("week_start").unique().join(weekly, on="week_start", how="left")
        .with_columns(small.alias("suppressed"))
        .with_columns(pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("actual")).alias("actual"),
                      pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("group_size")).alias("group_size"))
        .select(SERIES_SCHEMA.names()).sort("week_start")
    )


register_metric_source(MetricSource(
    kind="outcome", needs=("kpi_values", "kpi_registry", "person_week", "employee_keys"),
    population_types=("organisation", "department", "site"), metrics=_outcome_metrics, series=_outcome_series,
    description="outcome KPIs of kpi_registry.yaml, the mean of their units' weekly values (marts.outcome_kpis)",
    metrics_declared_in="kpi_registry.yaml",
))
