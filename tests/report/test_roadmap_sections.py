"""The "Roadmap targets" and "Where to roll out next" sections from hand-made marts
(report/roadmap_fixtures.py): statuses at a glance, one chart per target of its own kind, the rule
and the numbers in each reading, the model's accuracy and the trade-off in words, no group under the
minimum size anywhere, and one line when a mart is absent or no target is declared."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from report import report_fixtures as fx
from report import roadmap_fixtures as rx
from transforms.metrics.registry import MetricKind, get_metric
from transforms.report import ReportInputs, build_report, render_html
from transforms.report.charts import figure_kind, figure_metrics
from transforms.report.next_wave_section import next_wave_section
from transforms.report.targets_section import targets_section


def _inputs(tables: dict | None = None, week: dt.date = fx.REPORT_WEEK) -> ReportInputs:
    return ReportInputs(organisation="Acme", week_start=week, tables=fx.all_tables() if tables is None else tables,
                        min_group_size=5, kpi_registry=fx.KPI_REGISTRY)


def test_every_target_at_a_glance_with_its_status_this_week() -> None:
    section = targets_section(_inputs())
    glance = section.blocks[0]
    assert glance.caption == "Targets at a glance, week 15"
    rows = {r[0]: dict(zip(glance.header, r, strict=True)) for r in glance.rows}
    assert rows["Active share at 50%"]["now"] == "42.0%" and rows["Active share at 50%"]["expected now"] == "38.3%"
    assert rows["Active share at 50%"]["status"] == "on track"
    sales = rows["Faster first response in Sales"]
    assert (sales["now"], sales["expected now"], sales["target"], sales["status"]) == (
        "17.2 hours", "15.5 hours", "12.0 hours", "off track")
    assert sales["population"] == "department: Sales" and sales["metric (kind)"] == "first_response_hours (outcome)"
    assert rows["Ten answers a week in Q&A"]["status"] == "at risk"


def test_one_chart_per_target_each_of_its_own_kind() -> None:
    section = targets_section(_inputs())
    kinds = {c.figure.layout.title.text.split(" (")[0]: figure_kind(c.figure) for c in section.charts}
    assert kinds == {"Active share at 50%": MetricKind.ACTIVITY, "Faster first response in Sales": MetricKind.OUTCOME,
                     "Ten answers a week in Q&A": MetricKind.OUTPUT}
    for chart in section.charts:
        assert {get_metric(m).kind for m in figure_metrics(chart.figure)} == {figure_kind(chart.figure)}
    active = section.charts[0].figure
    path, actual = active.data[0], active.data[1]
    assert max(path.x) == rx._week(12) and max(actual.x) == fx.REPORT_WEEK  # the path runs to the due date
    assert actual.y[-1] == pytest.approx(42.0) and path.y[-1] == pytest.approx(50.0)
    assert set(section.kinds) == {MetricKind.ACTIVITY, MetricKind.OUTCOME, MetricKind.OUTPUT}


def test_readings_state_the_status_and_the_rule_in_the_metrics_units() -> None:
    readings = {c.figure.layout.title.text.split(" (")[0]: c.reading for c in targets_section(_inputs()).charts}
    assert readings["Faster first response in Sales"].startswith(
        "Faster first response in Sales: 17.2 hours in week 15 against 15.5 hours expected by now on the way to "
        "12.0 hours by 25 May 2026: off track.")
    assert ("On track means at most 0.3 hours behind the expected value (5% of the distance from the baseline "
            "18.0 hours to the target), at risk up to 0.9 hours (15%), off track beyond.") in readings[
        "Faster first response in Sales"]
    assert "at most 1.0 point behind" in readings["Active share at 50%"]  # 5% of 20 points


def test_an_earlier_week_judges_that_week() -> None:
    section = targets_section(_inputs(week=fx.WEEKS[2]))
    rows = {r[0]: r for r in section.blocks[0].rows}
    assert rows["Faster first response in Sales"][3] == "17.6 hours" and rows["Faster first response in Sales"][-2] == (
        "at risk")


def test_no_targets_file_and_no_mart_are_one_line_each() -> None:
    empty = fx.all_tables() | {"marts.target_status": rx.target_status().clear()}
    section = targets_section(_inputs(empty))
    assert [b.level for b in section.blocks] == ["missing"] and "add targets.yaml" in section.blocks[0].text
    tables = fx.all_tables()
    del tables["marts.target_status"]
    section = targets_section(_inputs(tables))
    assert "marts.target_status is not in the warehouse" in section.blocks[0].text


def test_a_target_on_a_group_under_the_minimum_size_shows_no_number() -> None:
    rows = rx.target_status().filter(pl.col("target") == "Active share at 50%").with_columns(
        pl.lit("Small team target").alias("target"), pl.lit("department").alias("population_type"),
        pl.lit("Legal").alias("population"), pl.lit(None, pl.Float64).alias("actual"),
        pl.lit(None, pl.Float64).alias("baseline"), pl.lit(None, pl.Float64).alias("expected"),
        pl.lit(None, pl.Utf8).alias("status"), pl.lit(True).alias("suppressed"))
    tables = fx.all_tables() | {"marts.target_status": rows}
    section = targets_section(_inputs(tables))
    assert section.blocks[0].rows[0][3:6] == ("n/a", "n/a", "50.0%")
    assert "fewer people than the minimum group size" in section.charts[0].reading
    assert not [y for t in section.charts[0].figure.data for y in (t.y or ()) if y is not None and y != 50.0]


def test_next_wave_states_the_accuracy_and_the_trade_off() -> None:
    section = next_wave_section(_inputs())
    notes = [b.text for b in section.blocks if hasattr(b, "text")]
    assert any("AUC of 0.62 (90% interval 0.55 to 0.69" in n and "40 members of wave-1" in n for n in notes)
    assert any("Brier score is 0.231 against 0.245" in n for n in notes)
    assert not any("barely tells" in n for n in notes)  # the interval is above 0.5
    assert any("1 candidate is mostly people unlike any past wave member" in n for n in notes)
    (chart,) = section.charts
    assert figure_kind(chart.figure) == MetricKind.ACTIVITY
    assert chart.reading == ("The wave that would teach the most: balanced by department and worker type (11 org "
                             "units, 97 people) looks the most like the people still waiting (mean |SMD| 0.08) at an "
                             "expected uptake of 61%, against 70% (mean |SMD| 0.41) for highest expected uptake.")
    stars = [t for t in chart.figure.data if t.marker.symbol == "star"]
    assert [t.name for t in stars] == ["balanced by department and worker type"]


def test_next_wave_never_lists_a_group_under_the_minimum_size() -> None:
    section = next_wave_section(_inputs())
    listed = [r[0] for b in section.blocks if hasattr(b, "rows") for r in b.rows]
    assert rx.SMALL_UNIT not in listed and "A-1" in listed and "HQ" in listed
    assert rx.SMALL_UNIT not in str([t.text for t in section.charts[0].figure.data])
    html = render_html(build_report(_inputs()))
    assert rx.SMALL_UNIT not in html.split("</head>", 1)[1]


def test_next_wave_when_the_model_is_weak_or_absent() -> None:
    weak = rx.next_wave_options().with_columns(pl.lit(0.47).alias("model_auc_low"))
    section = next_wave_section(_inputs(fx.all_tables() | {"marts.next_wave_options": weak}))
    assert any("barely tells high from low uptake" in getattr(b, "text", "") for b in section.blocks)
    empty = fx.all_tables() | {"marts.next_wave_options": rx.next_wave_options().clear(),
                               "marts.next_wave_candidates": rx.next_wave_candidates().clear()}
    section = next_wave_section(_inputs(empty))
    assert len(section.blocks) == 1 and "observed for long enough" in section.blocks[0].text
    section = next_wave_section(_inputs(), no_pilot=True)
    assert section.blocks[0].level == "missing" and "pilots.yaml" in section.blocks[0].text


def test_the_marts_notes_are_said_in_the_sections_words() -> None:
    rows = rx.target_status().filter(pl.col("target") == "Active share at 50%").with_columns(
        pl.lit("ever_active_rate").alias("metric"), pl.lit(0.9).alias("target_value"),
        pl.lit("no diffusion model is fitted for this population (fitted for: organisation, worker_type)")
        .alias("projection_note"))
    section = targets_section(_inputs(fx.all_tables() | {"marts.target_status": rows}))
    assert section.charts[0].reading.endswith(
        "No projection: the Bass model is fitted for the whole organisation and each worker type only.")
    absent = rows.with_columns(pl.lit(None, pl.Float64).alias("actual"), pl.lit(None, pl.Utf8).alias("status"),
                               pl.lit("no value of this metric for this population in the data (check the "
                                      "population's name)").alias("note"))
    section = targets_section(_inputs(fx.all_tables() | {"marts.target_status": absent}))
    assert "no value to judge yet (no value of this metric for this population in the data: check the population's " \
           "name)" in section.charts[0].reading
