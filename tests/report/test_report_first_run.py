"""The report of an organisation's first run: no pilot, no KPI, no charter, sources that sent
nothing, a Bass ceiling under 50%, a KPI without values. Every sentence is whole, no "None" is
printed, and what is missing is named with the drop-zone file that fills it."""

from __future__ import annotations

import re

import polars as pl
import pytest

from report import report_fixtures as fx
from transforms.contracts.actions import tier_actions
from transforms.report.vocabulary import tier_in_words
from transforms.report import ReportInputs, build_report
from transforms.report.headline import headline
from transforms.report.sections import (
    NOT_DECLARED,
    _freshness_table,
    _reading_diffusion,
    outcomes_section,
    outputs_section,
    pilot_section,
    quality_section,
)
from transforms.report.weekly import render_html


def _params(w50: float | None, w80: float | None, m: float = 150.0) -> pl.DataFrame:
    frame = fx.diffusion_parameters()
    return frame.with_columns(
        pl.when(pl.col("parameter") == "weeks_to_50").then(pl.lit(w50, pl.Float64))
        .when(pl.col("parameter") == "weeks_to_80").then(pl.lit(w80, pl.Float64))
        .when(pl.col("parameter") == "m").then(pl.lit(m))
        .otherwise(pl.col("estimate")).alias("estimate"),
        pl.when(pl.col("parameter").is_in(["weeks_to_50", "weeks_to_80"]) & pl.lit(w50 is None))
        .then(None).otherwise(pl.col("low")).alias("low"),
    )


def test_bass_sentence_when_both_targets_are_reached():
    text = _reading_diffusion(fx.diffusion(), fx.diffusion_parameters())
    assert text == ("If the current pace holds (Bass model), the share of non-pilot eligible employees who have used "
                    "the platform reaches 50% after about 9 weeks of roll-out (90% interval 7 to 12) and 80% after "
                    "about 24 weeks of roll-out (at least 18).")


def test_bass_sentence_when_the_ceiling_is_under_80_percent():
    # ceiling: (40 adopted before + m = 80) / 160 = 75%
    text = _reading_diffusion(fx.diffusion(), _params(9.0, None, m=80.0))
    assert text.endswith("reaches 50% after about 9 weeks of roll-out (90% interval 7 to 12), then levels off at "
                         "about 75% (the fitted ceiling): it does not reach 80%.")


def test_bass_sentence_when_the_ceiling_is_under_50_percent():
    # ceiling: (40 + 24) / 160 = 40%
    text = _reading_diffusion(fx.diffusion(), _params(None, None, m=24.0))
    assert text == ("If the current pace holds (Bass model), the share of non-pilot eligible employees who have used "
                    "the platform levels off at about 40% (the fitted ceiling): it does not reach 50% or 80%.")
    assert "is not reached" not in text and "reaches 50% is" not in text


def test_bass_sentence_when_a_target_lies_beyond_the_projection():
    # ceiling (40 + 120) / 160 = 100%: 80% is reached, only later than the 12 projected weeks
    text = _reading_diffusion(fx.diffusion(), _params(9.0, None, m=120.0))
    assert text.endswith("reaches 50% after about 9 weeks of roll-out (90% interval 7 to 12) and 80% only after "
                         "more than 12 weeks (beyond the projection).")
    assert "does not reach" not in text


def test_kpi_freshness_table_never_prints_none():
    fresh = pl.concat([fx.kpi_freshness(), pl.DataFrame({
        "kpi": ["nps"], "latest_period_end": [None], "rows": [0], "max_delay_days": [30], "grain": ["month"],
        "data_last_week_end": [fx.kpi_freshness()["data_last_week_end"][0]], "delay_days": [None], "late": [None],
    }, schema=fx.kpi_freshness().schema)])
    table = _freshness_table(fresh)
    cells = [c for row in table.rows for c in row]
    assert "None" not in cells and "n/a" not in cells
    assert table.rows[0] == ("nps", "none yet", "-", "30", "no values received")


def _first_run_inputs(**tables: pl.DataFrame) -> ReportInputs:
    curve = fx.adoption_curve().filter(~pl.col("population_type").is_in(["pilot_wave"]))
    base = {
        "marts.adoption_curve": curve,
        "marts.community_outputs": fx.community_outputs().clear(),
        "marts.community_flags": fx.community_flags().clear(),
        "marts.outcome_kpis": fx.outcome_kpis().clear(),
        "marts.kpi_activity_link": fx.kpi_activity_link().clear(),
        "quality.coverage": fx.coverage(),
    }
    base.update({k.replace("__", "."): v for k, v in tables.items()})
    return ReportInputs(organisation="First Run", week_start=fx.REPORT_WEEK, tables=base, min_group_size=5)


def _texts(section) -> list[str]:
    return [b.text for b in section.blocks if hasattr(b, "text")]


def test_missing_parts_are_named_with_the_file_that_fills_them():
    inputs = _first_run_inputs()
    assert _texts(pilot_section(inputs)) == [NOT_DECLARED["pilots"]]
    outputs = outputs_section(inputs)
    assert _texts(outputs) == [NOT_DECLARED["charters"]] and not outputs.charts
    assert not [b for b in outputs.blocks if hasattr(b, "rows")]  # no empty flags table
    outcomes = outcomes_section(inputs)
    assert _texts(outcomes) == [NOT_DECLARED["kpis"]] and not outcomes.charts
    for part, file in (("pilots", "pilots.yaml"), ("charters", "charters.yaml"), ("kpis", "kpi_registry.yaml")):
        assert file in NOT_DECLARED[part] and "docs/drop_zone.md" in NOT_DECLARED[part]
    assert "kpis/*.csv" in NOT_DECLARED["kpis"]


def test_registered_kpis_without_values_say_which_file_is_missing():
    inputs = ReportInputs(organisation="First Run", week_start=fx.REPORT_WEEK, min_group_size=5,
                          tables=_first_run_inputs().tables, kpi_registry=fx.KPI_REGISTRY)
    texts = _texts(outcomes_section(inputs))
    assert texts[0] == NOT_DECLARED["kpi_values"] and "kpis/*.csv" in texts[0]
    assert not outcomes_section(inputs).charts


def test_sources_that_sent_nothing_are_listed_in_one_line_not_drawn():
    silent = pl.DataFrame({"source": ["mattermost", "hr_scim", "kpi_feed"], "table": ["events", "hr_snapshots",
                                                                                     "kpi_values"],
                           "rows_in": [0, 0, 0], "kept": [0, 0, 0], "rejected": [0, 0, 0],
                           "filtered_duplicate": [0, 0, 0], "filtered_automated": [0, 0, 0], "filtered": [0, 0, 0],
                           "balanced": [True] * 3})
    inputs = _first_run_inputs(quality__coverage=pl.concat([fx.coverage(), silent]))
    section = quality_section(inputs)
    (chart,) = [c for c in section.charts if c.table == "quality.coverage"]
    drawn = {y for trace in chart.figure.data for y in trace.y}
    assert drawn == {"slack", "viva_engage", "hr_csv"}
    assert "Nothing was received from hr_scim, kpi_feed, mattermost (registered inputs with no file in the drop " \
           "zone)." in _texts(section)


def test_contributor_label_comes_from_the_action_vocabulary():
    assert [a.value for a in tier_actions("contribution")] == ["post", "reply", "share", "upload"]
    assert tier_in_words("contribution") == "posted, replied, shared or uploaded"
    h = headline(fx.adoption_curve(), fx.REPORT_WEEK)
    assert h.get("contributors").label.startswith("contributors (posted, replied, shared or uploaded)")
    with pytest.raises(ValueError, match="unknown tier"):
        tier_actions("lurking")


def test_first_run_page_has_no_none_and_no_broken_sentence():
    html = render_html(build_report(_first_run_inputs()))
    text = re.sub(r"<script.*?</script>|<style.*?</style>", "", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    assert not re.search(r"\bNone\b", text)
    assert "is not reached" not in text
    assert "cells below the minimum group size are hidden" not in html
    for file in ("pilots.yaml", "charters.yaml", "kpi_registry.yaml"):
        assert file in text


def test_an_empty_chart_says_why():
    from transforms.report import charts

    def annotation(fig) -> str:
        return fig.layout.annotations[0].text

    assert annotation(charts.plot_community_outputs(fx.community_outputs().clear(), week_start=fx.REPORT_WEEK)) == \
        "No community outputs in this data yet."
    assert annotation(charts.plot_kpi_activity_link(fx.kpi_activity_link().clear())) == "No lags in this data yet."
    few = fx.kpi_activity_link().with_columns(pl.lit(3).alias("n_teams"))
    assert "hidden" in annotation(charts.plot_kpi_activity_link(few))
