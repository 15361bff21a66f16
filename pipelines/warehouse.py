"""Writing connectors' canonical batches into the DuckDB warehouse (``raw.<connector>_<table>``).

Each connector owns its raw tables (``raw.<connector>_<table>``) and its rows of
``quality.rejects``. A re-ingest replaces a connector's tables whole, so re-running the same drop
zone is idempotent.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

import duckdb

from pipelines.connectors.base import Batch
from transforms.contracts import CONTRACTS
from transforms.warehouse import ensure_schemas, register_frame

log = logging.getLogger(__name__)


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
            with register_frame(con, "__batch", frame.select(CONTRACTS[batch.table].names)) as view:
                con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {view}")
            counts[batch.table] += frame.height
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("ingested %s: %s", source, dict(counts))
    return counts
