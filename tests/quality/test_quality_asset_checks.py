"""The Dagster binding: asset checks generated from the registry, blocking errors stop downstream
assets, warnings do not."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dagster import AssetKey, DagsterInstance, asset, materialize

from pipelines.assets.checks import build_asset_checks, run_summary
from pipelines.resources import WarehouseResource
from quality.registry import REGISTRY
from tests.quality.warehouse_fixture import delete_events, warehouse_file

SOURCES = {"events": ["slack", "mattermost"], "hr_snapshots": ["hr_csv"], "activity_counts": ["m365_usage"],
           "accounts": ["slack"]}


@asset(key=AssetKey(["raw", "drop_zone_config"]))
def _config() -> None:
    return None


@asset(key=AssetKey(["raw", "slack"]), deps=[_config])
def _slack() -> None:
    return None


@asset(key=AssetKey(["clean", "events"]), deps=[_slack])
def _clean_events() -> None:
    return None


@asset(key=AssetKey(["marts", "person_week"]), deps=[_clean_events])
def _person_week() -> None:
    return None


STUBS = [_config, _slack, _clean_events, _person_week]
KEYS = [k for a in STUBS for k in a.keys]


def test_checks_generated_for_known_assets_only() -> None:
    checks = build_asset_checks(KEYS, sources=SOURCES)
    specs = {(s.asset_key.to_user_string(), s.name): s for c in checks for s in c.check_specs}
    assert ("raw/slack", "slack_events_schema") in specs
    assert ("raw/mattermost", "mattermost_events_schema") not in specs  # no such asset here
    assert ("marts/adoption_curve", "adoption_curve_unique") not in specs
    assert specs[("clean/events", "events_conserved")].blocking
    assert not specs[("clean/events", "missing_export_days")].blocking
    # the late-feed check waits for the platform ingests it reads
    late = specs[("raw/drop_zone_config", "kpi_feed_late")]
    assert {d.asset_key for d in late.additional_deps} == {AssetKey(["raw", "slack"])}
    # without a filter, every concrete check of the registry is bound, once, to the sources of its kind
    names = [s.name for c in build_asset_checks(sources=SOURCES) for s in c.check_specs]
    assert len(names) == len(set(names))
    assert {c.name for c in REGISTRY if c.per_source is None} <= set(names)
    for source in ("slack", "mattermost"):
        assert {f"{source}_events_schema", f"{source}_events_conflicting_ids", f"{source}_rejects"} <= set(names)
    assert {"m365_usage_activity_counts_schema", "hr_csv_hr_snapshots_schema", "m365_usage_rejects"} <= set(names)
    # a connector never gets the checks of a table it does not yield
    assert not {n for n in names if n.startswith(("hr_csv_events", "m365_usage_events", "slack_hr_snapshots",
                                                    "slack_activity_counts"))}


def _run(path: Path):
    """Materialise the stubs with the checks of clean/events (the layer under test) against ``path``."""
    checks = [c for c in build_asset_checks(KEYS, sources=SOURCES)
              if {s.asset_key for s in c.check_specs} == {AssetKey(["clean", "events"])}]
    with DagsterInstance.ephemeral() as instance:
        result = materialize([*STUBS, *checks], instance=instance, raise_on_error=False,
                             resources={"warehouse": WarehouseResource(database=str(path))})
        evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    return evaluations, materialized


def test_blocking_failure_stops_downstream_and_warning_does_not(tmp_path: Path) -> None:
    path = warehouse_file(tmp_path / "w.duckdb")
    con = duckdb.connect(str(path))
    delete_events(con, "slack", "occurred_at::DATE = DATE '2026-02-04'")
    # the conservation row still counts the 30 deleted rows as read
    con.execute("UPDATE quality.event_conservation SET rows_in = 1240, raw_rows = 1240 WHERE source = 'slack'")
    con.close()
    evaluations, materialized = _run(path)
    assert evaluations["missing_export_days"].passed is False
    assert evaluations["missing_export_days"].severity.value == "WARN"
    assert "slack 2026-02-04 (Wed): 0 events" in evaluations["missing_export_days"].description
    # 1232 - 30 = 1202 kept and in clean.events, but rows_in 1240 != 1202 + 8: the blocking check fails and
    # marts/person_week does not run
    conserved = evaluations["events_conserved"]
    assert conserved.passed is False and conserved.blocking and conserved.severity.value == "ERROR"
    assert "slack events: 1240 in vs 1202 kept + 0 rejected + 8 filtered" in conserved.description
    assert "clean/events" in materialized and "marts/person_week" not in materialized


def test_clean_warehouse_runs_everything(tmp_path: Path) -> None:
    path = warehouse_file(tmp_path / "w.duckdb")
    evaluations, materialized = _run(path)
    assert all(e.passed for e in evaluations.values()), [
        (n, e.description) for n, e in evaluations.items() if not e.passed]
    assert materialized == {"raw/drop_zone_config", "raw/slack", "clean/events", "marts/person_week"}


def test_run_summary_asset(tmp_path: Path) -> None:
    path = warehouse_file(tmp_path / "w.duckdb")
    with DagsterInstance.ephemeral() as instance:
        result = materialize([run_summary], instance=instance,
                             resources={"warehouse": WarehouseResource(database=str(path))})
    meta = result.asset_materializations_for_node("quality__run_summary")[0].metadata
    assert meta["rows_in"].value == 1240 + 800 + 60 + 80 + 31 + 40 and meta["filtered"].value == 8
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT count(*) FROM quality.run_summary").fetchone()[0] == 6
    con.close()
