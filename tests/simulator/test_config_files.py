"""The YAML files validate against the project's pydantic models and agree with the HR extracts."""

from __future__ import annotations

import json
import zipfile

import polars as pl
import yaml

from tests.simulator.conftest import DropZone
from transforms.contracts import KPI_VALUES, conform
from transforms.contracts.config import Charters, KpiRegistry, Pilots, Settings


def _load(drop_zone: DropZone, name: str) -> dict:
    return yaml.safe_load((drop_zone.path / name).read_text(encoding="utf-8"))


def test_settings_validate_and_plant_the_late_site(drop_zone: DropZone) -> None:
    settings = Settings.model_validate(_load(drop_zone, "settings.yaml"))
    assert settings.time_zone == "Europe/Paris"
    assert settings.platform_launch.isoformat() == drop_zone.truth["start"]
    late = drop_zone.truth["late_site"]
    assert {k: v.isoformat() for k, v in settings.site_launch.items()} == {late["site"]: late["launch"]}
    assert settings.worker_type.field == "site" and settings.worker_type.values[late["site"]] == "frontline"


def test_pilots_validate_and_resolve_to_the_planted_members(drop_zone: DropZone) -> None:
    pilots = Pilots.model_validate(_load(drop_zone, "pilots.yaml"))
    truth = drop_zone.truth["pilot"]["cohorts"]
    assert [c.name for c in pilots.cohorts] == ["wave-1", "wave-2"]
    g_date = drop_zone.truth["timeline"]["G_date"]
    for cohort in pilots.cohorts:
        assert cohort.start.weekday() == 0
        assert cohort.end.isoformat() == drop_zone.truth["timeline"]["pilot_end_date"] < g_date
        extract = pl.read_csv(drop_zone.path / "hr" / f"hr_{cohort.start.isoformat()}.csv", infer_schema=False)
        units = [s.org_unit for s in cohort.selectors]
        members = set(extract.filter(pl.col("org_unit").is_in(units))["employee_id"]) | set(cohort.employee_ids)
        assert members == set(truth[cohort.name]["members"])
        assert truth[cohort.name]["support_level"] == cohort.support_level


def test_kpi_registry_and_feed(drop_zone: DropZone) -> None:
    registry = KpiRegistry.model_validate(_load(drop_zone, "kpi_registry.yaml"))
    assert {k.name for k in registry.kpis} == {"first_response_hours", "absence_rate_pct"}
    feed = pl.concat([pl.read_csv(p, try_parse_dates=True) for p in sorted((drop_zone.path / "kpis").glob("*.csv"))])
    assert feed.columns == ["kpi", "unit_type", "unit_id", "period_start", "period_end", "value"]
    kept, rejects = conform(feed, KPI_VALUES, file="kpis")
    assert rejects.height == 0 and kept.height == feed.height
    frh = feed.filter(pl.col("kpi") == "first_response_hours")
    treated = drop_zone.truth["pilot"]["cohorts"]["wave-1"]["kpi_treated_units"]
    assert treated and set(treated) <= set(frh["unit_id"])
    assert (frh["period_end"] - frh["period_start"]).dt.total_days().unique().to_list() == [6]


def test_charters_validate_and_point_at_real_spaces(drop_zone: DropZone) -> None:
    charters = Charters.model_validate(_load(drop_zone, "charters.yaml"))
    assert len(charters.communities) == 6
    slack_zip = next((drop_zone.path / "platforms" / "slack").glob("*.zip"))
    with zipfile.ZipFile(slack_zip) as zf:
        channel_ids = {c["id"] for c in json.loads(zf.read("channels.json"))}
    ve_zip = next((drop_zone.path / "platforms" / "viva_engage").glob("*.zip"))
    with zipfile.ZipFile(ve_zip) as zf:
        group_ids = set(pl.read_csv(zf.read("Groups.csv"), infer_schema=False)["id"])
    for community in charters.communities:
        for space in community.spaces:
            assert space.space_id in (channel_ids if space.source == "slack" else group_ids), community.name
    kinds = {c.name: c.rule.kind for c in charters.communities}
    assert kinds["Ideas Lab"] == "hashtag" and kinds["Maintenance Q&A"] == "answered_question"
