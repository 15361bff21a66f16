"""Writing canonical batches into the DuckDB warehouse, and the warehouse's schemas.

Each connector owns its raw tables (``raw.<connector>_<table>``) and its rows of
``quality.rejects``. A re-ingest replaces a connector's tables whole, so re-running the same drop
zone is idempotent.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

import duckdb
import polars as pl

from pipelines.connectors.base import Batch
from transforms.contracts import CONTRACTS, REJECTS

log = logging.getLogger(__name__)

SCHEMAS: tuple[str, ...] = ("raw", "clean", "marts", "quality")


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    """Create the warehouse schemas and ``quality.rejects`` if they do not exist."""
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(REJECTS.duckdb_ddl("quality.rejects"))


def raw_table(source: str, table: str) -> str:
    """Name of a connector's raw table, e.g. ``raw.slack_events``."""
    return f"raw.{source}_{table}"


def write_batches(
    con: duckdb.DuckDBPyConnection, source: str, tables: Iterable[str], batches: Iterable[Batch]
) -> Counter[str]:
    """Replace ``source``'s raw tables with ``batches``; return rows written per table.

    ``tables`` are the canonical tables the connector yields; each is recreated empty first so that
    a connector that yields no rows still leaves an empty, typed table. Rejects go to
    ``quality.rejects`` with ``source`` set. Runs in one transaction: a crash mid-ingest leaves the
    previous state.
    """
    ensure_schemas(con)
    counts: Counter[str] = Counter()
    con.execute("BEGIN TRANSACTION")
    try:
        for table in tables:
            name = raw_table(source, table)
            con.execute(f"DROP TABLE IF EXISTS {name}")
            con.execute(CONTRACTS[table].duckdb_ddl(name))
            counts[table] = 0
        con.execute("DELETE FROM quality.rejects WHERE source = ?", [source])
        for batch in batches:
            frame = batch.frame
            if batch.table == "rejects":
                frame = frame.with_columns(frame["source"].fill_null(source))
                target = "quality.rejects"
            else:
                target = raw_table(source, batch.table)
            if frame.height == 0:
                continue
            cols = ", ".join(f'"{c}"' for c in CONTRACTS[batch.table].names)
            con.register("__batch", frame.select(CONTRACTS[batch.table].names).to_arrow())
            con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM __batch")
            con.unregister("__batch")
            counts[batch.table] += frame.height
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("ingested %s: %s", source, dict(counts))
    return counts


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> int:
    """Create or replace table ``name`` with the rows of a Polars frame; return the row count."""
    con.register("__replace", frame.to_arrow())
    try:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __replace")
    finally:
        con.unregister("__replace")
    return frame.height


def read_table(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    """A whole warehouse table as a Polars frame."""
    return con.execute(f"SELECT * FROM {name}").pl()
