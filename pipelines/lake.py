"""The lake: Parquet tables both engines read, partitioned by source and week.

Layout under the lake's root (``lake/`` next to the warehouse unless configured)::

    canonical/events/src=<source>/week=<YYYY-MM-DD|none>/*.parquet   raw events with source, week_start
    clean/<table>/src=<source>/week=<YYYY-MM-DD|none>/*.parquet      the events clean tables
    marts/<table>/week=<YYYY-MM-DD>/*.parquet                        person-week tables
    inputs/<schema.table>/*.parquet                                  small warehouse tables a query reads
    work/<name>/                                                     a run's working relations

Every file holds all of its table's columns (``source`` and ``week_start`` included); the directory
names are only a layout, so readers do not infer columns from them (DuckDB
``hive_partitioning = false``, Spark ``recursiveFileLookup``). The DuckDB warehouse stays the
single file of the local case: the lake is written only by the Spark engine's runs.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

__all__ = ["export_partitioned", "export_table", "load_table", "parquet_files"]


def _sql_path(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def parquet_files(directory: Path) -> list[Path]:
    """The Parquet files of a lake table (none when it was never written or is empty)."""
    return sorted(directory.rglob("*.parquet")) if directory.is_dir() else []


def export_partitioned(con: duckdb.DuckDBPyConnection, relation: str, directory: Path) -> int:
    """Write ``relation`` (a DuckDB query or table with ``source`` and ``week_start``) to
    ``directory`` partitioned by source and week, replacing what was there; return its rows."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    n = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    if n:
        con.execute(
            f"COPY (SELECT *, source AS src, coalesce(CAST(week_start AS VARCHAR), 'none') AS week "
            f"FROM {relation}) TO {_sql_path(directory)} (FORMAT parquet, PARTITION_BY (src, week), "
            "OVERWRITE_OR_IGNORE true)"
        )
    log.info("lake: %d rows written to %s", n, directory)
    return int(n)


def export_table(con: duckdb.DuckDBPyConnection, table: str, directory: Path) -> Path:
    """Write the warehouse table ``table`` to ``directory/<table>/data.parquet`` (replaced)."""
    target = directory / table.lstrip("_")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY (SELECT * FROM {table}) TO {_sql_path(target / 'data.parquet')} (FORMAT parquet)")
    return target


def load_table(con: duckdb.DuckDBPyConnection, table: str, directory: Path) -> int:
    """Insert the rows of the lake table in ``directory`` into the warehouse table ``table``, by
    column name; return the rows inserted (0 when the lake table has no file)."""
    files = parquet_files(directory)
    if not files:
        return 0
    listed = ", ".join(_sql_path(f) for f in files)
    before = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet([{listed}], hive_partitioning = false, "
                "union_by_name = true)")
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] - before)
