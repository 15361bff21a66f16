"""The Dagster definitions load; assets are grouped by layer; schedule and sensor exist."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetKey, DagsterInstance, build_sensor_context

from pipelines.connectors import registered_connectors
from pipelines.definitions import build_definitions
from pipelines.schedules import drop_zone_fingerprint, organisation_time_zone


def test_definitions_load_with_layers_schedule_and_sensor(tmp_path: Path) -> None:
    defs = build_definitions(raw_dir=tmp_path, warehouse=tmp_path / "w.duckdb", reports=tmp_path / "r")
    graph = defs.resolve_asset_graph()
    groups: dict[str, list[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, []).append(key.to_user_string())
    assert set(groups) >= {"ingest", "clean", "identity", "marts", "report"}
    # one ingest asset per registered connector, generated from the registry
    for name in registered_connectors():
        assert f"raw/{name}" in groups["ingest"]
    assert "marts/person_week" in groups["marts"] and "report/weekly_adoption_report" in groups["report"]

    schedule = defs.get_schedule_def("weekly_adoption_report")
    assert schedule.cron_schedule == "0 6 * * 1"
    assert schedule.execution_timezone == "Europe/Paris"
    assert defs.get_sensor_def("drop_zone_new_files") is not None
    # the schedule runs the one job, partitioned by the report's weeks; the job runs in one process
    job = defs.resolve_job_def("refresh_all")
    assert schedule.job_name == "refresh_all"
    assert job.partitions_def == graph.get(AssetKey(["report", "weekly_adoption_report"])).partitions_def
    assert job.executor_def.name == "in_process"


def test_schedule_uses_the_organisations_time_zone(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("UPTAKE_TIME_ZONE", raising=False)
    (tmp_path / "settings.yaml").write_text("organisation: X\ntime_zone: America/Chicago\nplatform_launch: 2026-01-05\n")
    assert organisation_time_zone(tmp_path) == "America/Chicago"
    defs = build_definitions(raw_dir=tmp_path, warehouse=tmp_path / "w.duckdb", reports=tmp_path / "r")
    assert defs.get_schedule_def("weekly_adoption_report").execution_timezone == "America/Chicago"


def test_sensor_fires_on_new_files_only(tmp_path: Path) -> None:
    defs = build_definitions(raw_dir=tmp_path, warehouse=tmp_path / "w.duckdb", reports=tmp_path / "r")
    sensor = defs.get_sensor_def("drop_zone_new_files")
    with DagsterInstance.ephemeral() as instance:
        first = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=None, definitions=defs))
        assert len(first.run_requests) == 1
        assert first.run_requests[0].partition_key  # the report of the last complete week
        cursor = first.cursor
        again = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
        assert not again.run_requests and again.skip_message
        (tmp_path / "hr").mkdir()
        (tmp_path / "hr" / "hr_2026-01-05.csv").write_text("employee_id\nE1\n")
        changed = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
        assert len(changed.run_requests) == 1
    assert drop_zone_fingerprint(tmp_path) == changed.cursor
