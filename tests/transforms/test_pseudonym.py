"""Person keys: HMAC-SHA256 of the employee id under the installation's secret, 16 hex chars."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pytest

from transforms.pseudonym import (
    PseudonymSecretError,
    build_key_map,
    new_secret,
    person_key,
    person_key_function,
    person_key_sql,
)

SECRET = b"0123456789abcdef0123456789abcdef"


def test_person_key_is_truncated_hmac_sha256():
    expected = hmac.new(SECRET, b"E00012", hashlib.sha256).hexdigest()[:16]
    assert person_key("E00012", SECRET) == expected
    # known answer, fixed once: a change of algorithm or truncation would silently re-key every mart
    assert person_key("E00012", SECRET) == "3740879b6840d38e"
    assert person_key("E00013", SECRET) != person_key("E00012", SECRET)
    assert person_key("E00012", b"another secret, 16+ bytes") != person_key("E00012", SECRET)


def test_secret_checks():
    s1, s2 = new_secret(), new_secret()
    assert isinstance(s1, bytes) and len(s1) == 32 and s1 != s2
    with pytest.raises(PseudonymSecretError, match="at least 16 bytes"):
        person_key("E1", b"short")
    with pytest.raises(PseudonymSecretError, match="expected bytes"):
        person_key("E1", "a text secret of some length")  # type: ignore[arg-type]


def test_sql_function_and_key_map_agree_with_python():
    con = duckdb.connect()
    con.execute("CREATE TABLE people AS SELECT * FROM (VALUES ('E1'), ('E2'), ('E1'), (NULL)) t(employee_id)")
    with person_key_function(con, SECRET) as fn:
        got = con.execute(f"SELECT employee_id, {person_key_sql('employee_id', fn)} FROM people ORDER BY 1").fetchall()
    assert got == [("E1", person_key("E1", SECRET)), ("E1", person_key("E1", SECRET)),
                   ("E2", person_key("E2", SECRET)), (None, None)]
    # the function does not outlive the block (the secret is not left on the connection)
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT {fn}('E1')")
    build_key_map(con, SECRET, "SELECT employee_id FROM people", "keys")
    assert con.execute("SELECT * FROM keys ORDER BY 1").fetchall() == [
        ("E1", person_key("E1", SECRET)), ("E2", person_key("E2", SECRET))
    ]
    # a TEMP table: nothing persisted in the database's main schema
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'keys' AND temporary").fetchone() == (1,)
