"""``uptake run --engine spark`` against ``uptake run`` (DuckDB) on the demo drop zone (what ``uptake
simulate`` writes by default: 2,000 employees over 40 weeks; ``$UPTAKE_ENGINE_TEST_ORG=EMPLOYEESxWEEKS``
for another size): every mart equal (same rows; floating values within 1e-9), the clean tables
equal, the lake laid out by source and week. One real Spark session (pyspark in local mode, from the
lock file).

The drop zone is the simulator's export formats plus a canonical Parquet file of planted faults
(re-exported copies of events, content-identical repeats under new ids, blank accounts; a clock
error is stopped earlier, by the ingest layer's blocking check), so the dispositions other than
``kept`` run on both engines. Run alone with ``./dev.sh test -m spark``.
"""

from __future__ import annotations

import fcntl
import inspect
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli import simulate
from pipelines.connectors.slack import SlackConnector
from tests.conftest import uptake_cli

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _simulate_default(option: str) -> int:
    """The default of ``uptake simulate --OPTION`` (the demo drop zone's size)."""
    return int(inspect.signature(simulate).parameters[option].default)


def _organisation(spec: str | None) -> tuple[int, int, list[str]]:
    """``EMPLOYEESxWEEKS`` (None: the ``uptake simulate`` defaults) -> (employees, weeks, the
    simulate options that make it)."""
    if spec is None:
        return _simulate_default("employees"), _simulate_default("weeks"), []
    employees, _, weeks = spec.partition("x")
    if not (employees.isdigit() and weeks.isdigit()) or int(employees) < 20 or int(weeks) < 8:
        raise ValueError(f"$UPTAKE_ENGINE_TEST_ORG {spec!r}: expected EMPLOYEESxWEEKS, e.g. 200x12 "
                         "(at least 20 employees and 8 weeks)")
    return int(employees), int(weeks), ["--employees", employees, "--weeks", weeks]


#: The demo drop zone by default (``uptake simulate``'s defaults: 2,000 employees over 40 weeks,
#: seed 0); ``$UPTAKE_ENGINE_TEST_ORG=200x12`` runs a smaller organisation through both engines.
EMPLOYEES, WEEKS, SIMULATE_OPTIONS = _organisation(os.environ.get("UPTAKE_ENGINE_TEST_ORG"))
CLEAN_TABLES = ("clean.event_partitions", "clean.event_candidates", "clean.event_counts", "clean.event_days",
                "clean.account_events", "clean.activity_counts", "quality.event_conservation")
#: Planted rows, by what the clean layer must make of them.
PLANTED = {"duplicate": 40, "content_repeat": 15, "blank_account": 6}


@dataclass(frozen=True)
class EngineRuns:
    raw: Path
    duckdb: Path
    spark: Path
    lake: Path


def _plant_faults(raw: Path) -> Path:
    """A canonical events file for Slack made of copies of the Slack export's events (read by the
    Slack connector, as ingest reads them)."""
    target = raw / "platforms" / "slack" / "canonical" / "events" / "planted.parquet"
    slack_events = pl.concat([b.frame for b in SlackConnector().read_drop_zone(raw) if b.table == "events"])
    target.parent.mkdir(parents=True, exist_ok=True)
    n = PLANTED
    with duckdb.connect() as con:
        con.register("slack_events", slack_events)
        con.execute(f"""
            COPY (
                WITH base AS (SELECT * FROM slack_events WHERE NOT is_automated AND action = 'post'
                              ORDER BY event_id LIMIT {sum(n.values())}),
                numbered AS (SELECT *, row_number() OVER (ORDER BY event_id) AS i FROM base)
                SELECT * EXCLUDE (i) REPLACE ('planted.parquet' AS source_file) FROM numbered
                WHERE i <= {n['duplicate']}
                UNION ALL
                SELECT * EXCLUDE (i) REPLACE (event_id || '-again' AS event_id, 'planted.parquet' AS source_file)
                FROM numbered WHERE i > {n['duplicate']} AND i <= {n['duplicate'] + n['content_repeat']}
                UNION ALL
                SELECT * EXCLUDE (i) REPLACE (event_id || '-blank' AS event_id, '' AS account_id,
                                              'planted.parquet' AS source_file)
                FROM numbered WHERE i > {n['duplicate'] + n['content_repeat']}
            ) TO '{target}' (FORMAT parquet)""")
    return target


@pytest.fixture(scope="session")
def engine_runs(tmp_path_factory: pytest.TempPathFactory, secret_file: Path) -> EngineRuns:
    """Both runs, made once per test session even when xdist gives these tests to several workers
    (the workers share the runs under a lock)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    base = root / "engines"
    runs = EngineRuns(raw=base / "raw", duckdb=base / "duckdb" / "w.duckdb", spark=base / "spark" / "w.duckdb",
                      lake=base / "spark" / "lake")
    with (root / "engines.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / "done").is_file():
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(parents=True)
            uptake_cli("simulate", "--out", str(runs.raw), *SIMULATE_OPTIONS)
            _plant_faults(runs.raw)
            # the two runs are independent processes: side by side, the DuckDB run's single Python
            # thread and the Spark JVM share the cores instead of waiting for each other
            with ThreadPoolExecutor(max_workers=2) as pool:
                both = [pool.submit(uptake_cli, "run", "--raw", str(runs.raw), "--warehouse", str(runs.duckdb)),
                        pool.submit(uptake_cli, "run", "--raw", str(runs.raw), "--warehouse", str(runs.spark),
                                    "--engine", "spark", "--spark-master", "local[2]")]
                for run in both:
                    run.result()
            (base / "done").touch()
    return runs


def _table(path: Path, table: str) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"SELECT * FROM {table}").pl()


def _assert_same_rows(name: str, left: pl.DataFrame, right: pl.DataFrame) -> None:
    """Same columns and types, same rows in any order; floating values within 1e-9 (relative)."""
    assert left.schema == right.schema, f"{name}: {left.schema} != {right.schema}"
    assert left.height == right.height, f"{name}: {left.height} rows != {right.height}"
    floats = [c for c, t in left.schema.items() if t.is_float()]
    keys = [c for c in left.columns if c not in floats and not isinstance(left.schema[c], (pl.List, pl.Struct))]
    a, b = (f.sort(keys, nulls_last=True, maintain_order=True) for f in (left, right))
    others = [c for c in left.columns if c not in floats]
    assert a.select(others).equals(b.select(others)), f"{name}: rows differ"
    for c in floats:
        for x, y in zip(a[c].to_list(), b[c].to_list(), strict=True):
            assert (x is None) == (y is None) and (x is None or (math.isnan(x) and math.isnan(y))
                                                   or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)), (name, c, x, y)


def _marts(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [r[0] for r in con.execute(
            "SELECT 'marts.' || table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]


def test_every_mart_of_the_spark_run_equals_the_duckdb_run(engine_runs: EngineRuns) -> None:
    marts = _marts(engine_runs.duckdb)
    assert len(marts) >= 20 and "marts.person_week" in marts and "marts.person_week_source" in marts
    assert _marts(engine_runs.spark) == marts
    for mart in marts:
        _assert_same_rows(mart, _table(engine_runs.duckdb, mart), _table(engine_runs.spark, mart))
    assert _table(engine_runs.spark, "marts.person_week").height > EMPLOYEES * (WEEKS - 2)


def test_the_clean_tables_of_both_engines_are_equal(engine_runs: EngineRuns) -> None:
    for table in CLEAN_TABLES:
        _assert_same_rows(table, _table(engine_runs.duckdb, table), _table(engine_runs.spark, table))


def test_the_planted_faults_are_disposed_of_alike_on_spark(engine_runs: EngineRuns) -> None:
    with duckdb.connect(str(engine_runs.spark), read_only=True) as con:
        got = dict(con.execute(
            "SELECT disposition, count(*) FROM clean.event_candidates WHERE source = 'slack' GROUP BY ALL").fetchall())
        reasons = dict(con.execute(
            "SELECT reason, count(*) FROM quality.rejects WHERE contract = 'clean.events' GROUP BY ALL").fetchall())
        balanced = con.execute("SELECT bool_and(balanced) FROM quality.event_conservation").fetchone()[0]
    # each re-exported copy and each repeat is examined with its original; one of the two is kept
    assert got["duplicate"] == PLANTED["duplicate"] + PLANTED["content_repeat"]
    assert got["kept"] == PLANTED["duplicate"] + PLANTED["content_repeat"]
    assert got["rejected"] == PLANTED["blank_account"]
    assert reasons == {"account_id: required, found blank": PLANTED["blank_account"]}
    assert balanced


def test_the_lake_holds_the_events_layers_by_source_and_week(engine_runs: EngineRuns) -> None:
    lake = engine_runs.lake
    weeks = {p.name for p in (lake / "canonical" / "events" / "src=slack").iterdir()}
    assert len(weeks) >= WEEKS and all(w.startswith("week=20") for w in weeks)
    counts = lake / "clean" / "event_counts"
    assert {p.name for p in counts.iterdir() if p.is_dir()} >= {"src=slack", "src=mattermost"}
    person_weeks = sorted(p.name for p in (lake / "marts" / "person_week").iterdir() if p.is_dir())
    assert person_weeks and all(p.startswith("week=20") for p in person_weeks)
    with duckdb.connect() as con:
        lake_rows = con.execute(f"SELECT count(*) FROM read_parquet('{lake}/marts/person_week/**/*.parquet', "
                                "hive_partitioning = false)").fetchone()[0]
    assert lake_rows == _table(engine_runs.duckdb, "marts.person_week").height
