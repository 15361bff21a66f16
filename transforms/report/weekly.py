"""Render the weekly adoption report as one HTML page that opens offline.

plotly.js is embedded once in the page's head (about 4.8 MB), every chart is a ``div`` drawn by
it, and nothing is fetched from the network. The page prints on A4: each main section starts a
new page, a chart and its reading never split across pages, and charts are drawn
:data:`~transforms.report.charts.CHART_WIDTH` pixels wide, which fits the printable width.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from functools import lru_cache

import plotly.io as pio
from plotly.offline import get_plotlyjs

from transforms.report import charts
from transforms.report import format as fmt
from transforms.report.headline import Headline, headline
from transforms.report.i18n import (
    DEFAULT_LANGUAGE,
    _,
    current_language,
    format_datetime,
    normalise_language,
    plotly_locale,
    use_language,
)
from transforms.report.inputs import ReportInputError, ReportInputs
from transforms.report.sections import ChartBlock, NoteBlock, Section, TableBlock, build_sections
from transforms.report.vocabulary import kind_word

__all__ = ["Report", "build_report", "iso_week_label", "render_html", "render_weekly_report"]


def iso_week_label(week_start: dt.date) -> str:
    """``YYYY-Www`` of the ISO week of ``week_start``."""
    year, week, _ = week_start.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Report:
    """A built report: its headline and sections (figures included), before rendering, and the
    language they were written in (the page is rendered in it too)."""

    inputs: ReportInputs
    headline: Headline | None
    sections: tuple[Section, ...]
    language: str = DEFAULT_LANGUAGE

    @property
    def week_label(self) -> str:
        return iso_week_label(self.inputs.week_start)

    @property
    def charts(self) -> list[ChartBlock]:
        return [c for s in self.sections for c in s.charts]

    @property
    def missing_tables(self) -> list[str]:
        """Notes of the sections saying a table is not available."""
        return [b.text for s in self.sections for b in s.blocks if isinstance(b, NoteBlock) and b.level == "missing"]

    @property
    def errors(self) -> list[str]:
        """Notes of tables that were provided but could not be shown."""
        return [b.text for s in self.sections for b in s.blocks if isinstance(b, NoteBlock) and b.level == "error"]


def build_report(inputs: ReportInputs, *, match_threshold: float | None = None, language: str | None = None) -> Report:
    """Headline and sections of the week, written in ``language`` (default: the active language of
    :mod:`transforms.report.i18n`, English unless a ``use_language`` block says otherwise).
    ``marts.adoption_curve`` is required for the headline; without it the report still renders and says so."""
    lang = normalise_language(language) if language else current_language()
    with use_language(lang):
        curve = inputs.table("marts.adoption_curve")
        head = None
        if curve is not None:
            try:
                head = headline(curve, inputs.week_start, min_group_size=inputs.min_group_size)
            except ReportInputError:
                head = None
        return Report(inputs=inputs, headline=head, language=lang,
                      sections=tuple(build_sections(inputs, match_threshold=match_threshold)))


#: plotly.js's default topojson location (for geographic maps, which the report never draws): the
#: only CDN address in the library; pointed at a relative path so the page names no CDN at all.
_TOPOJSON_DEFAULT = 'dflt:"https://cdn.plot.ly/un/"'


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    js = get_plotlyjs()
    if _TOPOJSON_DEFAULT in js:
        js = js.replace(_TOPOJSON_DEFAULT, 'dflt:"./topojson/"')
    return js


_CSS = """
:root { --ink: #1d2125; --muted: #5b6470; --line: #dfe3e8; --accent: #0072B2; --warn: #b3541e; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--ink);
       max-width: 780px; margin: 2.5rem auto; padding: 0 1rem; line-height: 1.45; background: #fff; }
div.notice { border: 2px solid #b42318; background: #fef3f2; color: #7a271a; padding: .6rem .9rem;
  margin: 0 0 1rem 0; border-radius: 4px; font-weight: 600; }
header.report-header { border-bottom: 3px solid var(--accent); padding-bottom: .8rem; margin-bottom: 1.2rem; }
header.report-header h1 { font-size: 1.7rem; margin: 0 0 .3rem 0; }
header.report-header p { margin: .15rem 0; color: var(--muted); font-size: .92rem; }
.headline { display: grid; grid-template-columns: repeat(4, 1fr); gap: .7rem; margin: 1.2rem 0 1.5rem; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: .75rem .8rem; background: #f8fafc; }
.kpi .value { font-size: 1.75rem; font-weight: 650; color: var(--accent); line-height: 1.1; }
.kpi .label { font-size: .84rem; margin-top: .25rem; }
.kpi .change { font-size: .78rem; color: var(--muted); margin-top: .3rem; }
nav.toc { font-size: .9rem; color: var(--muted); margin-bottom: 1rem; }
nav.toc a { color: var(--accent); text-decoration: none; margin-right: .9rem; white-space: nowrap; }
section.report-section { margin-top: 2.2rem; }
section.report-section > h2 { font-size: 1.3rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem;
                              margin-bottom: .4rem; }
.kinds { font-size: .72rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.intro { color: var(--muted); font-size: .93rem; margin-top: .3rem; }
figure.chart { margin: 1.3rem 0 1.6rem; break-inside: avoid; page-break-inside: avoid; }
figure.chart figcaption.reading { font-size: .95rem; margin-top: .3rem; padding-left: .6rem;
                                  border-left: 3px solid var(--accent); }
p.note { font-size: .93rem; margin: .7rem 0; }
p.note.missing { color: var(--muted); font-style: italic; }
p.note.error { color: var(--warn); }
table.small { border-collapse: collapse; font-size: .82rem; margin: .6rem 0 1.2rem; width: 100%;
              break-inside: avoid; page-break-inside: avoid; }
table.small caption { text-align: left; font-weight: 600; margin-bottom: .3rem; font-size: .88rem; }
table.small th, table.small td { border-bottom: 1px solid var(--line); padding: .25rem .4rem; text-align: left; }
table.small td.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { margin-top: 3rem; border-top: 1px solid var(--line); padding-top: .6rem; font-size: .8rem;
         color: var(--muted); }
@page { size: A4 portrait; margin: 12mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10.5pt; }
  nav.toc { display: none; }
  section.report-section { break-before: page; page-break-before: always; margin-top: 0; }
  .headline { break-inside: avoid; page-break-inside: avoid; }
  .kpi { background: none; }
  a { color: inherit; text-decoration: none; }
}
"""


def _headline_html(head: Headline | None) -> str:
    if head is None:
        return ("<p class='note missing'>"
                + html.escape(_("Headline figures: not available (marts.adoption_curve is missing).")) + "</p>")
    cards = []
    for f in head.figures:
        cards.append(
            f"<div class='kpi' id='headline-{f.key}'><div class='value'>{html.escape(f.value_text)}</div>"
            f"<div class='label'>{html.escape(f.label)}</div>"
            f"<div class='change'>{html.escape(f.change_text)}</div></div>"
        )
    return "<div class='headline'>" + "".join(cards) + "</div>"


#: A table cell that is a number (right-aligned): digits with English or French separators, an
#: optional percent sign, and an interval "a to b" / "a à b".
_NUMERIC = re.compile(r"^[+-]?[\d,.\u202f\u00a0]*\d[\u00a0]?%?( (to|à) [+-]?[\d,.\u202f\u00a0]*\d[\u00a0]?%?)?$")


def _table_html(t: TableBlock) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
    body = "".join(
        "<tr>" + "".join(f"<td class='{'num' if _NUMERIC.match(c) else ''}'>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in t.rows
    )
    return (f"<table class='small'><caption>{html.escape(t.caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _chart_html(block: ChartBlock, chart_id: str) -> str:
    kind = charts.figure_kind(block.figure).value
    metrics = ",".join(charts.figure_metrics(block.figure))
    div = pio.to_html(block.figure, full_html=False, include_plotlyjs=False, div_id=chart_id,
                      config={"displayModeBar": False, "responsive": False, "staticPlot": False,
                              "locale": current_language()})
    return (f"<figure class='chart' data-kind='{kind}' data-metrics='{html.escape(metrics)}' "
            f"data-table='{html.escape(block.table)}'>{div}"
            f"<figcaption class='reading'>{html.escape(block.reading)}</figcaption></figure>")


def _section_html(section: Section, first_chart: int) -> tuple[str, int]:
    kinds = _("metric kind: {kinds}").format(kinds=" / ".join(kind_word(k) for k in section.kinds))
    parts = [f"<section class='report-section' id='{section.key}'><h2>{html.escape(section.title)}</h2>",
             f"<div class='kinds' data-kinds='{' '.join(k.value for k in section.kinds)}'>"
             f"{html.escape(kinds)}</div>",
             f"<p class='intro'>{html.escape(section.intro)}</p>"]
    n = first_chart
    for block in section.blocks:
        if isinstance(block, ChartBlock):
            parts.append(_chart_html(block, f"chart-{n}"))
            n += 1
        elif isinstance(block, TableBlock):
            parts.append(_table_html(block))
        else:
            parts.append(f"<p class='note {block.level}'>{html.escape(block.text)}</p>")
    parts.append("</section>")
    return "".join(parts), n


def _plotly_locale_script() -> str:
    """Register the report's language with plotly.js (month names on date axes, separators); empty in English."""
    spec = plotly_locale()
    if spec is None:
        return ""
    return f"<script type=\"text/javascript\">Plotly.register({json.dumps(spec, ensure_ascii=False)});</script>"


def _esc(text: str) -> str:
    return html.escape(text)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (plotly.js embedded once, no network access), in the
    language it was built in."""
    with use_language(report.language):
        return _page(report)


def _page(report: Report) -> str:
    inputs = report.inputs
    label = report.week_label
    week_end = inputs.week_start + dt.timedelta(days=6)
    eligible = report.headline.eligible if report.headline else None
    body, n = [], 0
    for section in report.sections:
        text, n = _section_html(section, n)
        body.append(text)
    toc = "".join(f"<a href='#{s.key}'>{html.escape(s.title)}</a>" for s in report.sections)
    generated = format_datetime(inputs.generated_at or dt.datetime.now(dt.UTC))
    summary = {"week": label, "charts": n, "language": current_language(),
               "headline": report.headline.as_metadata() if report.headline else None}
    summary_json = json.dumps(summary).replace("</", "<\\/")
    org = inputs.organisation
    period = _("Week of {start} to {end}").format(start=fmt.long_date(inputs.week_start), end=fmt.long_date(week_end))
    facts = [period]
    if eligible is not None:
        facts.append(_("{eligible} eligible employees").format(eligible=fmt.count(eligible)))
    facts.append(_("generated {when}").format(when=generated))
    footer = [_("uptake weekly adoption report"), org, label,
              _("minimum group size {size}").format(size=inputs.min_group_size),
              _("person keys are pseudonyms; no names, emails or message text.")]
    title = _("{organisation}: adoption report {week}").format(organisation=org, week=label)
    heading = _("{organisation}: adoption report, week {week}").format(organisation=org, week=label)
    promise = _("Every share is of eligible employees from the HR directory, never of platform accounts. Groups of "
                "fewer than {size} people are never shown. Activity, community outputs and business outcomes are kept "
                "apart.").format(size=inputs.min_group_size)
    return f"""<!DOCTYPE html>
<html lang="{current_language()}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{_CSS}</style>
<script type="text/javascript">{_plotly_js()}</script>
{_plotly_locale_script()}
<script type="application/json" id="report-summary">{summary_json}</script>
</head><body>
<header class="report-header">
<h1>{_esc(heading)}</h1>
<p>{" &middot; ".join(_esc(f) for f in facts)}</p>
<p>{_esc(promise)}</p>
</header>
{"".join(f"<div class='notice' role='alert'>{html.escape(n)}</div>" for n in inputs.notices)}
{_headline_html(report.headline)}
<nav class="toc">{toc}</nav>
{''.join(body)}
<footer>{" &middot; ".join(_esc(f) for f in footer)}</footer>
</body></html>
"""


def render_weekly_report(inputs: ReportInputs, *, match_threshold: float | None = None,
                         language: str | None = None) -> str:
    """Build and render the report of ``inputs.week_start``: one offline HTML page, written in
    ``language`` (``"en"``, the default, or ``"fr"``; :data:`transforms.report.i18n.LANGUAGES`)."""
    return render_html(build_report(inputs, match_threshold=match_threshold, language=language or DEFAULT_LANGUAGE))
