"""The report's "Perceived value" section: what people say the platform brings them (pulse
surveys, metric kind perception), the pilot's effect on it, and its link with activity.

Tables: ``marts.perception`` (answers per wave, question and population over HR denominators),
``marts.perception_pilot_effect`` (naive beside corrected estimates) and
``marts.perception_activity_link`` (kind link: an association, not an effect). Each chart draws
one kind and one scale: the Likert questions' top-2-box share, the 0-10 questions' NPS, and effects
in the points of one scale at a time. Groups below the minimum size are never drawn or tabled.

Every sentence a reader sees is written here whole, with named placeholders.
"""

from __future__ import annotations

import logging

import plotly.graph_objects as go
import polars as pl

from transforms.metrics.perception import ACTIVITY_BANDS
from transforms.metrics.registry import MetricKind
from transforms.report import charts, readings
from transforms.report import format as fmt
from transforms.report.i18n import N_, _
from transforms.report.inputs import ReportInputs, require_columns
from transforms.report.pilot_views import pilot_views
from transforms.report.sections import (
    Block,
    NoteBlock,
    Section,
    TableBlock,
    _chart,
    _guarded,
    _missing,
)

log = logging.getLogger(__name__)

__all__ = ["PERCEPTION_TABLES", "perception_section", "plot_perception_by_activity", "plot_perception_trend"]

PERCEPTION_TABLES: tuple[str, ...] = ("marts.perception", "marts.perception_pilot_effect",
                                      "marts.perception_activity_link")

TITLE = N_("Perceived value")
INTRO = N_("What people say the platform brings them, from pulse surveys: a kind of metric of its own (perception), "
           "never added to activity or outcomes. Response rates are over eligible headcount from HR; groups with "
           "fewer than {k} respondents are not shown.")
NO_SURVEY = N_("No pulse survey was received yet: add the survey registry surveys.yaml (each survey's waves and "
               "questions) and the survey exports in surveys/ to the drop zone (see docs/drop_zone.md).")
NO_ANSWER = N_("The surveys of surveys.yaml have no answer of a respondent matched to HR yet, so nothing can be "
               "shown without naming fewer than {k} people.")
TREND_READING = N_("In the {wave} wave ({opens}), {respondents} of {eligible} eligible people answered ({rate}). "
                   "{lines}")
TOP2_LINE = N_("{share} agreed that \"{question}\" ({change} since the {first} wave).")
TOP2_LINE_FIRST = N_("{share} agreed that \"{question}\".")
NPS_LINE = N_("The Net Promoter Score of \"{question}\" is {nps} ({change} since the {first} wave).")
NPS_LINE_FIRST = N_("The Net Promoter Score of \"{question}\" is {nps}.")
NPS_DEFINITION = N_("Net Promoter Score: % promoters (9-10) minus % detractors (0-6) among respondents.")
EFFECT_CAVEAT = N_("Answering is voluntary: the corrected estimates compare members and non-members who answered, "
                   "alike in HR attributes and in activity before the pilot; they assume that, given these, who "
                   "answers does not depend on what the pilot did to their view. No difference-in-differences: a "
                   "pulse survey has too few waves before a pilot.")
NO_EFFECT = N_("No cohort's window holds a survey wave yet, so the pilot's effect on perceived value cannot be "
               "estimated.")
#: The link's reading, by the sign of the slope (whole sentences: word order differs between languages).
LINK_READING = {
    "higher": N_("People active in more of the {weeks} weeks before answering rated \"{question}\" higher: "
                 "{slope} points on its {scale} scale from never to always active, with the same worker type, "
                 "department, pilot status and wave (95% interval {low} to {high}; {respondents} respondents)."),
    "lower": N_("People active in more of the {weeks} weeks before answering rated \"{question}\" lower: "
                "{slope} points on its {scale} scale from never to always active, with the same worker type, "
                "department, pilot status and wave (95% interval {low} to {high}; {respondents} respondents)."),
}
LINK_VERDICT_NONE = N_("The interval includes zero: no clear link.")
LINK_VERDICT = N_("This is an association, not an effect: people who value the platform may simply use it more.")
LINK_NOT_SHOWN = N_("The link of \"{question}\" with activity is not shown: too few respondents or no "
                    "spread in activity.")
TABLE_CAPTION = N_("Latest wave ({wave}) by population: respondents, response rate over eligible headcount, answers")
#: The activity bands of ``marts.perception_activity_link`` (:data:`ACTIVITY_BANDS`) as readers see them.
_BAND_WORDS = {"never active": N_("never active"),
               "active up to half of the weeks": N_("active up to half of the weeks"),
               "active most weeks": N_("active most weeks")}

_SCALE_NAMES = {"likert_5": "1-5", "likert_7": "1-7", "nps_0_10": "0-10"}
_TABLE_POPULATIONS = ("organisation", "worker_type", "pilot_wave")


# ------------------------------------------------------------------------------------------- charts


def _band(label: str) -> str:
    """An activity band of the link's table in the report's words."""
    return _(_BAND_WORDS[label]) if label in _BAND_WORDS else label


def _waves_in_order(rows: pl.DataFrame) -> list[str]:
    return rows.sort("opens")["wave"].unique(maintain_order=True).to_list()


def plot_perception_trend(perception: pl.DataFrame, *, metric: str,
                          min_group_size: int = charts.DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """The organisation's ``top2_share`` (Likert questions) or ``nps`` (0-10 questions) by survey
    wave, one line per question (``marts.perception``). Grain: survey wave x question; denominator:
    the wave's respondents. Waves below the minimum group size are not drawn."""
    table = "marts.perception"
    require_columns(perception, ["wave", "opens", "question_id", "question", "population_type", metric,
                                 "respondents"], table=table)
    charts._check_table_kind(perception, MetricKind.PERCEPTION, table)
    rows = charts.publishable(perception.filter((pl.col("population_type") == "organisation")
                                                & pl.col(metric).is_not_null()),
                              size_columns=["respondents"], min_group_size=min_group_size).sort("opens")
    share = metric == "top2_share"
    fig = charts.new_figure(
        kind=MetricKind.PERCEPTION, metrics=["perception_top2_share" if share else "perception_nps"],
        title=_("Share agreeing (top-2-box) by survey wave") if share else _("Net Promoter Score by survey wave"),
        y_title=_("% of respondents agreeing") if share else _("NPS (% promoters minus % detractors)"),
        x_title=_("survey wave"))
    if rows.height == 0:
        return charts._annotate_empty(fig, "survey waves")
    waves = _waves_in_order(rows)
    for i, (qid, part) in enumerate(rows.group_by("question_id", maintain_order=True)):
        question = str(part["question"][0])
        y = charts._pct(part[metric]) if share else part[metric].round(1).to_list()
        fig.add_trace(go.Scatter(
            x=part["wave"].to_list(), y=y, mode="lines+markers", name=question if len(question) < 60 else str(qid[0]),
            line={"color": charts.PALETTE[i % len(charts.PALETTE)], "width": 2.5},
            customdata=part["respondents"].to_list(),
            hovertemplate=charts._hover(_("{question}<br>%{x}: %{y:.1f}{percent} of %{customdata} respondents"),
                                        question=question, percent=charts._percent_suffix() if share else "")))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=waves)
    if share:
        fig.update_yaxes(range=[0, 100], ticksuffix="%")
    else:
        fig.update_yaxes(range=[-100, 100])
        fig.add_hline(y=0, line_color=charts.GREY)
    return fig


def plot_perception_by_activity(link: pl.DataFrame, *, scale: str,
                                min_group_size: int = charts.DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Mean answer by the respondent's activity in the weeks before answering, one bar group per
    question of one ``scale`` (``marts.perception_activity_link``, band rows). Kind: link, an
    association, not an effect. Bands below the minimum group size are not drawn."""
    table = "marts.perception_activity_link"
    require_columns(link, ["row_type", "band", "question_id", "question", "scale", "mean_answer", "respondents"],
                    table=table)
    charts._check_table_kind(link, MetricKind.LINK, table)
    rows = charts.publishable(link.filter((pl.col("row_type") == "band") & (pl.col("scale") == scale)
                                          & pl.col("mean_answer").is_not_null()),
                              size_columns=["respondents"], min_group_size=min_group_size)
    fig = charts.new_figure(kind=MetricKind.LINK, metrics=["perception_activity_slope"],
                            title=_("Answers by activity before answering ({scale} scale; association, not "
                                    "effect)").format(scale=_SCALE_NAMES.get(scale, scale)),
                            y_title=_("mean answer ({scale})").format(scale=_SCALE_NAMES.get(scale, scale)),
                            x_title=_("activity in the weeks before answering"))
    if rows.height == 0:
        return charts._annotate_empty(fig, "activity bands")
    order = [_band(label) for label, _low, _high in ACTIVITY_BANDS]
    rank = {label: j for j, (label, _low, _high) in enumerate(ACTIVITY_BANDS)}
    for i, (qid, part) in enumerate(rows.group_by("question_id", maintain_order=True)):
        part = part.with_columns(pl.col("band").replace_strict(rank, return_dtype=pl.Int32).alias("__o")).sort("__o")
        question = str(part["question"][0])
        fig.add_trace(go.Bar(x=[_band(b) for b in part["band"].to_list()], y=part["mean_answer"].round(2).to_list(),
                             name=question if len(question) < 60 else str(qid[0]),
                             marker_color=charts.PALETTE[i % len(charts.PALETTE)],
                             customdata=part["respondents"].to_list(),
                             hovertemplate=charts._hover(_("{question}<br>%{x}: %{y:.2f} (%{customdata} "
                                                           "respondents)"), question=question)))
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    return fig


# ----------------------------------------------------------------------------------------- readings


def _question_line(row: dict, before: dict | None, first: str) -> str | None:
    """The sentence of one question in the latest wave, with its change since the first wave."""
    if row["scale"] == "nps_0_10":
        if not fmt.is_number(row["nps"]):
            return None
        nps = fmt.number(row["nps"], 0)
        if before is None or not fmt.is_number(before["nps"]):
            return _(NPS_LINE_FIRST).format(question=row["question"], nps=nps)
        return _(NPS_LINE).format(question=row["question"], nps=nps, first=first,
                               change=fmt.signed_points(row["nps"] - before["nps"], 0))
    if not fmt.is_number(row["top2_share"]):
        return None
    share = fmt.pct(row["top2_share"])
    if before is None or not fmt.is_number(before["top2_share"]):
        return _(TOP2_LINE_FIRST).format(share=share, question=row["question"])
    return _(TOP2_LINE).format(share=share, question=row["question"], first=first,
                            change=fmt.signed_pct_points(row["top2_share"] - before["top2_share"], 0))


def _trend_reading(perception: pl.DataFrame, k: int) -> str:
    org = charts.publishable(perception.filter(pl.col("population_type") == "organisation"),
                             size_columns=["respondents"], min_group_size=k)
    if org.height == 0:
        return _(NO_ANSWER).format(k=k)
    waves = _waves_in_order(org)
    latest, first = waves[-1], waves[0]
    now = org.filter(pl.col("wave") == latest).sort("question_id")
    then = {r["question_id"]: r for r in org.filter(pl.col("wave") == first).iter_rows(named=True)} \
        if first != latest else {}
    lines = [line for r in now.iter_rows(named=True)
             if (line := _question_line(r, then.get(r["question_id"]), first)) is not None]
    top = now.sort("respondents", descending=True).row(0, named=True)
    return _(TREND_READING).format(wave=latest, opens=fmt.long_date(top["opens"]),
                                   respondents=fmt.count(top["respondents"]), eligible=fmt.count(top["eligible"]),
                                   rate=fmt.pct(top["response_rate"]), lines=" ".join(lines))


def _link_reading(slope: dict, weeks: int) -> str:
    if slope["slope"] is None or slope["ci_low"] is None:
        return _(LINK_NOT_SHOWN).format(question=slope["question"])
    none = slope["ci_low"] <= 0 <= slope["ci_high"]
    sign = "higher" if slope["slope"] > 0 else "lower"
    text = _(LINK_READING[sign]).format(
        weeks=weeks, question=slope["question"], slope=fmt.number(slope["slope"], 2),
        scale=_SCALE_NAMES.get(slope["scale"], slope["scale"]), low=fmt.number(slope["ci_low"], 2),
        high=fmt.number(slope["ci_high"], 2), respondents=fmt.count(slope["respondents"]))
    return text + " " + _(LINK_VERDICT_NONE if none else LINK_VERDICT)


# ------------------------------------------------------------------------------------------- blocks


def _latest_table(perception: pl.DataFrame, k: int) -> TableBlock:
    shown = charts.publishable(perception.filter(pl.col("population_type").is_in(list(_TABLE_POPULATIONS))),
                               size_columns=["respondents"], min_group_size=k)
    latest = _waves_in_order(shown)[-1]
    rows = []
    order = {p: i for i, p in enumerate(_TABLE_POPULATIONS)}
    part = shown.filter(pl.col("wave") == latest).with_columns(
        pl.col("population_type").replace_strict(order, return_dtype=pl.Int32).alias("__t")).sort(
        "question_id", "__t", "population")
    for r in part.iter_rows(named=True):
        favourable = _("{nps} NPS").format(nps=fmt.number(r["nps"], 0)) if r["scale"] == "nps_0_10" else \
            _("{share} agree").format(share=fmt.pct(r["top2_share"]))
        rows.append((str(r["question_id"]), fmt.population_label(r["population"]), fmt.count(r["respondents"]),
                     fmt.pct(r["response_rate"]), fmt.number(r["mean_answer"], 2), favourable))
    return TableBlock(_(TABLE_CAPTION).format(wave=latest),
                      (_("question"), _("population"), _("respondents"), _("response rate"), _("mean answer"),
                       _("favourable")), tuple(rows))


def _scales(frame: pl.DataFrame, column: str = "scale") -> list[str]:
    return frame[column].drop_nulls().unique(maintain_order=True).to_list() if column in frame.columns else []


def _effect_blocks(effects: pl.DataFrame, perception: pl.DataFrame | None, inputs: ReportInputs) -> list[Block]:
    k = inputs.min_group_size
    views = pilot_views(effects, table="marts.perception_pilot_effect").effects
    estimable = views.filter(pl.col("estimate").is_not_null())
    if estimable.height == 0:
        return [NoteBlock(_(NO_EFFECT))]
    scales = {}
    if perception is not None and {"question_id", "scale"} <= set(perception.columns):
        scales = dict(perception.select("question_id", "scale").unique().iter_rows())
    out: list[Block] = []
    groups: dict[str, list[str]] = {}
    for outcome in estimable["outcome"].unique(maintain_order=True).to_list():
        groups.setdefault(scales.get(outcome, "scale"), []).append(outcome)
    for scale, outcomes in groups.items():
        rows = views.filter(pl.col("outcome").is_in(outcomes))
        name = _SCALE_NAMES.get(scale, scale)
        fig = charts.plot_pilot_effects(rows, kind=MetricKind.PERCEPTION, metrics=["perception_mean_answer"],
                                        title=_("Did the pilot change how its members rate the platform? ({scale} "
                                                "scale)").format(scale=name),
                                        unit_label=_("points on the {scale} scale").format(scale=name),
                                        min_group_size=k)
        text = " ".join(readings.reading_pilot_effects(rows, o, unit=_("points"), digits=2, min_group_size=k)
                        for o in outcomes)
        out.append(_chart("marts.perception_pilot_effect", fig, text))
    return [*out, NoteBlock(_(EFFECT_CAVEAT))]


def _link_blocks(link: pl.DataFrame, k: int) -> list[Block]:
    out: list[Block] = []
    slopes = link.filter(pl.col("row_type") == "slope")
    weeks = int(link["activity_weeks"].drop_nulls()[0]) if "activity_weeks" in link.columns and \
        link["activity_weeks"].drop_nulls().len() else 8
    for scale in _scales(link):
        mine = slopes.filter(pl.col("scale") == scale)
        text = " ".join(_link_reading(r, weeks) for r in
                        charts.publishable(mine, size_columns=["respondents"], min_group_size=k).iter_rows(named=True))
        out.append(_chart("marts.perception_activity_link",
                          plot_perception_by_activity(link, scale=scale, min_group_size=k),
                          text or _(LINK_NOT_SHOWN).format(question=scale)))
    return out


def perception_section(inputs: ReportInputs) -> Section:
    """Perceived value by wave and population, the pilot's effect on it, and its link with activity."""
    k = inputs.min_group_size
    blocks: list[Block] = []
    whole = inputs.tables.get("marts.perception")
    perception = inputs.table("marts.perception")
    if whole is None:
        blocks.append(_missing("marts.perception", _("Perceived value from pulse surveys")))
    elif whole.height == 0:
        blocks.append(NoteBlock(_(NO_SURVEY), level="missing"))
    elif perception is None or perception.height == 0 or charts.publishable(
            perception, size_columns=["respondents"], min_group_size=k).height == 0:
        blocks.append(NoteBlock(_(NO_ANSWER).format(k=k)))
    else:
        def trend_blocks() -> list[Block]:
            out: list[Block] = []
            reading = _trend_reading(perception, k)
            scales = _scales(perception)
            if any(s.startswith("likert") for s in scales):
                out.append(_chart("marts.perception", plot_perception_trend(perception, metric="top2_share",
                                                                            min_group_size=k), reading))
            if "nps_0_10" in scales:
                out.append(_chart("marts.perception", plot_perception_trend(perception, metric="nps",
                                                                            min_group_size=k),
                                  reading if not out else _(NPS_DEFINITION)))
            return [*out, _latest_table(perception, k)]
        blocks += _guarded("marts.perception", trend_blocks)
        effects = inputs.tables.get("marts.perception_pilot_effect")
        if effects is None:
            blocks.append(_missing("marts.perception_pilot_effect", _("The pilot's effect on perceived value")))
        elif effects.height:
            blocks += _guarded("marts.perception_pilot_effect", lambda: _effect_blocks(effects, whole, inputs))
        link = inputs.tables.get("marts.perception_activity_link")
        if link is None:
            blocks.append(_missing("marts.perception_activity_link", _("Perceived value against activity")))
        elif link.height:
            blocks += _guarded("marts.perception_activity_link", lambda: _link_blocks(link, k))
    return Section("perception", _(TITLE), _(INTRO).format(k=k), (MetricKind.PERCEPTION, MetricKind.LINK),
                   tuple(blocks))
