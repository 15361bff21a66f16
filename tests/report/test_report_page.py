"""The whole report from hand-made marts: offline, sections in order, kinds never mixed on a chart,
small cells nowhere, absent or broken marts reported in one line, printable."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from report import report_fixtures as fx
from transforms.metrics.registry import MetricKind, get_metric
from transforms.report import ReportInputs, build_report, render_html
from transforms.report.charts import figure_kind, figure_metrics


def _inputs(tables=None, week=fx.REPORT_WEEK, **kw) -> ReportInputs:
    return ReportInputs(organisation="Acme", week_start=week, tables=fx.all_tables() if tables is None else tables,
                        min_group_size=5, kpi_registry=fx.KPI_REGISTRY,
                        generated_at=dt.datetime(2026, 4, 13, 6, 0, tzinfo=dt.UTC), **kw)


@pytest.fixture(scope="module")
def full_report():
    return build_report(_inputs())


@pytest.fixture(scope="module")
def full_html(full_report):
    return render_html(full_report)


def test_every_mart_is_shown_and_nothing_failed(full_report):
    assert full_report.errors == []
    assert full_report.missing_tables == []
    assert [s.key for s in full_report.sections] == ["targets", "adoption", "left-behind", "pilot", "next-wave",
                                                     "outputs", "outcomes", "perception", "quality"]
    assert len(full_report.charts) >= 20


def test_no_chart_mixes_metric_kinds(full_report):
    """Each chart declares one kind, every metric it draws is registered with that kind, and each
    section holds only the kinds it is about (outcomes never share a chart with activity)."""
    allowed = {"adoption": {MetricKind.ACTIVITY}, "left-behind": {MetricKind.ACTIVITY},
               "pilot": {MetricKind.ACTIVITY, MetricKind.OUTCOME}, "outputs": {MetricKind.OUTPUT},
               "outcomes": {MetricKind.OUTCOME, MetricKind.LINK}, "quality": {MetricKind.PREREQUISITE},
               "targets": {MetricKind.ACTIVITY, MetricKind.OUTPUT, MetricKind.OUTCOME},
               "next-wave": {MetricKind.ACTIVITY},
               "perception": {MetricKind.PERCEPTION, MetricKind.LINK}}
    for section in full_report.sections:
        for chart in section.charts:
            kind = figure_kind(chart.figure)
            assert kind in allowed[section.key], (section.key, chart.figure.layout.title.text)
            assert {get_metric(m).kind for m in figure_metrics(chart.figure)} <= {kind}
    pilot = [figure_kind(c.figure) for c in full_report.sections[3].charts]
    assert MetricKind.ACTIVITY in pilot and MetricKind.OUTCOME in pilot  # effects on both, on separate charts


def test_the_page_opens_offline_with_plotly_embedded_once(full_html):
    assert "cdn.plot.ly" not in full_html and "<script src=" not in full_html
    assert len(re.findall(r"plotly\.js v\d", full_html)) == 1  # the library's banner, once
    assert full_html.count("Plotly.newPlot") == full_html.count("<figure class='chart'")
    assert len(full_html) > 4_000_000  # the library itself is inside


def test_headline_numbers_are_on_the_page(full_html):
    for element, text in (("active_share", "42.0%"), ("contributors", "30"), ("ever_active_share", "61.0%"),
                          ("frontline_gap", "20.0 pts")):
        match = re.search(rf"id='headline-{element}'><div class='value'>([^<]*)</div>", full_html)
        assert match and match.group(1) == text, element
    assert "+2.0 pts on week 14" in full_html
    assert "adoption report, week 2026-W15" in full_html


def test_readings_sit_under_their_charts(full_html):
    captions = re.findall(r"<figcaption class='reading'>([^<]*)</figcaption>", full_html)
    assert "Frontline staff are 20 points behind office staff this week, down from 24 points in week 11." in captions
    assert all(c.strip() for c in captions)


def test_small_groups_appear_nowhere(full_html):
    body = full_html.split("</head>", 1)[1]  # the page without the plotly.js library
    for small in (fx.TINY_DEPARTMENT, "Depot"):  # a 3-person department, a suppressed site
        assert small not in body, small
    assert not re.search(r"[^\d.]99[89]\.\d*[^\d]|[^\d.]999[^\d]", body)  # the 3-person team's KPI (999 - 0.5 w)


def test_it_prints_on_a4(full_html):
    assert "@page { size: A4 portrait" in full_html
    assert "break-before: page" in full_html and "break-inside: avoid" in full_html
    widths = {int(w) for w in re.findall(r'"width":\s*(\d+)', full_html)}
    assert widths and max(widths) <= 700


def test_only_the_adoption_curve_still_gives_a_whole_report():
    report = build_report(_inputs({"marts.adoption_curve": fx.adoption_curve()}))
    html = render_html(report)
    assert report.errors == []
    missing = report.missing_tables
    assert any("marts.pilot_effects" in m for m in missing) and any("quality.coverage" in m for m in missing)
    assert all("not available yet" in m for m in missing)
    assert "42.0%" in html
    # the frontline gap still gets its sentence, from the curve
    assert "Frontline staff are 20 points behind office staff this week" in html


def test_a_broken_mart_is_one_line_and_the_rest_renders():
    tables = fx.all_tables()
    tables["marts.usage_segments"] = tables["marts.usage_segments"].drop("share")
    report = build_report(_inputs(tables))
    assert len(report.errors) == 1
    assert "marts.usage_segments" in report.errors[0] and "share" in report.errors[0]
    assert len(report.charts) == len(build_report(_inputs()).charts) - 1


def test_no_adoption_curve_renders_without_headline():
    tables = fx.all_tables()
    del tables["marts.adoption_curve"]
    html = render_html(build_report(_inputs(tables)))
    assert "Headline figures: not available" in html


def test_an_earlier_week_shows_that_week_and_nothing_after():
    week12 = fx.WEEKS[2]
    report = build_report(_inputs(week=week12))
    assert report.headline.get("active_share").value == pytest.approx(0.36)
    adoption = next(s for s in report.sections if s.key == "adoption").charts[0].figure
    assert max(adoption.data[0].x) == week12
    assert "week 2026-W12" in render_html(report)


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="Monday"):
        _inputs(week=dt.date(2026, 4, 8))
    with pytest.raises(TypeError, match="marts.x"):
        _inputs({"marts.x": {"a": [1]}})


def test_a_pilot_outcome_of_unknown_kind_is_not_drawn():
    tables = fx.all_tables()
    eff = tables["marts.pilot_effects"]
    odd = eff.filter(pl.col("metric") == "resolution_hours").with_columns(
        pl.lit("mystery_number").alias("metric"), pl.lit(None, pl.Utf8).alias("metric_kind"))
    tables["marts.pilot_effects"] = pl.concat([eff, odd])
    report = build_report(_inputs(tables))
    assert any("mystery_number" in e for e in report.errors)
    titles = [c.figure.layout.title.text for c in report.charts]
    assert not any("mystery_number" in t for t in titles)
