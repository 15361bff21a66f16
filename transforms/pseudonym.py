"""Pseudonymous person keys: ``person_key = HMAC-SHA256(secret, employee_id)``, hex, truncated.

The key is the first :data:`KEY_HEX_CHARS` (16) hex characters of the HMAC, i.e. 64 bits: the
chance of any collision among 100 000 employees is about 3e-10. The same function keys managers
(``manager_key``), so a person's key and the key their reports see for them are equal.

The secret is created and stored by the caller (``pipelines``), outside the repository: whoever
holds it can re-identify keys, and a new secret changes every key.

The warehouse keeps one persisted map, ``clean.person_keys`` (:func:`build_person_keys`), beside
the HR directory it is derived from, and ``clean.events_pseudonymous`` (a view: clean events with
the person key of their resolved account, no e-mail and no file name), so that the marts read
events and keys built once per run. The ``clean`` schema holds employee ids anyway and is never
published (``pipelines.publish`` exports ``marts`` and ``quality`` only): the map adds nothing a
reader of ``clean`` could not already see, and the secret still guards every published key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Iterator

import duckdb
import pyarrow as pa

__all__ = [
    "KEY_HEX_CHARS",
    "PERSON_KEYS_TABLE",
    "PSEUDONYMOUS_EVENTS_VIEW",
    "MIN_SECRET_BYTES",
    "PseudonymSecretError",
    "build_key_map",
    "build_person_keys",
    "build_pseudonymous_events",
    "new_secret",
    "person_key",
    "person_key_function",
    "person_key_sql",
]

KEY_HEX_CHARS = 16
MIN_SECRET_BYTES = 16
FUNCTION_NAME = "__uptake_person_key"
PERSON_KEYS_TABLE = "clean.person_keys"
PSEUDONYMOUS_EVENTS_VIEW = "clean.events_pseudonymous"


class PseudonymSecretError(ValueError):
    """The pseudonym secret is missing, not bytes, or too short."""


def new_secret() -> bytes:
    """A fresh random secret (32 bytes) for a new installation."""
    return secrets.token_bytes(32)


def _check_secret(secret: bytes) -> bytes:
    if not isinstance(secret, bytes | bytearray):
        raise PseudonymSecretError(f"pseudonym secret: expected bytes, got {type(secret).__name__}")
    if len(secret) < MIN_SECRET_BYTES:
        raise PseudonymSecretError(
            f"pseudonym secret: expected at least {MIN_SECRET_BYTES} bytes, got {len(secret)}"
        )
    return bytes(secret)


def person_key(employee_id: str, secret: bytes) -> str:
    """The person key of one employee id (reference implementation, also used in tests)."""
    secret = _check_secret(secret)
    return hmac.new(secret, employee_id.encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_HEX_CHARS]


@contextlib.contextmanager
def person_key_function(con: duckdb.DuckDBPyConnection, secret: bytes) -> Iterator[str]:
    """Register a SQL function ``name(VARCHAR) -> VARCHAR`` computing person keys on ``con``
    for the duration of the block; yields its name. Apply it to DISTINCT ids (one HMAC per value)."""
    secret = _check_secret(secret)

    def keys(ids: pa.Array) -> pa.Array:
        return pa.array(
            [None if i is None else person_key(i, secret) for i in ids.to_pylist()], type=pa.string()
        )

    with contextlib.suppress(Exception):
        con.remove_function(FUNCTION_NAME)
    con.create_function(FUNCTION_NAME, keys, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")
    try:
        yield FUNCTION_NAME
    finally:
        with contextlib.suppress(Exception):
            con.remove_function(FUNCTION_NAME)


def person_key_sql(column: str, function_name: str = FUNCTION_NAME) -> str:
    """SQL applying the registered key function to ``column``."""
    return f"{function_name}({column})"


def build_key_map(
    con: duckdb.DuckDBPyConnection, secret: bytes, ids_query: str, table: str = "__person_keys"
) -> None:
    """Create TEMP table ``table(employee_id, person_key)`` for the distinct non-null ids returned
    by ``ids_query`` (a query with one column). Join it to pseudonymise; never persist it."""
    with person_key_function(con, secret) as fn:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT employee_id, {person_key_sql('employee_id', fn)} AS person_key
            FROM (SELECT DISTINCT * FROM ({ids_query}) AS q(employee_id) WHERE employee_id IS NOT NULL)
            """
        )


def build_person_keys(con: duckdb.DuckDBPyConnection, secret: bytes) -> int:
    """Replace ``clean.person_keys(employee_id, person_key)`` for every employee and manager id of
    ``clean.hr_directory``; return its row count. Grain: one row per distinct id."""
    build_key_map(con, secret, "SELECT employee_id FROM clean.hr_directory "
                  "UNION SELECT manager_id FROM clean.hr_directory", "__person_keys_new")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {PERSON_KEYS_TABLE} AS "
                    "SELECT * FROM __person_keys_new ORDER BY employee_id")
    finally:
        con.execute("DROP TABLE IF EXISTS temp.__person_keys_new")
    return int(con.execute(f"SELECT count(*) FROM {PERSON_KEYS_TABLE}").fetchone()[0])


def build_pseudonymous_events(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the view ``clean.events_pseudonymous``: every ``clean.events`` row without
    ``account_email`` and ``source_file``, with ``person_key`` of the employee its account is
    matched to in ``clean.identity_map`` (null when unresolved). Grain: one row per clean event."""
    con.execute(
        f"""
        CREATE OR REPLACE VIEW {PSEUDONYMOUS_EVENTS_VIEW} AS
        SELECT e.* EXCLUDE (account_email, source_file), k.person_key
        FROM clean.events e
        LEFT JOIN clean.identity_map m
          ON m.source = e.source AND m.account_id = e.account_id AND m.status = 'matched'
        LEFT JOIN {PERSON_KEYS_TABLE} k ON k.employee_id = m.employee_id
        """
    )
