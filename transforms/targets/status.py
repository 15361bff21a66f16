"""Is each target on track? (``marts.target_status``)

Grain: one row per target x week, from the week of the target's ``start`` to the later of its due
week and the data's last week; weeks after the data's last week carry the expected path only
(``is_future``).

- **Baseline**: ``baseline`` from ``targets.yaml`` when given; else the metric's value in the week of
  ``start`` or, when that week has none (before the data, or a suppressed group), the first later
  week that has one.
- **Expected by now**: the path from the baseline at ``start`` to the target ``value`` at ``due``
  through the milestones (knots, by date). ``linear``: straight between consecutive knots.
  ``logistic``: between consecutive knots ``v0 + (v1 - v0) * S(u)``, ``u`` the elapsed share of the
  segment, ``S(u) = (s(8 (u - 1/2)) - s(-4)) / (s(4) - s(-4))`` with ``s`` the logistic function: a
  slow start, the fastest change half-way, a slow end. Weeks are placed at their Monday; before
  ``start`` the path is the baseline, after ``due`` the target value.
- **Status** of a week with a value. With ``D = |value - baseline|`` (``|value|`` when the target
  keeps a level, 1 when that is 0 too), ``s`` = +1 when the target is above the baseline, -1 when
  below (a level kept: the metric's direction), and the shortfall ``s * (expected - actual)``
  (positive: behind the path): **on track** when the shortfall is at most ``tolerance * D``
  (default 5% of the distance), **at risk** when at most ``(tolerance + at_risk_band) * D``
  (default 15%), **off track** beyond. ``reached``: the actual is at or beyond the target value.
- **Projected date** (adoption shares only, for a population the Bass model is fitted for): the
  first week the projected share reaches the target, with projected share(w) = the latest actual
  + (Bass fitted share(w) - fitted share at the latest week) x the Bass headcount / the
  population's eligible headcount at the latest week (the model's further adopters, added to what
  is observed). Null, with ``projection_note`` saying why, when the fitted ceiling stays below
  the target within the projection, or no model is fitted for the population. A target already
  reached gets the week it was first reached.

Privacy: a week whose group has fewer than ``min_group_size`` people has no actual and no status
(``suppressed``); a baseline is only ever taken from a published value.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.contracts.config import Target
from transforms.metrics.diffusion import BassDiffusion
from transforms.targets.sources import SERIES_SCHEMA, MetricInfo
from transforms.weeks import week_start_of

log = logging.getLogger(__name__)

__all__ = [
    "LOGISTIC_STEEPNESS",
    "STATUSES",
    "TARGET_STATUS_SCHEMA",
    "TargetSeries",
    "expected_values",
    "status_rule",
    "target_status_table",
]

ON_TRACK, AT_RISK, OFF_TRACK = "on_track", "at_risk", "off_track"
STATUSES: tuple[str, ...] = (ON_TRACK, AT_RISK, OFF_TRACK)
LOGISTIC_STEEPNESS = 8.0

TARGET_STATUS_SCHEMA = pl.Schema({
    "target": pl.Utf8, "population_type": pl.Utf8, "population": pl.Utf8, "metric_kind": pl.Utf8,
    "metric": pl.Utf8, "registered_metric": pl.Utf8, "unit": pl.Utf8, "direction": pl.Utf8, "path": pl.Utf8,
    "start_date": pl.Date, "due_date": pl.Date, "target_value": pl.Float64, "baseline": pl.Float64,
    "tolerance": pl.Float64, "at_risk_band": pl.Float64, "week_start": pl.Date, "actual": pl.Float64,
    "expected": pl.Float64, "shortfall": pl.Float64, "status": pl.Utf8, "reached": pl.Boolean,
    "is_future": pl.Boolean, "group_size": pl.Int64, "suppressed": pl.Boolean, "knot": pl.Utf8,
    "knot_value": pl.Float64, "projected_date": pl.Date, "projected_on_time": pl.Boolean,
    "projection_note": pl.Utf8, "rule": pl.Utf8, "note": pl.Utf8,
})


@dataclass(frozen=True)
class TargetSeries:
    """What ``marts.target_status`` is computed from: every target's weekly actuals
    (``target`` + :data:`~transforms.targets.sources.SERIES_SCHEMA`), its metric as its source
    describes it (``None`` when unknown, with ``problems[target]`` saying why), the data's last week
    and the fitted Bass model (``None`` when none could be fitted)."""

    actuals: pl.DataFrame
    metrics: dict[str, MetricInfo | None]
    last_week: dt.date | None
    diffusion: BassDiffusion | None = None
    problems: dict[str, str] | None = None


def _s_curve(u: np.ndarray) -> np.ndarray:
    k = LOGISTIC_STEEPNESS

    def logistic(x: np.ndarray | float) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))

    lo, hi = logistic(-k / 2), logistic(k / 2)
    return (logistic(k * (u - 0.5)) - lo) / (hi - lo)


def expected_values(knots: Sequence[tuple[dt.date, float]], weeks: Sequence[dt.date], *,
                    path: str = "linear") -> list[float]:
    """The expected value at each of ``weeks`` on the path through ``knots`` (date, value), sorted by
    date: piecewise linear or logistic (module docstring); the first knot's value before it, the
    last knot's value after it."""
    if len(knots) < 2:
        raise ValueError("a path needs at least two knots (the start and the due date)")
    ordered = sorted(knots)
    x = np.asarray([d.toordinal() for d, _ in ordered], dtype=float)
    y = np.asarray([v for _, v in ordered], dtype=float)
    if np.any(np.diff(x) <= 0):
        raise ValueError("knots must have distinct dates")
    at = np.asarray([w.toordinal() for w in weeks], dtype=float)
    seg = np.clip(np.searchsorted(x, at, side="right") - 1, 0, len(x) - 2)
    u = np.clip((at - x[seg]) / (x[seg + 1] - x[seg]), 0.0, 1.0)
    shape = _s_curve(u) if path == "logistic" else u
    return (y[seg] + (y[seg + 1] - y[seg]) * shape).tolist()


def _sign(target: Target, baseline: float, info: MetricInfo | None) -> float:
    if target.value > baseline:
        return 1.0
    if target.value < baseline:
        return -1.0
    return -1.0 if info is not None and info.direction == "lower_is_better" else 1.0


def _distance(target: Target, baseline: float) -> float:
    d = abs(target.value - baseline)
    return d if d > 0 else (abs(target.value) or 1.0)


def status_rule(target: Target, baseline: float | None, info: MetricInfo | None = None) -> str:
    """The status rule of one target in words, with its thresholds in the metric's units."""
    tol, band = target.tolerance, target.tolerance + target.at_risk_band
    if baseline is None:
        return (f"on track: at most {tol:.0%} of the distance from the baseline to the target behind the expected "
                f"value; at risk: up to {band:.0%}; off track: further behind (no baseline yet)")
    d = _distance(target, baseline)
    return (f"on track: at most {tol:.0%} of the distance from the baseline to the target ({tol * d:.3g}) behind "
            f"the expected value; at risk: up to {band:.0%} ({band * d:.3g}); off track: further behind")


def _classify(shortfall: float, target: Target, baseline: float) -> str:
    d = _distance(target, baseline)
    if shortfall <= target.tolerance * d + 1e-12:
        return ON_TRACK
    if shortfall <= (target.tolerance + target.at_risk_band) * d + 1e-12:
        return AT_RISK
    return OFF_TRACK


def _weeks(first: dt.date, last: dt.date) -> list[dt.date]:
    n = (last - first).days // 7
    return [first + dt.timedelta(weeks=i) for i in range(n + 1)]


def _bass_population(target: Target) -> tuple[str, str]:
    return (target.population.type, target.population.label)


def _projection(target: Target, rows: pl.DataFrame, info: MetricInfo | None,
                diffusion: BassDiffusion | None) -> tuple[dt.date | None, str | None]:
    """(projected date, note) of an adoption-share target (module docstring)."""
    if info is None or not info.adoption_share:
        return None, None
    observed = rows.filter(pl.col("actual").is_not_null() & ~pl.col("is_future"))
    hit = observed.filter(pl.col("actual") >= target.value - 1e-12)
    if hit.height:
        return hit["week_start"].min(), "reached"
    if diffusion is None:
        return None, "no diffusion model could be fitted"
    ptype, pop = _bass_population(target)
    params = diffusion.parameters
    if params.height == 0 or "population_type" not in params.columns:
        return None, "no diffusion model could be fitted"
    params = params.filter((pl.col("population_type") == ptype) & (pl.col("population") == pop))
    if params.height == 0:
        fitted = sorted(set(diffusion.parameters["population_type"].to_list()))
        return None, f"no diffusion model is fitted for this population (fitted for: {', '.join(fitted)})"
    status = str(params["status"][0])
    if status != "ok":
        return None, f"diffusion model not fitted: {status}"
    if observed.height == 0:
        return None, "no observed value to project from"
    last = observed.sort("week_start").row(-1, named=True)
    if not last["group_size"]:
        return None, "no observed headcount to project from"
    headcount = float(params["headcount"][0])
    proj = diffusion.projection.filter((pl.col("population_type") == ptype) & (pl.col("population") == pop)
                                       & pl.col("fitted_share").is_not_null()).sort("week_start")
    at_last = proj.filter(pl.col("week_start") <= last["week_start"])
    base = float(at_last["fitted_share"][-1]) if at_last.height else float(params["adopted_before"][0]) / headcount
    ahead = proj.filter(pl.col("week_start") > last["week_start"]).with_columns(
        (last["actual"] + (pl.col("fitted_share") - base) * headcount / last["group_size"]).alias("share"))
    reach = ahead.filter(pl.col("share") >= target.value - 1e-12)
    if reach.height == 0:
        end = ahead["week_start"].max() if ahead.height else last["week_start"]
        return None, f"the fitted ceiling keeps the share below the target up to {end}"
    return reach["week_start"][0], None


def _one_target(target: Target, series: pl.DataFrame, info: MetricInfo | None, problem: str | None,
                last_week: dt.date | None, diffusion: BassDiffusion | None) -> pl.DataFrame:
    start_week, due_week = week_start_of(target.start), week_start_of(target.due)
    end = max(due_week, last_week) if last_week is not None else due_week
    weeks = _weeks(start_week, end)
    grid = pl.DataFrame({"week_start": weeks}, schema={"week_start": pl.Date}).join(
        series.select(SERIES_SCHEMA.names()), on="week_start", how="left"
    ).with_columns(
        pl.col("suppressed").fill_null(False),
        ((pl.col("week_start") > last_week) if last_week is not None else pl.lit(True)).alias("is_future"),
    ).with_columns(pl.when(pl.col("is_future")).then(None).otherwise(pl.col("actual")).alias("actual"))
    published = grid.filter(pl.col("actual").is_not_null() & ~pl.col("suppressed")).sort("week_start")
    baseline = target.baseline if target.baseline is not None else (
        float(published["actual"][0]) if published.height else None)
    note = problem
    if note is None and series.height == 0:
        note = "no value of this metric for this population in the data (check the population's name)"
    elif note is None and published.height == 0 and bool(series["suppressed"].any()):
        note = "fewer people than the minimum group size: not shown"
    elif note is None and baseline is None:
        note = "no value yet since the start"
    knots = [(target.start, baseline)] + [(m.date, m.value) for m in target.milestones] + [(target.due, target.value)]
    if baseline is not None:
        expected = expected_values([(d, float(v)) for d, v in knots], weeks, path=target.path)
    else:
        expected = [None] * len(weeks)
    knot_rows = pl.DataFrame(
        [{"week_start": week_start_of(d), "knot": k, "knot_value": v}
         for (d, v), k in zip(knots, ["start", *["milestone"] * len(target.milestones), "due"], strict=True)
         if v is not None],
        schema={"week_start": pl.Date, "knot": pl.Utf8, "knot_value": pl.Float64},
    ).unique("week_start", keep="last", maintain_order=True)
    rows = grid.with_columns(pl.Series("expected", expected, dtype=pl.Float64)).join(
        knot_rows, on="week_start", how="left")
    sign = _sign(target, baseline, info) if baseline is not None else 1.0
    rows = rows.with_columns((sign * (pl.col("expected") - pl.col("actual"))).alias("shortfall"))
    statuses = [
        _classify(s, target, baseline) if s is not None and baseline is not None and not math.isnan(s) else None
        for s in rows["shortfall"].to_list()
    ]
    rows = rows.with_columns(
        pl.Series("status", statuses, dtype=pl.Utf8),
        (sign * (pl.col("actual") - target.value) >= -1e-12).alias("reached"),
    )
    projected, projection_note = _projection(target, rows, info, diffusion)
    return rows.with_columns(
        pl.lit(target.name).alias("target"),
        pl.lit(target.population.type).alias("population_type"),
        pl.lit(target.population.label).alias("population"),
        pl.lit(target.metric.kind).alias("metric_kind"),
        pl.lit(target.metric.name).alias("metric"),
        pl.lit(info.registered_metric if info else None, pl.Utf8).alias("registered_metric"),
        pl.lit(info.unit if info else None, pl.Utf8).alias("unit"),
        pl.lit(info.direction if info else None, pl.Utf8).alias("direction"),
        pl.lit(target.path).alias("path"),
        pl.lit(target.start).alias("start_date"),
        pl.lit(target.due).alias("due_date"),
        pl.lit(float(target.value)).alias("target_value"),
        pl.lit(baseline, pl.Float64).alias("baseline"),
        pl.lit(target.tolerance).alias("tolerance"),
        pl.lit(target.at_risk_band).alias("at_risk_band"),
        pl.lit(projected, pl.Date).alias("projected_date"),
        pl.lit(None if projected is None else projected <= due_week, pl.Boolean).alias("projected_on_time"),
        pl.lit(projection_note, pl.Utf8).alias("projection_note"),
        pl.lit(status_rule(target, baseline, info)).alias("rule"),
        pl.lit(note, pl.Utf8).alias("note"),
    ).select(TARGET_STATUS_SCHEMA.names()).cast(TARGET_STATUS_SCHEMA)  # type: ignore[arg-type]


def target_status_table(targets: Sequence[Target], series: TargetSeries) -> pl.DataFrame:
    """``marts.target_status`` for ``targets`` (see the module docstring for every definition).

    ``series.actuals`` holds each target's weekly values (column ``target`` plus the source's
    series columns); a target whose metric is unknown keeps its rows (path only) with ``note``
    saying why. Kinds are never mixed: each row is one target's one metric, named by ``metric_kind``.
    """
    parts = []
    problems = series.problems or {}
    for target in targets:  # one iteration per target: a handful
        own = series.actuals.filter(pl.col("target") == target.name).drop("target")
        parts.append(_one_target(target, own, series.metrics.get(target.name), problems.get(target.name),
                                 series.last_week, series.diffusion))
    if not parts:
        return pl.DataFrame(schema=TARGET_STATUS_SCHEMA)
    return pl.concat(parts, how="vertical").sort("target", "week_start")
