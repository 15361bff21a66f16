"""Marts kept from the last build when their inputs did not change.

A mart is a pure function of its inputs (:mod:`transforms.marts`). When every input of a mart has a
fingerprint (:meth:`transforms.marts.InputCache.fingerprint`), the pipeline stores the mart's
fingerprint in :data:`MART_FINGERPRINTS` after writing its tables; the next run compares and, when
nothing changed, keeps the tables instead of loading the inputs and recomputing them.

What makes this worth it: the pilot marts read only the weeks up to the end of the pilot comparison
(:func:`transforms.pilot.units.pilot_comparison_end`), so once the general roll-out has passed, a
weekly run that appends a week leaves their inputs, and their fingerprint, unchanged.

The stored fingerprint also covers the code (:func:`code_fingerprint`: every source file of
``transforms`` and the versions of the numerical libraries), so a changed estimator is never served
from an old table. Deleting the rows of :data:`MART_FINGERPRINTS` forces every mart to be rebuilt.
"""

from __future__ import annotations

import duckdb

from transforms.code_version import code_fingerprint
from transforms.marts import MartSpec
from transforms.warehouse import ensure_schemas, relation_exists

__all__ = ["MART_FINGERPRINTS", "code_fingerprint", "forget", "is_current", "store"]

MART_FINGERPRINTS = "clean.mart_fingerprints"
_DDL = f"CREATE TABLE IF NOT EXISTS {MART_FINGERPRINTS} (mart VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL)"
def _key(fingerprint: str) -> str:
    return f"{code_fingerprint()}:{fingerprint}"


def is_current(con: duckdb.DuckDBPyConnection, spec: MartSpec, fingerprint: str) -> bool:
    """Whether the mart's tables all exist and were built from inputs with this ``fingerprint``
    (and by this code)."""
    if not relation_exists(con, MART_FINGERPRINTS) or not all(relation_exists(con, t) for t in spec.tables):
        return False
    row = con.execute(f"SELECT fingerprint FROM {MART_FINGERPRINTS} WHERE mart = $m", {"m": spec.name}).fetchone()
    return row is not None and row[0] == _key(fingerprint)


def forget(con: duckdb.DuckDBPyConnection, spec: MartSpec) -> None:
    """Drop the mart's stored fingerprint (before its tables are rewritten: a run that fails
    half-way must not leave a fingerprint beside tables it no longer describes)."""
    if relation_exists(con, MART_FINGERPRINTS):
        con.execute(f"DELETE FROM {MART_FINGERPRINTS} WHERE mart = $m", {"m": spec.name})


def store(con: duckdb.DuckDBPyConnection, spec: MartSpec, fingerprint: str) -> None:
    """Record that the mart's tables were just built from inputs with this ``fingerprint``."""
    ensure_schemas(con)
    con.execute(_DDL)
    con.execute(f"INSERT OR REPLACE INTO {MART_FINGERPRINTS} VALUES ($m, $f)",
                {"m": spec.name, "f": _key(fingerprint)})
