"""The "Perceived value" section from hand-made marts (tests/report/report_fixtures.py): its
sentences, one kind and one scale per chart, small groups nowhere, the week's cut, and what it says
when no survey was received."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from report import report_fixtures as fx
from transforms.metrics.registry import MetricKind
from transforms.report import ReportInputs, build_report, render_html
from transforms.report.charts import figure_kind
from transforms.report.perception_section import NO_SURVEY, perception_section


def _inputs(tables=None, week=fx.REPORT_WEEK) -> ReportInputs:
    return ReportInputs(organisation="Acme", week_start=week, tables=fx.all_tables() if tables is None else tables,
                        min_group_size=5, kpi_registry=fx.KPI_REGISTRY,
                        generated_at=dt.datetime(2026, 4, 13, 6, 0, tzinfo=dt.UTC))


def _text(section) -> str:  # noqa: ANN001 - a Section
    parts = [section.intro]
    for b in section.blocks:
        parts += [getattr(b, "reading", ""), getattr(b, "text", ""), getattr(b, "caption", "")]
        parts += [" | ".join(row) for row in getattr(b, "rows", ())]
    return "\n".join(parts)


def test_sentences_carry_the_planted_numbers() -> None:
    section = perception_section(_inputs())
    text = _text(section)
    assert ("In the w2 wave (30 March 2026), 110 of 200 eligible people answered (55%). The Net Promoter Score of "
            "\"Would you recommend the platform?\" is -10 (+10 pts since the w1 wave). 45% agreed that \"The "
            "platform saves me time\" (+10 pts since the w1 wave).") in text
    assert "corrected for selection (doubly robust, AIPW) it is +0.33 points (95% CI +0.10 to +0.56)" in text
    assert ("0.90 points on its 1-5 scale from never to always active, with the same worker type, department, pilot "
            "status and wave (95% interval 0.60 to 1.20; 180 respondents)") in text
    assert "association, not an effect" in text and "Answering is voluntary" in text
    assert not [b for b in section.blocks if getattr(b, "level", "") in ("missing", "error")]


def test_one_kind_and_one_scale_per_chart() -> None:
    section = perception_section(_inputs())
    kinds = [figure_kind(c.figure) for c in section.charts]
    assert kinds.count(MetricKind.PERCEPTION) == 4 and kinds.count(MetricKind.LINK) == 2  # trend x2, effects x2
    titles = [c.figure.layout.title.text for c in section.charts]
    assert sum("1-5 scale" in t for t in titles) == 2 and sum("0-10 scale" in t for t in titles) == 2


def test_small_groups_are_nowhere() -> None:
    section = perception_section(_inputs())
    assert "wave 2" not in _text(section)  # the pilot's 3-respondent cell
    link_charts = [c for c in section.charts if figure_kind(c.figure) == MetricKind.LINK]
    nps_bars = [t for c in link_charts if "0-10" in c.figure.layout.title.text for t in c.figure.data]
    assert nps_bars and all("active most weeks" not in list(t.x) for t in nps_bars)  # 3 respondents


def test_an_earlier_week_shows_only_the_waves_opened_by_then() -> None:
    text = _text(perception_section(_inputs(week=fx.WEEKS[2])))
    assert "In the w1 wave (2 March 2026), 100 of 200 eligible people answered (50%)." in text
    assert "w2" not in text


def test_without_a_survey_the_section_says_what_to_add() -> None:
    tables = fx.all_tables()
    for name in ("marts.perception", "marts.perception_pilot_effect", "marts.perception_activity_link"):
        tables[name] = tables[name].clear()
    section = perception_section(_inputs(tables))
    assert [b.text for b in section.blocks] == [NO_SURVEY]
    assert "surveys.yaml" in NO_SURVEY and "docs/drop_zone.md" in NO_SURVEY
    tables = {k: v for k, v in tables.items() if not k.startswith("marts.perception")}
    missing = build_report(_inputs(tables)).missing_tables
    assert any("marts.perception is not in the warehouse" in m for m in missing)


def test_the_page_has_the_section_between_outcomes_and_quality() -> None:
    html = render_html(build_report(_inputs()))
    order = [m.group(1) for m in re.finditer(r"<section class='report-section' id='([^']+)'", html)]
    assert order.index("perception") == order.index("outcomes") + 1 == order.index("quality") - 1
    assert pl.Series(order).is_unique().all()
