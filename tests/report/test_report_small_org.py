"""The report on marts made by the real compute functions (a small simulated organisation): every
mart is understood, no chart mixes kinds, and the headline equals a hand count on person_week.
Also: the hand-made fixtures keep the real pilot tables' columns."""

from __future__ import annotations

import polars as pl
import pytest

from report import report_fixtures as fx
from report import small_org
from transforms.metrics.registry import get_metric
from transforms.report import ReportInputs, build_report
from transforms.report.charts import figure_kind, figure_metrics

pytestmark = pytest.mark.xdist_group("small_org")


@pytest.fixture(scope="module")
def org() -> small_org.SmallOrg:
    return small_org.shared()


@pytest.fixture(scope="module")
def report(org):
    pw = org.tables["marts.person_week"]
    tables = {k: v for k, v in org.tables.items() if k.startswith("marts.") and k != "marts.person_week"}
    return build_report(ReportInputs(organisation="Small Org", week_start=pw["week_start"].max(), tables=tables,
                                     min_group_size=5, kpi_registry=(small_org.KPI,)))


def test_every_real_mart_is_understood(report):
    assert report.errors == []
    missing = " ".join(report.missing_tables)
    for shown in ("adoption_curve", "usage_segments", "lifecycle", "retention", "non_users", "digital_divide",
                  "team_uptake_by_manager", "diffusion_projection", "pilot_effects", "pilot_representativeness",
                  "pilot_power", "outcome_kpis", "kpi_activity_link"):
        assert shown not in missing, shown
    tables = {c.table for c in report.charts}
    assert "marts.pilot_effects" in tables


def test_no_chart_mixes_kinds_on_real_marts(report):
    for chart in report.charts:
        kind = figure_kind(chart.figure)
        assert {get_metric(m).kind for m in figure_metrics(chart.figure)} == {kind}, chart.figure.layout.title.text


def test_headline_equals_a_hand_count(org, report):
    pw = org.tables["marts.person_week"]
    week = pw.filter(pl.col("week_start") == pw["week_start"].max())
    active = week["is_active"].mean()
    office = week.filter(pl.col("worker_type") == "office")["is_active"].mean()
    frontline = week.filter(pl.col("worker_type") == "frontline")["is_active"].mean()
    assert report.headline.get("active_share").value == pytest.approx(active)
    assert report.headline.get("contributors").value == week["is_contributor"].sum()
    assert report.headline.get("frontline_gap").value == pytest.approx(100 * (office - frontline))
    assert report.headline.eligible == week.height


def test_the_written_report_and_snapshots(org):
    html = org.report.read_text(encoding="utf-8")
    assert "Small Org: adoption report" in html and "could not be shown" not in html
    published = {p.stem for p in (org.published / "marts").glob("*.parquet")}
    assert {"person_week", "adoption_curve", "pilot_effects"} <= published


def test_fixture_schemas_match_the_real_pilot_tables():
    from transforms.pilot.effects_mart import PILOT_EFFECTS
    from transforms.pilot.representativeness import SCHEMA

    assert dict(fx.PILOT_EFFECTS_SCHEMA) == dict(PILOT_EFFECTS.schema)
    assert dict(fx.REPRESENTATIVENESS_SCHEMA) == dict(SCHEMA)
