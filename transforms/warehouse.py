"""The warehouse's helpers, one copy each: its schemas, whether a table exists, frames in and out,
and the validated configuration every layer reads.

The warehouse is one DuckDB file with the schemas ``raw`` (connectors' canonical rows and the
drop zone's configuration), ``clean``, ``marts`` and ``quality``. Every function takes an open
connection and does not commit on its own behalf unless said.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa

from transforms.contracts import REJECTS
from transforms.contracts.config import Charters, KpiRegistry, Pilots, Settings, Surveys, Targets

__all__ = [
    "SCHEMAS",
    "MissingInputError",
    "WarehouseConfig",
    "drop_relation",
    "ensure_schemas",
    "read_config",
    "read_table",
    "register_frame",
    "relation_exists",
    "replace_table",
    "require_relation",
    "sql_literal",
]

SCHEMAS: tuple[str, ...] = ("raw", "clean", "marts", "quality")
_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$")


def sql_literal(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


class MissingInputError(RuntimeError):
    """A warehouse table a transform reads does not exist; the message names it and its builder."""


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"table name {name!r}: expected 'schema.table' of letters, digits and '_'")
    return name


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    """Create the warehouse schemas and ``quality.rejects`` if they do not exist."""
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(REJECTS.duckdb_ddl("quality.rejects"))


def relation_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether ``schema.table`` (or a bare temp table name) exists as a table or a view."""
    schema, _, table = name.rpartition(".")
    where = "schema_name = $s AND " if schema else ""
    params = {"s": schema, "t": table} if schema else {"t": table}
    return bool(con.execute(
        f"SELECT (SELECT count(*) FROM duckdb_tables() WHERE {where}table_name = $t)"
        f" + (SELECT count(*) FROM duckdb_views() WHERE {where}view_name = $t)",
        params,
    ).fetchone()[0])


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop table or view ``schema.name`` if it exists, whichever it is."""
    schema, table = _checked(name).split(".")
    is_view = con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = ? AND view_name = ?",
                          [schema, table]).fetchone()[0]
    con.execute(f"DROP {'VIEW' if is_view else 'TABLE'} IF EXISTS {name}")


def require_relation(con: duckdb.DuckDBPyConnection, name: str, builder: str) -> None:
    """Raise :class:`MissingInputError` naming ``name`` and the function that builds it if it is absent."""
    if not relation_exists(con, name):
        raise MissingInputError(f"{name} does not exist; build it first with {builder}")


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` ... ``COMMIT`` around the block; ``ROLLBACK`` when it raises (anything, even an interrupt)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextlib.contextmanager
def register_frame(con: duckdb.DuckDBPyConnection, name: str,
                   frame: pl.DataFrame | pa.Table) -> Iterator[str]:
    """Make ``frame`` queryable as ``name`` on ``con`` for the duration of the block (zero-copy Arrow)."""
    con.register(name, frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame)
    try:
        yield name
    finally:
        con.unregister(name)


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, *,
                  temp: bool = False) -> int:
    """Create or replace table ``name`` with the rows of a Polars frame; return the row count.

    One statement: a reader sees the old table or the new one, never a half-written one.
    """
    with register_frame(con, "__replace_frame", frame) as view:
        con.execute(f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE {_checked(name)} AS SELECT * FROM {view}")
    return frame.height


def read_table(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    """A whole warehouse table as a Polars frame."""
    return con.execute(f"SELECT * FROM {_checked(name)}").pl()


@dataclass(frozen=True)
class WarehouseConfig:
    """The drop zone's validated configuration, as stored in ``raw.settings``."""

    settings: Settings
    pilots: Pilots
    kpi_registry: KpiRegistry
    charters: Charters
    targets: Targets = Targets(targets=[])
    surveys: Surveys = Surveys(surveys=[])


def read_config(con: duckdb.DuckDBPyConnection) -> WarehouseConfig:
    """The validated configuration models from ``raw.settings`` (written by the ingest layer)."""
    require_relation(con, "raw.settings", "the ingest layer (uptake run --until ingest)")
    rows = dict(con.execute("SELECT name, body FROM raw.settings").fetchall())
    return WarehouseConfig(
        settings=Settings.model_validate_json(rows["settings"]),
        pilots=Pilots.model_validate_json(rows["pilots"]),
        kpi_registry=KpiRegistry.model_validate_json(rows["kpi_registry"]),
        charters=Charters.model_validate_json(rows["charters"]),
        targets=Targets.model_validate_json(rows["targets"]) if "targets" in rows else Targets(targets=[]),
        surveys=Surveys.model_validate_json(rows["surveys"]) if "surveys" in rows else Surveys(surveys=[]),
    )
