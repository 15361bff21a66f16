"""One-line readings and the headline: the sentences carry the planted numbers, computed by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from report import report_fixtures as fx
from transforms.report import format as fmt
from transforms.report import readings
from transforms.report.headline import headline
from transforms.report.pilot_views import pilot_views

W = fx.REPORT_WEEK


def test_headline_figures_and_week_over_week_changes():
    h = headline(fx.adoption_curve(), W)
    assert h.previous_week == W - dt.timedelta(weeks=1)
    assert h.eligible == 200
    active = h.get("active_share")
    assert (active.value, active.previous, active.value_text) == (0.42, 0.40, "42.0%")
    assert active.change_text == "+2.0 pts on week 14"
    contributors = h.get("contributors")
    assert (contributors.value_text, contributors.change_text) == ("30", "+2 people on week 14")
    assert h.get("ever_active_share").change_text == "+1.0 pts on week 14"
    gap = h.get("frontline_gap")  # office 50% - frontline 30%; week 14: 49% - 28%
    assert gap.value == pytest.approx(20.0) and gap.previous == pytest.approx(21.0)
    assert gap.change_text == "-1.0 pts on week 14"
    meta = h.as_metadata()
    assert meta["active_share"] == 42.0 and meta["active_share_change"] == 2.0 and meta["frontline_gap"] == 20.0


def test_headline_of_the_first_week_has_nothing_to_compare_with():
    h = headline(fx.adoption_curve(), fx.W0)
    assert h.previous_week is None
    assert h.get("active_share").change_text == "no previous week to compare"


def test_headline_with_a_suppressed_organisation_cell_says_na():
    curve = fx.adoption_curve().with_columns(
        pl.when((pl.col("population_type") == "organisation") & (pl.col("week_start") == W))
        .then(True).otherwise(pl.col("suppressed")).alias("suppressed"))
    h = headline(curve, W)
    assert h.get("active_share").value is None and h.get("active_share").value_text == "n/a"


def test_adoption_reading():
    text = readings.reading_adoption(fx.adoption_curve(), W)
    assert text == ("42.0% of the 200 eligible employees were active in week 15, up 2.0 points on week 14; "
                    "61.0% have been active at least once. 29.5% reacted or contributed and 15.0% contributed "
                    "(posted, replied, shared or uploaded).")


def test_identical_states_are_said_once():
    """A drop zone without reads (Slack only): active and engaged are the same people every week, and the
    reading says so once instead of repeating the figures; without reactions either, active means contributed."""
    from transforms.report.headline import headline, state_equivalence

    curve = fx.adoption_curve()
    no_reads = curve.with_columns(pl.col("active").alias("engaged"), pl.col("active_rate").alias("engaged_rate"))
    assert state_equivalence(no_reads) == state_equivalence(no_reads).__class__(True, False)
    text = readings.reading_adoption(no_reads, W)
    assert text.endswith("This drop zone shows no reading activity (no source records reads or visits): active "
                         "means reacted or contributed, and the engaged figures are the same numbers.")
    nothing_but_posts = no_reads.with_columns(pl.col("active").alias("contributors"),
                                              pl.col("active_rate").alias("contributor_rate"))
    text = readings.reading_adoption(nothing_but_posts, W)
    assert "active means contributed" in text and text.count("%") == 2
    figure = headline(nothing_but_posts, W).get("contributors")
    assert "% of the workforce" not in figure.label and "the same people as the active ones" in figure.label
    # with reads, nothing is merged
    assert state_equivalence(curve).sentence() is None


def test_digital_divide_reading_compares_with_four_weeks_earlier():
    text = readings.reading_digital_divide(fx.digital_divide(), W)
    assert text == "Frontline staff are 20 points behind office staff this week, down from 24 points in week 11."
    # the same sentence from the adoption curve when the divide mart is absent
    assert readings.reading_frontline_gap_from_curve(fx.adoption_curve(), W) == text


def test_comparison_week():
    weeks = fx.WEEKS
    assert readings.comparison_week(weeks, W) == W - dt.timedelta(weeks=4)
    assert readings.comparison_week(weeks, fx.WEEKS[2]) == fx.W0  # fewer than 4 weeks back: the earliest
    assert readings.comparison_week(weeks, fx.W0) is None


def test_population_gap_reading_ignores_small_cells():
    text = readings.reading_population_gap(fx.adoption_curve(), W, "department")
    assert text.startswith("By department, Logistics lags: 17% active in week 15, 33 points below Sales (50%)")
    assert "Tiny" not in text


def test_left_behind_readings():
    assert readings.reading_never_active(fx.non_users(), "worker_type") == (
        "39% of eligible employees (78 people) have never been active by week 15; "
        "the highest share by worker type is frontline (60%).")
    relay = readings.reading_manager_relay(fx.manager_relay(), W, effect=fx.manager_relay_effect())
    assert relay.startswith("Team members were 9 points more likely to be active after a week in which their "
                            "manager was active (52% vs 43%, all weeks pooled)")
    assert "+6.1 points (95% CI +3.0 to +9.2)" in relay and "not proof" in relay


def test_pilot_effect_reading_quotes_naive_and_corrected():
    effects = pilot_views(fx.pilot_effects()).effects
    text = readings.reading_pilot_effects(effects, "weekly_active_rate", unit="points", scale=100)
    assert "the naive gap is +24.0 points" in text
    assert "staggered DiD" in text and "+9.5 points (95% CI +6.0 to +13.0): the pilot raised it" in text
    assert "range from +9.2 to +10.2" in text
    kpi = readings.reading_pilot_effects(effects, "resolution_hours", unit="hours")
    assert "-1.5 hours (95% CI -4.0 to +1.0): the interval includes zero: no detectable effect" in kpi


def test_event_study_projection_and_power_readings():
    views = pilot_views(fx.pilot_effects())
    es = readings.reading_event_study(views.event_study, "relative_week", "estimate", unit="points", scale=100,
                                      pretrend_p=0.41)
    assert es == ("Before the start, pilot and comparison groups moved together (pre-trend test p = 0.41); "
                  "5 weeks in, the effect is +9.1 points (95% CI +6.1 to +12.1).")
    # a failed pre-trend test states the size of the drift next to its p-value: small next to the effect ...
    small = readings.reading_event_study(views.event_study, "relative_week", "estimate", unit="points", scale=100,
                                         pretrend_p=0.003, pretrend_gap=0.008, pretrend_weeks=7)
    assert small.startswith("Careful: before the start, the gap between pilot and comparison groups already moved "
                            "by +0.8 points over 7 weeks (pre-trend test p < 0.01): a real but small drift next to "
                            "the effect of +9.1 points")
    # ... or as large as the effect: the design is in doubt
    large = readings.reading_event_study(views.event_study, "relative_week", "estimate", unit="points", scale=100,
                                         pretrend_p=0.02, pretrend_gap=0.05, pretrend_weeks=7)
    assert "moved by +5.0 points over 7 weeks (pre-trend test p = 0.02), so the difference-in-differences " \
           "assumption is doubtful" in large
    passed = readings.reading_event_study(views.event_study, "relative_week", "estimate", unit="points", scale=100,
                                          pretrend_p=0.41, pretrend_gap=-0.004, pretrend_weeks=4)
    assert passed.startswith("Before the start, pilot and comparison groups moved together (the gap moved -0.4 "
                             "points over 4 weeks, pre-trend test p = 0.41)")
    proj = readings.reading_pilot_projection(views.projection, "weekly_active_rate", unit="points", scale=100)
    assert proj == ("Projected onto the whole eligible population, the effect of wave-1 on weekly active share would "
                    "be +6.2 points (95% CI +3.0 to +9.4), against +9.8 among its own members (re-weighted by "
                    "worker type; covers 100% of the eligible population).")
    unprojectable = views.projection.with_columns(
        pl.when(pl.col("scope") == "population").then(None).otherwise(pl.col("estimate")).alias("estimate"),
        pl.when(pl.col("scope") == "population").then(pl.lit("not projectable: no stratum")).otherwise(None)
        .alias("note"))
    assert readings.reading_pilot_projection(unprojectable, "weekly_active_rate", unit="points") == (
        "No projection of weekly active share onto the whole population could be made "
        "(wave-1: not projectable: no stratum).")
    power = readings.reading_pilot_power(fx.pilot_power().rename({"kpi": "outcome"}), "resolution_hours", unit="hours")
    assert power == ("With 6 pilot units and 20 others over 6 weeks, the smallest change in resolution_hours the "
                     "pilot could detect is 4.9 hours (12% of its mean); a 10% change needs 9 weeks to be detectable.")


def test_outputs_outcomes_and_quality_readings():
    out = readings.reading_community_outputs(fx.community_outputs(), W, flags=fx.community_flags())
    assert out == "1 of 3 communities with a target met it over the last 4 weeks; busy without outputs: Chatter."
    link = readings.reading_kpi_link(fx.kpi_activity_link())
    assert "resolution_hours 3 weeks later (r = -0.31; -0.12 hours per point" in link
    assert "not an effect" in link
    cov = readings.reading_coverage(fx.coverage(), "source", "kept", "rejected", "filtered")
    assert cov.startswith("Of 1,700 rows received, 96.4% were kept, 2.6% filtered (bots, duplicates) and 1.0% "
                          "rejected")
    match = readings.reading_match_rates(fx.match_rates(), "source", "match_rate")
    assert "from 91.9% (slack) to 98.9% (viva_engage); 1 source is below the 95% threshold" in match


def test_format_helpers():
    assert fmt.pct(0.4234, 1) == "42.3%" and fmt.pct(None) == "n/a" and fmt.pct(float("nan")) == "n/a"
    assert fmt.points(-18.2) == "18 points" and fmt.points(1.0) == "1 point"
    assert fmt.signed_pct_points(0.012) == "+1.2 pts" and fmt.signed_points(-0.04) == "0.0 pts"
    assert fmt.week_label(dt.date(2025, 12, 15), relative_to=W) == "2025-W51"
    assert fmt.population_label("non_pilot") == "not in a pilot"


def test_effects_table_lists_an_outcome_once_per_distinct_estimate():
    from transforms.report.sections import _distinct_outcomes

    eff = pilot_views(fx.pilot_effects()).effects
    twin = eff.filter(pl.col("outcome") == "weekly_active_rate").with_columns(pl.lit("weekly_engaged_rate").alias("outcome"))
    kept, same_as = _distinct_outcomes(pl.concat([eff, twin]))
    assert "weekly_engaged_rate" not in kept["outcome"].to_list()
    assert same_as == {"weekly_active_rate": ["weekly_engaged_rate"]}
    different = twin.with_columns(pl.col("estimate") + 0.01)
    kept, same_as = _distinct_outcomes(pl.concat([eff, different]))
    assert "weekly_engaged_rate" in kept["outcome"].to_list() and same_as == {}
