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
from transforms.report.i18n import N_, _, pgettext
from transforms.report.inputs import ReportInputs, report_tables
from transforms.report.mart_text import representativeness_statement
from transforms.report.pilot_views import PilotViews, pilot_views
from transforms.report.vocabulary import and_list, attribute_word, metric_word, or_list, population_word, unit_word

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
    """``what`` (a part of a section, already in the report's language) is waiting for ``table``."""
    return NoteBlock(_("{what}: not available yet ({table} is not in the warehouse).").format(what=what, table=table),
                     level="missing")


#: The drop-zone file (docs/drop_zone.md) that fills each part a first run may lack.
NOT_DECLARED = {
    "pilots": N_("No pilot cohort is declared, so there is nothing to compare yet: add pilots.yaml to the drop "
                 "zone (each wave's name, start date and members; see docs/drop_zone.md)."),
    "charters": N_("No community charter is declared, so no community output can be recognised yet: add "
                   "charters.yaml to the drop zone (each community's spaces, purpose and the rule that "
                   "recognises an output; see docs/drop_zone.md)."),
    "kpis": N_("No outcome KPI is registered yet: add kpi_registry.yaml (each KPI's unit, direction and unit "
               "type) and its values as kpis/*.csv to the drop zone (see docs/drop_zone.md)."),
    "kpi_values": N_("No KPI value was received yet: add the registered KPIs' values as kpis/*.csv to the drop "
                     "zone (see docs/drop_zone.md)."),
    "team_kpi": N_("Relating activity to outcomes needs a weekly team KPI (kpi_registry.yaml: unit_type team, "
                   "grain week) with its values in kpis/*.csv (see docs/drop_zone.md)."),
}


def _not_declared(part: str) -> NoteBlock:
    return NoteBlock(_(NOT_DECLARED[part]), level="missing")


def _empty(frame: pl.DataFrame | None) -> bool:
    return frame is not None and frame.height == 0


def _no_pilot_declared(inputs: ReportInputs) -> bool:
    """True when the data shows no pilot at all: every pilot table absent or empty, and the adoption
    curve's pilot populations (when it has them) are only the non-pilot rest."""
    names = ("marts.pilot_representativeness", "marts.pilot_effects", "marts.pilot_power")
    if any(inputs.tables.get(n) is not None and inputs.tables[n].height for n in names):
        return False
    curve = inputs.tables.get("marts.adoption_curve")
    if curve is None or "population_type" not in curve.columns:
        return all(inputs.tables.get(n) is not None for n in names)  # every pilot table there, all empty
    waves = curve.filter(pl.col("population_type").is_in(["pilot_wave", "pilot_cohort"]))["population"]
    return set(waves.drop_nulls().to_list()) <= {"non_pilot"}


def _guarded(table: str, build: Callable[[], list[Block]]) -> list[Block]:
    """Run one block builder; any failure becomes one line naming the table (and is logged)."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - one broken table must not break the report
        log.warning("report: %s could not be shown: %s", table, exc, exc_info=True)
        return [NoteBlock(_("{table} could not be shown: {error}").format(table=table, error=exc), level="error")]


def _chart(table: str, figure: go.Figure, reading: str) -> ChartBlock:
    return ChartBlock(figure=charts.localise_date_axis(figure), reading=reading, table=table)


def _population_types(frame: pl.DataFrame) -> list[str]:
    return frame["population_type"].unique(maintain_order=True).to_list() if "population_type" in frame.columns else []


def _comparable(curve: pl.DataFrame, population_type: str, week: dt.date, k: int) -> bool:
    """Whether a population type has at least two publishable populations in the week (else no chart)."""
    cells = charts.publishable(curve.filter((pl.col("population_type") == population_type)
                                            & (pl.col("week_start") == week)), size_columns=["eligible"],
                               min_group_size=k)
    return cells.height >= 2


def _first(frame: pl.DataFrame, candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in frame.columns), None)


# ---------------------------------------------------------------------------------------- adoption


def adoption_section(inputs: ReportInputs) -> Section:
    """Adoption curves by population, usage segments, lifecycle, retention, diffusion (activity only)."""
    k, week = inputs.min_group_size, inputs.week_start
    blocks: list[Block] = []
    curve = inputs.table("marts.adoption_curve")
    if curve is None:
        blocks.append(_missing("marts.adoption_curve", _("Adoption curves")))
    else:
        def curves() -> list[Block]:
            out: list[Block] = [_chart("marts.adoption_curve",
                                       charts.plot_adoption_rates(curve, min_group_size=k),
                                       readings.reading_adoption(curve, week, min_group_size=k))]
            types = [t for t in _population_types(curve) if _comparable(curve, t, week, k)]
            for ptype, title in (("worker_type", _("Weekly active share: office and frontline staff")),
                                 ("pilot_wave", _("Weekly active share: pilot waves and the rest"))):
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
        blocks.append(_missing("marts.usage_segments", _("Usage segments")))
    else:
        blocks += _guarded("marts.usage_segments", lambda: [_chart(
            "marts.usage_segments", charts.plot_usage_segments(segs, min_group_size=k),
            readings.reading_usage_segments(segs, week, min_group_size=k))])

    life = inputs.table("marts.lifecycle")
    if life is None:
        blocks.append(_missing("marts.lifecycle", _("Lifecycle (new, returning, dormant)")))
    else:
        blocks += _guarded("marts.lifecycle", lambda: [_chart(
            "marts.lifecycle", charts.plot_lifecycle(life, min_group_size=k),
            readings.reading_lifecycle(life, week, min_group_size=k))])

    ret = inputs.table("marts.retention")
    if ret is None:
        blocks.append(_missing("marts.retention", _("Retention of new users")))
    else:
        blocks += _guarded("marts.retention", lambda: [_chart(
            "marts.retention", charts.plot_retention(ret, min_group_size=k),
            readings.reading_retention(ret, min_group_size=k))])

    ineq = inputs.table("marts.inequality")
    if ineq is None:
        blocks.append(_missing("marts.inequality", _("Participation inequality (90-9-1)")))
    else:
        blocks += _guarded("marts.inequality", lambda: _inequality_blocks(ineq, k))

    projection = inputs.table_with(("marts.diffusion_projection",), "fitted_share", whole=True)
    params = inputs.table_with(("marts.diffusion",), "parameter", whole=True)
    if projection is None:
        blocks.append(_missing("marts.diffusion_projection", _("Diffusion projection (Bass model)")))
    else:
        name, diff = projection
        blocks += _guarded(name, lambda: [_chart(
            name, charts.plot_diffusion(diff), _reading_diffusion(diff, params[1] if params else None))])
    return Section("adoption", _("Adoption"), _("What people do on the platform, as a share of eligible employees "
                                                "from the HR directory. Activity metrics only."),
                   (MetricKind.ACTIVITY,), tuple(blocks))


def _inequality_blocks(ineq: pl.DataFrame, k: int) -> list[Block]:
    rows = charts.publishable(ineq, size_columns=["eligible"], min_group_size=k)
    if "population_type" in rows.columns:
        rows = rows.filter(pl.col("population_type") == "organisation")
    if rows.height == 0:
        return [NoteBlock(_("Participation inequality: no publishable population."))]
    r = rows.row(0, named=True)
    text = _("Participation inequality over the whole period: {lurkers} of eligible employees never contributed, "
             "{light} contributed a little and {heavy} made half of all contributions; Gini among contributors "
             "{gini}.").format(lurkers=fmt.pct(r.get("lurker_share")), light=fmt.pct(r.get("light_contributor_share")),
                               heavy=fmt.pct(r.get("heavy_contributor_share"), 1),
                               gini=fmt.number(r.get("gini_contributors")))
    return [NoteBlock(text)]


def _ceiling_share(org: pl.DataFrame) -> float | None:
    """The fitted Bass ceiling as a share of the headcount: (adopted before + m) / headcount."""
    row = org.filter(pl.col("parameter") == "m")
    if row.height == 0:
        return None
    r = row.row(0, named=True)
    if fmt.is_number(r.get("estimate")) and fmt.is_number(r.get("headcount")) and r["headcount"]:
        return (float(r.get("adopted_before") or 0) + float(r["estimate"])) / float(r["headcount"])
    share = org.filter(pl.col("parameter") == "m_share")
    return float(share["estimate"][0]) if share.height and fmt.is_number(share["estimate"][0]) else None


def _reading_diffusion(diff: pl.DataFrame, params: pl.DataFrame | None) -> str:
    """"If the current pace holds (Bass model), the share of non-pilot eligible employees who have used the
    platform reaches 50% after about 9 weeks of roll-out (90% interval 7 to 12) and 80% after about 24."; when
    the fitted ceiling stays under a target, the sentence says so instead of a time."""
    status = diff["status"].drop_nulls().unique().to_list() if "status" in diff.columns else []
    bad = [s for s in status if s != "ok"]
    if params is None or "parameter" not in params.columns:
        text = _("The dashed line continues the fitted Bass curve past the last observed week; the band is its "
                 "uncertainty.")
        return text + (" " + _("Fit status: {status}.").format(status=bad[0]) if bad else "")
    org = params
    if "population_type" in org.columns:
        org = org.filter(pl.col("population_type") == "organisation")
    ceiling = _ceiling_share(org)
    horizon = int(diff["weeks_since_start"].max()) + 1 if "weeks_since_start" in diff.columns and diff.height else None
    reached, under_ceiling = [], []
    for name, target in (("weeks_to_50", 0.5), ("weeks_to_80", 0.8)):
        row = org.filter(pl.col("parameter") == name)
        if row.height == 0:
            continue
        r, share = row.row(0, named=True), fmt.pct(target)
        if fmt.is_number(r.get("estimate")):
            values = {"share": share, "weeks": fmt.number(r["estimate"], 0), "low": fmt.number(r.get("low"), 0),
                      "high": fmt.number(r.get("high"), 0)}
            if fmt.is_number(r.get("low")) and fmt.is_number(r.get("high")):
                reached.append(_("{share} after about {weeks} weeks of roll-out (90% interval {low} to {high})")
                               .format(**values))
            elif fmt.is_number(r.get("low")):
                reached.append(_("{share} after about {weeks} weeks of roll-out (at least {low})").format(**values))
            else:
                reached.append(_("{share} after about {weeks} weeks of roll-out").format(**values))
        elif ceiling is not None and ceiling >= target and horizon is not None:
            reached.append(_("{share} only after more than {weeks} weeks (beyond the projection)").format(
                share=share, weeks=horizon))
        else:
            under_ceiling.append(share)
    if not reached and not under_ceiling:
        return (_("The Bass model could not be fitted on this data: {status}.").format(status=bad[0]) if bad else
                _("The Bass model could not be fitted on this data."))
    values = {"ceiling": fmt.pct(ceiling), "reached": and_list(reached), "targets": or_list(under_ceiling)}
    if not reached:
        return (_("If the current pace holds (Bass model), the share of non-pilot eligible employees who have used "
                  "the platform levels off at about {ceiling} (the fitted ceiling): it does not reach {targets}.")
                if ceiling is not None else
                _("If the current pace holds (Bass model), the share of non-pilot eligible employees who have used "
                  "the platform levels off under the target (the fitted ceiling): it does not reach {targets}.")
                ).format(**values)
    if not under_ceiling:
        return _("If the current pace holds (Bass model), the share of non-pilot eligible employees who have used the "
                 "platform reaches {reached}.").format(**values)
    return (_("If the current pace holds (Bass model), the share of non-pilot eligible employees who have used the "
              "platform reaches {reached}, then levels off at about {ceiling} (the fitted ceiling): it does not reach "
              "{targets}.") if ceiling is not None else
            _("If the current pace holds (Bass model), the share of non-pilot eligible employees who have used the "
              "platform reaches {reached}, then levels off under the target (the fitted ceiling): it does not reach "
              "{targets}.")).format(**values)


# ------------------------------------------------------------------------------------- left behind


def left_behind_section(inputs: ReportInputs) -> Section:
    """Non-users, the digital divide (frontline vs office) and managers as relays (activity only)."""
    k, week = inputs.min_group_size, inputs.week_start
    blocks: list[Block] = []
    nu = inputs.tables.get("marts.non_users")  # as-of table, not weekly
    if nu is None:
        blocks.append(_missing("marts.non_users", _("Never-active employees")))
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
            readings.reading_frontline_gap_from_curve(curve, week, min_group_size=k) + " "
            + _("(from the adoption curve; the digital-divide mart is not available yet)"))])
    else:
        blocks.append(_missing("marts.digital_divide", _("Digital divide (frontline vs office)")))

    arms = inputs.table_with(("marts.team_uptake_by_manager",), "rate_manager_active",
                             whole=True)  # carries a pooled row (week_start null)
    effect = inputs.table_with(("marts.manager_relay",), "estimate_pp", whole=True)
    if arms is None:
        blocks.append(_missing("marts.team_uptake_by_manager", _("Managers as relays")))
        if effect is not None:
            blocks += _guarded(effect[0], lambda: [NoteBlock(_relay_effect_sentence(effect[1]))])
    else:
        name, relay = arms
        relay = relay.filter(pl.col("week_start").is_null() | (pl.col("week_start") <= week))
        blocks += _guarded(name, lambda: [_chart(
            name, charts.plot_manager_relay(relay, min_group_size=k),
            readings.reading_manager_relay(relay, week, effect=effect[1] if effect else None, min_group_size=k))])
    return Section("left-behind", _("Who is left behind"),
                   _("Employees who have never been active, the gap between frontline and office staff, and whether "
                     "teams follow their managers. Denominators are eligible employees from the HR directory."),
                   (MetricKind.ACTIVITY,), tuple(blocks))


def _relay_effect_sentence(effect: pl.DataFrame) -> str:
    e = effect.row(0, named=True)
    if not fmt.is_number(e.get("estimate_pp")):
        return _("Managers as relays: the adjusted estimate could not be made (too few managers or weeks).")
    return _("Managers as relays: a team member is {estimate} points more likely to be active in a week after their "
             "manager was active (95% CI {low} to {high}), adjusted for the week, team size, department, worker type "
             "and pilot status. An association, not proof of cause.").format(
        estimate=fmt.signed(e["estimate_pp"]), low=fmt.signed(e["ci_low_pp"]), high=fmt.signed(e["ci_high_pp"]))


# -------------------------------------------------------------------------------------------- pilot

_ACTIVITY_COLUMNS = ("is_active", "is_engaged", "is_contributor", "actions_total", "actions_passive",
                     "actions_reaction", "actions_contribution", "active_weeks", "active_share", "active_rate",
                     "engaged_rate", "contributor_rate")


def _registered_kind(outcome: str, inputs: ReportInputs) -> MetricKind | None:
    if inputs.kpi(outcome) is not None:
        return MetricKind.OUTCOME
    for name in (outcome, outcome.removeprefix("weekly_")):
        try:
            return get_metric(name).kind
        except KeyError:
            pass
    if outcome in _ACTIVITY_COLUMNS or outcome.startswith("actions_"):
        return MetricKind.ACTIVITY
    return None


def outcome_kind(outcome: str, inputs: ReportInputs, row_kind: str | None = None) -> MetricKind | None:
    """The metric kind of a pilot outcome.

    The kind the table states for the row (``metric_kind``), checked against what the name says:
    an outcome KPI of the registry, a registered metric (``weekly_`` prefix ignored) or an
    activity column of the person-week table. ``None`` (not shown) when they disagree or neither
    says anything, so that nothing of unknown kind lands on a chart.
    """
    named = _registered_kind(outcome, inputs)
    stated = None
    if row_kind:
        try:
            stated = MetricKind(row_kind)
        except ValueError:
            return None
    if stated is not None and named is not None and stated != named:
        log.warning("report: %s is stated %s but its name says %s; not shown", outcome, stated.value, named.value)
        return None
    return stated or named


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
        return (unit_word(kpi.unit) if kpi else _("KPI units")), 1.0
    if outcome.startswith("actions_"):
        return _("actions per week"), 1.0
    return _("percentage points"), 100.0


def _kind_metrics(kind: MetricKind, outcomes: Sequence[str]) -> list[str]:
    """The registered metrics a pilot chart of ``kind`` declares (registered outcomes, else the kind's usual one)."""
    declared = []
    for o in outcomes:
        for name in (o, o.removeprefix("weekly_")):
            try:
                if get_metric(name).kind == kind:
                    declared.append(name)
                    break
            except KeyError:
                pass
    return declared or (["kpi_value"] if kind == MetricKind.OUTCOME else ["active_rate"])


_KIND_TITLES = {MetricKind.ACTIVITY: N_("platform activity"), MetricKind.OUTCOME: N_("business outcomes (KPIs)")}
_MAIN_ACTIVITY = ("weekly_active_rate", "active_rate", "is_active")


def _main_outcomes(frame: pl.DataFrame, kind: MetricKind, limit: int = 3) -> list[str]:
    """The outcomes a chart shows: the active rate first for activity, the KPIs for outcomes."""
    outcomes = [str(o) for o in frame["outcome"].unique(maintain_order=True).to_list()]
    if kind == MetricKind.ACTIVITY:
        main = [o for o in _MAIN_ACTIVITY if o in outcomes]
        return main[:1] or outcomes[:1]
    return outcomes[:limit]


def _pick_cohort(frame: pl.DataFrame) -> str | None:
    cohorts = [str(c) for c in frame["cohort"].unique(maintain_order=True).to_list()] if "cohort" in frame.columns else []
    return "all" if "all" in cohorts else (cohorts[0] if cohorts else None)


def _scaled(frame: pl.DataFrame, scale: float, columns: Sequence[str]) -> pl.DataFrame:
    return frame.with_columns([pl.col(c) * scale for c in columns if c in frame.columns])


def pilot_section(inputs: ReportInputs) -> Section:
    """Representativeness, naive beside adjusted effects, event study, projection and power."""
    k = inputs.min_group_size
    blocks: list[Block] = []
    if _no_pilot_declared(inputs):
        return Section("pilot", _("The pilot"), _("Pilot groups are compared with the rest of the organisation here, "
                                                  "once a pilot is declared."),
                       (MetricKind.ACTIVITY, MetricKind.OUTCOME), (_not_declared("pilots"),))
    rep = inputs.tables.get("marts.pilot_representativeness")
    if rep is None:
        blocks.append(_missing("marts.pilot_representativeness", _("Is the pilot representative?")))
    else:
        blocks += _guarded("marts.pilot_representativeness", lambda: _representativeness_blocks(rep, k))

    eff = inputs.tables.get("marts.pilot_effects")
    views: PilotViews | None = None
    if eff is None:
        blocks.append(_missing("marts.pilot_effects", _("Pilot effects, naive beside adjusted")))
    else:
        def effect_blocks() -> list[Block]:
            nonlocal views
            views = pilot_views(eff)
            return _effect_blocks(views.effects, inputs)
        blocks += _guarded("marts.pilot_effects", effect_blocks)

    if views is not None and views.event_study.height:
        blocks += _guarded("marts.pilot_effects", lambda: _event_study_blocks(views.event_study, inputs))
    else:
        blocks.append(_missing("marts.pilot_effects", _("Event study (effect by week since the start)")))

    if views is not None and views.projection.height:
        blocks += _guarded("marts.pilot_effects", lambda: _projection_blocks(views.projection, inputs))
    else:
        blocks.append(_missing("marts.pilot_effects", _("Projection onto the whole population")))

    power = inputs.tables.get("marts.pilot_power")
    if power is None:
        blocks.append(_missing("marts.pilot_power", _("How long must the pilot run (power)")))
    else:
        blocks += _guarded("marts.pilot_power", lambda: _power_blocks(power, inputs))
    return Section("pilot", _("The pilot"),
                   _("Pilot groups are chosen, not drawn at random: the naive gap between pilot members and the rest "
                     "is shown beside estimates corrected for selection (weighting, doubly robust, matching, staggered "
                     "difference-in-differences). Effects on activity and on business outcomes are in separate "
                     "charts."), (MetricKind.ACTIVITY, MetricKind.OUTCOME), tuple(blocks))


def _representativeness_blocks(rep: pl.DataFrame, k: int) -> list[Block]:
    """One cohort (all pilots together when there are several): the chart, its reading, the summary lines."""
    cohort = None
    if "cohort" in rep.columns:
        cohorts = rep["cohort"].unique(maintain_order=True).to_list()
        cohort = "all pilots" if "all pilots" in cohorts else cohorts[0]
        rep = rep.filter(pl.col("cohort") == cohort)
    detail = rep.filter(pl.col("row_type") != "summary") if "row_type" in rep.columns else rep
    shown = charts.publishable(detail, size_columns=["pilot_n", "population_n"], min_group_size=k)
    label = charts.attribute_level_label(shown)
    out: list[Block] = [_chart("marts.pilot_representativeness", charts.plot_representativeness(rep, min_group_size=k),
                               readings.reading_representativeness(shown.with_columns(label.alias("__label")), "smd",
                                                                   "__label"))]
    if "statement" in rep.columns:  # the mart states its rows in English; the report says them from the columns
        summary = rep.filter(pl.col("row_type") == "summary") if "row_type" in rep.columns else rep.clear()
        compared = detail.filter(~pl.col("suppressed").fill_null(False)) if "suppressed" in detail.columns else detail
        counts = {"compared": compared.height,
                  "flagged": compared.filter(pl.col("smd").abs() > 0.1).height}
        rows = summary.filter(pl.col("statement").is_not_null()).to_dicts()
        rows += (shown.filter((pl.col("smd").abs() > 0.1) & pl.col("statement").is_not_null())
                 .sort(pl.col("smd").abs(), descending=True).head(3).to_dicts())
        out += [NoteBlock(representativeness_statement(r, **counts)) for r in rows]
    return out


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
    return [NoteBlock(_("Not shown, kind unknown (neither a registered metric nor an outcome KPI): {names}.").format(
        names=", ".join(unknown)), level="error")]


def _effect_blocks(eff: pl.DataFrame, inputs: ReportInputs) -> list[Block]:
    out: list[Block] = []
    parts, unknown = _split_by_kind(eff, inputs)
    for kind, part in parts.items():
        for outcome in _main_outcomes(part, kind):
            rows = part.filter(pl.col("outcome") == outcome)
            unit, scale = _unit(outcome, kind, inputs)
            fig = charts.plot_pilot_effects(
                _scaled(rows, scale, ("estimate", "ci_low", "ci_high", "naive_difference")), kind=kind,
                metrics=_kind_metrics(kind, [outcome]),
                title=_("Did the pilot change {outcome}? Naive beside corrected estimates").format(
                    outcome=metric_word(outcome)), unit_label=unit,
                min_group_size=inputs.min_group_size)
            out.append(_chart("marts.pilot_effects", fig, readings.reading_pilot_effects(
                rows, outcome, unit=unit, scale=scale, min_group_size=inputs.min_group_size)))
        out.append(_effects_table(part, kind, inputs))
    return out + _unknown_note(unknown)


def _distinct_outcomes(part: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """Keep one outcome per distinct set of estimates: outcomes whose rows (cohort, method, estimate,
    interval) are all identical to an earlier outcome's (e.g. active and engaged rates on a drop
    zone without reads) are dropped and named beside the one kept."""
    cols = [c for c in ("cohort", "method", "estimate", "ci_low", "ci_high") if c in part.columns]
    kept: dict[str, pl.DataFrame] = {}
    same_as: dict[str, list[str]] = {}
    for outcome in part["outcome"].unique(maintain_order=True).to_list():
        rows = part.filter(pl.col("outcome") == outcome).select(cols).sort(cols[:2])
        twin = next((k for k, v in kept.items() if v.height == rows.height and v.equals(rows)), None)
        if twin is None:
            kept[outcome] = rows
        else:
            same_as.setdefault(twin, []).append(outcome)
    return part.filter(pl.col("outcome").is_in(list(kept))), same_as


def _effects_table(part: pl.DataFrame, kind: MetricKind, inputs: ReportInputs) -> TableBlock:
    """One line per outcome and cohort: naive, the preferred corrected estimate with its interval, counts."""
    from transforms.report.pilot_views import PREFERRED_METHODS, method_short

    if "cohort" not in part.columns:
        part = part.with_columns(pl.lit("pilot").alias("cohort"))
    part, same_as = _distinct_outcomes(part)
    rows = []
    for (outcome, cohort), grp in part.group_by("outcome", "cohort", maintain_order=True):
        unit, scale = _unit(str(outcome), kind, inputs)
        ok = charts.publishable(grp, size_columns=["n_treated", "n_control"], min_group_size=inputs.min_group_size)
        ok = ok.filter(pl.col("estimate").is_not_null())

        def v(x: float | None) -> str:
            return fmt.na() if not fmt.is_number(x) else fmt.signed(scale * x, 2)

        naive = ok.filter(pl.col("method") == "naive")
        adjusted = [m for m in PREFERRED_METHODS if m in ok["method"].to_list()]
        if not adjusted:
            rows.append((metric_word(outcome), population_word(cohort),
                         v(naive["estimate"][0]) if naive.height else fmt.na(),
                         _("not estimable"), "", "", "", unit))
            continue
        a = ok.filter(pl.col("method") == adjusted[0]).row(0, named=True)
        label = metric_word(outcome)
        if same_as.get(outcome):
            label = _("{outcome} (= {twins}: the same estimates)").format(
                outcome=label, twins=", ".join(metric_word(o) for o in same_as[outcome]))
        rows.append((label, population_word(cohort),
                     v(naive["estimate"][0]) if naive.height else v(a.get("naive_difference")),
                     method_short(a["method"]), v(a["estimate"]),
                     _("{low} to {high}").format(low=v(a["ci_low"]), high=v(a["ci_high"])),
                     f"{fmt.count(a.get('n_treated'))} / {fmt.count(a.get('n_control'))}", unit))
    return TableBlock(_("Pilot effects on {kind}: the naive gap and the corrected estimate, with its 95% interval and "
                        "the units compared (DiD (CS): staggered difference-in-differences, Callaway-Sant'Anna; AIPW: "
                        "doubly robust; IPW: inverse-probability weighting)").format(kind=_(_KIND_TITLES[kind])),
                      (_("outcome"), _("cohort"), pgettext("estimate", "naive"), _("corrected by"), _("estimate"),
                       _("95% interval"), _("pilot / comparison"), _("unit")), tuple(rows))


def _event_study_blocks(es: pl.DataFrame, inputs: ReportInputs) -> list[Block]:
    out: list[Block] = []
    parts, unknown = _split_by_kind(es, inputs)
    for kind, part in parts.items():
        for outcome in _main_outcomes(part, kind, limit=2):
            rows = part.filter(pl.col("outcome") == outcome)
            cohort = _pick_cohort(rows)
            if cohort is not None:
                rows = rows.filter(pl.col("cohort") == cohort)
            unit, scale = _unit(outcome, kind, inputs)
            pvals = rows["pretrend_p"].drop_nulls() if "pretrend_p" in rows.columns else pl.Series([])
            gaps = rows["pretrend_gap"].drop_nulls() if "pretrend_gap" in rows.columns else pl.Series([])
            spans = rows["pretrend_weeks"].drop_nulls() if "pretrend_weeks" in rows.columns else pl.Series([])
            fig = charts.plot_event_study(
                _scaled(rows, scale, ("estimate", "ci_low", "ci_high")), kind=kind,
                metrics=_kind_metrics(kind, [outcome]),
                title=(_("Effect on {outcome} week by week since the start (all waves)") if cohort == "all" else
                       _("Effect on {outcome} week by week since the start ({cohort})") if cohort else
                       _("Effect on {outcome} week by week since the start")).format(outcome=metric_word(outcome),
                                                                                     cohort=cohort),
                unit_label=unit, min_group_size=inputs.min_group_size)
            out.append(_chart("marts.pilot_effects", fig, readings.reading_event_study(
                rows, "relative_week", "estimate", unit=unit, scale=scale,
                pretrend_p=float(pvals[0]) if pvals.len() else None,
                pretrend_gap=float(gaps[0]) if gaps.len() else None,
                pretrend_weeks=int(spans[0]) if spans.len() else None)))
    return out + _unknown_note(unknown)


def _projection_blocks(proj: pl.DataFrame, inputs: ReportInputs) -> list[Block]:
    out: list[Block] = []
    parts, unknown = _split_by_kind(proj, inputs)
    for kind, part in parts.items():
        outcomes = _main_outcomes(part, kind)
        part = part.filter(pl.col("outcome").is_in(outcomes))
        unit, scale = _unit(outcomes[0], kind, inputs)
        fig = charts.plot_pilot_projection(_scaled(part, scale, ("estimate", "ci_low", "ci_high")), kind=kind,
                                           metrics=_kind_metrics(kind, outcomes),
                                           title=_("Effect on {kind}: the pilot's members vs the whole eligible "
                                                   "population").format(kind=_(_KIND_TITLES[kind])),
                                           unit_label=unit,
                                           min_group_size=inputs.min_group_size)
        lines = [readings.reading_pilot_projection(part, o, unit=_unit(o, kind, inputs)[0],
                                                   scale=_unit(o, kind, inputs)[1]) for o in outcomes[:2]]
        out.append(_chart("marts.pilot_effects", fig, " ".join(lines)))
    return out + _unknown_note(unknown)


def _power_blocks(power: pl.DataFrame, inputs: ReportInputs) -> list[Block]:
    out: list[Block] = []
    if "outcome" not in power.columns and "kpi" in power.columns:
        power = power.rename({"kpi": "outcome"})
    parts, unknown = _split_by_kind(power, inputs)
    for kind, part in parts.items():
        outcomes = [str(o) for o in part["outcome"].unique(maintain_order=True).to_list()]
        fig = charts.plot_pilot_power(part, kind=kind, metrics=_kind_metrics(kind, outcomes),
                                      title=_("How small an effect on {kind} could the pilot detect?").format(
                                          kind=_(_KIND_TITLES[kind])))
        lines = [readings.reading_pilot_power(part, o, unit=_unit(o, kind, inputs)[0] if kind == MetricKind.OUTCOME
                                              else "") for o in outcomes[:3]]
        out.append(_chart("marts.pilot_power", fig, " ".join(lines)))
    return out + _unknown_note(unknown)


# ------------------------------------------------------------------------------------------ outputs


def outputs_section(inputs: ReportInputs) -> Section:
    """What communities produce per their charter (kind output); busy-without-outputs and silent flags."""
    blocks: list[Block] = []
    outs = inputs.table("marts.community_outputs")
    flags = inputs.tables.get("marts.community_flags")
    whole = inputs.tables.get("marts.community_outputs")
    if _empty(whole) and (flags is None or flags.height == 0):
        blocks.append(_not_declared("charters"))
    elif outs is None:
        blocks.append(_missing("marts.community_outputs", _("Community outputs")))
    else:
        blocks += _guarded("marts.community_outputs", lambda: [_chart(
            "marts.community_outputs", charts.plot_community_outputs(outs, week_start=inputs.week_start),
            readings.reading_community_outputs(outs, inputs.week_start, flags=flags))])
    if flags is None:
        blocks.append(_missing("marts.community_flags", _("Busy without outputs, silent communities")))
    elif flags.height:
        blocks += _guarded("marts.community_flags", lambda: [_flags_table(flags)])
    return Section("outputs", _("Outputs by community"),
                   _("What each community produces according to its charter (answered questions, ideas, shared "
                     "practices). Output metrics only: busy is not the same as useful."), (MetricKind.OUTPUT,),
                   tuple(blocks))


def _flags_table(flags: pl.DataFrame) -> TableBlock:
    """Activity and outputs side by side per community, never added up; the two flags."""
    yes = pgettext("table cell", "yes")
    rows = tuple(
        (str(r["community"]), fmt.number(r.get("mean_weekly_actions"), 1), fmt.number(r.get("outputs_per_week"), 2),
         yes if r.get("busy_without_outputs") else "", yes if r.get("silent") else "")
        for r in flags.sort("community").iter_rows(named=True)
    )
    return TableBlock(_("Activity beside outputs per community over the period (compared, never blended)"),
                      (_("community"), _("actions per week"), _("outputs per week"), _("busy without outputs"),
                       _("silent")), rows)


# ----------------------------------------------------------------------------------------- outcomes


def outcomes_section(inputs: ReportInputs) -> Section:
    """Outcome KPIs, each on its own chart in its own unit; then the lead-lag association with activity."""
    k = inputs.min_group_size
    blocks: list[Block] = []
    kpis = inputs.table("marts.outcome_kpis")
    registered = bool(inputs.kpi_registry)
    if not registered and (kpis is None or kpis.height == 0):
        kpis = None
        blocks.append(_not_declared("kpis"))
    elif kpis is not None and kpis.height == 0:
        blocks.append(_not_declared("kpi_values"))
    elif kpis is None:
        blocks.append(_missing("marts.outcome_kpis", _("Outcome KPIs")))
    else:
        def kpi_blocks() -> list[Block]:
            res: list[Block] = []
            for name in sorted(map(str, kpis["kpi"].unique().drop_nulls().to_list())):
                kdef = inputs.kpi(name)
                unit = unit_word(kdef.unit) if kdef else ""
                title = _("{kpi}: {description}").format(kpi=name, description=kdef.description) if kdef else name
                fig = charts.plot_kpi_trend(kpis, kpi=name, unit=unit, title=title, min_group_size=k)
                series = {tr.name: [(x, y) for x, y in zip(tr.x, tr.y, strict=True) if y is not None]
                          for tr in fig.data}
                res.append(_chart("marts.outcome_kpis", fig, readings.reading_kpi_trend(
                    series, name, unit=unit, direction=kdef.direction if kdef else None)))
            return res or [_not_declared("kpi_values")]
        blocks += _guarded("marts.outcome_kpis", kpi_blocks)
    link = inputs.tables.get("marts.kpi_activity_link")
    team_kpis = [k for k in inputs.kpi_registry if k.unit_type == "team" and k.grain == "week"]
    if _empty(link) and not team_kpis:
        if registered:
            blocks.append(_not_declared("team_kpi"))
    elif link is None:
        blocks.append(_missing("marts.kpi_activity_link", _("Activity ahead of outcomes (lead-lag association)")))
    elif link.height == 0:
        blocks.append(NoteBlock(_("The weekly team KPIs have no values in the weeks of the activity data yet, so "
                                  "they cannot be related to activity.")))
    else:
        def link_blocks() -> list[Block]:
            return [_chart("marts.kpi_activity_link", charts.plot_kpi_activity_link(link, min_group_size=k),
                           readings.reading_kpi_link(link, min_group_size=k))]
        blocks += _guarded("marts.kpi_activity_link", link_blocks)
    return Section("outcomes", _("Outcome KPIs"),
                   _("Business numbers from business systems, each in its own unit and chart, never on an axis shared "
                     "with activity. Linking them to activity is an association across teams, not an effect; the "
                     "pilot section gives the effect estimates."), (MetricKind.OUTCOME, MetricKind.LINK),
                   tuple(blocks))


# ------------------------------------------------------------------------------------------ quality


def quality_section(inputs: ReportInputs, *, match_threshold: float | None = None) -> Section:
    """Rows in / kept / filtered / rejected per source, identity match rates, reasons for rejects."""
    blocks: list[Block] = []
    cov = inputs.tables.get("quality.coverage")
    if cov is None:
        blocks.append(_missing("quality.coverage", _("Rows received, kept and rejected per source")))
    else:
        def cov_blocks() -> list[Block]:
            src = _first(cov, ["source", "connector"])
            kept = _first(cov, ["rows_kept", "kept"])
            rej = _first(cov, ["rows_rejected", "rejected"])
            fil = _first(cov, ["rows_filtered", "filtered"])
            received, silent = _sources_with_data(cov, src, [c for c in (kept, rej, fil) if c])
            out: list[Block] = []
            if received.height:
                out.append(_chart("quality.coverage", charts.plot_coverage(received),
                                  readings.reading_coverage(received, src, kept, rej, fil)))
            else:
                out.append(NoteBlock(_("No rows were received from any source.")))
            if silent:
                out.append(NoteBlock(_("Nothing was received from {sources} (registered inputs with no file in the "
                                       "drop zone).").format(sources=", ".join(silent))))
            return out
        blocks += _guarded("quality.coverage", cov_blocks)
    match = inputs.tables.get("quality.match_rates")
    if match is None:
        blocks.append(_missing("quality.match_rates", _("Identity match rates")))
    else:
        def match_blocks() -> list[Block]:
            src = _first(match, ["source", "connector"])
            rate = _first(match, ["match_rate", "identity_match_rate"])
            return [_chart("quality.match_rates", charts.plot_match_rates(match, threshold=match_threshold),
                           readings.reading_match_rates(match, src, rate, threshold=match_threshold))]
        blocks += _guarded("quality.match_rates", match_blocks)
    weeks = inputs.tables.get("quality.weeks_covered")
    if weeks is not None and weeks.height:
        blocks += _guarded("quality.weeks_covered", lambda: [_weeks_covered_table(weeks)])
    profile = inputs.tables.get("quality.hr_completeness")
    if profile is not None and profile.height:
        blocks += _guarded("quality.hr_completeness", lambda: [_profile_table(profile, inputs.min_group_size)])
    fresh = inputs.tables.get("quality.kpi_freshness")
    if fresh is not None and fresh.height:
        blocks += _guarded("quality.kpi_freshness", lambda: [_freshness_table(fresh)])
    rej = inputs.tables.get("quality.rejects_summary")
    if rej is not None and rej.height:
        def rej_blocks() -> list[Block]:
            top = rej.sort("rows", descending=True).head(8)
            return [TableBlock(_("Most frequent reasons rows were quarantined (each reason as its connector "
                                 "writes it)"),
                               (_("source"), _("reason"), _("rows")),
                               tuple((str(r["source"]), str(r["reason"]), fmt.count(r["rows"]))
                                     for r in top.iter_rows(named=True)))]
        blocks += _guarded("quality.rejects_summary", rej_blocks)
    return Section("quality", _("Data quality and coverage"),
                   _("How much of what was received could be used, and how many platform accounts were matched to an "
                     "employee: every number above depends on these."), (MetricKind.PREREQUISITE,), tuple(blocks))


def _sources_with_data(cov: pl.DataFrame, source: str | None, counts: Sequence[str]) -> tuple[pl.DataFrame, list[str]]:
    """The coverage rows of sources that sent anything, and the names of those that sent nothing."""
    if source is None:
        return cov, []
    received = pl.sum_horizontal([pl.col(c).fill_null(0) for c in counts]) if counts else pl.lit(1)
    if "rows_in" in cov.columns:
        received = pl.col("rows_in").fill_null(0)
    totals = cov.group_by(source, maintain_order=True).agg(received.sum().alias("__received"))
    senders = totals.filter(pl.col("__received") > 0)[source].to_list()
    silent = sorted(str(s) for s in totals.filter(pl.col("__received") == 0)[source].to_list())
    return cov.filter(pl.col(source).is_in(senders)), silent


def _weeks_covered_table(weeks: pl.DataFrame) -> TableBlock:
    """Per source and kind of input: first and last week with data, and the weeks missing in between."""
    rows = []
    for r in weeks.sort("source", "kind").iter_rows(named=True):
        missing = list(r.get("missing_weeks") or [])
        rows.append((str(r["source"]), str(r["kind"]), str(r["first_week"]), str(r["last_week"]),
                     fmt.pct(r.get("coverage")), ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")))
    return TableBlock(_("Weeks covered by each source (a gap means an export is missing)"),
                      (_("source"), _("input"), _("first week"), _("last week"), _("weeks with data"),
                       _("missing weeks")), tuple(rows))


def _profile_table(profile: pl.DataFrame, min_group_size: int) -> TableBlock:
    """Share of employees whose directory profile has each field (prerequisite: profile completeness)."""
    ok = charts.publishable(profile, size_columns=["employees"], min_group_size=min_group_size)
    keys = [c for c in ok.columns if c not in ("field", "employees", "filled", "share", "suppressed")]
    rows = tuple((*(population_word(r[c]) for c in keys), attribute_word(r["field"]), fmt.count(r["employees"]), fmt.pct(r["share"], 1))
                 for r in ok.iter_rows(named=True))
    return TableBlock(_("Directory profile completeness (share of employees with the field filled)"),
                      (*(attribute_word(k) for k in keys), _("field"), _("employees"), _("filled")), rows)


def _freshness_table(fresh: pl.DataFrame) -> TableBlock:
    """Per outcome KPI: its latest period against the activity data, and whether the feed is late."""
    def status(r: dict) -> str:
        if r.get("latest_period_end") is None:
            return _("no values received")
        return _("late") if r.get("late") else _("on time")

    rows = tuple((str(r["kpi"]), fmt.day(r.get("latest_period_end"), missing=_("none yet")),
                  fmt.count(r.get("delay_days"), missing="-"), fmt.count(r.get("max_delay_days"), missing="-"),
                  status(r))
                 for r in fresh.sort("kpi").iter_rows(named=True))
    return TableBlock(_("Outcome KPI feeds: how recent each is"),
                      (_("KPI"), _("latest period end"), _("days behind activity"), _("allowed"), _("status")), rows)


def build_sections(inputs: ReportInputs, *, match_threshold: float | None = None) -> list[Section]:
    """All sections of the report, in reading order."""
    unknown = sorted(set(inputs.tables) - set(report_tables()))
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
