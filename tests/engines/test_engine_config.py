"""Choosing the engine: settings.yaml's ``engine:``, the Dagster resource built from it, and bad
values refused naming the file and the field (no Spark started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.definitions import build_resources
from pipelines.schedules import engine_settings
from pipelines.spark import EngineResource
from tests.conftest import uptake_cli
from transforms.contracts.config import EngineSettings


def _drop_zone(tmp_path: Path, engine: str = "") -> Path:
    (tmp_path / "settings.yaml").write_text(
        "organisation: Test\ntime_zone: Europe/Paris\nplatform_launch: 2026-01-05\n" + engine, encoding="utf-8")
    return tmp_path


def test_duckdb_is_the_default(tmp_path: Path) -> None:
    assert engine_settings(_drop_zone(tmp_path)) == EngineSettings()
    resource = build_resources(_drop_zone(tmp_path), tmp_path / "w.duckdb")["engine"]
    assert isinstance(resource, EngineResource) and resource.name == "duckdb" and not resource.is_spark


def test_settings_yaml_chooses_spark_and_its_master(tmp_path: Path) -> None:
    raw = _drop_zone(tmp_path, "engine:\n  name: spark\n  spark_master: sc://spark.example:15002\n  lake: /mnt/lake\n")
    resource = build_resources(raw, tmp_path / "w.duckdb")["engine"]
    assert (resource.name, resource.spark_master, resource.lake_dir) == ("spark", "sc://spark.example:15002",
                                                                         "/mnt/lake")
    assert resource.is_spark


def test_an_explicit_engine_wins_over_settings_yaml(tmp_path: Path) -> None:
    raw = _drop_zone(tmp_path, "engine:\n  name: spark\n")
    resource = build_resources(raw, tmp_path / "w.duckdb", engine=EngineSettings(name="duckdb"))["engine"]
    assert resource.name == "duckdb"


def test_an_unknown_engine_in_settings_yaml_is_refused_naming_the_file_and_field(tmp_path: Path) -> None:
    raw = _drop_zone(tmp_path, "engine:\n  name: flink\n")
    with pytest.raises(ValueError, match=r"settings\.yaml: engine\.name: Input should be 'duckdb' or 'spark'"):
        engine_settings(raw)
    proc = uptake_cli("run", "--raw", str(raw), "--warehouse", str(tmp_path / "w.duckdb"), check=False)
    assert proc.returncode != 0 and "engine.name" in proc.stdout + proc.stderr


def test_a_spark_master_with_the_duckdb_engine_is_refused(tmp_path: Path) -> None:
    proc = uptake_cli("run", "--raw", str(_drop_zone(tmp_path)), "--warehouse", str(tmp_path / "w.duckdb"),
                      "--engine", "duckdb", "--spark-master", "local[2]", check=False)
    assert proc.returncode != 0 and "--spark-master goes with --engine spark" in proc.stdout + proc.stderr


def test_a_wrong_engine_is_refused_naming_the_option(tmp_path: Path) -> None:
    proc = uptake_cli("run", "--raw", str(_drop_zone(tmp_path)), "--warehouse", str(tmp_path / "w.duckdb"),
                      "--engine", "flink", check=False)
    assert proc.returncode != 0 and "--engine 'flink': expected duckdb or spark" in proc.stdout + proc.stderr
    assert not (tmp_path / "w.duckdb").exists()
