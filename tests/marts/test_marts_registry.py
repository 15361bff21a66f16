"""The marts registry is the single source: the asset graph, the report's inputs and the published
list are generated from it, and a full run builds exactly what it declares, each table read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dagster import AssetKey

from pipelines.assets.marts import TABLE_ASSETS, table_asset_key
from pipelines.assets.report import COVERAGE_KEYS, PUBLISHED, WEEKLY_REPORT
from pipelines.definitions import build_definitions
from quality.coverage import COVERAGE_TABLES
from tests.conftest import SimulatedRun
from transforms.marts import INPUTS, MARTS, MartRegistryError, load_registry, mart, mart_input
from transforms.metrics.registry import MetricKind
from transforms.report import QUALITY_TABLES, report_tables

REPO = Path(__file__).resolve().parents[2]
#: Tables of the marts schema that the person-week asset writes (not a mart function's).
PERSON_WEEK_TABLES = {"marts.person_week", "marts.person_week_source"}


def declared_tables() -> list[str]:
    return [t for spec in load_registry().values() for t in spec.tables]


def notebook_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "notebooks").glob("*.ipynb")))


def test_every_mart_table_is_declared_once() -> None:
    tables = declared_tables()
    assert len(tables) == len(set(tables))
    assert not set(tables) & PERSON_WEEK_TABLES


def test_each_mart_function_takes_only_declared_inputs_and_its_reads_come_from_them() -> None:
    for spec in load_registry().values():
        assert set(spec.inputs) <= set(INPUTS), spec.name
        assert spec.reads, f"{spec.name} reads no warehouse table"
        for table in spec.reads:
            assert table in TABLE_ASSETS, f"{spec.name} reads {table}, which no asset writes"


def test_a_mart_naming_an_undeclared_input_is_refused() -> None:
    with pytest.raises(MartRegistryError, match="not_an_input"):
        @mart("marts.nowhere", kind="activity", grain="x", description="x")
        def nowhere(not_an_input):  # noqa: ANN001, ANN202
            return not_an_input
    with pytest.raises(MartRegistryError, match="declared twice"):
        @mart("marts.adoption_curve", kind="activity", grain="x", description="x")
        def adoption_again(person_week):  # noqa: ANN001, ANN202
            return person_week
    with pytest.raises(MartRegistryError, match="declared twice"):
        @mart_input(reads=(), description="x")
        def person_week(ctx):  # noqa: ANN001, ANN202
            return ctx
    assert "nowhere" not in MARTS and "adoption_again" not in MARTS


def test_the_asset_graph_is_generated_from_the_registry(tmp_path: Path) -> None:
    defs = build_definitions(raw_dir=tmp_path, warehouse=tmp_path / "w.duckdb")
    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    for spec in load_registry().values():
        for table in spec.tables:
            key = table_asset_key(table)
            assert key in keys, table
            assert graph.get(key).group_name == "marts"
            expected = {TABLE_ASSETS[t] for t in spec.reads}
            assert set(graph.get(key).parent_keys) == expected, table
    # the report depends on exactly the tables it shows; publishing on every mart
    assert set(graph.get(WEEKLY_REPORT).parent_keys) == {table_asset_key(t) for t in report_tables()}
    published_parents = set(graph.get(PUBLISHED).parent_keys)
    assert {table_asset_key(t) for t in declared_tables()} | set(COVERAGE_KEYS) <= published_parents


def test_the_report_reads_the_marts_declared_for_it_and_the_coverage_tables() -> None:
    declared = [t for spec in load_registry().values() if "report" in spec.read_by for t in spec.tables]
    assert report_tables() == (*declared, *QUALITY_TABLES)
    assert tuple(COVERAGE_TABLES) == QUALITY_TABLES
    # every table name the report's code mentions is one it is given
    code = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "transforms" / "report").glob("*.py"))
    mentioned = set(re.findall(r'"((?:marts|quality)\.[a-z_]+)"', code))
    assert mentioned <= set(report_tables()), sorted(mentioned - set(report_tables()))


def test_marts_declared_for_notebooks_are_read_by_a_notebook() -> None:
    text = notebook_text()
    for spec in load_registry().values():
        if "notebooks" in spec.read_by:
            for table in spec.tables:
                assert table in text, f"{table} is declared as read by the notebooks, but none reads it"
    read = set(re.findall(r"(marts\.[a-z_]+)", text))
    assert read <= set(declared_tables()) | PERSON_WEEK_TABLES, sorted(read - set(declared_tables()))


@pytest.mark.xdist_group("e2e")
def test_a_full_run_builds_every_declared_table_and_nothing_else(simulated_run: SimulatedRun) -> None:
    with simulated_run.connect() as con:
        built = {f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('marts', 'quality')"
        ).fetchall()}
    marts = {t for t in built if t.startswith("marts.")}
    assert marts == set(declared_tables()) | PERSON_WEEK_TABLES
    assert set(QUALITY_TABLES) <= built
    # every built mart is read by the report or a notebook
    readers = {t: spec.read_by for spec in load_registry().values() for t in spec.tables}
    assert all(readers[t] for t in marts - PERSON_WEEK_TABLES)
    published = json.loads((simulated_run.warehouse.parent / "published" / "manifest.json").read_text())
    assert marts <= set(published["tables"])


def test_asset_keys_follow_table_names() -> None:
    assert table_asset_key("marts.adoption_curve") == AssetKey(["marts", "adoption_curve"])


@pytest.mark.xdist_group("e2e")
def test_each_built_mart_carries_its_declared_kind(simulated_run: SimulatedRun) -> None:
    with simulated_run.connect() as con:
        for spec in load_registry().values():
            for table in spec.tables:
                columns = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
                if spec.kind is None and "metric_kind" in columns:
                    kinds = {r[0] for r in con.execute(f"SELECT DISTINCT metric_kind FROM {table}").fetchall()}
                    assert kinds <= {k.value for k in MetricKind}, table  # each row one registered kind
                elif "kind" in columns:
                    kinds = {r[0] for r in con.execute(f"SELECT DISTINCT kind FROM {table}").fetchall()}
                    assert kinds == {spec.kind.value}, table
