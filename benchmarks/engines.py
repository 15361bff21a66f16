"""The events clean layer on both engines, on the same canonical events: DuckDB (the default,
partition by partition) against Spark (pyspark, local mode, a full recompute into the lake).

    ./dev.sh python benchmarks/engines.py --employees 5000 --weeks 26 --events-per-active-week 40

The organisation is simulated once per parameter set into ``--data`` (``uptake simulate
--canonical``) and ingested once (``uptake run --until ingest``); each engine then builds the clean
layer (``transforms.clean_events.build_clean_events``: dispositions, event counts, days, account
summaries, the ``clean.events`` view, counters, conservation) on its own copy of that warehouse.
Prints ``name=value`` lines:

- ``events``: raw canonical events; ``partitions``: (source, week) partitions;
- ``duckdb_s``: DuckDB, a first (full) build; ``duckdb_cpu_s``: its CPU seconds (user + system);
- ``spark_startup_s``: starting the local Spark session (paid once per run, not per layer);
- ``spark_s``: Spark, export of the events to the lake, the recompute and the load back;
  ``spark_cpu_s``: its CPU seconds, this process's and the local JVM's (on a shared machine the CPU
  seconds say more than the wall-clock ones, which grow with the other jobs' load);
- ``rows_equal``: every clean table (event partitions, candidates, counts, days, account
  summaries, activity counts, conservation) has the same rows on both engines.

Times on this shared 2-core machine are noisy; Spark's local mode here shows its fixed costs, not a
cluster's throughput (see docs/engines.md).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.assets.clean import platform_sources  # noqa: E402
from pipelines.spark import SparkRunner, spark_session  # noqa: E402
from transforms.clean_events import build_clean_events  # noqa: E402
from transforms.warehouse import read_config  # noqa: E402

TABLES = ("clean.event_partitions", "clean.event_candidates", "clean.event_counts", "clean.event_days",
          "clean.account_events", "clean.activity_counts", "quality.event_conservation")


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pipelines.cli", *args], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL)


def _ingested(data: Path, employees: int, weeks: int, events: float) -> Path:
    """The ingested warehouse of the simulated organisation (made once per parameter set)."""
    base = data / f"e{employees}_w{weeks}_x{events:g}"
    warehouse = base / "ingested.duckdb"
    if not warehouse.is_file():
        shutil.rmtree(base, ignore_errors=True)
        _cli("simulate", "--out", str(base / "raw"), "--employees", str(employees), "--weeks", str(weeks),
             "--seed", "3", "--canonical", "--events-per-active-week", f"{events:g}")
        _cli("run", "--raw", str(base / "raw"), "--warehouse", str(warehouse), "--until", "ingest")
    return warehouse


def _jvm_cpu_s(session: object) -> float:
    """CPU seconds (user + system) used so far by the local Spark session's JVM (0 elsewhere)."""
    proc = getattr(getattr(session.sparkContext, "_gateway", None), "proc", None)  # type: ignore[attr-defined]
    if proc is None:
        return 0.0
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _same_rows(left: Path, right: Path) -> bool:
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{left}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{right}' AS b (READ_ONLY)")
        for table in TABLES:
            diff = con.execute(f"SELECT (SELECT count(*) FROM (FROM a.{table} EXCEPT ALL FROM b.{table})) + "
                               f"(SELECT count(*) FROM (FROM b.{table} EXCEPT ALL FROM a.{table}))").fetchone()[0]
            if diff:
                print(f"differs={table}:{diff}")  # noqa: T201 - a benchmark's output
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--events-per-active-week", type=float, default=40)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--verbose", action="store_true", help="log each step's time")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "benchmarks" / "engines")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    ingested = _ingested(args.data, args.employees, args.weeks, args.events_per_active_week)
    sources = platform_sources()
    with tempfile.TemporaryDirectory(dir=args.data) as tmp:
        work = Path(tmp)
        duck, spark = work / "duckdb.duckdb", work / "spark.duckdb"
        shutil.copy(ingested, duck)
        shutil.copy(ingested, spark)
        with duckdb.connect(str(duck)) as con:
            settings = read_config(con).settings
            started, cpu = time.perf_counter(), time.process_time()
            build_clean_events(con, sources, settings)
            duckdb_s, duckdb_cpu_s = time.perf_counter() - started, time.process_time() - cpu
            partitions, events = con.execute(
                "SELECT count(*), sum(rows_in) FROM clean.event_partitions").fetchone()
        started = time.perf_counter()
        session = spark_session(args.spark_master)
        startup_s = time.perf_counter() - started
        try:
            with duckdb.connect(str(spark)) as con:
                started, cpu, jvm = time.perf_counter(), time.process_time(), _jvm_cpu_s(session)
                build_clean_events(con, sources, settings, SparkRunner(session, work / "lake").clean_events())
                spark_s = time.perf_counter() - started
                spark_cpu_s = time.process_time() - cpu + _jvm_cpu_s(session) - jvm
        finally:
            session.stop()
        equal = _same_rows(duck, spark)
    for name, value in (("events", events), ("partitions", partitions), ("duckdb_s", f"{duckdb_s:.1f}"),
                        ("duckdb_cpu_s", f"{duckdb_cpu_s:.1f}"), ("spark_startup_s", f"{startup_s:.1f}"),
                        ("spark_s", f"{spark_s:.1f}"), ("spark_cpu_s", f"{spark_cpu_s:.1f}"),
                        ("spark_over_duckdb", f"{spark_s / duckdb_s:.1f}"),
                        ("rows_equal", str(equal).lower())):
        print(f"{name}={value}")  # noqa: T201 - a benchmark's output


if __name__ == "__main__":
    main()
