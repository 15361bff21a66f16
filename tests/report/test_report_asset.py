"""The report asset and `uptake report`'s write_report on a warehouse holding the hand-made marts,
and the published Parquet snapshots notebooks read."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.assets.report import build_weekly_report, published_marts, weekly_partitions
from pipelines.publish import (
    PublishedTableMissingError,
    publish_marts,
    published_config,
    published_tables,
    read_published,
    read_published_table,
    read_warehouse_table,
)
from pipelines.report_file import NoCompleteWeekError, latest_complete_week, write_report
from pipelines.resources import DropZoneResource, WarehouseResource
from quality.coverage import rejects_summary
from report import report_fixtures as fx
from transforms.contracts import REJECTS
from transforms.contracts.config import Charters, KpiRegistry, PilotCohort, Pilots, Settings
from transforms.warehouse import replace_table

SETTINGS = Settings(organisation="Acme", platform_launch=fx.W0, min_group_size=5, identity_match_threshold=0.95)


def build_warehouse(path: Path, tables: dict[str, pl.DataFrame] | None = None) -> Path:
    """A warehouse file with the configuration rows, the hand-made marts and some rejects."""
    tables = fx.all_tables() if tables is None else tables
    with duckdb.connect(str(path)) as con:
        for schema in ("raw", "marts", "quality"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute("CREATE TABLE raw.settings (name VARCHAR PRIMARY KEY, body JSON)")
        pilots = Pilots(cohorts=[PilotCohort(name="wave-1", wave=1, start=fx.WEEKS[2], employee_ids=["E1", "E2"])])
        for name, model in (("settings", SETTINGS), ("pilots", pilots),
                            ("kpi_registry", KpiRegistry(kpis=list(fx.KPI_REGISTRY))),
                            ("charters", Charters(communities=[]))):
            con.execute("INSERT INTO raw.settings VALUES (?, ?)", [name, model.model_dump_json()])
        for name, frame in tables.items():
            if name == "quality.rejects_summary":
                continue  # derived from quality.rejects below, as the pipeline does
            replace_table(con, name, frame)
        con.execute(REJECTS.duckdb_ddl("quality.rejects"))
        con.execute("INSERT INTO quality.rejects VALUES "
                    "('events', 'a.json', 'line 3', 'occurred_at: not a timestamp', 'slack', 'user=U123 jane@acme.test'),"
                    "('events', 'a.json', 'line 9', 'occurred_at: not a timestamp', 'slack', 'user=U124'),"
                    "('events', 'b.json', 'line 1', 'unknown action', 'viva_engage', 'id=9')")
        replace_table(con, "quality.rejects_summary", rejects_summary(con))
    return path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("wh") / "w.duckdb")


def test_write_report_works_on_a_read_only_connection(warehouse: Path, tmp_path: Path):
    out = tmp_path / "reports" / "r.html"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        path, summary = write_report(con, out)
    html = path.read_text(encoding="utf-8")
    assert path == out and "adoption report, week 2026-W15" in html
    assert summary["week"] == "2026-W15" and summary["errors"] == []
    assert summary["headline"]["active_share"] == 42.0 and summary["headline"]["contributors"] == 30
    assert summary["charts"] >= 20
    assert not list(out.parent.glob(".*.tmp"))  # written next to the target, then renamed
    # the reasons of the rejects are shown, their identifying excerpts never
    assert "occurred_at: not a timestamp" in html and "jane@acme.test" not in html


def test_write_report_for_a_given_week(warehouse: Path, tmp_path: Path):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        _, summary = write_report(con, tmp_path / "r.html", fx.WEEKS[2])
    assert summary["week"] == "2026-W12" and summary["headline"]["active_share"] == 36.0


def test_publish_marts_writes_every_mart_but_no_row_level_rejects(warehouse: Path, tmp_path: Path):
    out = tmp_path / "published"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        written = publish_marts(con, out)
    marts = {n for n in fx.all_tables() if n.startswith("marts.")}
    assert marts <= set(written) and "quality.coverage" in written and "quality.rejects" not in written
    assert not (out / "quality" / "rejects.parquet").exists()
    assert set(published_tables(out)) == set(written)
    assert_frame_equal(read_published_table("marts.adoption_curve", out), fx.adoption_curve(), check_dtypes=False)
    summary = read_published_table("quality.rejects_summary", out).sort("source")
    assert summary.select("source", "reason", "rows").rows() == [
        ("slack", "occurred_at: not a timestamp", 2), ("viva_engage", "unknown action", 1)]
    assert "excerpt" not in summary.columns
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["marts.adoption_curve"] == fx.adoption_curve().height
    config = published_config(out)
    assert config.settings.organisation == "Acme" and config.min_group_size == 5
    assert [k.name for k in config.kpi_registry.kpis] == ["resolution_hours"]
    assert not (out / "config" / "pilots.json").exists()  # pilot members are employee ids
    assert not list(out.glob(".staging-*"))


def test_republishing_removes_tables_gone_from_the_warehouse(tmp_path: Path):
    tables = {"marts.adoption_curve": fx.adoption_curve(), "marts.lifecycle": fx.lifecycle()}
    wh = build_warehouse(tmp_path / "w.duckdb", tables)
    out = tmp_path / "pub"
    with duckdb.connect(str(wh)) as con:
        publish_marts(con, out)
        assert (out / "marts" / "lifecycle.parquet").exists()
        con.execute("DROP TABLE marts.lifecycle")
        publish_marts(con, out)
    assert not (out / "marts" / "lifecycle.parquet").exists()
    assert set(read_published(out)) == {"marts.adoption_curve", "quality.rejects_summary"}


def test_reading_a_table_that_was_not_published_says_where_and_how(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("UPTAKE_PUBLISHED", str(tmp_path))
    with pytest.raises(PublishedTableMissingError, match=r"adoption_curve\.parquet.*uptake run"):
        read_published_table("marts.adoption_curve")
    with pytest.raises(ValueError, match="expected 'marts"):
        read_published_table("raw.settings", tmp_path)


def test_read_warehouse_table_is_a_short_read_only_fallback(warehouse: Path):
    frame = read_warehouse_table(warehouse, "marts.lifecycle")
    assert frame.height == fx.lifecycle().height
    with pytest.raises(ValueError, match="schema.table"):
        read_warehouse_table(warehouse, "marts.x; DROP TABLE marts.lifecycle")


def test_the_dagster_asset_records_the_headline_and_the_file(warehouse: Path, tmp_path: Path, monkeypatch):
    from dagster import materialize

    reports, published = tmp_path / "data" / "reports", tmp_path / "data" / "published"
    report = build_weekly_report(weekly_partitions("Europe/Paris", fx.W0))
    result = materialize(
        [report, published_marts], partition_key=fx.WEEKS[-1].isoformat(),
        resources={"warehouse": WarehouseResource(database=str(warehouse)),
                   "drop_zone": DropZoneResource(raw_dir=str(tmp_path / "raw"), reports_dir=str(reports),
                                                 published_dir=str(published))},
    )
    assert result.success
    events = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    event = events["report/weekly_adoption_report"]
    meta = {k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()}
    assert Path(meta["path"]) == (reports / "adoption_report_2026-W15.html").resolve()
    assert Path(meta["path"]).is_file()
    assert meta["week"] == "2026-W15"
    assert meta["active share of the workforce (%)"] == 42.0
    assert meta["contributors"] == 30.0 and meta["frontline gap (points)"] == 20.0
    assert "| active share of the workforce (%) | 42.0 | +2.0 |" in meta["headline"]
    published_meta = events["report/published_marts"].step_materialization_data.materialization.metadata
    assert Path(published_meta["path"].value) == published.resolve()
    assert (published / "marts" / "adoption_curve.parquet").is_file()


def test_a_week_beyond_the_data_shows_the_latest_complete_week_before_it(warehouse: Path, tmp_path: Path):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        _, summary = write_report(con, tmp_path / "r.html", fx.WEEKS[-1] + dt.timedelta(weeks=30))
    assert summary["week"] == "2026-W15" and summary["requested_week"] != summary["week"]


def test_a_warehouse_without_marts_has_no_report_week(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        with pytest.raises(NoCompleteWeekError, match="marts.adoption_curve is not in the warehouse"):
            latest_complete_week(con)
