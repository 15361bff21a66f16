"""Roadmap targets: each target's weekly actual beside the value expected by then on its path, and
its status (``marts.target_status``, :mod:`transforms.targets.status`). Each row is one target's
one metric and names its kind (``metric_kind``): activity, output and outcome targets are never
blended. Without ``targets.yaml`` the table is written empty with its columns."""

from __future__ import annotations

import logging

import polars as pl

from transforms.contracts.config import Targets
from transforms.marts import InputContext, mart, mart_input
from transforms.targets.sources import load_sources, metric_info
from transforms.targets.status import TARGET_STATUS_SCHEMA, TargetSeries, target_status_table

log = logging.getLogger(__name__)

#: Every input a registered metric source may read (each loaded only when a target needs it).
_SOURCE_INPUTS = tuple(sorted({name for source in load_sources().values() for name in source.needs}))


@mart_input(reads=(), needs=("targets", "config", "settings", "person_week", "bass_diffusion", *_SOURCE_INPUTS),
            description="Each target's weekly actuals from the source of its metric's kind, and the fitted "
            "Bass model for adoption-share targets (loaded only when a target needs them).")
def target_series(ctx: InputContext) -> TargetSeries:
    targets: Targets = ctx.get("targets")
    config = ctx.get("config")
    k = ctx.get("settings").min_group_size
    parts, metrics, problems = [], {}, {}
    for target in targets.targets:  # one iteration per target: a handful
        source = load_sources().get(target.metric.kind)
        try:
            info = metric_info(target, config)
        except KeyError as exc:
            metrics[target.name], problems[target.name] = None, str(exc.args[0])
            continue
        metrics[target.name] = info
        series = source.series(ctx.get, target, k)  # type: ignore[union-attr]
        parts.append(series.with_columns(pl.lit(target.name).alias("target")))
    actuals = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame(
        schema={"week_start": pl.Date, "actual": pl.Float64, "group_size": pl.Int64, "suppressed": pl.Boolean,
                "target": pl.Utf8})
    diffusion = None
    if any(info is not None and info.adoption_share for info in metrics.values()):
        try:
            diffusion = ctx.get("bass_diffusion")
        except ValueError as exc:  # nothing to fit yet (a roll-out after the data): no projection
            log.info("targets: no diffusion model to project adoption targets with: %s", exc)
    last_week = ctx.get("person_week")["week_start"].max() if targets.targets else None
    return TargetSeries(actuals=actuals, metrics=metrics, last_week=last_week, diffusion=diffusion,
                        problems=problems)


@mart("marts.target_status", kind=None, grain="target x week",
      description="Per roadmap target (targets.yaml) and week: actual, expected by now on a straight or S-shaped "
      "path through the milestones, shortfall, status (on track / at risk / off track, rule in each row) and, "
      "for adoption shares, the date the Bass projection reaches the target. Each row names its metric's kind.",
      read_by=("report",))
def target_status(targets: Targets, target_series: TargetSeries) -> pl.DataFrame:
    if not targets.targets:
        return pl.DataFrame(schema=TARGET_STATUS_SCHEMA)
    return target_status_table(targets.targets, target_series)
