"""The report's sections, built from tidy tables: each is a title, a short introduction and blocks
(a chart with its one-line reading, a small table, a note).

Sections, in order: adoption (activity only), who is left behind, the pilot, outputs by community,
outcome KPIs (their own section, never on an axis with activity), data quality and coverage.

A table that was not provided makes its part of the section say so in one line; a table that
cannot be drawn (wrong columns, an unexpected value) is logged and replaced by one line naming the
table and the problem: one broken mart never takes the report down.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go
import polars as pl

from transforms.metrics.registry import KIND_COLUMN, MetricKind, get_metric
from transforms.report import charts, readings
from transforms.report import format as fmt
from transforms.report.inputs import REPORT_TABLES, ReportInputs

log = logging.getLogger(__name__)

__all__ = [
    "ChartBlock",
    "NoteBlock",
    "Section",
    "TableBlock",
    "build_sections",
    "outcome_kind",
]


@dataclass(frozen=True)
class ChartBlock:
    """A chart and its one-line reading."""

    figure: go.Figure
    reading: str
    table: str

    @property
    def kind(self) -> MetricKind:
        return charts.figure_kind(self.figure)


@dataclass(frozen=True)
class NoteBlock:
    """One line of text; ``missing`` for an absent table, ``error`` for one that could not be drawn."""

    text: str
    level: str = "note"


@dataclass(frozen=True)
class TableBlock:
    """A small table of already formatted cells."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = ChartBlock | NoteBlock | TableBlock


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    kinds: tuple[MetricKind, ...]
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    @property
    def charts(self) -> list[ChartBlock]:
        return [b for b in self.blocks if isinstance(b, ChartBlock)]


# ---------------------------------------------------------------------------------------- plumbing


def _missing(table: str, what: str) -> NoteBlock:
    return NoteBlock(f"{what}: not available yet ({table} is not in the warehouse).", level="missing")


def _guarded(table: str, build: Callable[[], list[Block]]) -> list[Block]:
    """Run one block builder; any failure becomes one line naming the table (and is logged)."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - one broken table must not break the report
        log.warning("report: %s could not be shown: %s", table, exc, exc_info=True)
        return [NoteBlock(f"{table} could not be shown: {exc}", level="error")]


def _chart(table: str, figure: go.Figure, reading: str) -> ChartBlock:
    return ChartBlock(figure=figure, reading=reading, table=table)


def _population_types(frame: pl.DataFrame) -> list[str]:
    return frame["population_type"].unique(maintain_order=True).to_list() if "population_type" in frame.columns else []


def _first(frame: pl.DataFrame, candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in frame.columns), None)


# ---------------------------------------------------------------------------------------- adoption


def adoption_section(inputs: ReportInputs) -> Section:
    """Adoption curves by population, usage segments, lifecycle, retention, diffusion (activity only)."""
    k, week = inputs.min_group_size, inputs.week_start
    blocks: list[Block] = []
    curve = inputs.table("marts.adoption_curve")
    if curve is None:
        blocks.append(_missing("marts.adoption_curve", "Adoption curves"))
    else:
        def curves() -> list[Block]:
            out: list[Block] = [_chart("marts.adoption_curve",
                                       charts.plot_adoption_rates(curve, min_group_size=k),
                                       readings.reading_adoption(curve, week, min_group_size=k))]
            types = _population_types(curve)
            for ptype, title in (("worker_type", "Weekly active share: office and frontline staff"),
                                 ("pilot_wave", "Weekly active share: pilot waves and the rest")):
                if ptype in types:
                    out.append(_chart("marts.adoption_curve",
                                      charts.plot_population_trend(curve, population_type=ptype, min_group_size=k,
                                                                   title=title),
                                      readings.reading_population_gap(curve, week, ptype, min_group_size=k)))
            for ptype in ("department", "site", "country"):
                if ptype in types:
                    out.append(_chart("marts.adoption_curve",
                                      charts.plot_active_rate_by_population(curve, population_type=ptype,
                                                                            week_start=week, min_group_size=k),
                                      readings.reading_population_gap(curve, week, ptype, min_group_size=k)))
            return out
        blocks += _guarded("marts.adoption_curve", curves)

    segs = inputs.table("marts.usage_segments")
    if segs is None:
        blocks.append(_missing("marts.usage_segments", "Usage segments"))
    else:
        blocks += _guarded("marts.usage_segments", lambda: [_chart(
            "marts.usage_segments", charts.plot_usage_segments(segs, min_group_size=k),
            readings.reading_usage_segments(segs, week, min_group_size=k))])

    life = inputs.table("marts.lifecycle")
    if life is None:
        blocks.append(_missing("marts.lifecycle", "Lifecycle (new, returning, dormant)"))
    else:
        blocks += _guarded("marts.lifecycle", lambda: [_chart(
            "marts.lifecycle", charts.plot_lifecycle(life, min_group_size=k),
            readings.reading_lifecycle(life, week, min_group_size=k))])

    ret = inputs.table("marts.retention")
    if ret is None:
        blocks.append(_missing("marts.retention", "Retention of new users"))
    else:
        blocks += _guarded("marts.retention", lambda: [_chart(
            "marts.retention", charts.plot_retention(ret, min_group_size=k),
            readings.reading_retention(ret, min_group_size=k))])

    ineq = inputs.table("marts.inequality")
    if ineq is None:
        blocks.append(_missing("marts.inequality", "Participation inequality (90-9-1)"))
    else:
        blocks += _guarded("marts.inequality", lambda: _inequality_blocks(ineq, k))

    diff = inputs.tables.get("marts.diffusion")  # the projection runs past the report's week
    if diff is None:
        blocks.append(_missing("marts.diffusion", "Diffusion projection (Bass model)"))
    else:
        blocks += _guarded("marts.diffusion", lambda: [_chart(
            "marts.diffusion", charts.plot_diffusion(diff), _reading_diffusion(diff))])
    return Section("adoption", "Adoption", "What people do on the platform, as a share of eligible employees from "
                   "the HR directory. Activity metrics only.", (MetricKind.ACTIVITY,), tuple(blocks))


def _inequality_blocks(ineq: pl.DataFrame, k: int) -> list[Block]:
    rows = charts.publishable(ineq, size_columns=["eligible"], min_group_size=k)
    if "population_type" in rows.columns:
        rows = rows.filter(pl.col("population_type") == "organisation")
    if rows.height == 0:
        return [NoteBlock("Participation inequality: no publishable population.")]
    r = rows.row(0, named=True)
    text = (f"Participation inequality over the whole period: {fmt.pct(r.get('lurker_share'))} of eligible employees "
            f"never contributed, {fmt.pct(r.get('light_contributor_share'))} contributed a little and "
            f"{fmt.pct(r.get('heavy_contributor_share'), 1)} made half of all contributions; Gini among contributors "
            f"{fmt.number(r.get('gini_contributors'))}.")
    return [NoteBlock(text)]


def _reading_diffusion(diff: pl.DataFrame) -> str:
    parts = []
    for col, share in (("weeks_to_50", "50%"), ("weeks_to_80", "80%")):
        if col in diff.columns and diff[col].drop_nulls().len():
            parts.append(f"{share} of eligible employees in about {diff[col].drop_nulls()[0]:.0f} weeks")
    if not parts:
        return "The dashed line continues the fitted Bass curve; the band shows its uncertainty."
    return "If the current pace holds (Bass model), adoption reaches " + " and ".join(parts) + "."


# ------------------------------------------------------------------------------------- left behind


def left_behind_section(inputs: ReportInputs) -> Section:
    """Non-users, the digital divide (frontline vs office) and managers as relays (activity only)."""
    k, week = inputs.min_group_size, inputs.week_start
    blocks: list[Block] = []
    nu = inputs.tables.get("marts.non_users")  # as-of table, not weekly
    if nu is None:
        blocks.append(_missing("marts.non_users", "Never-active employees"))
    else:
        def non_users() -> list[Block]:
            types = [t for t in ("worker_type", "site", "department") if t in _population_types(nu)]
            ptype = types[0] if types else "organisation"
            return [_chart("marts.non_users", charts.plot_never_active(nu, population_type=ptype, min_group_size=k),
                           readings.reading_never_active(nu, ptype, min_group_size=k))]
        blocks += _guarded("marts.non_users", non_users)

    divide = inputs.table("marts.digital_divide")
    curve = inputs.table("marts.adoption_curve")
    if divide is not None:
        blocks += _guarded("marts.digital_divide", lambda: [_chart(
            "marts.digital_divide", charts.plot_digital_divide(divide, min_group_size=k),
            readings.reading_digital_divide(divide, week, min_group_size=k))])
    elif curve is not None and "worker_type" in _population_types(curve):
        blocks += _guarded("marts.adoption_curve", lambda: [NoteBlock(
            readings.reading_frontline_gap_from_curve(curve, week, min_group_size=k)
            + " (from the adoption curve; the digital-divide mart is not available yet)")])
    else:
        blocks.append(_missing("marts.digital_divide", "Digital divide (frontline vs office)"))

    relay = inputs.table("marts.manager_relay")
    if relay is None:
        blocks.append(_missing("marts.manager_relay", "Managers as relays"))
    else:
        def relay_blocks() -> list[Block]:
            fig = charts.plot_manager_relay(relay, min_group_size=k)
            arm = _first(relay, ["manager_active_prev_week", "manager_active_prev", "manager_active", "arm"])
            rate = _first(relay, ["team_active_rate", "active_rate", "team_active_rate_by_manager"])
            size = [c for c in ("members", "eligible", "people", "team_members") if c in relay.columns]
            return [_chart("marts.manager_relay", fig, readings.reading_manager_relay(
                relay, arm, rate, week, size_columns=size, min_group_size=k))]
        blocks += _guarded("marts.manager_relay", relay_blocks)
    return Section("left-behind", "Who is left behind",
                   "Employees who have never been active, the gap between frontline and office staff, and whether "
                   "teams follow their managers. Denominators are eligible employees from the HR directory.",
                   (MetricKind.ACTIVITY,), tuple(blocks))


# -------------------------------------------------------------------------------------------- pilot

_ACTIVITY_COLUMNS = ("is_active", "is_engaged", "is_contributor", "actions_total", "actions_passive",
                     "actions_reaction", "actions_contribution", "active_weeks", "active_share", "active_rate",
                     "engaged_rate", "contributor_rate")


def outcome_kind(outcome: str, inputs: ReportInputs, row_kind: str | None = None) -> MetricKind | None:
    """The metric kind of a pilot outcome: an outcome KPI of the registry, a registered metric, an
    activity column of the person-week table, or the kind the table states; ``None`` if unknown."""
    if inputs.kpi(outcome) is not None:
        return MetricKind.OUTCOME
    try:
        return get_metric(outcome).kind
    except KeyError:
        pass
    base = outcome.split(":")[0].split("__")[0]
    if base in _ACTIVITY_COLUMNS or base.startswith("actions_"):
        return MetricKind.ACTIVITY
    if row_kind:
        try:
            return MetricKind(row_kind)
        except ValueError:
            return None
    return None


def _with_outcome_kind(frame: pl.DataFrame, inputs: ReportInputs) -> pl.DataFrame:
    kind_col = _first(frame, ["outcome_kind", KIND_COLUMN])
    pairs = frame.select("outcome", *([kind_col] if kind_col else [])).unique(maintain_order=True)
    mapping = {}
    for row in pairs.iter_rows():
        k = outcome_kind(str(row[0]), inputs, row[1] if kind_col else None)
        mapping[row[0]] = None if k is None else k.value
    return frame.with_columns(pl.col("outcome").replace_strict(mapping, default=None, return_dtype=pl.Utf8)
                              .alias("__outcome_kind"))


def _unit(outcome: str, kind: MetricKind, inputs: ReportInputs) -> tuple[str, float]:
    """How to say an effect on ``outcome``: (unit words, scale from the table's units)."""
    if kind == MetricKind.OUTCOME:
        kpi = inputs.kpi(outcome)
        return (kpi.unit if kpi else "KPI units"), 1.0
    if outcome.startswith("actions_"):
        return "actions per week", 1.0
    return "points", 100.0


def _kind_metrics(kind: MetricKind, outcomes: Sequence[str]) -> list[str]:
    """The registered metrics a pilot chart of ``kind`` declares (registered outcomes, else the kind's usual one)."""
    declared = []
    for o in outcomes:
        try:
            if get_metric(o).kind == kind:
                declared.append(o)
        except KeyError:
            pass
    return declared or (["kpi_value"] if kind == MetricKind.OUTCOME else ["active_rate"])


_KIND_TITLES = {MetricKind.ACTIVITY: "platform activity", MetricKind.OUTCOME: "business outcomes (KPIs)"}


def pilot_section(inputs: ReportInputs) -> Section:
    """Representativeness, naive beside adjusted effects, event study, projection and power."""
    blocks: list[Block] = []
    rep = inputs.tables.get("marts.pilot_representativeness")
    if rep is None:
        blocks.append(_missing("marts.pilot_representativeness", "Is the pilot representative?"))
    else:
        def rep_blocks() -> list[Block]:
            fig = charts.plot_representativeness(rep, min_group_size=inputs.min_group_size)
            smd = _first(rep, ["smd", "standardized_mean_difference", "std_mean_diff"])
            attr = _first(rep, ["attribute", "variable", "covariate"])
            level = _first(rep, ["level", "value", "category"])
            labelled = rep.with_columns(
                (pl.col(attr).cast(pl.Utf8) if level is None else
                 pl.when(pl.col(level).is_null()).then(pl.col(attr).cast(pl.Utf8))
                 .otherwise(pl.concat_str([pl.col(attr).cast(pl.Utf8), pl.lit(": "), pl.col(level).cast(pl.Utf8)])))
                .alias("__label"))
            out: list[Block] = [_chart("marts.pilot_representativeness", fig,
                                       readings.reading_representativeness(labelled, smd, "__label"))]
            if "plain_language" in rep.columns or "reading" in rep.columns:
                col = _first(rep, ["plain_language", "reading"])
                lines = [s for s in rep.filter(pl.col(smd).abs() > 0.1)[col].drop_nulls().to_list()][:5]
                out += [NoteBlock(str(s)) for s in lines]
            return out
        blocks += _guarded("marts.pilot_representativeness", rep_blocks)

    eff = inputs.tables.get("marts.pilot_effects")
    if eff is None:
        blocks.append(_missing("marts.pilot_effects", "Pilot effects, naive beside adjusted"))
    else:
        blocks += _guarded("marts.pilot_effects", lambda: _effect_blocks(eff, inputs))

    es = inputs.tables.get("marts.pilot_event_study")
    if es is None:
        blocks.append(_missing("marts.pilot_event_study", "Event study (effect by week since the start)"))
    else:
        blocks += _guarded("marts.pilot_event_study", lambda: _event_study_blocks(es, inputs))

    proj = inputs.tables.get("marts.pilot_projection")
    if proj is None:
        blocks.append(_missing("marts.pilot_projection", "Projection onto the whole population"))
    else:
        blocks += _guarded("marts.pilot_projection", lambda: _projection_blocks(proj, inputs))

    power = inputs.tables.get("marts.pilot_power")
    if power is None:
        blocks.append(_missing("marts.pilot_power", "How long must the pilot run (power)"))
    else:
        blocks += _guarded("marts.pilot_power", lambda: _power_blocks(power, inputs))
    return Section("pilot", "The pilot",
                   "Pilot groups are chosen, not drawn at random: the naive gap between pilot members and the rest "
                   "is shown beside estimates corrected for selection (weighting, doubly robust, matching, staggered "
                   "difference-in-differences). Effects on activity and on business outcomes are in separate charts.",
                   (MetricKind.ACTIVITY, MetricKind.OUTCOME), tuple(blocks))


def _split_by_kind(frame: pl.DataFrame, inputs: ReportInputs) -> tuple[dict[MetricKind, pl.DataFrame], list[str]]:
    tagged = _with_outcome_kind(frame, inputs)
    unknown = sorted(map(str, tagged.filter(pl.col("__outcome_kind").is_null())["outcome"].unique().to_list()))
    parts = {}
    for kind in (MetricKind.ACTIVITY, MetricKind.OUTCOME):
        part = tagged.filter(pl.col("__outcome_kind") == kind.value).drop("__outcome_kind")
        if part.height:
            parts[kind] = part
    return parts, unknown


def _unknown_note(unknown: list[str]) -> list[Block]:
    if not unknown:
        return []
    return [NoteBlock(f"Not shown, kind unknown (neither a registered metric nor an outcome KPI): "
                      f"{', '.join(unknown)}.", level="error")]


def _effect_blocks(eff: pl.DataFrame, inputs: ReportInputs) -> list[Block]:
    out: list[Block] = []
    parts, unknown = _split_by_kind(eff, inputs)
    for kind, part in parts.items():
        outcomes = [str(o) for o in part["outcome"].unique(maintain_order=True).to_list()]
        # draw each outcome in its own units: scale shares to points
        unit, scale = _unit(outcomes[0], kind, inputs)
        scaled = part.with_columns([pl.col(c) * scale for c in ("estimate", "ci_low", "ci_high", "naive_difference")
                                    if c in part.columns])
        fig = charts.plot_pilot_effects(scaled, kind=kind, metrics=_kind_metrics(kind, outcomes),
                                        title=f"Did the pilot change {_KIND_TITLES[kind]}? Naive vs adjusted",
                                        unit_label=unit, min_group_size=inputs.min_group_size)
        lines = [readings.reading_pilot_effects(part, o, unit=_unit(o, kind, inputs)[0],
                                                scale=_unit(o, kind, inputs)[1], min_group_size=inputs.min_group_size)
                 for o in outcomes[:3]]
        out.append(_chart("marts.pilot_effects", fig, " ".join(lines)))
        out.append(_effects_table(part, kind, inputs))
    return out + _unknown_note(unknown)


def _effects_table(part: pl.DataFrame, kind: MetricKind, inputs: ReportInputs) -> TableBlock:
    rows = []
    for r in charts.publishable(part, size_columns=["n_treated", "n_control"],
                                min_group_size=inputs.min_group_size).iter_rows(named=True):
        unit, scale = _unit(str(r["outcome"]), kind, inputs)

        def v(x: float | None) -> str:
            return "n/a" if not fmt.is_number(x) else f"{scale * x:+.2f}"

        rows.append((str(r["outcome"]), str(r["method"]), v(r["estimate"]),
                     f"{v(r['ci_low'])} to {v(r['ci_high'])}", v(r.get("naive_difference")),
                     fmt.count(r.get("n_treated")), fmt.count(r.get("n_control")), unit))
    return TableBlock(f"Pilot effects on {_KIND_TITLES[kind]}: every estimate with its 95% interval and counts",
                      ("outcome", "method", "estimate", "95% interval", "naive", "pilot n", "comparison n", "unit"),
                      tuple(rows))


def _event_study_blocks(es: pl.DataFrame, inputs: ReportInputs) -> list[Block]:
    out: list[Block] = []
    rel = _first(es, ["relative_week", "event_time", "weeks_since_start", "e"])
    est = _first(es, ["estimate", "att", "effect"])
    if "outcome" not in es.columns:
        es = es.with_columns(pl.lit("active_rate").alias("outcome"))
    parts, unknown = _split_by_kind(es, inputs)
    for kind, part in parts.items():
        for outcome in [str(o) for o in part["outcome"].unique(maintain_order=True).to_list()][:2]:
            rows = part.filter(pl.col("outcome") == outcome)
            unit, scale = _unit(outcome, kind, inputs)
            scaled = rows.with_columns([pl.col(c) * scale for c in (est, "ci_low", "ci_high") if c in rows.columns])
            p = _first(rows, ["pretrend_p", "pre_trend_p", "pretrend_pvalue"])
            pval = rows[p].drop_nulls()[0] if p and rows[p].drop_nulls().len() else None
            fig = charts.plot_event_study(scaled, kind=kind, metrics=_kind_metrics(kind, [outcome]),
                                          title=f"Effect on {outcome} by week since the pilot started", unit_label=unit,
                                          min_group_size=inputs.min_group_size)
            out.append(_chart("marts.pilot_event_study", fig,
                              readings.reading_event_study(rows, rel, est, unit=unit, scale=scale, pretrend_p=pval)))
    return out + _unknown_note(unknown)


def _projection_blocks(proj: pl.DataFrame, inputs: ReportInputs) -> list[Block]:
    out: list[Block] = []
    parts, unknown = _split_by_kind(proj, inputs)
    for kind, part in parts.items():
        outcomes = [str(o) for o in part["outcome"].unique(maintain_order=True).to_list()]
        unit, scale = _unit(outcomes[0], kind, inputs)
        scaled = part.with_columns([pl.col(c) * scale for c in ("estimate", "ci_low", "ci_high")])
        fig = charts.plot_pilot_projection(scaled, kind=kind, metrics=_kind_metrics(kind, outcomes),
                                           title=f"Pilot effect on {_KIND_TITLES[kind]}: pilot members vs "
                                                 "the whole population", unit_label=unit,
                                           min_group_size=inputs.min_group_size)
        lines = [readings.reading_pilot_projection(part, o, unit=_unit(o, kind, inputs)[0],
                                                   scale=_unit(o, kind, inputs)[1]) for o in outcomes[:2]]
        out.append(_chart("marts.pilot_projection", fig, " ".join(lines)))
    return out + _unknown_note(unknown)


def _power_blocks(power: pl.DataFrame, inputs: ReportInputs) -> list[Block]:
    out: list[Block] = []
    weeks = _first(power, ["weeks", "duration_weeks", "pilot_weeks"])
    mde = _first(power, ["mde_relative", "mde_pct", "mde"])
    parts, unknown = _split_by_kind(power, inputs)
    current = power["current_weeks"].drop_nulls()[0] if "current_weeks" in power.columns and \
        power["current_weeks"].drop_nulls().len() else None
    for kind, part in parts.items():
        outcomes = [str(o) for o in part["outcome"].unique(maintain_order=True).to_list()]
        fig = charts.plot_pilot_power(part, kind=kind, metrics=_kind_metrics(kind, outcomes),
                                      title=f"How small an effect on {_KIND_TITLES[kind]} could the pilot detect?")
        out.append(_chart("marts.pilot_power", fig, readings.reading_pilot_power(part, weeks, mde, current)))
    return out + _unknown_note(unknown)


# ------------------------------------------------------------------------------------------ outputs


def outputs_section(inputs: ReportInputs) -> Section:
    """What communities produce per their charter (kind output); busy-without-outputs and silent flags."""
    blocks: list[Block] = []
    outs = inputs.table("marts.community_outputs")
    if outs is None:
        blocks.append(_missing("marts.community_outputs", "Community outputs"))
    else:
        def output_blocks() -> list[Block]:
            res: list[Block] = [_chart("marts.community_outputs",
                                       charts.plot_community_outputs(outs, week_start=inputs.week_start),
                                       readings.reading_community_outputs(outs, inputs.week_start))]
            flags = [c for c in ("busy_without_outputs", "silent") if c in outs.columns]
            if flags:
                latest = outs.sort("week_start").group_by("community", maintain_order=True).last()
                rows = tuple(
                    (str(r["community"]), *("yes" if r[f] else "" for f in flags))
                    for r in latest.iter_rows(named=True) if any(r[f] for f in flags))
                if rows:
                    res.append(TableBlock("Communities flagged (activity and outputs are compared, never added up)",
                                          ("community", *(f.replace("_", " ") for f in flags)), rows))
            return res
        blocks += _guarded("marts.community_outputs", output_blocks)
    return Section("outputs", "Outputs by community",
                   "What each community produces according to its charter (answered questions, ideas, shared "
                   "practices). Output metrics only: busy is not the same as useful.", (MetricKind.OUTPUT,),
                   tuple(blocks))


# ----------------------------------------------------------------------------------------- outcomes


def outcomes_section(inputs: ReportInputs) -> Section:
    """Outcome KPIs, each on its own chart in its own unit; then the lead-lag association with activity."""
    k = inputs.min_group_size
    blocks: list[Block] = []
    kpis = inputs.table("marts.outcome_kpis")
    if kpis is None:
        blocks.append(_missing("marts.outcome_kpis", "Outcome KPIs"))
    else:
        def kpi_blocks() -> list[Block]:
            res: list[Block] = []
            for name in sorted(map(str, kpis["kpi"].unique().drop_nulls().to_list())):
                kdef = inputs.kpi(name)
                unit = kdef.unit if kdef else ""
                title = f"{name}: {kdef.description}" if kdef else name
                fig = charts.plot_kpi_trend(kpis, kpi=name, unit=unit, title=title, min_group_size=k)
                series = {tr.name: [(x, y) for x, y in zip(tr.x, tr.y, strict=True) if y is not None]
                          for tr in fig.data}
                res.append(_chart("marts.outcome_kpis", fig, readings.reading_kpi_trend(
                    series, name, unit=unit, direction=kdef.direction if kdef else None)))
            return res or [NoteBlock("marts.outcome_kpis holds no KPI values yet.")]
        blocks += _guarded("marts.outcome_kpis", kpi_blocks)
    link = inputs.tables.get("marts.kpi_activity_link")
    if link is None:
        blocks.append(_missing("marts.kpi_activity_link", "Activity ahead of outcomes (lead-lag association)"))
    else:
        def link_blocks() -> list[Block]:
            lag = _first(link, ["lag", "lag_weeks", "k"])
            corr = _first(link, ["correlation", "corr", "r"])
            return [_chart("marts.kpi_activity_link", charts.plot_kpi_activity_link(link),
                           readings.reading_kpi_link(link, lag, corr))]
        blocks += _guarded("marts.kpi_activity_link", link_blocks)
    return Section("outcomes", "Outcome KPIs",
                   "Business numbers from business systems, each in its own unit and chart, never on an axis shared "
                   "with activity. Linking them to activity is an association across teams, not an effect; the "
                   "pilot section gives the effect estimates.", (MetricKind.OUTCOME, MetricKind.LINK), tuple(blocks))


# ------------------------------------------------------------------------------------------ quality


def quality_section(inputs: ReportInputs, *, match_threshold: float | None = None) -> Section:
    """Rows in / kept / filtered / rejected per source, identity match rates, reasons for rejects."""
    blocks: list[Block] = []
    cov = inputs.tables.get("quality.coverage")
    if cov is None:
        blocks.append(_missing("quality.coverage", "Rows received, kept and rejected per source"))
    else:
        def cov_blocks() -> list[Block]:
            src = _first(cov, ["source", "connector"])
            kept = _first(cov, ["rows_kept", "kept"])
            rej = _first(cov, ["rows_rejected", "rejected"])
            fil = _first(cov, ["rows_filtered", "filtered"])
            return [_chart("quality.coverage", charts.plot_coverage(cov),
                           readings.reading_coverage(cov, src, kept, rej, fil))]
        blocks += _guarded("quality.coverage", cov_blocks)
    match = inputs.tables.get("quality.match_rates")
    if match is None:
        blocks.append(_missing("quality.match_rates", "Identity match rates"))
    else:
        def match_blocks() -> list[Block]:
            src = _first(match, ["source", "connector"])
            rate = _first(match, ["match_rate", "identity_match_rate"])
            return [_chart("quality.match_rates", charts.plot_match_rates(match, threshold=match_threshold),
                           readings.reading_match_rates(match, src, rate, threshold=match_threshold))]
        blocks += _guarded("quality.match_rates", match_blocks)
    rej = inputs.tables.get("quality.rejects_summary")
    if rej is not None and rej.height:
        def rej_blocks() -> list[Block]:
            top = rej.sort("rows", descending=True).head(8)
            return [TableBlock("Most frequent reasons rows were quarantined",
                               ("source", "reason", "rows"),
                               tuple((str(r["source"]), str(r["reason"]), fmt.count(r["rows"]))
                                     for r in top.iter_rows(named=True)))]
        blocks += _guarded("quality.rejects_summary", rej_blocks)
    return Section("quality", "Data quality and coverage",
                   "How much of what was received could be used, and how many platform accounts were matched to an "
                   "employee: every number above depends on these.", (MetricKind.PREREQUISITE,), tuple(blocks))


def build_sections(inputs: ReportInputs, *, match_threshold: float | None = None) -> list[Section]:
    """All sections of the report, in reading order."""
    unknown = sorted(set(inputs.tables) - set(REPORT_TABLES))
    if unknown:
        log.info("report: tables not shown by any section: %s", ", ".join(unknown))
    return [
        adoption_section(inputs),
        left_behind_section(inputs),
        pilot_section(inputs),
        outputs_section(inputs),
        outcomes_section(inputs),
        quality_section(inputs, match_threshold=match_threshold),
    ]
