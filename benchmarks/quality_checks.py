"""Quality-check benchmark: every event check of the registry on 10 million events.

Acceptance (issue 7): the checks on 10 million events (raw and clean events tables in DuckDB) take
under 30 s on 2 cores.

The warehouse is synthetic and built in SQL (not measured): two platform sources (``slack`` 60 %,
``mattermost`` 40 %) over 52 weeks and 10,000 accounts in a DuckDB file; raw tables carry 1 % exact
re-exported copies and 1 % automated events; the clean layer (``clean.events`` and its partition
tables, ``quality.event_conservation``) is built by :func:`transforms.clean_events.build_clean_events`. Then the registry's checks of
``raw/<source>`` and ``clean/events`` run through :func:`quality.runner.run_checks` (schema,
required values and vocabulary, conflicting duplicates, the GX suite on a 50,000-row sample,
rejects, conservation, uniqueness, ISO weeks, missing export days), and the figures are printed::

    .venv/bin/python benchmarks/quality_checks.py                  # 10,000,000 events, temp file
    .venv/bin/python benchmarks/quality_checks.py --events 500000  # a quick try
    # build once (a few minutes), then measure as often as needed on the same file:
    .venv/bin/python benchmarks/quality_checks.py --warehouse benchmarks/out/quality_10m.duckdb --build-only
    .venv/bin/python benchmarks/quality_checks.py --warehouse benchmarks/out/quality_10m.duckdb

Great Expectations' import (a one-off per process, about 4 s) is timed apart from the checks.
Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quality.runner import run_checks, summary_table  # noqa: E402
from transforms.clean_events import build_clean_events  # noqa: E402
from transforms.contracts import EVENTS, REJECTS  # noqa: E402
from transforms.contracts.config import Charters, KpiRegistry, PilotCohort, Pilots, Settings  # noqa: E402

TARGET_SECONDS = 30.0
ACCOUNTS = 10_000
WEEKS = 52
FIRST_DAY = "2025-01-06"


def build_warehouse(con: duckdb.DuckDBPyConnection, events: int) -> None:
    """The synthetic warehouse (see the module docstring)."""
    for schema in ("raw", "clean", "marts", "quality"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    settings = Settings(organisation="Bench", time_zone="Europe/Paris", platform_launch=FIRST_DAY)
    pilots = Pilots(cohorts=[PilotCohort(name="w1", wave=1, start=FIRST_DAY, employee_ids=["E1"])])
    con.execute("CREATE OR REPLACE TABLE raw.settings (name VARCHAR PRIMARY KEY, body JSON)")
    for name, model in (("settings", settings), ("pilots", pilots), ("kpi_registry", KpiRegistry(kpis=[])),
                        ("charters", Charters(communities=[]))):
        con.execute("INSERT INTO raw.settings VALUES (?, ?)", [name, model.model_dump_json()])
    con.execute(REJECTS.duckdb_ddl("quality.rejects"))
    seconds = WEEKS * 7 * 86400
    columns = ", ".join(EVENTS.names)
    for source, share, offset in (("slack", 0.6, 0), ("mattermost", 0.4, 1)):
        n = int(events * share)
        # deterministic pseudo-random columns from hashes of the row number
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE generated AS
            WITH base AS (SELECT i, (hash(i * 2 + {offset}) >> 1)::BIGINT AS h FROM range({n}) t(i))
            SELECT '{source}' AS source, '{source[0]}' || i::VARCHAR AS event_id,
                   TIMESTAMPTZ '{FIRST_DAY} 00:00:00+00' + to_seconds(h % {seconds}) AS occurred_at,
                   'A' || ((h >> 20) % {ACCOUNTS})::VARCHAR AS account_id,
                   'a' || ((h >> 20) % {ACCOUNTS})::VARCHAR || '@bench.example' AS account_email,
                   ['visit', 'read', 'react', 'post', 'reply', 'share', 'upload', 'join'][((h >> 40) % 8) + 1]
                       AS action,
                   'C' || ((h >> 8) % 200)::VARCHAR AS space_id,
                   NULL::VARCHAR AS thread_id, NULL::VARCHAR AS content_id,
                   (h >> 50) % 100 = 0 AS is_automated,
                   ((h >> 12) % 500)::INTEGER AS body_chars, NULL::VARCHAR[] AS hashtags, NULL::BOOLEAN AS is_question,
                   ((h >> 30) % 3)::SMALLINT AS mention_count, NULL::VARCHAR AS reaction,
                   'export_' || ((h % {seconds}) // (7 * 86400))::VARCHAR || '.zip' AS source_file,
                   (h >> 56) % 100 = 7 AS copied  -- re-exported twice
            FROM base
        """)
        table = f"raw.{source}_events"
        con.execute(EVENTS.duckdb_ddl(table))
        con.execute(f"INSERT INTO {table} SELECT {columns} FROM generated")
        con.execute(f"INSERT INTO {table} SELECT {columns} FROM generated WHERE copied")
    con.execute("DROP TABLE generated")
    build_clean_events(con, ["slack", "mattermost"], settings)  # the real clean layer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warehouse", type=Path, default=None,
                        help="DuckDB file to build (or reuse, when it exists) instead of a temporary one")
    parser.add_argument("--build-only", action="store_true", help="build the warehouse file and stop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.warehouse or Path(tmp) / "bench.duckdb"
        reuse = path.exists()
        if not reuse:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(path), config={"threads": args.threads})
            con.execute("SET enable_progress_bar = false")
            started = time.perf_counter()
            build_warehouse(con, args.events)
            con.execute("CHECKPOINT")
            con.close()
            print(f"warehouse built in {time.perf_counter() - started:.1f} s (not measured)")
        if args.build_only:
            return 0
        con = duckdb.connect(str(path), read_only=True, config={"threads": args.threads})
        con.execute("SET enable_progress_bar = false")
        raw_rows = con.execute(
            "SELECT (SELECT count(*) FROM raw.slack_events) + (SELECT count(*) FROM raw.mattermost_events)"
        ).fetchone()[0]
        clean_rows = con.execute("SELECT count(*) FROM clean.events").fetchone()[0]
        print(f"warehouse {'reused' if reuse else 'built'}: {path} ({path.stat().st_size / 1024**2:.0f} MiB), "
              f"{raw_rows:,} raw events, {clean_rows:,} clean events")

        started = time.perf_counter()
        import great_expectations  # noqa: F401  (the one-off import, timed apart)

        print(f"great_expectations import: {time.perf_counter() - started:.1f} s (once per process)")

        started, cpu_started = time.perf_counter(), time.process_time()
        outcomes = run_checks(con, only=["raw/slack", "raw/mattermost", "clean/events"])
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        con.close()

    table = summary_table(outcomes)
    width = max(len(c) for c in table["check"])
    for row in table.iter_rows(named=True):
        state = "pass" if row["passed"] else ("FAIL" if row["severity"] == "error" else "warn")
        print(f"  {row['check']:<{width}}  {row['seconds']:6.2f} s  {state}  {row['message'][:90]}")
    ok = elapsed < TARGET_SECONDS and all(o.passed for o in outcomes if not o.skipped)
    load = os.getloadavg()[0]
    print(f"{len(outcomes)} checks on {raw_rows:,} raw / {clean_rows:,} clean events with {args.threads} threads: "
          f"{elapsed:.1f} s wall, {cpu:.1f} s CPU (load average {load:.1f} on {os.cpu_count()} cores) "
          f"(target < {TARGET_SECONDS:.0f} s) -> {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
