"""Row checks of a raw table that look only at the canonical files they have not passed yet.

A raw table delivered as canonical Parquet files (``raw.canonical_files``) grows by a file a week,
and a check that judges each row on its own (required values, vocabularies, the Great
Expectations suite's per-value expectations) gives the same verdict on a file it already passed,
as long as the file, the check and its settings are the same. So once such a check passes, every
file it read is recorded in :data:`CHECKED_FILES` with the file's size, modification time and row
counts, the check's key and a fingerprint of the code (``quality`` and ``transforms``) and of the
check context; the next run checks only:

- the rows the connector parsed (``raw.<source>_<table>__rows``: exports, not files), always;
- the canonical files not recorded, or recorded with other facts (re-delivered, re-read), through
  the ingest layer's macro ``raw.<source>_<table>__files`` (the view's rows, for those files only).

A check that fails records nothing, so every file it read is read again next time; a check that
compares rows across files (conflicting ids) is never run this way. The outcome's metadata says
how many files were checked now and how many were passed before (``files_checked``,
``files_passed_before``); its row count stays the whole table's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import duckdb

from quality.outcome import CheckContext, CheckOutcome
from quality.warehouse import missing_table, row_count, table_exists
from transforms.code_version import code_fingerprint
from transforms.metrics.event_week_inputs import is_read_only
from transforms.partitions import CANONICAL_FILES, canonical_files_macro
from transforms.warehouse import ensure_schemas, relation_exists

log = logging.getLogger(__name__)

__all__ = ["CHECKED_FILES", "by_file"]

#: Run state beside the other stores (``clean``), not a check result: never published.
CHECKED_FILES = "clean.quality_checked_files"
_DDL = (f"CREATE TABLE IF NOT EXISTS {CHECKED_FILES} (check_key VARCHAR NOT NULL, file VARCHAR NOT NULL, "
        "size BIGINT, mtime_ns BIGINT, rows BIGINT, rejected BIGINT, fingerprint VARCHAR NOT NULL)")
_QUALITY = Path(__file__).resolve().parent
#: The view over just the rows a by-file check reads this time.
_UNCHECKED_VIEW = "__unchecked_rows"

#: A row check: ``fn(con, ctx, *, table, rows)``; ``rows`` is the relation to read (``table`` names it).
RowCheck = Callable[..., CheckOutcome]


def _fingerprint(ctx: CheckContext) -> str:
    """The code and the context a verdict depends on (the settings, the sample size)."""
    context = dataclasses.replace(ctx, source=None)
    return hashlib.blake2b(f"{code_fingerprint(_QUALITY)}|{context!r}".encode(), digest_size=16).hexdigest()


def _split(table: str, source: str | None) -> tuple[str, str] | None:
    """``raw.slack_events`` with source ``slack`` -> (``slack``, ``events``); None if not of that form."""
    prefix = f"raw.{source}_"
    return (source, table[len(prefix):]) if source and table.startswith(prefix) else None


def by_file(con: duckdb.DuckDBPyConnection, ctx: CheckContext, *, check: RowCheck, table: str) -> CheckOutcome:
    """Run the row check ``check`` on ``table`` (``{source}`` bound from the context), reading only
    the connector's parsed rows and the canonical files it has not passed yet (module docstring);
    the whole table when it has no canonical files or no files macro."""
    table = ctx.fmt(table)
    if not table_exists(con, table):
        return missing_table(table, required=False)
    parts = _split(table, ctx.source)
    macro = canonical_files_macro(table)
    rows_table = f"{table}__rows"
    if (parts is None or not relation_exists(con, CANONICAL_FILES) or not relation_exists(con, rows_table)
            or not _macro_exists(con, macro)):
        return check(con, ctx, table=table, rows=table)
    source, contract_table = parts
    key = f"{getattr(check, 'func', check).__name__}:{table}"
    fingerprint = _fingerprint(ctx)
    files = con.execute(
        f'SELECT file, size, mtime_ns, rows, rejected FROM {CANONICAL_FILES} WHERE source = ? AND "table" = ? '
        "ORDER BY file", [source, contract_table]).fetchall()
    passed = set()
    if relation_exists(con, CHECKED_FILES):
        passed = set(con.execute(f"SELECT file, size, mtime_ns, rows, rejected FROM {CHECKED_FILES} "
                                 "WHERE check_key = ? AND fingerprint = ?", [key, fingerprint]).fetchall())
    todo = [f for f in files if f not in passed]
    relation = f"SELECT * FROM {rows_table}"
    if todo:
        listed = ", ".join("'" + f[0].replace("'", "''") + "'" for f in todo)
        relation += f" UNION ALL BY NAME SELECT * FROM {macro}([{listed}])"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_UNCHECKED_VIEW} AS {relation}")
    try:
        outcome = check(con, ctx, table=table, rows=_UNCHECKED_VIEW)
    finally:
        con.execute(f"DROP VIEW IF EXISTS temp.{_UNCHECKED_VIEW}")
    if outcome.passed and not outcome.skipped and not is_read_only(con):
        _record(con, key, fingerprint, todo)
    before = len(files) - len(todo)
    meta = {**outcome.metadata, "rows": row_count(con, table), "files_checked": len(todo),
            "files_passed_before": before}
    log.debug("%s: %d file(s) checked, %d passed before", key, len(todo), before)
    message = outcome.message if not before else (
        f"{outcome.message} [the parsed rows and {len(todo)} file(s) read; {before} file(s) passed before]")
    return dataclasses.replace(outcome, message=message, metadata=meta)


def _macro_exists(con: duckdb.DuckDBPyConnection, macro: str) -> bool:
    schema, _, name = macro.rpartition(".")
    return bool(con.execute("SELECT count(*) FROM duckdb_functions() WHERE schema_name = ? AND function_name = ? "
                            "AND function_type = 'table_macro'", [schema, name]).fetchone()[0])


def _record(con: duckdb.DuckDBPyConnection, key: str, fingerprint: str, files: list[tuple]) -> None:
    if not files:
        return
    ensure_schemas(con)
    con.execute(_DDL)
    con.executemany(f"DELETE FROM {CHECKED_FILES} WHERE check_key = ? AND file = ?", [(key, f[0]) for f in files])
    con.executemany(f"INSERT INTO {CHECKED_FILES} VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(key, *f, fingerprint) for f in files])
