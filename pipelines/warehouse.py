"""Writing connectors' canonical batches into the DuckDB warehouse (``raw.<connector>_<table>``).

Each connector owns its raw tables (``raw.<connector>_<table>``) and its rows of
``quality.rejects``. A re-ingest replaces a connector's tables whole, so re-running the same drop
zone is idempotent.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb

from pipelines.connectors.base import Batch, ConnectorError
from transforms.contracts import CONTRACTS
from transforms.warehouse import ensure_schemas, register_frame

log = logging.getLogger(__name__)


def raw_table(source: str, table: str) -> str:
    """Name of a connector's raw table, e.g. ``raw.slack_events``."""
    return f"raw.{source}_{table}"


CANONICAL_FILES = "raw.canonical_files"
_CANONICAL_FILES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {CANONICAL_FILES} (source VARCHAR, \"table\" VARCHAR, file VARCHAR, "
    "size BIGINT, mtime_ns BIGINT, rows BIGINT, rejected BIGINT)"
)


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    schema, table = name.split(".")
    is_view = con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = ? AND view_name = ?",
                          [schema, table]).fetchone()[0]
    con.execute(f"DROP {'VIEW' if is_view else 'TABLE'} IF EXISTS {name}")


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _parquet_columns(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> list[str]:
    listed = ", ".join(_sql_path(f) for f in files)
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet([{listed}], union_by_name = true)").fetchall()
    except duckdb.Error as exc:
        raise ConnectorError(f"cannot read as Parquet: {exc}", file=str(files[0])) from exc
    return [r[0] for r in rows]


def register_canonical(con: duckdb.DuckDBPyConnection, source: str, table: str, files: Sequence[Path],
                       rows_table: str) -> int:
    """Make ``raw.<source>_<table>`` the rows of ``rows_table`` (what the connector parsed) followed by
    the canonical Parquet ``files`` read in place (a view: the files are not copied).

    Rows of the files that break the contract are left out of the view and quarantined in
    ``quality.rejects`` with the reason and ``row N`` of their file; each file is checked once
    (``raw.canonical_files`` remembers it by size and modification time), so a weekly run that adds
    one file reads only that file. A file that is not Parquet, or lacks a required column, raises
    :class:`ConnectorError` naming it. Returns the rows the files add.
    """
    contract = CONTRACTS[table]
    columns = _parquet_columns(con, files)
    missing = [c.name for c in contract.columns if not c.nullable and c.name not in columns and c.name != "source"]
    if missing:
        raise ConnectorError(f"missing required column(s) {', '.join(missing)} for canonical {table}; expected the "
                             f"columns of the {table} contract ({', '.join(contract.names)})",
                             file=str(files[0].parent))
    con.execute(_CANONICAL_FILES_DDL)
    known = {(f, size, mtime): (rows, rejected) for f, size, mtime, rows, rejected in con.execute(
        f'SELECT file, size, mtime_ns, rows, rejected FROM {CANONICAL_FILES} WHERE source = ? AND "table" = ?',
        [source, table]).fetchall()}
    overrides = {"source": f"'{source}'"}
    if "source_file" in contract.names:
        overrides["source_file"] = "coalesce(TRY_CAST(source_file AS VARCHAR), filename)" \
            if "source_file" in columns else "filename"
    problems = contract.sql_problems([c for c in columns if c != "source"] + ["source"])
    excerpt = " || ', ' || ".join(
        f"'{k}=' || coalesce(TRY_CAST(\"{k}\" AS VARCHAR), '')" for k in contract.key if k in columns and k != "source"
    ) or "NULL"
    current: list[tuple[str, int, int, int, int]] = []
    for path in files:
        st = path.stat()
        entry = (str(path), st.st_size, st.st_mtime_ns)
        if entry in known:
            current.append((*entry, *known[entry]))
            continue
        con.execute("DELETE FROM quality.rejects WHERE source = ? AND file = ?", [source, str(path)])
        scanned = f"read_parquet([{_sql_path(path)}], union_by_name = true, filename = true, file_row_number = true)"
        con.execute(
            f"""
            INSERT INTO quality.rejects (contract, file, locator, reason, source, excerpt)
            SELECT '{table}', filename, 'row ' || (file_row_number + 1), reason, '{source}', {excerpt}
            FROM (SELECT *, {problems} AS reason FROM {scanned}) WHERE reason <> ''
            """
        )
        rows, rejected = con.execute(
            f"SELECT count(*), count(*) FILTER (({problems}) <> '') FROM {scanned}").fetchone()
        current.append((*entry, int(rows), int(rejected)))
    con.execute(f'DELETE FROM {CANONICAL_FILES} WHERE source = ? AND "table" = ?', [source, table])
    con.executemany(f"INSERT INTO {CANONICAL_FILES} VALUES ('{source}', '{table}', ?, ?, ?, ?, ?)", current)
    listed = ", ".join(_sql_path(f) for f in files)
    cols = ", ".join(f'"{c}"' for c in contract.names)
    con.execute(
        f"""
        CREATE VIEW {raw_table(source, table)} AS
        SELECT {cols} FROM {rows_table}
        UNION ALL
        SELECT {contract.sql_casts(columns, overrides=overrides)}
        FROM read_parquet([{listed}], union_by_name = true, filename = true)
        WHERE ({problems}) = ''
        """
    )
    return sum(r - j for *_, r, j in current)


def write_batches(
    con: duckdb.DuckDBPyConnection, source: str, tables: Iterable[str], batches: Iterable[Batch],
    canonical: Mapping[str, Sequence[Path]] | None = None,
) -> Counter[str]:
    """Replace ``source``'s raw tables with ``batches`` (and its canonical Parquet files); return the
    rows written per table.

    ``tables`` are the canonical tables the connector yields; each is recreated empty first so that
    a connector that yields no rows still leaves an empty, typed table. Rejects go to
    ``quality.rejects`` with ``source`` set. ``canonical``: Parquet files per table, read in place
    (:func:`register_canonical`); the parsed rows then go to ``raw.<source>_<table>__rows``. Runs in
    one transaction: a crash mid-ingest leaves the previous state.
    """
    ensure_schemas(con)
    canonical = {t: list(f) for t, f in (canonical or {}).items() if f}
    counts: Counter[str] = Counter()
    targets: dict[str, str] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        kept_files = [str(f) for files in canonical.values() for f in files]
        con.execute("DELETE FROM quality.rejects WHERE source = ? "
                    "AND NOT coalesce(list_contains(?::VARCHAR[], file), false)", [source, kept_files])
        for table in tables:
            name = raw_table(source, table)
            for old in (name, f"{name}__rows"):
                _drop(con, old)
            targets[table] = f"{name}__rows" if table in canonical else name
            con.execute(CONTRACTS[table].duckdb_ddl(targets[table]))
            counts[table] = 0
        for batch in batches:
            frame = batch.frame
            if batch.table == "rejects":
                frame = frame.with_columns(frame["source"].fill_null(source))
                target = "quality.rejects"
            else:
                target = targets[batch.table]
            if frame.height == 0:
                continue
            cols = ", ".join(f'"{c}"' for c in CONTRACTS[batch.table].names)
            with register_frame(con, "__batch", frame.select(CONTRACTS[batch.table].names)) as view:
                con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {view}")
            counts[batch.table] += frame.height
        for table, files in canonical.items():
            counts[table] += register_canonical(con, source, table, files, targets[table])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("ingested %s: %s", source, dict(counts))
    return counts
