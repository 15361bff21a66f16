"""The report's "Where to roll out next" section, from ``marts.next_wave_candidates`` and
``marts.next_wave_options``: how well the uptake model ranks what it has not seen, the trade-off
between expected uptake and representativeness (the wave that would teach the most), the wave
options and the best-ranked candidates. Groups under the minimum size are never listed (the mart
leaves them out; the section drops any that slipped through). Activity only.

Every sentence is whole, with named placeholders, so that it can be translated.
"""

from __future__ import annotations

import logging

import plotly.graph_objects as go
import polars as pl

from transforms.metrics.registry import MetricKind
from transforms.report import format as fmt
from transforms.report.charts import GREY, PALETTE, new_figure, publishable
from transforms.report.i18n import N_, _, ngettext, pgettext
from transforms.report.inputs import ReportInputs, require_columns
from transforms.report.sections import Block, ChartBlock, NoteBlock, Section, TableBlock, guarded

log = logging.getLogger(__name__)

__all__ = ["CANDIDATES", "OPTIONS", "next_wave_section"]

CANDIDATES = "marts.next_wave_candidates"
OPTIONS = "marts.next_wave_options"
_OPTION_COLUMNS = ("as_of_week", "option", "candidates", "headcount", "expected_uptake", "mean_abs_smd",
                   "teaches_most", "model_auc", "model_auc_low", "model_auc_high", "model_brier",
                   "model_brier_base_rate", "model_people", "uptake_weeks", "trained_on")
_CANDIDATE_COLUMNS = ("population_type", "population", "headcount", "expected_uptake", "mean_abs_smd",
                      "extrapolated", "uptake_rank")
TOP_UNITS = 10

TITLE = N_("Where to roll out next")
INTRO = N_("Which org units and sites a next wave could take, ranked by the uptake expected from what past waves' "
           "members did in their first weeks, and by how much a wave made of them would look like the people still "
           "waiting (the pilot section's index: mean |SMD|, 0 = alike, above 0.1 = not representative). The "
           "highest uptake and the most to learn rarely come together: the chart shows the trade-off.")
MISSING = N_("Where to roll out next: not available yet ({table} is not in the warehouse).")
NO_PILOT = N_("Ranking candidates for a next wave needs a past wave to learn uptake from: add pilots.yaml to the "
              "drop zone (each wave's name, start date and members; see docs/drop_zone.md).")
NO_MODEL = N_("No wave has been observed for long enough (at least 3 weeks before the decision week) to learn "
              "uptake from, or nobody is left to roll out to.")
AS_OF = N_("The ranking as it stands for a wave starting in the week of {as_of}: the week of the general roll-out "
           "when the data has reached it (everyone has the platform since), else the week after the data's last week.")
ACCURACY = N_("Expected uptake is the share of weeks active in a wave's first {weeks} weeks, from a model of what "
              "the {people} members of {cohorts} did (HR attributes, activity before their wave, their manager's "
              "activity). On teams it had not seen, it ranks active weeks above inactive ones with an AUC of {auc} "
              "(90% interval {low} to {high}; 0.5 is chance, 1 is perfect), and its Brier score is {brier} against "
              "{brier_base} for guessing the average.")
WEAK = N_("The interval reaches 0.5: the model barely tells high from low uptake here, so choose on "
          "representativeness rather than on expected uptake.")
TRADE_OFF = N_("The wave that would teach the most: {option} ({units} org units, {people} people) looks the most "
               "like the people still waiting (mean |SMD| {smd}) at an expected uptake of {uptake}, against "
               "{best_uptake} (mean |SMD| {best_smd}) for {best_option}.")
TRADE_OFF_SAME = N_("The wave that would teach the most is also the one with the highest expected uptake: {option} "
                    "({units} org units, {people} people, expected uptake {uptake}, mean |SMD| {smd}).")
CHART_TITLE = N_("Next wave: expected uptake against representativeness")
X_TITLE = N_("mean |SMD| against the people still waiting (lower = more alike)")
Y_TITLE = N_("expected uptake")
CANDIDATE_TRACE = N_("org units (each alone)")
OPTION_TEXT = {
    "highest_uptake": N_("highest expected uptake"),
    "by_worker_type": N_("balanced by worker type"),
    "by_department_and_worker_type": N_("balanced by department and worker type"),
}
OPTIONS_CAPTION = N_("Wave options of about {size} people (the size of past waves)")
SITES_CAPTION = N_("Sites, by expected uptake of their people still waiting")


def _extrapolated(n: int) -> str:
    return ngettext("{n} candidate is mostly people unlike any past wave member (e.g. a worker type or department "
                    "no wave has included): its expected uptake is an extrapolation.",
                    "{n} candidates are mostly people unlike any past wave member (e.g. a worker type or department "
                    "no wave has included): their expected uptake is an extrapolation.", n).format(n=n)


def _units_caption(n: int) -> str:
    return ngettext("The org unit with the highest expected uptake", "The {n} org units with the highest expected "
                    "uptake", n).format(n=n)


def _options_header() -> tuple[str, ...]:
    return (_("option"), _("org units"), _("people"), _("expected uptake"), _("mean |SMD|"), _("teaches the most"))


def _candidate_header() -> tuple[str, ...]:
    return (_("candidate"), _("people"), _("expected uptake"), _("mean |SMD| alone"), _("extrapolated"))


def _yes() -> str:
    return pgettext("table cell", "yes")


def _option_label(option: str) -> str:
    return _(OPTION_TEXT[option]) if option in OPTION_TEXT else option


def _accuracy_note(options: pl.DataFrame, candidates: pl.DataFrame | None) -> list[Block]:
    r = options.row(0, named=True)
    out: list[Block] = [NoteBlock(_(AS_OF).format(as_of=fmt.long_date(r["as_of_week"]))), NoteBlock(_(ACCURACY).format(
        weeks=r["uptake_weeks"], people=fmt.count(r["model_people"]), cohorts=r["trained_on"],
        auc=fmt.number(r["model_auc"]), low=fmt.number(r["model_auc_low"]), high=fmt.number(r["model_auc_high"]),
        brier=fmt.number(r["model_brier"], 3), brier_base=fmt.number(r["model_brier_base_rate"], 3)))]
    if fmt.is_number(r["model_auc_low"]) and r["model_auc_low"] <= 0.5:
        out.append(NoteBlock(_(WEAK)))
    if candidates is not None and "extrapolated" in candidates.columns:
        n = candidates.filter(pl.col("extrapolated").fill_null(False)).height
        if n:
            out.append(NoteBlock(_extrapolated(n)))
    return out


def _trade_off_chart(options: pl.DataFrame, candidates: pl.DataFrame | None) -> go.Figure:
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=["expected_uptake", "wave_mean_abs_smd"], title=_(CHART_TITLE),
                     y_title=_(Y_TITLE), x_title=_(X_TITLE))
    if candidates is not None:
        units = candidates.filter((pl.col("population_type") == "org_unit") & pl.col("mean_abs_smd").is_not_null())
        fig.add_trace(go.Scatter(x=units["mean_abs_smd"].round(4).to_list(),
                                 y=(units["expected_uptake"] * 100).round(3).to_list(), mode="markers",
                                 name=_(CANDIDATE_TRACE), text=units["population"].to_list(),
                                 marker={"size": 6, "color": GREY, "opacity": 0.5},
                                 hovertemplate="%{text}: %{y:.0f}%, SMD %{x:.2f}<extra></extra>"))
    for i, r in enumerate(options.iter_rows(named=True)):  # three options
        fig.add_trace(go.Scatter(x=[r["mean_abs_smd"]], y=[round(100 * r["expected_uptake"], 3)], mode="markers",
                                 name=_option_label(r["option"]),
                                 marker={"size": 16 if r["teaches_most"] else 12, "color": PALETTE[i % len(PALETTE)],
                                         "symbol": "star" if r["teaches_most"] else "circle",
                                         "line": {"width": 1, "color": "#000000"}}))
    fig.add_vline(x=0.1, line_dash="dot", line_color=GREY, line_width=1)
    fig.update_yaxes(ticksuffix="%")
    return fig


def _trade_off_reading(options: pl.DataFrame) -> str:
    best = options.filter(pl.col("teaches_most"))
    top = options.sort("expected_uptake", descending=True).row(0, named=True)
    if best.height == 0:
        best_row = top
    else:
        best_row = best.row(0, named=True)
    values = {"option": _option_label(best_row["option"]), "units": best_row["candidates"],
              "people": fmt.count(best_row["headcount"]), "smd": fmt.number(best_row["mean_abs_smd"]),
              "uptake": fmt.pct(best_row["expected_uptake"])}
    if best_row["option"] == top["option"]:
        return _(TRADE_OFF_SAME).format(**values)
    return _(TRADE_OFF).format(best_uptake=fmt.pct(top["expected_uptake"]), best_smd=fmt.number(top["mean_abs_smd"]),
                            best_option=_option_label(top["option"]), **values)


def _options_table(options: pl.DataFrame) -> TableBlock:
    rows = tuple((_option_label(r["option"]), fmt.count(r["candidates"]), fmt.count(r["headcount"]),
                  fmt.pct(r["expected_uptake"]), fmt.number(r["mean_abs_smd"]), _yes() if r["teaches_most"] else "")
                 for r in options.iter_rows(named=True))
    size = options["target_size"][0] if "target_size" in options.columns else options["headcount"].mean()
    return TableBlock(_(OPTIONS_CAPTION).format(size=fmt.count(size)), _options_header(), rows)


def _candidate_rows(frame: pl.DataFrame) -> tuple[tuple[str, ...], ...]:
    return tuple((str(r["population"]), fmt.count(r["headcount"]), fmt.pct(r["expected_uptake"]),
                  fmt.number(r["mean_abs_smd"]), _yes() if r["extrapolated"] else "")
                 for r in frame.iter_rows(named=True))


def _candidate_tables(candidates: pl.DataFrame) -> list[Block]:
    sites = candidates.filter(pl.col("population_type") == "site").sort("expected_uptake", descending=True)
    units = candidates.filter(pl.col("population_type") == "org_unit").sort("expected_uptake", descending=True)
    out: list[Block] = []
    if sites.height:
        out.append(TableBlock(_(SITES_CAPTION), _candidate_header(), _candidate_rows(sites)))
    if units.height:
        top = units.head(TOP_UNITS)
        out.append(TableBlock(_units_caption(top.height), _candidate_header(), _candidate_rows(top)))
    return out


def next_wave_section(inputs: ReportInputs, *, no_pilot: bool = False) -> Section:
    """Model accuracy, the trade-off chart and reading, the options and the top candidates."""
    k = inputs.min_group_size
    options = inputs.tables.get(OPTIONS)
    candidates = inputs.tables.get(CANDIDATES)
    kinds = (MetricKind.ACTIVITY,)
    if no_pilot:
        return Section("next-wave", _(TITLE), _(INTRO), kinds, (NoteBlock(_(NO_PILOT), level="missing"),))
    if options is None:
        return Section("next-wave", _(TITLE), _(INTRO), kinds,
                       (NoteBlock(_(MISSING).format(table=OPTIONS), level="missing"),))
    if options.height == 0:
        return Section("next-wave", _(TITLE), _(INTRO), kinds, (NoteBlock(_(NO_MODEL)),))
    if candidates is not None:
        candidates = publishable(candidates, size_columns=["headcount"], min_group_size=k)
    options = publishable(options, size_columns=["headcount"], min_group_size=k)

    def blocks() -> list[Block]:
        require_columns(options, _OPTION_COLUMNS, table=OPTIONS)
        if candidates is not None:
            require_columns(candidates, _CANDIDATE_COLUMNS, table=CANDIDATES)
        out = _accuracy_note(options, candidates)
        out.append(ChartBlock(_trade_off_chart(options, candidates), _trade_off_reading(options), OPTIONS))
        out.append(_options_table(options))
        return out

    built = guarded(OPTIONS, blocks)
    if candidates is None:
        built.append(NoteBlock(_(MISSING).format(table=CANDIDATES), level="missing"))
    else:
        built += guarded(CANDIDATES, lambda: _candidate_tables(candidates))
    return Section("next-wave", _(TITLE), _(INTRO), kinds, tuple(built))
