"""Plot functions: one tidy table in, one Plotly figure out (the vivainsights pairing).

Each analysis is a compute function in :mod:`transforms.metrics` or :mod:`transforms.pilot` that
returns a tidy table, and a plot function here that draws that table, so the weekly report and
the notebooks show the same numbers. Rules every function follows:

- It never modifies the caller's frame and draws only *publishable* rows: rows flagged
  ``suppressed`` and rows whose size columns (the people a cell describes, e.g. ``eligible``, or
  each arm of a comparison) are below ``min_group_size`` are dropped before plotting, whatever the
  table says.
- It declares the metrics it draws and their one kind (activity, output, outcome, link,
  prerequisite) from the metric registry: :func:`new_figure` refuses metrics of two kinds on one
  figure, and the kind and metrics are stored in ``figure.layout.meta`` (see :func:`figure_kind`)
  so that a test can check every chart of the report.
- Figures are sized for an A4 page (:data:`CHART_WIDTH` x :data:`CHART_HEIGHT` pixels).
- A table without the columns a chart needs raises :class:`~transforms.report.inputs.ReportInputError`
  naming the table and the columns.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from transforms.contracts.actions import ACTIVE_TIERS, Tier
from transforms.metrics.registry import KIND_COLUMN, MetricKind, MixedKindError, assert_single_kind, get_metric
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE
from transforms.report import format as fmt
from transforms.report.i18n import N_, _, number_separators, pgettext
from transforms.report.inputs import ReportInputError, require_columns
from transforms.report.vocabulary import (
    lifecycle_word,
    metric_word,
    population_type_word,
    population_word,
    segment_word,
    tier_in_words,
)

__all__ = [
    "CHART_HEIGHT",
    "CHART_WIDTH",
    "figure_kind",
    "figure_metrics",
    "localise_date_axis",
    "new_figure",
    "plot_active_rate_by_population",
    "plot_adoption_rates",
    "plot_community_outputs",
    "plot_coverage",
    "plot_digital_divide",
    "plot_diffusion",
    "plot_event_study",
    "plot_kpi_activity_link",
    "plot_kpi_trend",
    "plot_lifecycle",
    "plot_manager_relay",
    "plot_match_rates",
    "plot_never_active",
    "plot_pilot_effects",
    "plot_pilot_power",
    "plot_pilot_projection",
    "plot_population_trend",
    "plot_representativeness",
    "plot_retention",
    "plot_usage_segments",
    "publishable",
]

#: A4 portrait with 12 mm margins holds about 700 CSS pixels of width.
CHART_WIDTH = 700
CHART_HEIGHT = 330

#: Okabe-Ito, readable by colour-blind readers and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
GREY = "#8c8c8c"
REFERENCE_COLOURS = {"office": "#0072B2", "frontline": "#D55E00", "pilot": "#009E73", "non_pilot": GREY}

_META_KEY = "uptake"


# --------------------------------------------------------------------------------------------- kinds


def new_figure(*, kind: MetricKind | str, metrics: Sequence[str], title: str, y_title: str | None,
               x_title: str | None = None, height: int = CHART_HEIGHT, left_margin: int = 60) -> go.Figure:
    """An empty, styled figure declared to draw ``metrics``, all of one registered ``kind``.

    Raises :class:`MixedKindError` if a metric's registered kind differs from ``kind`` (one figure,
    one kind: activity, outputs and outcomes never share an axis), ``KeyError`` for an unregistered
    metric. ``metrics`` may be empty only for ``prerequisite`` charts of the pipeline's own counts.
    """
    k = MetricKind(kind)
    if not metrics and k != MetricKind.PREREQUISITE:
        raise ValueError(f"a {k.value} chart must declare the registered metrics it draws")
    for name in metrics:
        m = get_metric(name)
        if m.kind != k:
            raise MixedKindError(f"chart {title!r}: metric {name!r} is {m.kind.value}, not {k.value}")
    fig = go.Figure()
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white",
        width=CHART_WIDTH,
        height=height,
        autosize=False,
        margin={"l": left_margin, "r": 24, "t": 48, "b": 88 if x_title else 64},
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
        colorway=list(PALETTE),
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.01, "xanchor": "left",
                "x": 0},
        yaxis_title=y_title,
        xaxis_title=x_title,
        separators=number_separators(),
        meta={_META_KEY: {"kind": k.value, "metrics": list(metrics)}},
    )
    return fig


def localise_date_axis(fig: go.Figure) -> go.Figure:
    """Write a date x axis's ticks in the report's language's order ("Mar 8" / "8 mars"): plotly.js's
    French locale gives the month names, this gives the order. Changes ``fig`` (a figure the caller
    just made) and returns it; figures whose x axis holds no dates are left as they are."""
    tick = pgettext("Plotly date axis ticks (d3-time-format)", "%b %-d")
    if tick == "%b %-d":
        return fig
    dated = any(len(getattr(t, "x", None) or ()) and isinstance(t.x[0], dt.date) for t in fig.data)
    if dated:
        fig.update_xaxes(tickformat=tick)
    return fig


def figure_kind(fig: go.Figure) -> MetricKind:
    """The one metric kind a figure made by :func:`new_figure` draws; ``MixedKindError`` if untagged."""
    meta = fig.layout.meta
    if not isinstance(meta, dict) or _META_KEY not in meta:
        raise MixedKindError("figure was not made by new_figure: its metric kind is unknown")
    return MetricKind(meta[_META_KEY]["kind"])


def figure_metrics(fig: go.Figure) -> tuple[str, ...]:
    """The registered metrics a figure made by :func:`new_figure` declares."""
    figure_kind(fig)
    return tuple(fig.layout.meta[_META_KEY]["metrics"])


def _check_table_kind(frame: pl.DataFrame, kind: MetricKind, table: str) -> None:
    if KIND_COLUMN in frame.columns:
        try:
            assert_single_kind(frame, expected=kind)
        except MixedKindError as exc:
            raise ReportInputError(str(exc), table=table, column=KIND_COLUMN) from exc


# ------------------------------------------------------------------------------------------- privacy


def publishable(frame: pl.DataFrame, *, size_columns: Sequence[str] = (),
                min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> pl.DataFrame:
    """Rows that may be shown: not flagged ``suppressed`` and every present size column >= ``min_group_size``.

    A null size counts as zero people. Size columns absent from the frame are ignored; the
    ``suppressed`` flag is honoured when present. Returns a new frame.
    """
    keep = pl.lit(True)
    if "suppressed" in frame.columns:
        keep = keep & ~pl.col("suppressed").fill_null(False)
    for c in size_columns:
        if c in frame.columns:
            keep = keep & (pl.col(c).fill_null(0) >= min_group_size)
    return frame.filter(keep)


# ------------------------------------------------------------------------------------------- helpers


def _pct(values: pl.Series) -> list[float | None]:
    """Shares as percentages, rounded to 3 decimals (plenty for a chart; keeps the page small)."""
    return (values.cast(pl.Float64) * 100).round(3).to_list()


def _hover(template: str, **values: str) -> str:
    """A Plotly hover template: the report's ``{name}`` placeholders filled in, Plotly's own ``%{x}`` ones
    left for plotly.js, and the trace name box hidden."""
    filled = re.sub(r"(?<!%)\{(\w+)\}", lambda m: str(values[m[1]]), template)
    return filled + "<extra></extra>"


def _share_hover(name: str | None = None, *, dated: bool = False) -> str:
    """The hover text of a weekly share: "name: 42.3%", with the week's date when ``dated`` (or no name)."""
    if name is None:
        return _hover(_("%{x|%Y-%m-%d}: %{y:.1f}{percent}"), percent=_percent_suffix())
    if dated:
        return _hover(_("{name}<br>%{x|%Y-%m-%d}: %{y:.1f}{percent}"), name=name, percent=_percent_suffix())
    return _hover(_("{name}: %{y:.1f}{percent}"), name=name, percent=_percent_suffix())


def _percent_suffix() -> str:
    """The suffix of a percentage axis or label: "%" in English, " %" (no-break space) in French."""
    return fmt.pct(0.0).removeprefix("0")


def _whole_pct(value: float) -> str:
    """A bar label: a value already in percent, rounded to a whole number ("42%")."""
    return fmt.pct(value / 100)


#: What an empty chart says, by what it would have drawn: (cells hidden, nothing in the data).
_EMPTY: dict[str, tuple[str, str]] = {
    "weeks": (N_("No publishable weeks (cells below the minimum group size are hidden)."),
              N_("No weeks in this data yet.")),
    "populations": (N_("No publishable populations (cells below the minimum group size are hidden)."),
                    N_("No populations in this data yet.")),
    "cohorts": (N_("No publishable cohorts (cells below the minimum group size are hidden)."),
                N_("No cohorts in this data yet.")),
    "attributes": (N_("No publishable attributes (cells below the minimum group size are hidden)."),
                   N_("No attributes in this data yet.")),
    "effects": (N_("No publishable effects (cells below the minimum group size are hidden)."),
                N_("No effects in this data yet.")),
    "projections": (N_("No publishable projections (cells below the minimum group size are hidden)."),
                    N_("No projections in this data yet.")),
    "outcomes": (N_("No publishable outcomes (cells below the minimum group size are hidden)."),
                 N_("No outcomes in this data yet.")),
    "community outputs": (N_("No publishable community outputs (cells below the minimum group size are hidden)."),
                          N_("No community outputs in this data yet.")),
    "periods": (N_("No publishable periods (cells below the minimum group size are hidden)."),
                N_("No periods in this data yet.")),
    "lags": (N_("No publishable lags (cells below the minimum group size are hidden)."),
             N_("No lags in this data yet.")),
    "sources": (N_("No publishable sources (cells below the minimum group size are hidden)."),
                N_("No sources in this data yet.")),
    "sources with human accounts": (
        N_("No publishable sources with human accounts (cells below the minimum group size are hidden)."),
        N_("No sources with human accounts in this data yet.")),
}


def _annotate_empty(fig: go.Figure, what: str, *, hidden: bool = True) -> go.Figure:
    """Say why a chart is empty: its cells were hidden (``hidden``), or there was nothing to draw."""
    text = _(_EMPTY[what][0 if hidden else 1])
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5, font={"color": GREY})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _colour(name: str, i: int) -> str:
    return REFERENCE_COLOURS.get(str(name), PALETTE[i % len(PALETTE)])


def _pick(frame: pl.DataFrame, candidates: Sequence[str], *, table: str, what: str) -> str:
    """The first of ``candidates`` present in ``frame``; ReportInputError naming them all if none is."""
    for c in candidates:
        if c in frame.columns:
            return c
    raise ReportInputError(f"no column for {what}; expected one of {', '.join(candidates)} "
                           f"(the table has {', '.join(frame.columns)})", table=table, column=candidates[0])


# ------------------------------------------------------------------------------------------ adoption

def _rate_label(rate: str) -> str:
    """Legend label of an adoption rate, worded from the action vocabulary and its tiers."""
    if rate == "active_rate":
        return _("active ({actions})").format(actions=tier_in_words(*ACTIVE_TIERS))
    if rate == "engaged_rate":
        return _("engaged ({actions})").format(actions=tier_in_words(Tier.REACTION, Tier.CONTRIBUTION))
    if rate == "contributor_rate":
        return _("contributed ({actions})").format(actions=tier_in_words(Tier.CONTRIBUTION))
    if rate == "ever_active_rate":
        return _("ever active")
    return rate


#: Chart titles of one adoption rate by population type: over the weeks, and this week.
_SHARE_TITLES = {
    "active_rate": (N_("Share active by {population_type}"), N_("Share active this week by {population_type}")),
    "engaged_rate": (N_("Share engaged by {population_type}"), N_("Share engaged this week by {population_type}")),
    "contributor_rate": (N_("Share contributing by {population_type}"),
                         N_("Share contributing this week by {population_type}")),
}


def _share_title(metric: str, population_type: str, *, this_week: bool) -> str:
    titles = _SHARE_TITLES.get(metric)
    if titles is None:
        return _("{metric} by {population_type}").format(metric=metric_word(metric),
                                                         population_type=population_type_word(population_type))
    return _(titles[1 if this_week else 0]).format(population_type=population_type_word(population_type))


def _eligible_axis() -> str:
    return _("% of eligible employees")


def plot_adoption_rates(curve: pl.DataFrame, *, population_type: str = "organisation",
                        population: str = "organisation",
                        rates: Sequence[str] = ("ever_active_rate", "active_rate", "engaged_rate", "contributor_rate"),
                        min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Weekly adoption rates of one population (``marts.adoption_curve``), one line per rate.

    Grain: week. Denominator of every line: the population's eligible headcount that week.
    """
    table = "marts.adoption_curve"
    require_columns(curve, ["week_start", "population_type", "population", "eligible", *rates], table=table)
    _check_table_kind(curve, MetricKind.ACTIVITY, table)
    rows = publishable(
        curve.filter((pl.col("population_type") == population_type) & (pl.col("population") == population)),
        size_columns=["eligible"], min_group_size=min_group_size,
    ).sort("week_start")
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=rates, title=_("Adoption of the whole organisation, week by week"),
                     y_title=_eligible_axis())
    if rows.height == 0:
        return _annotate_empty(fig, "weeks")
    for i, rate in enumerate(rates):
        fig.add_trace(go.Scatter(x=rows["week_start"].to_list(), y=_pct(rows[rate]), mode="lines",
                                 name=_rate_label(rate), line={"color": PALETTE[i], "width": 2.5},
                                 hovertemplate=_share_hover()))
    fig.update_yaxes(rangemode="tozero", ticksuffix=_percent_suffix())
    return fig


def _largest_populations(rows: pl.DataFrame, max_lines: int) -> list[str]:
    last = rows.filter(pl.col("week_start") == rows["week_start"].max())
    return last.sort(["eligible", "population"], descending=[True, False])["population"].head(max_lines).to_list()


def plot_population_trend(curve: pl.DataFrame, *, population_type: str, metric: str = "active_rate",
                          min_group_size: int = DEFAULT_MIN_GROUP_SIZE, max_lines: int = 8,
                          title: str | None = None) -> go.Figure:
    """One line per population of ``population_type`` for one adoption-curve rate, week by week.

    Grain: population x week. Denominator: each population's eligible headcount that week. With
    more than ``max_lines`` populations, the largest (by eligible headcount in the last week) are drawn.
    """
    table = "marts.adoption_curve"
    require_columns(curve, ["week_start", "population_type", "population", "eligible", metric], table=table)
    _check_table_kind(curve, MetricKind.ACTIVITY, table)
    rows = publishable(curve.filter(pl.col("population_type") == population_type), size_columns=["eligible"],
                       min_group_size=min_group_size).sort("week_start")
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=[metric],
                     title=title or _share_title(metric, population_type, this_week=False),
                     y_title=_eligible_axis())
    if rows.height == 0:
        return _annotate_empty(fig, "populations")
    pops = _largest_populations(rows, max_lines)
    for i, pop in enumerate(sorted(pops)):
        part = rows.filter(pl.col("population") == pop)
        fig.add_trace(go.Scatter(x=part["week_start"].to_list(), y=_pct(part[metric]), mode="lines",
                                 name=fmt.population_label(pop),
                                 line={"color": _colour(pop, i), "width": 2.5},
                                 hovertemplate=_share_hover(fmt.population_label(pop), dated=True)))
    fig.update_yaxes(rangemode="tozero", ticksuffix=_percent_suffix())
    return fig


def plot_active_rate_by_population(curve: pl.DataFrame, *, population_type: str, week_start: dt.date,
                                   metric: str = "active_rate", min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
                                   max_bars: int = 15) -> go.Figure:
    """This week's rate for each population of a type, sorted, with the organisation's rate as a line.

    Grain: population at one week. Denominator: each population's eligible headcount that week.
    Shows at most ``max_bars`` populations: the lowest rates first (the populations that lag).
    """
    table = "marts.adoption_curve"
    require_columns(curve, ["week_start", "population_type", "population", "eligible", metric], table=table)
    _check_table_kind(curve, MetricKind.ACTIVITY, table)
    week_rows = curve.filter(pl.col("week_start") == week_start)
    rows = publishable(week_rows.filter(pl.col("population_type") == population_type), size_columns=["eligible"],
                       min_group_size=min_group_size).filter(pl.col(metric).is_not_null())
    rows = rows.sort(metric).head(max_bars).sort(metric, descending=True)
    n = rows.height
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=[metric],
                     title=_share_title(metric, population_type, this_week=True),
                     y_title=None, x_title=_eligible_axis(), height=max(CHART_HEIGHT - 80, 110 + 26 * n),
                     left_margin=150)
    if n == 0:
        return _annotate_empty(fig, "populations")
    fig.add_trace(go.Bar(x=_pct(rows[metric]), y=[fmt.population_label(p) for p in rows["population"].to_list()], orientation="h",
                         marker_color=PALETTE[0], text=[_whole_pct(v) for v in _pct(rows[metric])],
                         textposition="outside", cliponaxis=False, showlegend=False,
                         customdata=rows["eligible"].to_list(),
                         hovertemplate=_hover(_("%{y}: %{x:.1f}{percent} of %{customdata} eligible"),
                                              percent=_percent_suffix())))
    org = publishable(week_rows.filter(pl.col("population_type") == "organisation"), size_columns=["eligible"],
                      min_group_size=min_group_size)
    if org.height and org[metric][0] is not None:
        x = 100 * float(org[metric][0])
        fig.add_vline(x=x, line_dash="dash", line_color=GREY,
                      annotation_text=_("organisation {share}").format(share=_whole_pct(x)),
                      annotation_position="top")
    fig.update_xaxes(rangemode="tozero", ticksuffix=_percent_suffix())
    return fig


def plot_usage_segments(shares: pl.DataFrame, *, population_type: str = "organisation",
                        population: str = "organisation",
                        min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Share of eligible people in each usage segment (``marts.usage_segments``), stacked, week by week.

    Grain: week x segment. Denominator: the population's eligible headcount that week.
    """
    table = "marts.usage_segments"
    require_columns(shares, ["week_start", "population_type", "population", "segment", "share", "eligible"],
                    table=table)
    _check_table_kind(shares, MetricKind.ACTIVITY, table)
    rows = publishable(
        shares.filter((pl.col("population_type") == population_type) & (pl.col("population") == population)),
        size_columns=["eligible"], min_group_size=min_group_size,
    ).sort("week_start")
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=["usage_segment_share"],
                     title=_("Usage segments (12-week habits), week by week"), y_title=_eligible_axis())
    if rows.height == 0:
        return _annotate_empty(fig, "weeks")
    colours = {"Power user": "#005a8c", "Habitual user": "#0072B2", "Novice user": "#56B4E9",
               "Low user": "#b9dcef", "Non-user": "#e3e3e3"}
    for i, seg in enumerate(rows["segment"].unique(maintain_order=True).to_list()):
        part = rows.filter(pl.col("segment") == seg)
        fig.add_trace(go.Scatter(x=part["week_start"].to_list(), y=_pct(part["share"]), mode="lines",
                                 name=segment_word(seg), stackgroup="segments", line={"width": 0.5},
                                 fillcolor=colours.get(seg, PALETTE[i % len(PALETTE)]),
                                 marker_color=colours.get(seg, PALETTE[i % len(PALETTE)]),
                                 hovertemplate=_share_hover(segment_word(seg))))
    fig.update_yaxes(range=[0, 100], ticksuffix=_percent_suffix())
    return fig


def plot_lifecycle(shares: pl.DataFrame, *, population_type: str = "organisation",
                   population: str = "organisation", min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Growth accounting (``marts.lifecycle``): new, returning and resurrecting people above zero,
    dormant below, as shares of eligible headcount, week by week.

    Grain: week x state. Denominator: the population's eligible headcount that week.
    """
    table = "marts.lifecycle"
    require_columns(shares, ["week_start", "population_type", "population", "state", "share", "eligible"],
                    table=table)
    _check_table_kind(shares, MetricKind.ACTIVITY, table)
    rows = publishable(
        shares.filter((pl.col("population_type") == population_type) & (pl.col("population") == population)),
        size_columns=["eligible"], min_group_size=min_group_size,
    ).sort("week_start")
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=["lifecycle_share"],
                     title=_("Who is active each week: new, returning, resurrecting; who went dormant"),
                     y_title=_eligible_axis())
    if rows.height == 0:
        return _annotate_empty(fig, "weeks")
    spec = (("returning", 1, "#0072B2"), ("new", 1, "#009E73"), ("resurrecting", 1, "#56B4E9"),
            ("dormant", -1, "#D55E00"))
    for state, sign, colour in spec:
        part = rows.filter(pl.col("state") == state)
        if part.height == 0:
            continue
        fig.add_trace(go.Bar(x=part["week_start"].to_list(), y=[None if v is None else sign * v
                                                                 for v in _pct(part["share"])],
                             name=lifecycle_word(state), marker_color=colour,
                             hovertemplate=_share_hover(lifecycle_word(state))))
    fig.update_layout(barmode="relative", bargap=0.15)
    fig.update_yaxes(ticksuffix=_percent_suffix())
    return fig


def plot_retention(triangle: pl.DataFrame, *, population: str = "organisation", metric: str = "retention_on",
                   max_cohorts: int = 12, max_weeks: int = 12,
                   min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Retention triangle (``marts.retention``) as a heat map: cohort x weeks since start.

    Grain: cohort x weeks since the cohort's start. Denominator: the cohort's members eligible in
    that week (``retention_on``) or in that week or later (``retention_on_or_after``). The latest
    ``max_cohorts`` cohorts and the first ``max_weeks`` weeks are shown.
    """
    table = "marts.retention"
    require_columns(triangle, ["population", "cohort_start", "weeks_since", "eligible", metric], table=table)
    _check_table_kind(triangle, MetricKind.ACTIVITY, table)
    rows = triangle.filter(pl.col("population") == population) if "population" in triangle.columns else triangle
    if "cohort_type" in rows.columns and rows.height:
        types = rows["cohort_type"].unique(maintain_order=True).to_list()
        rows = rows.filter(pl.col("cohort_type") == ("first_active_week" if "first_active_week" in types else types[0]))
    rows = publishable(rows, size_columns=["eligible"], min_group_size=min_group_size).filter(
        pl.col("weeks_since") <= max_weeks)
    cohorts = sorted(rows["cohort_start"].unique().to_list())[-max_cohorts:]
    rows = rows.filter(pl.col("cohort_start").is_in(cohorts))
    title = (_("Retention: share of each cohort active in week k after first activity") if metric == "retention_on"
             else _("Retention: share of each cohort active in or after week k after first activity"))
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=[metric], title=title,
                     y_title=_("cohort (first active week)"), x_title=_("weeks since first activity"))
    if rows.height == 0:
        return _annotate_empty(fig, "cohorts")
    wide = rows.pivot(on="weeks_since", index="cohort_start", values=metric, aggregate_function="first",
                      sort_columns=True).sort("cohort_start")
    ks = [c for c in wide.columns if c != "cohort_start"]
    z = [[None if v is None else 100 * v for v in wide[c].to_list()] for c in ks]
    z = [list(r) for r in zip(*z, strict=True)]
    fig.add_trace(go.Heatmap(z=z, x=[int(k) for k in ks], y=[d.isoformat() for d in wide["cohort_start"].to_list()],
                             colorscale="Blues", zmin=0, zmax=100,
                             colorbar={"ticksuffix": _percent_suffix(), "thickness": 12},
                             hovertemplate=_hover(_("cohort %{y}, week %{x}: %{z:.0f}{percent}"),
                                                    percent=_percent_suffix())))
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def plot_diffusion(projection: pl.DataFrame, *, population_type: str = "organisation",
                   population: str = "organisation", horizon_weeks: int = 26) -> go.Figure:
    """Observed and Bass-fitted cumulative adoption share with the bootstrap band (``marts.diffusion``,
    from :func:`transforms.metrics.diffusion.bass_projection`), projected past the last observed week.

    Grain: week. Denominator: the non-pilot eligible headcount at the fit's start week.
    """
    table = "marts.diffusion"
    require_columns(projection, ["week_start", "observed_share", "fitted_share"], table=table)
    _check_table_kind(projection, MetricKind.ACTIVITY, table)
    rows = projection.filter(pl.col("week_start").is_not_null())
    if "population_type" in rows.columns:
        rows = rows.filter((pl.col("population_type") == population_type) & (pl.col("population") == population))
    rows = rows.sort("week_start")
    observed_weeks = rows.filter(pl.col("observed_share").is_not_null())["week_start"]
    if observed_weeks.len():  # draw the projection for half a year past the last observed week
        rows = rows.filter(pl.col("week_start") <= observed_weeks.max() + dt.timedelta(weeks=horizon_weeks))
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=["projected_adoption_share"],
                     title=_("Diffusion: share ever active, observed and projected (Bass model)"),
                     y_title=_("% of non-pilot eligible employees"))
    if rows.height == 0 or rows["fitted_share"].drop_nulls().len() == 0 and rows["observed_share"].drop_nulls().len() == 0:
        return _annotate_empty(fig, "weeks")
    x = rows["week_start"].to_list()
    if {"band_low", "band_high"} <= set(rows.columns) and rows["band_low"].drop_nulls().len():
        fig.add_trace(go.Scatter(x=x + x[::-1], y=_pct(rows["band_high"]) + _pct(rows["band_low"])[::-1],
                                 fill="toself", fillcolor="rgba(0,114,178,0.15)", line={"width": 0}, mode="lines",
                                 name=_("bootstrap band"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=_pct(rows["fitted_share"]), mode="lines", name=_("Bass model (fitted, projected)"),
                             line={"color": PALETTE[0], "dash": "dash", "width": 2}))
    fig.add_trace(go.Scatter(x=x, y=_pct(rows["observed_share"]), mode="lines", name=_("observed"),
                             line={"color": "#000000", "width": 2.5}))
    for share in (50, 80):
        fig.add_hline(y=share, line_dash="dot", line_color=GREY, line_width=1)
    fig.update_yaxes(range=[0, 100], ticksuffix=_percent_suffix())
    return fig


# ------------------------------------------------------------------------------------- left behind


def plot_never_active(non_users: pl.DataFrame, *, population_type: str,
                      min_group_size: int = DEFAULT_MIN_GROUP_SIZE, max_bars: int = 15) -> go.Figure:
    """Share of eligible people never active so far (``marts.non_users``), by population, highest first.

    Grain: population at the as-of week. Denominator: the population's eligible headcount that week.
    """
    table = "marts.non_users"
    require_columns(non_users, ["population_type", "population", "eligible", "never_active_rate"], table=table)
    _check_table_kind(non_users, MetricKind.ACTIVITY, table)
    rows = publishable(non_users.filter(pl.col("population_type") == population_type), size_columns=["eligible"],
                       min_group_size=min_group_size).filter(pl.col("never_active_rate").is_not_null())
    rows = rows.sort("never_active_rate", descending=True).head(max_bars).sort("never_active_rate")
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=["never_active_rate"],
                     title=_("Never active so far, by {population_type}").format(
                         population_type=population_type_word(population_type)), y_title=None,
                     x_title=_("% of eligible employees never active"),
                     height=max(CHART_HEIGHT - 80, 110 + 26 * rows.height),
                     left_margin=150)
    if rows.height == 0:
        return _annotate_empty(fig, "populations")
    vals = _pct(rows["never_active_rate"])
    fig.add_trace(go.Bar(x=vals, y=[fmt.population_label(p) for p in rows["population"].to_list()], orientation="h",
                         marker_color=PALETTE[3], text=[_whole_pct(v) for v in vals], textposition="outside",
                         cliponaxis=False, showlegend=False, customdata=rows["eligible"].to_list(),
                         hovertemplate=_hover(_("%{y}: %{x:.1f}{percent} of %{customdata} eligible"),
                                              percent=_percent_suffix())))
    fig.update_xaxes(rangemode="tozero", ticksuffix=_percent_suffix())
    return fig


def plot_digital_divide(divide: pl.DataFrame, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Active rate of the two arms of the digital divide (``marts.digital_divide``), week by week.

    Grain: week. Denominator of each line: that arm's eligible headcount that week. The gap in
    points is the reading; it is not drawn on the same axis as the rates.
    """
    table = "marts.digital_divide"
    cols = ["week_start", "reference", "focus", "reference_active_rate", "focus_active_rate"]
    require_columns(divide, cols, table=table)
    _check_table_kind(divide, MetricKind.ACTIVITY, table)
    rows = divide.filter(pl.col("week_start").is_not_null())
    if "scope" in rows.columns:
        rows = rows.filter(pl.col("scope") == "week")
    rows = publishable(rows, size_columns=["reference_people", "focus_people"], min_group_size=min_group_size)
    rows = rows.sort("week_start")
    ref = str(rows["reference"][0]) if rows.height else None
    foc = str(rows["focus"][0]) if rows.height else None
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=["active_rate"],
                     title=_("Digital divide: weekly active share, {focus} vs {reference}").format(
                         focus=population_word(foc) if foc else _("focus group"),
                         reference=population_word(ref) if ref else _("reference group")),
                     y_title=_eligible_axis())
    if rows.height == 0:
        return _annotate_empty(fig, "weeks")
    for col, name in (("reference_active_rate", ref), ("focus_active_rate", foc)):
        label = population_word(name)
        fig.add_trace(go.Scatter(x=rows["week_start"].to_list(), y=_pct(rows[col]), mode="lines", name=label,
                                 line={"color": _colour(name, 0 if col.startswith("ref") else 3), "width": 2.5},
                                 hovertemplate=_share_hover(label)))
    fig.update_yaxes(rangemode="tozero", ticksuffix=_percent_suffix())
    return fig


def plot_manager_relay(relay: pl.DataFrame, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Active rate of adopted team members whose manager was / was not active the week before
    (``marts.manager_relay``, from :func:`transforms.metrics.manager_relay.team_uptake_by_manager_activity`),
    week by week.

    Grain: week x manager arm. Denominator of each line: the arm's adopted team members that week.
    Weeks where either arm is below the minimum group size are not drawn.
    """
    table = "marts.manager_relay"
    require_columns(relay, ["week_start", "rate_manager_active", "rate_manager_inactive"], table=table)
    _check_table_kind(relay, MetricKind.ACTIVITY, table)
    rows = relay.filter(pl.col("week_start").is_not_null())
    if "scope" in rows.columns:
        rows = rows.filter(pl.col("scope") == "week")
    rows = publishable(rows, size_columns=["members_manager_active", "members_manager_inactive"],
                       min_group_size=min_group_size).sort("week_start")
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=["team_active_rate_by_manager"],
                     title=_("Managers as relays: team members active, by their manager's activity the week before"),
                     y_title=_("% of adopted team members"))
    if rows.height == 0:
        return _annotate_empty(fig, "weeks")
    for col, name, colour in (("rate_manager_active", _("manager active the week before"), PALETTE[2]),
                              ("rate_manager_inactive", _("manager not active the week before"), GREY)):
        fig.add_trace(go.Scatter(x=rows["week_start"].to_list(), y=_pct(rows[col]), mode="lines", name=name,
                                 line={"color": colour, "width": 2.5},
                                 hovertemplate=_share_hover(name)))
    fig.update_yaxes(rangemode="tozero", ticksuffix=_percent_suffix())
    return fig


# -------------------------------------------------------------------------------------------- pilot


def plot_representativeness(rep: pl.DataFrame, *, threshold: float = 0.1, max_rows: int = 20,
                            min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Standardized mean differences, pilot vs the eligible population (``marts.pilot_representativeness``,
    from :func:`transforms.pilot.representativeness.pilot_representativeness`), for one cohort.

    Grain: HR attribute level or pre-pilot activity mean. A dot outside +/- ``threshold`` marks a
    difference large enough to bias a naive comparison. The ``max_rows`` largest |SMD| are drawn;
    suppressed levels (fewer than the minimum group size in the pilot or the population) are not.
    The comparison describes who is in the pilot (HR attributes, pre-pilot activity): it is
    declared on the activity kind with the headcount metric ``eligible``.
    """
    table = "marts.pilot_representativeness"
    require_columns(rep, ["variable", "smd"], table=table)
    rows = rep
    if "row_type" in rows.columns:
        rows = rows.filter(pl.col("row_type") != "summary")
    rows = publishable(rows, size_columns=["pilot_n", "population_n"], min_group_size=min_group_size)
    rows = rows.filter(pl.col("smd").is_not_null() & pl.col("smd").is_finite())
    rows = rows.with_columns(attribute_level_label(rows).alias("__label"), pl.col("smd").abs().alias("__abs")).sort(
        "__abs", descending=True).head(max_rows).sort("__abs")
    fig = new_figure(kind=MetricKind.ACTIVITY, metrics=["eligible"], title=title_for_representativeness(rep),
                     y_title=None, x_title=_("standardized difference (pilot minus eligible population)"),
                     height=max(CHART_HEIGHT - 60, 120 + 22 * rows.height), left_margin=210)
    if rows.height == 0:
        return _annotate_empty(fig, "attributes")
    flagged = [abs(v) > threshold for v in rows["smd"].to_list()]
    fig.add_vrect(x0=-threshold, x1=threshold, fillcolor="rgba(0,158,115,0.10)", line_width=0)
    fig.add_trace(go.Scatter(x=rows["smd"].to_list(), y=rows["__label"].to_list(), mode="markers",
                             marker={"size": 10, "color": [PALETTE[3] if f else PALETTE[2] for f in flagged]},
                             showlegend=False, hovertemplate=_hover(_("%{y}: SMD %{x:.2f}"))))
    fig.add_vline(x=0, line_color=GREY)
    fig.update_yaxes(type="category")
    return fig


def attribute_level_label(rows: pl.DataFrame) -> pl.Expr:
    """How a row of ``marts.pilot_representativeness`` is named: "site = HQ", "worker type = frontline",
    "actions per week before the pilot" (attributes and canonical levels in the report's language)."""
    from transforms.report.vocabulary import attribute_word

    variables = [v for v in rows["variable"].unique().to_list() if v is not None]
    label = pl.col("variable").cast(pl.Utf8).replace_strict({v: attribute_word(v) for v in variables}, default=None,
                                                            return_dtype=pl.Utf8)
    if "level" not in rows.columns:
        return label
    levels = [v for v in rows["level"].cast(pl.Utf8).unique().to_list() if v is not None]
    level = pl.col("level").cast(pl.Utf8).replace_strict({v: population_word(v) for v in levels}, default=None,
                                                         return_dtype=pl.Utf8)
    return pl.when(pl.col("level").is_null()).then(label).otherwise(pl.concat_str([label, pl.lit(" = "), level]))


def title_for_representativeness(rep: pl.DataFrame) -> str:
    cohorts = rep["cohort"].unique().to_list() if "cohort" in rep.columns else []
    if len(cohorts) == 1 and cohorts[0] != "all pilots":
        return _("Is pilot {cohort} like the organisation? Differences beyond the band bias a naive "
                 "comparison").format(cohort=cohorts[0])
    return _("Are the pilots like the organisation? Differences beyond the band bias a naive comparison")


def plot_pilot_effects(effects: pl.DataFrame, *, kind: MetricKind | str, metrics: Sequence[str],
                       title: str, unit_label: str, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Naive difference beside the adjusted estimates of the pilot's effect, with 95% intervals.

    ``effects``: the effects view of ``marts.pilot_effects`` (:func:`transforms.report.pilot_views.pilot_views`)
    for outcomes of ONE kind, one row per outcome x cohort x method with ``estimate``, ``ci_low``,
    ``ci_high``; the naive difference is the ``naive`` method's row. Grain: outcome x cohort x
    method. Estimand: the effect on the pilot's members (ATT). Rows with an arm below the minimum
    group size, or without an estimate, are not drawn.
    """
    from transforms.report.pilot_views import method_label

    table = "marts.pilot_effects"
    require_columns(effects, ["outcome", "method", "estimate", "ci_low", "ci_high"], table=table)
    rows = publishable(effects, size_columns=["n_treated", "n_control"], min_group_size=min_group_size).filter(
        pl.col("estimate").is_not_null() & pl.col("estimate").is_finite())
    if "cohort" not in rows.columns:
        rows = rows.with_columns(pl.lit("pilot").alias("cohort"))
    if "naive_difference" in rows.columns:  # a cohort without a naive row: its estimates carry the naive gap
        cols = ["outcome", "cohort", "method", "estimate", "ci_low", "ci_high"]
        has_naive = rows.filter(pl.col("method") == "naive").select("outcome", "cohort").unique()
        naive = (rows.filter(pl.col("naive_difference").is_not_null() & pl.col("naive_difference").is_finite())
                 .join(has_naive, on=["outcome", "cohort"], how="anti")
                 .group_by("outcome", "cohort", maintain_order=True)
                 .agg(pl.col("naive_difference").first().alias("estimate"))
                 .with_columns(pl.lit("naive").alias("method"), pl.lit(None, pl.Float64).alias("ci_low"),
                               pl.lit(None, pl.Float64).alias("ci_high")))
        rows = pl.concat([naive.select(cols), rows.select(cols)], how="vertical_relaxed")
    outcomes = rows["outcome"].unique(maintain_order=True).to_list()
    cohorts = rows["cohort"].unique(maintain_order=True).to_list()
    fig = new_figure(kind=kind, metrics=metrics, title=title, y_title=None,
                     x_title=_("effect on the pilot's members ({unit})").format(unit=unit_label),
                     height=max(CHART_HEIGHT - 100, 130 + 26 * rows.height), left_margin=250)
    if rows.height == 0:
        return _annotate_empty(fig, "effects")
    # top to bottom: outcome, cohort, naive first then the adjusted methods (a category axis draws
    # its first category at the bottom, hence the descending sort)
    order = {m: i for i, m in enumerate(["naive", "ipw", "aipw", "matching", "did_cs"])}
    rows = rows.with_columns(
        pl.col("outcome").replace_strict({o: i for i, o in enumerate(outcomes)}, return_dtype=pl.Int32).alias("__o"),
        pl.col("cohort").replace_strict({c: i for i, c in enumerate(cohorts)}, return_dtype=pl.Int32).alias("__c"),
        pl.col("method").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("__m"),
    ).sort("__o", "__c", "__m", descending=True)
    labels = [
        (f"{metric_word(o)} · " if len(outcomes) > 1 else "") + (f"{population_word(c)} · " if len(cohorts) > 1 else "")
        + method_label(m)
        for o, c, m in rows.select("outcome", "cohort", "method").iter_rows()
    ]
    est = rows["estimate"].to_list()
    is_naive = [m == "naive" for m in rows["method"].to_list()]
    fig.add_trace(go.Scatter(
        x=est, y=labels, mode="markers", showlegend=False,
        marker={"size": 10, "symbol": ["x" if n else "circle" for n in is_naive],
                "color": [GREY if n else PALETTE[0] for n in is_naive]},
        error_x={"type": "data", "symmetric": False, "color": "#555555",
                 "array": [None if h is None or e is None else h - e for h, e in zip(rows["ci_high"], est)],
                 "arrayminus": [None if lo is None or e is None else e - lo for lo, e in zip(rows["ci_low"], est)]},
        hovertemplate=_hover(_("%{y}: %{x:.3g}"))))
    fig.add_vline(x=0, line_color=GREY)
    values = [v for v in [*est, *rows["ci_low"].to_list(), *rows["ci_high"].to_list(), 0.0]
              if v is not None and v == v]
    pad = 0.08 * ((max(values) - min(values)) or 1.0)
    fig.update_xaxes(range=[min(values) - pad, max(values) + pad], zeroline=False)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels)
    return fig


def plot_event_study(es: pl.DataFrame, *, kind: MetricKind | str, metrics: Sequence[str], title: str,
                     unit_label: str, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Effect by week relative to the pilot's start (event-study rows of ``marts.pilot_effects``), with 95% intervals.

    Grain: weeks relative to each wave's start (negative = before). Estimates before zero test
    the parallel-trends assumption: they should hover around zero.
    """
    table = "marts.pilot_effects"
    rel = _pick(es, ["relative_week", "event_time", "weeks_since_start", "e"], table=table,
                what="the week relative to the pilot start")
    est = _pick(es, ["estimate", "att", "effect"], table=table, what="the estimate")
    require_columns(es, [rel, est, "ci_low", "ci_high"], table=table)
    rows = publishable(es, size_columns=["n_treated", "n_control"], min_group_size=min_group_size).filter(
        pl.col(est).is_not_null() & pl.col(est).is_finite()).sort(rel)
    fig = new_figure(kind=kind, metrics=metrics, title=title, y_title=_("effect ({unit})").format(unit=unit_label),
                     x_title=_("weeks relative to the pilot start"))
    if rows.height == 0:
        return _annotate_empty(fig, "weeks")
    x = rows[rel].to_list()
    fig.add_trace(go.Scatter(x=x + x[::-1], y=rows["ci_high"].to_list() + rows["ci_low"].to_list()[::-1],
                             fill="toself", fillcolor="rgba(0,114,178,0.15)", line={"width": 0},
                             mode="lines", name=_("95% interval"), hoverinfo="skip"))
    colours = [GREY if v < 0 else PALETTE[0] for v in x]
    fig.add_trace(go.Scatter(x=x, y=rows[est].to_list(), mode="lines+markers", name=_("estimate"),
                             line={"color": PALETTE[0]}, marker={"color": colours, "size": 7},
                             hovertemplate=_hover(_("week %{x}: %{y:.3g}"))))
    fig.add_hline(y=0, line_color=GREY)
    fig.add_vline(x=-0.5, line_dash="dot", line_color=GREY, annotation_text=_("pilot starts"),
                  annotation_position="top right")
    fig.update_xaxes(zeroline=False, dtick=2)
    return fig


def plot_pilot_projection(proj: pl.DataFrame, *, kind: MetricKind | str, metrics: Sequence[str], title: str,
                          unit_label: str, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """The effect on the pilot's members beside the effect projected onto the whole eligible population.

    ``proj``: projection rows of ``marts.pilot_effects`` (one kind), one row per outcome x scope
    (``pilot`` / ``population``) with ``estimate``, ``ci_low``, ``ci_high``. Grain: outcome x scope.
    """
    table = "marts.pilot_effects"
    require_columns(proj, ["outcome", "scope", "estimate", "ci_low", "ci_high"], table=table)
    rows = publishable(proj, size_columns=["n_treated", "n_control"], min_group_size=min_group_size).filter(
        pl.col("estimate").is_not_null() & pl.col("estimate").is_finite())
    names = {o: metric_word(o) for o in rows["outcome"].unique().to_list()}
    outcome = pl.col("outcome").replace_strict(names, default=None, return_dtype=pl.Utf8)
    if "cohort" in rows.columns:
        cohorts = {c: population_word(c) for c in rows["cohort"].unique().to_list() if c is not None}
        outcome = pl.concat_str([outcome, pl.lit(" · "), pl.col("cohort").replace_strict(
            cohorts, default=None, return_dtype=pl.Utf8)])
    rows = rows.with_columns(outcome.alias("outcome"))
    fig = new_figure(kind=kind, metrics=metrics, title=title, y_title=None,
                     x_title=_("effect ({unit})").format(unit=unit_label),
                     height=max(CHART_HEIGHT - 60, 150 + 60 * rows["outcome"].n_unique()), left_margin=170)
    if rows.height == 0:
        return _annotate_empty(fig, "projections")
    for i, scope in enumerate(rows["scope"].unique(maintain_order=True).to_list()):
        part = rows.filter(pl.col("scope") == scope)
        est = part["estimate"].to_list()
        fig.add_trace(go.Bar(
            x=est, y=[str(o) for o in part["outcome"].to_list()], orientation="h", name=_scope_label(scope),
            marker_color=(PALETTE[2], PALETTE[0])[i % 2],
            error_x={"type": "data", "symmetric": False,
                     "array": [None if h is None or e is None else h - e for h, e in zip(part["ci_high"], est)],
                     "arrayminus": [None if lo is None or e is None else e - lo for lo, e in zip(part["ci_low"], est)]},
        ))
    fig.update_layout(barmode="group")
    fig.add_vline(x=0, line_color=GREY)
    return fig


def _scope_label(scope: object) -> str:
    return {"pilot": _("pilot members (ATT)"), "population": _("whole eligible population (projected)")}.get(
        str(scope), str(scope))


def plot_pilot_power(power: pl.DataFrame, *, kind: MetricKind | str, metrics: Sequence[str],
                     title: str) -> go.Figure:
    """The smallest effect the pilot can detect, as a share of each outcome's mean (``marts.pilot_power``,
    from :func:`transforms.pilot.power.kpi_power`).

    Grain: outcome (one bar each, for the pilot's size and duration), or outcome x pilot duration
    (one line each, falling as the pilot runs longer) when the table holds several durations. The
    dashed line is the effect the sponsor hopes to see (``target_effect`` relative to the mean).
    """
    table = "marts.pilot_power"
    weeks = _pick(power, ["weeks", "duration_weeks", "pilot_weeks"], table=table, what="the pilot duration")
    require_columns(power, ["outcome", weeks, "mde_relative"], table=table)
    rows = power.filter(pl.col("mde_relative").is_not_null() & pl.col("mde_relative").is_finite()).sort("outcome", weeks)
    curves = rows.height > 0 and rows.group_by("outcome").agg(pl.col(weeks).n_unique().alias("n"))["n"].max() > 1
    fig = new_figure(kind=kind, metrics=metrics, title=title, y_title=_("detectable effect, % of the mean"),
                     x_title=_("weeks of pilot") if curves else None)
    if rows.height == 0:
        return _annotate_empty(fig, "outcomes")
    if curves:
        for i, outcome in enumerate(rows["outcome"].unique(maintain_order=True).to_list()):
            part = rows.filter(pl.col("outcome") == outcome)
            fig.add_trace(go.Scatter(x=part[weeks].to_list(), y=_pct(part["mde_relative"]), mode="lines",
                                     name=metric_word(outcome),
                                     line={"color": PALETTE[i % len(PALETTE)], "width": 2.5}))
    else:
        fig.add_trace(go.Bar(x=[metric_word(o) for o in rows["outcome"].to_list()], y=_pct(rows["mde_relative"]),
                             marker_color=PALETTE[0], showlegend=False, width=0.35,
                             text=[_whole_pct(v) for v in _pct(rows["mde_relative"])], textposition="outside",
                             cliponaxis=False,
                             hovertemplate=_hover(_("%{x}: %{y:.1f}{percent} of its mean"),
                                                    percent=_percent_suffix())))
    if {"target_effect", "mean"} <= set(rows.columns):
        rel = (rows["target_effect"] / rows["mean"].abs()).drop_nulls()
        if rel.len():
            fig.add_hline(y=100 * float(rel[0]), line_dash="dash", line_color=GREY,
                          annotation_text=_("effect hoped for"), annotation_position="top left")
    fig.update_yaxes(ticksuffix=_percent_suffix(), rangemode="tozero")
    return fig


# ------------------------------------------------------------------------------------------ outputs


def plot_community_outputs(outputs: pl.DataFrame, *, week_start: dt.date, weeks: int = 4) -> go.Figure:
    """Outputs per week recognised by each community's charter, over the last ``weeks`` weeks,
    beside the charter's weekly target (``marts.community_outputs``).

    Grain: community (mean over the window). Denominator: none (a count per week). Kind: output;
    the communities' activity is not on this chart.
    """
    table = "marts.community_outputs"
    require_columns(outputs, ["community", "week_start", "outputs"], table=table)
    start = week_start - dt.timedelta(weeks=weeks - 1)
    window = outputs.filter(pl.col("week_start").is_between(start, week_start))
    agg = [pl.col("outputs").sum().truediv(weeks).alias("per_week")]
    if "target_per_week" in outputs.columns:
        agg.append(pl.col("target_per_week").max().alias("target"))
    rows = window.group_by("community").agg(agg).sort("per_week")
    fig = new_figure(kind=MetricKind.OUTPUT, metrics=["community_outputs"],
                     title=_("Community outputs per week (mean of the last {weeks} weeks) vs target").format(weeks=weeks),
                     y_title=None, x_title=_("outputs per week (per the community's charter)"),
                     height=max(CHART_HEIGHT - 60, 140 + 30 * rows.height), left_margin=170)
    if rows.height == 0:
        return _annotate_empty(fig, "community outputs", hidden=False)  # counts: never suppressed
    names = [str(c) for c in rows["community"].to_list()]
    fig.add_trace(go.Bar(x=rows["per_week"].to_list(), y=names, orientation="h", name=_("outputs per week"),
                         marker_color=PALETTE[2], hovertemplate=_hover(_("%{y}: %{x:.1f} per week"))))
    if "target" in rows.columns and rows["target"].drop_nulls().len():
        fig.add_trace(go.Scatter(x=rows["target"].to_list(), y=names, mode="markers", name=_("target per week"),
                                 marker={"symbol": "line-ns-open", "size": 22, "line": {"width": 3},
                                         "color": "#000000"}))
    fig.update_xaxes(rangemode="tozero")
    return fig


# ------------------------------------------------------------------------------------------ outcomes


def plot_kpi_trend(kpis: pl.DataFrame, *, kpi: str, unit: str = "", title: str | None = None,
                   min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """One outcome KPI over time (``marts.outcome_kpis``): units in the pilot vs the others.

    Grain: period x group. The value is the mean over the units of the group in the period
    (weighted by headcount when the table has it). Kind: outcome, on its own axis in its own unit.
    """
    table = "marts.outcome_kpis"
    period = _pick(kpis, ["week_start", "period_start"], table=table, what="the KPI's period")
    require_columns(kpis, ["kpi", period, "value"], table=table)
    _check_table_kind(kpis, MetricKind.OUTCOME, table)
    rows = kpis.filter((pl.col("kpi") == kpi) & pl.col("value").is_not_null())
    size = next((c for c in ("headcount", "eligible", "people") if c in rows.columns), None)
    rows = publishable(rows, size_columns=[size] if size else [], min_group_size=min_group_size)
    group = _kpi_group_expr(rows)
    weight = pl.col(size).cast(pl.Float64) if size else pl.lit(1.0)
    series = (rows.with_columns(group.alias("__group"), weight.alias("__w"))
              .group_by("__group", period)
              .agg(((pl.col("value") * pl.col("__w")).sum() / pl.col("__w").sum()).alias("value"),
                   pl.len().alias("units"))
              .sort(period))
    fig = new_figure(kind=MetricKind.OUTCOME, metrics=["kpi_value"], title=title or f"{kpi}",
                     y_title=unit or _("value"))
    if series.height == 0:
        return _annotate_empty(fig, "periods")
    labels = {"pilot": _("pilot units"), "other": _("other units"), "all": _("all units")}
    for i, g in enumerate(sorted(series["__group"].unique().to_list(), key=lambda g: labels[g])):
        part = series.filter(pl.col("__group") == g)
        fig.add_trace(go.Scatter(x=part[period].to_list(), y=part["value"].to_list(), mode="lines", name=labels[g],
                                 line={"color": _colour("pilot" if g == "pilot" else "non_pilot", i),
                                       "width": 2.5},
                                 customdata=part["units"].to_list(),
                                 hovertemplate=_hover(_("{group}: %{y:.3g} (%{customdata} units)"),
                                                     group=labels[g])))
    return fig


def _kpi_group_expr(rows: pl.DataFrame) -> pl.Expr:
    """The group of a KPI row: ``pilot`` (units mostly in a pilot), ``other``, or ``all`` when the table cannot tell."""
    for c in ("pilot_share", "pilot_member_share"):
        if c in rows.columns:
            return pl.when(pl.col(c).fill_null(0) >= 0.5).then(pl.lit("pilot")).otherwise(pl.lit("other"))
    for c in ("in_pilot", "is_pilot"):
        if c in rows.columns:
            return pl.when(pl.col(c).fill_null(False)).then(pl.lit("pilot")).otherwise(pl.lit("other"))
    return pl.lit("all")


def plot_kpi_activity_link(link: pl.DataFrame, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> go.Figure:
    """Association of a team's active share now with an outcome KPI k weeks later
    (``marts.kpi_activity_link``, from :func:`transforms.metrics.outcome_kpis.kpi_activity_lead_lag`).

    Grain: KPI x lag. Correlation across team-weeks (teams of at least the minimum group size);
    lags with fewer teams than the minimum group size are not drawn. Kind: link, an association,
    not an effect.
    """
    table = "marts.kpi_activity_link"
    lag = _pick(link, ["lag_weeks", "lag", "k"], table=table, what="the lag in weeks")
    require_columns(link, ["kpi", lag, "correlation"], table=table)
    _check_table_kind(link, MetricKind.LINK, table)
    rows = publishable(link, size_columns=["n_teams"], min_group_size=min_group_size).filter(
        pl.col("correlation").is_not_null()).sort("kpi", lag)
    fig = new_figure(kind=MetricKind.LINK, metrics=["kpi_activity_lead_lag"],
                     title=_("Does activity run ahead of outcomes? Correlation by lag (association, not effect)"),
                     y_title=_("correlation across teams"), x_title=_("weeks between a team's activity and its KPI"))
    if rows.height == 0:
        hidden = "suppressed" in link.columns and bool(link["suppressed"].fill_null(False).any())
        return _annotate_empty(fig, "lags", hidden=hidden or publishable(
            link, size_columns=["n_teams"], min_group_size=min_group_size).height < link.height)
    for i, name in enumerate(rows["kpi"].unique(maintain_order=True).to_list()):
        part = rows.filter(pl.col("kpi") == name)
        fig.add_trace(go.Scatter(x=part[lag].to_list(), y=part["correlation"].to_list(), mode="lines+markers",
                                 name=str(name), line={"color": PALETTE[i % len(PALETTE)], "width": 2.5},
                                 hovertemplate=_hover(_("{kpi}, lag %{x}: r = %{y:.2f}"), kpi=name)))
    fig.add_hline(y=0, line_color=GREY)
    fig.update_yaxes(range=[-1, 1])
    fig.update_xaxes(dtick=1)
    return fig


# ------------------------------------------------------------------------------------------ quality


def plot_coverage(coverage: pl.DataFrame) -> go.Figure:
    """Rows received per source, split into kept, filtered (bots, duplicates) and rejected
    (``quality.coverage``). Grain: source. Denominator: rows received from the source.
    """
    table = "quality.coverage"
    source = _pick(coverage, ["source", "connector"], table=table, what="the source")
    kept = _pick(coverage, ["rows_kept", "kept"], table=table, what="rows kept")
    rejected = _pick(coverage, ["rows_rejected", "rejected"], table=table, what="rows rejected")
    filtered = next((c for c in ("rows_filtered", "filtered") if c in coverage.columns), None)
    rows = coverage.group_by(source, maintain_order=True).agg(
        pl.col(kept).sum(), pl.col(rejected).sum(), *([pl.col(filtered).sum()] if filtered else []))
    fig = new_figure(kind=MetricKind.PREREQUISITE, metrics=[],
                     title=_("Data received per source: kept, filtered, rejected"), y_title=None, x_title=_("rows"),
                     height=max(CHART_HEIGHT - 80, 140 + 28 * rows.height), left_margin=130)
    fig.update_layout(barmode="stack")
    if rows.height == 0:
        return _annotate_empty(fig, "sources", hidden=False)
    names = [str(s) for s in rows[source].to_list()]
    parts = [(kept, _("kept"), PALETTE[2]), *([(filtered, _("filtered (bots, duplicates)"), GREY)] if filtered else []),
             (rejected, _("rejected (quarantined)"), PALETTE[3])]
    for col, name, colour in parts:
        fig.add_trace(go.Bar(x=rows[col].to_list(), y=names, orientation="h", name=name, marker_color=colour))
    return fig


def plot_match_rates(match: pl.DataFrame, *, threshold: float | None = None) -> go.Figure:
    """Share of each platform's (non-automated) accounts resolved to an HR employee (``quality.match_rates``).

    Grain: platform source. Denominator: the platform's non-automated accounts.
    """
    table = "quality.match_rates"
    source = _pick(match, ["source", "connector"], table=table, what="the source")
    rate = _pick(match, ["match_rate", "identity_match_rate"], table=table, what="the match rate")
    if threshold is None and "threshold" in match.columns and match["threshold"].drop_nulls().len():
        threshold = float(match["threshold"].drop_nulls()[0])
    rows = match.filter(pl.col(rate).is_not_null()).sort(rate)
    fig = new_figure(kind=MetricKind.PREREQUISITE, metrics=["identity_match_rate"],
                     title=_("Identity match rate: platform accounts resolved to an employee"), y_title=None,
                     x_title=_("% of accounts (bots excluded)"), height=max(CHART_HEIGHT - 100, 130 + 28 * rows.height),
                     left_margin=130)
    if rows.height == 0:
        return _annotate_empty(fig, "sources with human accounts", hidden=False)
    vals = _pct(rows[rate])
    fig.add_trace(go.Bar(x=vals, y=[str(s) for s in rows[source].to_list()], orientation="h", showlegend=False,
                         marker_color=[PALETTE[3] if threshold is not None and v < 100 * threshold else PALETTE[0]
                                       for v in vals],
                         text=[fmt.pct(v / 100, 1) for v in vals], textposition="inside"))
    if threshold is not None:
        fig.add_vline(x=100 * threshold, line_dash="dash", line_color=GREY, annotation_text=_("threshold"),
                      annotation_position="top")
    fig.update_xaxes(range=[0, 100], ticksuffix=_percent_suffix())
    return fig
