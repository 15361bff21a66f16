"""Plot functions: the numbers drawn are the table's numbers, small cells are never drawn, a figure
declares exactly one metric kind, and bad tables raise typed errors naming the table."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from report import report_fixtures as fx
from transforms.metrics.registry import MetricKind, MixedKindError
from transforms.report import charts
from transforms.report.inputs import ReportInputError
from transforms.report.pilot_views import pilot_views


def _trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_adoption_rates_draw_the_curve_in_percent():
    fig = charts.plot_adoption_rates(fx.adoption_curve())
    active = _trace(fig, "active (visited, read, reacted, posted, replied, shared or uploaded)")
    # every tier's actions, worded from the vocabulary: uploads make a contributor too
    assert _trace(fig, "contributed (posted, replied, shared or uploaded)")
    assert _trace(fig, "engaged (reacted, posted, replied, shared or uploaded)")
    assert list(active.x) == fx.WEEKS
    assert list(active.y) == pytest.approx([100 * v for v in fx.ORG_ACTIVE])
    assert list(_trace(fig, "ever active").y) == pytest.approx([100 * v for v in fx.ORG_EVER])
    assert charts.figure_kind(fig) == MetricKind.ACTIVITY
    assert set(charts.figure_metrics(fig)) == {"active_rate", "engaged_rate", "contributor_rate", "ever_active_rate"}


def test_bars_by_population_hide_small_cells_even_when_not_flagged():
    curve = fx.adoption_curve()
    fig = charts.plot_active_rate_by_population(curve, population_type="department", week_start=fx.REPORT_WEEK)
    bars = fig.data[0]
    assert list(bars.y) == ["Sales", "Logistics"]  # highest first, "Tiny" (3 people) dropped
    assert list(bars.x) == pytest.approx([50.0, 17.0])
    site = charts.plot_active_rate_by_population(curve, population_type="site", week_start=fx.REPORT_WEEK)
    assert "Depot" not in list(site.data[0].y)  # flagged suppressed
    # a higher minimum group size hides more
    strict = charts.plot_active_rate_by_population(curve, population_type="site", week_start=fx.REPORT_WEEK,
                                                   min_group_size=50)
    assert list(strict.data[0].y) == ["HQ"]


def test_population_trend_names_populations_for_readers():
    fig = charts.plot_population_trend(fx.adoption_curve(), population_type="pilot_wave")
    assert {t.name for t in fig.data} == {"wave 1", "not in a pilot"}


def test_plot_functions_never_modify_the_callers_frame():
    curve = fx.adoption_curve()
    before = curve.clone()
    charts.plot_adoption_rates(curve)
    charts.plot_active_rate_by_population(curve, population_type="department", week_start=fx.REPORT_WEEK)
    assert_frame_equal(curve, before)


def test_publishable_drops_flagged_and_small_cells():
    frame = pl.DataFrame({"eligible": [10, 4, None, 7], "b_people": [9, 9, 9, 2],
                          "suppressed": [False, False, False, None]})
    assert charts.publishable(frame, size_columns=["eligible"]).height == 2
    assert charts.publishable(frame, size_columns=["eligible", "b_people"]).height == 1
    assert charts.publishable(frame, size_columns=["eligible"], min_group_size=8).height == 1


def test_new_figure_refuses_two_kinds_on_one_chart():
    with pytest.raises(MixedKindError, match="kpi_value"):
        charts.new_figure(kind="activity", metrics=["active_rate", "kpi_value"], title="t", y_title="y")
    with pytest.raises(MixedKindError, match="community_outputs"):
        charts.new_figure(kind="activity", metrics=["community_outputs"], title="t", y_title="y")
    with pytest.raises(KeyError, match="not_a_metric"):
        charts.new_figure(kind="activity", metrics=["not_a_metric"], title="t", y_title="y")
    with pytest.raises(ValueError, match="declare"):
        charts.new_figure(kind="outcome", metrics=[], title="t", y_title="y")


def test_table_of_another_kind_is_refused_with_the_table_named():
    wrong = fx.adoption_curve().with_columns(pl.lit("outcome").alias("kind"))
    with pytest.raises(ReportInputError, match="marts.adoption_curve"):
        charts.plot_adoption_rates(wrong)


def test_missing_columns_name_the_table_and_columns():
    with pytest.raises(ReportInputError) as err:
        charts.plot_usage_segments(fx.usage_segments().drop("share"))
    assert err.value.table == "marts.usage_segments" and err.value.column == "share"
    assert "share" in str(err.value)


def test_pilot_effects_draw_whole_cohort_rows_only():
    views = pilot_views(fx.pilot_effects())
    act = views.effects.filter(pl.col("outcome") == "weekly_active_rate")
    fig = charts.plot_pilot_effects(act, kind="activity", metrics=["active_rate"], title="t", unit_label="share")
    labels, xs = list(fig.data[0].y), list(fig.data[0].x)
    assert len(labels) == 5  # naive, ipw, aipw, matching, did_cs; not the support-level row (0.5)
    assert 0.5 not in xs and pytest.approx(0.098) in xs and pytest.approx(0.24) in xs
    assert labels[-1].startswith("naive")  # drawn at the top (last category of the axis is the top)
    kpi = views.effects.filter(pl.col("outcome") == "resolution_hours")
    fig = charts.plot_pilot_effects(kpi, kind="outcome", metrics=["kpi_value"], title="t", unit_label="hours")
    assert len(fig.data[0].x) == 3  # the suppressed ipw row (3 treated teams) is not drawn
    assert charts.figure_kind(fig) == MetricKind.OUTCOME


def test_event_study_and_projection_views_carry_the_planted_rows():
    views = pilot_views(fx.pilot_effects())
    assert views.event_study["relative_week"].to_list() == list(range(-4, 6))
    proj = views.projection.sort("scope")
    assert proj["scope"].to_list() == ["pilot", "population"]
    assert proj["estimate"].to_list() == pytest.approx([0.098, 0.062])
    fig = charts.plot_event_study(views.event_study, kind="activity", metrics=["active_rate"], title="t",
                                  unit_label="share")
    assert list(fig.data[1].x) == list(range(-4, 6))


def test_kpi_trend_averages_publishable_units_per_group():
    fig = charts.plot_kpi_trend(fx.outcome_kpis(), kpi="resolution_hours", unit="hours")
    pilot, other = _trace(fig, "pilot units"), _trace(fig, "other units")
    assert list(pilot.y) == pytest.approx([40.0 - 0.5 * i for i in range(6)])
    assert list(other.y) == pytest.approx([45.0 - 0.5 * i for i in range(6)])  # T9 (3 people, 999) left out
    assert charts.figure_kind(fig) == MetricKind.OUTCOME


def test_outputs_chart_is_of_kind_output_and_averages_the_window():
    fig = charts.plot_community_outputs(fx.community_outputs(), week_start=fx.REPORT_WEEK, weeks=4)
    assert charts.figure_kind(fig) == MetricKind.OUTPUT
    per_week = dict(zip(fig.data[0].y, fig.data[0].x, strict=True))
    assert per_week == {"Chatter": 0.0, "Ideas": 1.0, "IT help": 6.0}
    assert dict(zip(fig.data[1].y, fig.data[1].x, strict=True))["Ideas"] == 3.0


def test_kpi_link_is_a_link_chart_and_hides_lags_with_few_teams():
    link = fx.kpi_activity_link().with_columns(
        pl.when(pl.col("lag_weeks") == 4).then(3).otherwise(pl.col("n_teams")).alias("n_teams"))
    fig = charts.plot_kpi_activity_link(link)
    assert charts.figure_kind(fig) == MetricKind.LINK
    assert list(fig.data[0].x) == [0, 1, 2, 3]


def test_quality_charts_sum_tables_per_source():
    fig = charts.plot_coverage(fx.coverage())
    kept = dict(zip(_trace(fig, "kept").y, _trace(fig, "kept").x, strict=True))
    assert kept == {"slack": 950, "viva_engage": 490, "hr_csv": 198}
    match = charts.plot_match_rates(fx.match_rates())
    assert list(match.data[0].x) == pytest.approx([100 * 193 / 210, 100 * 188 / 190], abs=1e-3)
    assert charts.figure_kind(match) == MetricKind.PREREQUISITE


def test_diffusion_and_power_charts():
    fig = charts.plot_diffusion(fx.diffusion())
    observed = _trace(fig, "observed")
    assert list(observed.y)[:6] == pytest.approx([100 * v for v in fx.ORG_EVER])
    assert observed.x[-1] == fx.W0 + dt.timedelta(weeks=11)  # projection continues past the data
    power = fx.pilot_power().rename({"kpi": "outcome"})
    fig = charts.plot_pilot_power(power, kind="outcome", metrics=["kpi_value"], title="t")
    assert list(fig.data[0].y) == pytest.approx([100 * 4.9 / 42.0], abs=1e-3)


def test_representativeness_draws_unsuppressed_comparisons():
    fig = charts.plot_representativeness(fx.pilot_representativeness())
    labels = list(fig.data[0].y)
    assert len(labels) == 5 and not any("Tiny" in lab for lab in labels)
    assert labels[-1] == "worker type = frontline"  # the largest |SMD| at the top (the attribute in words)


def test_a_cohort_without_a_naive_row_still_shows_its_naive_gap():
    views = pilot_views(fx.pilot_effects())
    did_only = views.effects.filter((pl.col("outcome") == "weekly_active_rate") & (pl.col("method") == "did_cs"))
    fig = charts.plot_pilot_effects(did_only, kind="activity", metrics=["active_rate"], title="t", unit_label="share")
    drawn = dict(zip(fig.data[0].y, fig.data[0].x, strict=True))
    assert drawn == {"naive: pilot minus the rest": pytest.approx(0.24),
                     "staggered DiD, Callaway-Sant'Anna": pytest.approx(0.095)}
