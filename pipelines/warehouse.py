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
from pipelines.exports import (
    EXPORT_COLUMN,
    STAGED_TABLES,
    Export,
    event_spans,
    keep_current_rows,
    record_exports,
    staging_ddl,
)
from transforms.contracts import CONTRACTS
from transforms.partitions import canonical_files_macro
from transforms.warehouse import drop_relation, ensure_schemas, register_frame

log = logging.getLogger(__name__)


def raw_table(source: str, table: str) -> str:
    """Name of a connector's raw table, e.g. ``raw.slack_events``."""
    return f"raw.{source}_{table}"


CANONICAL_FILES = "raw.canonical_files"
CANONICAL_REJECTED_ROWS = "raw.canonical_rejected_rows"
_CANONICAL_DDL = (
    f"CREATE TABLE IF NOT EXISTS {CANONICAL_FILES} (source VARCHAR, \"table\" VARCHAR, file VARCHAR, "
    "size BIGINT, mtime_ns BIGINT, rows BIGINT, rejected BIGINT, min_at TIMESTAMPTZ, max_at TIMESTAMPTZ)",
    f"CREATE TABLE IF NOT EXISTS {CANONICAL_REJECTED_ROWS} (source VARCHAR, \"table\" VARCHAR, "
    "file VARCHAR, file_row_number BIGINT)",
)


def _sql_path(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _parquet_schema(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> dict[str, str]:
    """Column -> DuckDB type over all ``files`` (by name); :class:`ConnectorError` names a file that is not Parquet."""
    for path in files:
        try:
            con.execute(f"SELECT 1 FROM parquet_file_metadata({_sql_path(path)})").fetchall()
        except duckdb.Error as exc:
            raise ConnectorError(f"cannot read as Parquet: {exc}", file=str(path)) from exc
    listed = ", ".join(_sql_path(f) for f in files)
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet([{listed}], union_by_name = true)").fetchall()
    return {r[0]: r[1] for r in rows}


def _file_facts(con: duckdb.DuckDBPyConnection, path: Path, time_column: str | None
                ) -> tuple[int, object, object]:
    """Rows, and the earliest and latest ``time_column`` value, from the file's Parquet metadata."""
    rows = con.execute(f"SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata({_sql_path(path)})").fetchone()[0]
    if time_column is None or not rows:
        return int(rows), None, None
    lo, hi = con.execute(
        f"SELECT min(TRY_CAST(stats_min AS TIMESTAMPTZ)), max(TRY_CAST(stats_max AS TIMESTAMPTZ)) "
        f"FROM parquet_metadata({_sql_path(path)}) WHERE path_in_schema = ?", [time_column]).fetchone()
    if lo is None:  # no statistics written: read the column (one small scan)
        lo, hi = con.execute(f"SELECT min({time_column}), max({time_column}) FROM read_parquet({_sql_path(path)})"
                             ).fetchone()
    return int(rows), lo, hi


def register_canonical(con: duckdb.DuckDBPyConnection, source: str, table: str, files: Sequence[Path],
                       rows_table: str) -> int:
    """Make ``raw.<source>_<table>`` the rows of ``rows_table`` (what the connector parsed) followed by
    the canonical Parquet ``files`` read in place (a view: the files are not copied).

    Rows of the files that break the contract are left out of the view and quarantined in
    ``quality.rejects`` with the reason and ``row N`` of their file. Each file is read once, when it
    is new or changed (``raw.canonical_files`` remembers it by size and modification time, with its
    row count and time range from the Parquet metadata), so a weekly run that adds one file reads
    only that file; only the columns the contract's rules need are read. A file that is not Parquet,
    or lacks a required column, raises :class:`ConnectorError` naming it. Returns the rows the files add.
    """
    contract = CONTRACTS[table]
    types = _parquet_schema(con, files)
    missing = [c.name for c in contract.columns if not c.nullable and c.name not in types and c.name != "source"]
    if missing:
        raise ConnectorError(f"missing required column(s) {', '.join(missing)} for canonical {table}; expected the "
                             f"columns of the {table} contract ({', '.join(contract.names)})",
                             file=str(files[0].parent))
    for ddl in _CANONICAL_DDL:
        con.execute(ddl)
    time_column = "occurred_at" if "occurred_at" in contract.names else None
    known = {(f, size, mtime): rest for f, size, mtime, *rest in con.execute(
        f'SELECT file, size, mtime_ns, rows, rejected, min_at, max_at FROM {CANONICAL_FILES} '
        f'WHERE source = ? AND "table" = ?', [source, table]).fetchall()}
    available = {c: t for c, t in types.items() if c != "source"} | {"source": "VARCHAR"}
    problems = contract.sql_problems(available)
    excerpt = " || ', ' || ".join(
        f"'{k}=' || coalesce(TRY_CAST(\"{k}\" AS VARCHAR), '')" for k in contract.key if k in types and k != "source"
    ) or "NULL"
    current = []
    for path in files:
        st = path.stat()
        entry = (str(path), st.st_size, st.st_mtime_ns)
        if entry in known:
            current.append((*entry, *known[entry]))
            continue
        con.execute("DELETE FROM quality.rejects WHERE source = ? AND file = ?", [source, str(path)])
        con.execute(f'DELETE FROM {CANONICAL_REJECTED_ROWS} WHERE source = ? AND "table" = ? AND file = ?',
                    [source, table, str(path)])
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE __canonical_bad AS
            SELECT file_row_number, reason, {excerpt} AS excerpt
            FROM (SELECT *, '{source}' AS source, {problems} AS reason
                  FROM read_parquet([{_sql_path(path)}], union_by_name = true, file_row_number = true))
            WHERE reason <> ''
            """
        )
        con.execute(
            f"""INSERT INTO quality.rejects (contract, file, locator, reason, source, excerpt)
            SELECT '{table}', {_sql_path(path)}, 'row ' || (file_row_number + 1), reason, '{source}', excerpt
            FROM __canonical_bad"""
        )
        con.execute(f"INSERT INTO {CANONICAL_REJECTED_ROWS} SELECT '{source}', '{table}', {_sql_path(path)}, "
                    "file_row_number FROM __canonical_bad")
        rejected = con.execute("SELECT count(*) FROM __canonical_bad").fetchone()[0]
        con.execute("DROP TABLE IF EXISTS temp.__canonical_bad")
        rows, lo, hi = _file_facts(con, path, time_column)
        current.append((*entry, rows, int(rejected), lo, hi))
    con.execute(f'DELETE FROM {CANONICAL_FILES} WHERE source = ? AND "table" = ?', [source, table])
    con.executemany(f"INSERT INTO {CANONICAL_FILES} VALUES ('{source}', '{table}', ?, ?, ?, ?, ?, ?, ?)", current)
    con.execute(f'DELETE FROM {CANONICAL_REJECTED_ROWS} WHERE source = ? AND "table" = ? '
                f"AND NOT list_contains(?::VARCHAR[], file)", [source, table, [str(f) for f in files]])
    cols = ", ".join(f'"{c}"' for c in contract.names)
    overrides = {"source": f"'{source}'"}
    if "source_file" in contract.names:
        overrides["source_file"] = ("coalesce(CAST(source_file AS VARCHAR), filename)" if "source_file" in types
                                    else "filename")
    select = contract.sql_casts(available, overrides=overrides)
    rejected_rows = (f"SELECT file, file_row_number FROM {CANONICAL_REJECTED_ROWS} "
                     f"WHERE source = '{source}' AND \"table\" = '{table}'")
    con.execute(  # the same rows, for a chosen list of the files (quality.checked_files)
        f"CREATE OR REPLACE MACRO {canonical_files_macro(raw_table(source, table))}(files) AS TABLE "
        f"SELECT {select} FROM read_parquet(files, union_by_name = true, filename = true, file_row_number = true) p "
        f"ANTI JOIN ({rejected_rows}) bad ON bad.file = p.filename AND bad.file_row_number = p.file_row_number")
    clean_files = [c[0] for c in current if not c[4]]
    dirty_files = [c[0] for c in current if c[4]]
    parts = [f"SELECT {cols} FROM {rows_table}"]
    if clean_files:
        parts.append(f"SELECT {select} FROM read_parquet([{', '.join(_sql_path(f) for f in clean_files)}], "
                     "union_by_name = true, filename = true)")
    if dirty_files:
        parts.append(
            f"SELECT {select} FROM read_parquet([{', '.join(_sql_path(f) for f in dirty_files)}], "
            f"union_by_name = true, filename = true, file_row_number = true) p "
            f"ANTI JOIN ({rejected_rows}) bad ON bad.file = p.filename AND bad.file_row_number = p.file_row_number"
        )
    con.execute(f"CREATE VIEW {raw_table(source, table)} AS {' UNION ALL '.join(parts)}")
    return sum(c[3] - c[4] for c in current)


def write_batches(
    con: duckdb.DuckDBPyConnection, source: str, tables: Iterable[str], batches: Iterable[Batch],
    canonical: Mapping[str, Sequence[Path]] | None = None, exports: Sequence[Export] = (),
) -> Counter[str]:
    """Replace ``source``'s raw tables with ``batches`` (and its canonical Parquet files); return the
    rows written per table (and ``superseded_<table>``: rows of older exports a newer one replaced).

    ``tables`` are the canonical tables the connector yields; each is recreated empty first so that
    a connector that yields no rows still leaves an empty, typed table. Rejects go to
    ``quality.rejects`` with ``source`` set. ``canonical``: Parquet files per table, read in place
    (:func:`register_canonical`); the parsed rows then go to ``raw.<source>_<table>__rows``.
    ``exports``: the connector's inputs in time order (:func:`pipelines.exports.order_exports`);
    with two or more, events and accounts are staged with their batch's export and only the rows
    no newer export supersedes are kept (``pipelines.exports``); every export is recorded in
    ``raw.export_inputs``. Runs in one transaction: a crash mid-ingest leaves the previous state.
    """
    ensure_schemas(con)
    canonical = {t: list(f) for t, f in (canonical or {}).items() if f}
    rank = {e.path: e.rank for e in exports}
    counts: Counter[str] = Counter()
    delivered: Counter[tuple[str, int]] = Counter()
    targets: dict[str, str] = {}
    staged: dict[str, str] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        kept_files = [str(f) for files in canonical.values() for f in files]
        con.execute("DELETE FROM quality.rejects WHERE source = ? "
                    "AND NOT coalesce(list_contains(?::VARCHAR[], file), false)", [source, kept_files])
        for table in tables:
            name = raw_table(source, table)
            for old in (name, f"{name}__rows"):
                drop_relation(con, old)
            targets[table] = f"{name}__rows" if table in canonical else name
            con.execute(CONTRACTS[table].duckdb_ddl(targets[table]))
            if len(exports) > 1 and table in STAGED_TABLES:
                staged[table] = f"__staged_{table}"
                con.execute(staging_ddl(table, staged[table]))
            counts[table] = 0
        for batch in batches:
            frame = batch.frame
            if frame.height == 0:
                continue
            if batch.table == "rejects":
                frame = frame.with_columns(frame["source"].fill_null(source))
                target = "quality.rejects"
            else:
                target = staged.get(batch.table, targets[batch.table])
            cols = ", ".join(f'"{c}"' for c in CONTRACTS[batch.table].names)
            export = rank.get(batch.origin, -1) if batch.origin is not None else -1
            extra = (f", {EXPORT_COLUMN}", f", {export}") if batch.table in staged else ("", "")
            with register_frame(con, "__batch", frame.select(CONTRACTS[batch.table].names)) as view:
                con.execute(f"INSERT INTO {target} ({cols}{extra[0]}) SELECT {cols}{extra[1]} FROM {view}")
            counts[batch.table] += frame.height
            delivered[(batch.table, export)] += frame.height
        superseded: dict[tuple[str, int], int] = {}
        spans = {}
        for table, staging in staged.items():
            if table == "events":
                spans = event_spans(con, staging)
            for export, n in keep_current_rows(con, table, staging, targets[table]).items():
                superseded[(table, export)] = n
                counts[table] -= n
                counts[f"superseded_{table}"] += n
            con.execute(f"DROP TABLE IF EXISTS temp.{staging}")
        if len(exports) == 1 and "events" in targets:
            spans = event_spans(con, targets["events"], staged=False)
        record_exports(con, source, exports, delivered, superseded, spans)
        for table, files in canonical.items():
            counts[table] += register_canonical(con, source, table, files, targets[table])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("ingested %s: %s", source, dict(counts))
    return counts
