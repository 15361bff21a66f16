"""Fingerprints of the warehouse's marts: one digest per ``marts.*`` table, so that a refactoring or
an optimisation can be shown to leave every mart identical.

A table's fingerprint is its row count, its column names and types, and the MD5 of its rows
rendered as text and sorted (so row order does not matter). Floating values are rendered with 8
significant digits: summing in another order changes the last bits of a double, not the 8th
digit (identical to a relative 1e-8).

The stored fingerprints (``tests/fixtures/mart_fingerprints.json``) describe the end-to-end
organisation of ``tests/conftest.py`` (seed, size, the fixed test pseudonym secret). They are
regenerated only on purpose, when a change is meant to alter a mart, with::

    ./dev.sh python -m tests.mart_fingerprints --warehouse WAREHOUSE.duckdb --write
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb

STORED = Path(__file__).parent / "fixtures" / "mart_fingerprints.json"
FLOAT_TYPES = frozenset({"DOUBLE", "FLOAT", "REAL"})


def _render(column: str, type_name: str) -> str:
    col = f'"{column}"'
    if type_name in FLOAT_TYPES:
        return f"coalesce(printf('%.8g', {col}), '∅')"
    if type_name.startswith("DECIMAL"):
        return f"coalesce(printf('%.8g', CAST({col} AS DOUBLE)), '∅')"
    return f"coalesce(CAST({col} AS VARCHAR), '∅')"


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, object]:
    """Row count, ``name type`` of each column, and the digest of the sorted rendered rows."""
    columns = con.execute(f"DESCRIBE {table}").fetchall()
    rendered = " || '|' || ".join(_render(name, type_name) for name, type_name, *_ in columns) or "''"
    rows, digest = con.execute(
        f"SELECT count(*), md5(coalesce(string_agg(r, chr(10) ORDER BY r), '')) "
        f"FROM (SELECT {rendered} AS r FROM {table})"
    ).fetchone()
    return {"rows": int(rows), "columns": [f"{n} {t}" for n, t, *_ in columns], "md5": digest}


def mart_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, object]]:
    """The fingerprint of every table of the ``marts`` schema, by ``marts.<table>``."""
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
    return {f"marts.{n}": table_fingerprint(con, f"marts.{n}") for n in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--write", action="store_true", help=f"store the fingerprints in {STORED}")
    args = parser.parse_args()
    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        prints = mart_fingerprints(con)
    text = json.dumps(prints, indent=1, sort_keys=True) + "\n"
    if args.write:
        STORED.write_text(text, encoding="utf-8")
    else:
        print(text, end="")  # noqa: T201 - a command-line tool


if __name__ == "__main__":
    main()
