"""The report's "Roadmap targets" section, from ``marts.target_status``: every target's status in
one table, then one small chart per target (its path, its actual, its milestones) with a reading
that states the status rule and, for adoption shares, the date the Bass projection reaches it.

Each chart draws one target's one metric, of its one kind: activity, outputs and outcomes are
never on one chart. Every sentence is whole, with named placeholders, so that it can be translated.
"""

from __future__ import annotations

import datetime as dt
import logging

import plotly.graph_objects as go
import polars as pl

from transforms.metrics.registry import MetricKind
from transforms.report import format as fmt
from transforms.report.charts import GREY, PALETTE, new_figure
from transforms.report.i18n import N_, _, pgettext
from transforms.report.inputs import ReportInputs, require_columns
from transforms.report.sections import Block, ChartBlock, NoteBlock, Section, TableBlock, guarded
from transforms.report.vocabulary import kind_word, metric_word, population_type_word, unit_word

log = logging.getLogger(__name__)

__all__ = ["TABLE", "targets_section"]

TABLE = "marts.target_status"
_COLUMNS = ("target", "population_type", "population", "metric_kind", "metric", "registered_metric", "unit",
            "week_start", "actual", "expected", "status", "target_value", "due_date", "baseline", "tolerance",
            "at_risk_band", "is_future", "knot", "knot_value")
_STATUS = {"on_track": N_("on track"), "at_risk": N_("at risk"), "off_track": N_("off track")}
_TARGET_HEIGHT = 250
#: The kinds a roadmap can hold (the section says so before any target is declared).
_ANY_KIND = (MetricKind.ACTIVITY, MetricKind.OUTPUT, MetricKind.OUTCOME)

TITLE = N_("Roadmap targets")
INTRO = N_("Each target of the roadmap (targets.yaml): where its metric stands against the value expected by now "
           "on the path from its baseline to its target, week by week. A target is on track when it is behind that "
           "path by at most its tolerance (by default 5% of the distance from the baseline to the target), at risk "
           "within a further band (by default up to 15%), off track beyond. Each target has its own chart in its "
           "own unit: activity, outputs and outcomes are never mixed.")
NOT_DECLARED = N_("No target is declared yet: add targets.yaml to the drop zone (each target's population, metric, "
                  "value and due date, optionally milestones; see docs/drop_zone.md).")
MISSING = N_("Roadmap targets: not available yet (marts.target_status is not in the warehouse).")
TABLE_CAPTION = N_("Targets at a glance, {week}")
NOT_STARTED = N_("not started")
NO_VALUE = N_("no value")
READING_STATUS = N_("{target}: {actual} in {week} against {expected} expected by now on the way to {value} by "
                    "{due}: {status}.")
READING_NOT_STARTED = N_("{target}: the target starts on {start}; its path leads to {value} by {due}.")
READING_NO_VALUE = N_("{target}: no value to judge yet ({why}); its path leads to {value} by {due}.")
READING_RULE = N_("On track means at most {tolerance} behind the expected value ({tolerance_share} of the distance "
                  "from the baseline {baseline} to the target), at risk up to {band} ({band_share}), off track beyond.")
READING_RULE_LEVEL = N_("On track means at most {tolerance} behind the level to keep ({tolerance_share} of it), at "
                        "risk up to {band} ({band_share}), off track beyond.")
READING_REACHED = N_("The target value was first reached in the week of {date}.")
#: The projected date against the due date: before it, in its week, after it.
READING_PROJECTED = {
    "before": N_("If the current pace holds (Bass model), the target is reached in the week of {date}, before its "
                 "due date."),
    "on": N_("If the current pace holds (Bass model), the target is reached in the week of {date}, on its due date."),
    "after": N_("If the current pace holds (Bass model), the target is reached in the week of {date}, after its "
                "due date."),
}
READING_CEILING = N_("At the current pace (Bass model) the target is not reached: the fitted ceiling stays below it.")
READING_NO_PROJECTION = N_("No projection: {why}.")
SMALL_GROUP = N_("fewer people than the minimum group size")
NO_DATA = N_("no value of this metric for this population in the data: check the population's name")
NO_VALUE_YET = N_("no value yet since the start")
NO_MODEL_FOR_POPULATION = N_("the Bass model is fitted for the whole organisation and each worker type only")
NO_MODEL = N_("no Bass model could be fitted on this data")
#: The mart's notes (English, machine-made) -> the section's own words, by how they start.
_NOTES = (("no value of this metric", NO_DATA), ("fewer people than", SMALL_GROUP),
          ("no value yet", NO_VALUE_YET), ("no diffusion model is fitted for this population", NO_MODEL_FOR_POPULATION),
          ("no diffusion model could be fitted", NO_MODEL))
CHART_ACTUAL, CHART_PATH, CHART_KNOTS = N_("actual"), N_("expected path"), N_("milestones and target")
CHART_TITLE = N_("{target} ({population})")
POPULATION_LABEL = N_("{type}: {population}")
PROJECTED_REACHED = N_("reached {date}")


def _header() -> tuple[str, ...]:
    """The glance table's columns, in the active language."""
    return (pgettext("column: the target's name", "target"), _("population"), _("metric (kind)"), _("now"),
            _("expected now"), pgettext("column: the target's value", "target"), _("due"), _("status"),
            _("projected"))


def _note(note: str) -> str:
    """A note of the mart in the section's words (the mart's own text when none is known)."""
    return next((_(words) for start, words in _NOTES if note.startswith(start)), note)


def _value(value: object, unit: str | None) -> str:
    """A metric value in its unit: shares as percentages, KPIs with their unit."""
    if not fmt.is_number(value):
        return fmt.na()
    if unit == "share":
        return fmt.pct(value, 1)
    if unit in ("percent", "%"):
        return _("{value}%").format(value=fmt.number(value, 1))
    if not unit:
        return fmt.number(value, 1)
    return _("{value} {unit}").format(value=fmt.number(value, 1), unit=unit_word(unit))


def _gap(value: float, unit: str | None) -> str:
    """A distance between two values of the metric: percentage points for shares and percentages."""
    if unit == "share":
        return fmt.points(100 * value, 1)
    if unit in ("percent", "%"):
        return fmt.points(value, 1)
    return _value(value, unit)


def _population(row: dict) -> str:
    if row["population_type"] == "organisation":
        return fmt.population_label("organisation")
    return _(POPULATION_LABEL).format(type=population_type_word(row["population_type"]),
                                      population=fmt.population_label(row["population"]))


def _latest(rows: pl.DataFrame, week: dt.date) -> dict | None:
    """The target's row of the latest week up to ``week`` that has a value."""
    seen = rows.filter((pl.col("week_start") <= week) & pl.col("actual").is_not_null()).sort("week_start")
    return seen.row(-1, named=True) if seen.height else None


def _projected(row: dict) -> str:
    date, note = row.get("projected_date"), row.get("projection_note")
    if date is None:
        return "-"
    if note == "reached":
        return _(PROJECTED_REACHED).format(date=fmt.day(date))
    return fmt.day(date)


def _glance(table: pl.DataFrame, inputs: ReportInputs) -> TableBlock:
    rows = []
    for _target, own in table.group_by("target", maintain_order=True):  # one group per target
        first = own.row(0, named=True)
        latest = _latest(own, inputs.week_start)
        unit = first["unit"]
        started = own.filter(pl.col("week_start") <= inputs.week_start).height > 0
        status = _(NOT_STARTED) if not started else (_(_STATUS.get(latest["status"], NO_VALUE)) if latest else _(NO_VALUE))
        rows.append((
            str(first["target"]), _population(first),
            _("{metric} ({kind})").format(metric=metric_word(first["metric"]), kind=kind_word(first["metric_kind"])),
            _value(latest["actual"] if latest else None, unit),
            _value(latest["expected"] if latest else None, unit), _value(first["target_value"], unit),
            fmt.day(first["due_date"]), status, _projected(first),
        ))
    return TableBlock(_(TABLE_CAPTION).format(week=fmt.week_label(inputs.week_start)), _header(), tuple(rows))


def _scale(unit: str | None) -> float:
    return 100.0 if unit == "share" else 1.0


def _chart(own: pl.DataFrame, inputs: ReportInputs) -> go.Figure:
    first = own.row(0, named=True)
    kind = MetricKind(first["metric_kind"])
    unit, k = first["unit"], _scale(first["unit"])
    fig = new_figure(kind=kind, metrics=[first["registered_metric"]] if first["registered_metric"] else [],
                     title=_(CHART_TITLE).format(target=first["target"], population=_population(first)),
                     y_title="%" if unit == "share" else unit_word(unit), height=_TARGET_HEIGHT)
    path = own.filter(pl.col("expected").is_not_null())
    fig.add_trace(go.Scatter(x=path["week_start"].to_list(), y=(path["expected"] * k).round(4).to_list(),
                             mode="lines", name=_(CHART_PATH), line={"color": GREY, "dash": "dash", "width": 2}))
    seen = own.filter((pl.col("week_start") <= inputs.week_start) & pl.col("actual").is_not_null())
    fig.add_trace(go.Scatter(x=seen["week_start"].to_list(), y=(seen["actual"] * k).round(4).to_list(),
                             mode="lines", name=_(CHART_ACTUAL), line={"color": PALETTE[0], "width": 2.5}))
    knots = own.filter(pl.col("knot").is_in(["milestone", "due"]) & pl.col("knot_value").is_not_null())
    if knots.height:
        fig.add_trace(go.Scatter(x=knots["week_start"].to_list(), y=(knots["knot_value"] * k).round(4).to_list(),
                                 mode="markers", name=_(CHART_KNOTS),
                                 marker={"symbol": "diamond", "size": 10, "color": PALETTE[1]}))
    if unit == "share":
        fig.update_yaxes(ticksuffix="%", rangemode="tozero")
    return fig


def _reading(own: pl.DataFrame, inputs: ReportInputs) -> str:
    first = own.row(0, named=True)
    unit = first["unit"]
    base = {"target": first["target"], "value": _value(first["target_value"], unit),
            "due": fmt.long_date(first["due_date"])}
    latest = _latest(own, inputs.week_start)
    if own.filter(pl.col("week_start") <= inputs.week_start).height == 0:
        text = _(READING_NOT_STARTED).format(start=fmt.long_date(first["start_date"]), **base)
    elif latest is None or latest["status"] is None:
        why = _(SMALL_GROUP) if own["suppressed"].any() else _note(first.get("note") or _(NO_VALUE))
        text = _(READING_NO_VALUE).format(why=why, **base)
    else:
        text = _(READING_STATUS).format(actual=_value(latest["actual"], unit),
                                        week=fmt.week_label(latest["week_start"]),
                                        expected=_value(latest["expected"], unit),
                                        status=_(_STATUS[latest["status"]]), **base)
    if fmt.is_number(first["baseline"]):
        distance = abs(first["target_value"] - first["baseline"]) or abs(first["target_value"]) or 1.0
        rule = READING_RULE if first["target_value"] != first["baseline"] else READING_RULE_LEVEL
        text += " " + _(rule).format(
            tolerance=_gap(first["tolerance"] * distance, unit), tolerance_share=fmt.pct(first["tolerance"]),
            band=_gap((first["tolerance"] + first["at_risk_band"]) * distance, unit),
            band_share=fmt.pct(first["tolerance"] + first["at_risk_band"]), baseline=_value(first["baseline"], unit))
    date, note = first.get("projected_date"), first.get("projection_note")
    if date is not None and note == "reached":
        text += " " + _(READING_REACHED).format(date=fmt.long_date(date))
    elif date is not None:
        timing = "before" if date < first["due_date"] - dt.timedelta(days=6) else (
            "after" if date > first["due_date"] else "on")
        text += " " + _(READING_PROJECTED[timing]).format(date=fmt.long_date(date))
    elif note and note.startswith("the fitted ceiling"):
        text += " " + _(READING_CEILING)
    elif note:
        text += " " + _(READING_NO_PROJECTION).format(why=_note(note))
    return text


def _kinds(table: pl.DataFrame) -> tuple[MetricKind, ...]:
    known = {k.value for k in MetricKind}
    return tuple(MetricKind(k) for k in table["metric_kind"].unique(maintain_order=True).to_list() if k in known)


def targets_section(inputs: ReportInputs) -> Section:
    """Every target's status at the report's week, and one chart per target (module docstring)."""
    table = inputs.tables.get(TABLE)  # the whole table: the path runs past the report's week
    if table is None:
        return Section("targets", _(TITLE), _(INTRO), _ANY_KIND, (NoteBlock(_(MISSING), level="missing"),))
    if table.height == 0:
        return Section("targets", _(TITLE), _(INTRO), _ANY_KIND, (NoteBlock(_(NOT_DECLARED), level="missing"),))

    def blocks() -> list[Block]:
        require_columns(table, _COLUMNS, table=TABLE)
        out: list[Block] = [_glance(table, inputs)]
        for _target, own in table.group_by("target", maintain_order=True):  # one chart per target: a handful
            out += guarded(TABLE, lambda own=own: [ChartBlock(_chart(own, inputs), _reading(own, inputs), TABLE)])
        return out

    built = guarded(TABLE, blocks)
    kinds = _kinds(table) if "metric_kind" in table.columns else ()
    return Section("targets", _(TITLE), _(INTRO), kinds, tuple(built))
