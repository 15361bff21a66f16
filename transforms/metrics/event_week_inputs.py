"""What a week of the pseudonymous events is made of, as a hash per week: the stores that keep
counts per week (:mod:`~transforms.metrics.community_count_store`,
:mod:`~transforms.metrics.leader_reach_store`) count a week again when it changed.

A week's events are described by the fingerprints of its ``clean.event_partitions`` (which cover
the raw rows, the automated accounts and the time zone) and by which person each of its accounts
resolves to (a hash over ``clean.account_events`` x ``clean.identity_map`` x ``clean.person_keys``).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from transforms.clean_event_partitions import ACCOUNT_EVENTS, EVENT_PARTITIONS
from transforms.pseudonym import PERSON_KEYS_TABLE, PSEUDONYMOUS_EVENTS_VIEW
from transforms.warehouse import relation_exists

__all__ = ["EVENT_WEEK_TABLES", "changed_weeks", "event_week_inputs", "is_read_only", "stores_can_follow"]

#: The clean-layer tables the per-week descriptions read.
EVENT_WEEK_TABLES = (EVENT_PARTITIONS, ACCOUNT_EVENTS, "clean.identity_map", PERSON_KEYS_TABLE)


def event_week_inputs(con: duckdb.DuckDBPyConnection) -> dict[dt.date, str]:
    """Per week with clean events: its partitions' fingerprints and a count and hash of its
    accounts with the person each resolves to, as one string."""
    rows = con.execute(
        f"""
        WITH parts AS (
            SELECT week_start, string_agg(source || '=' || fingerprint, ',' ORDER BY source) AS parts
            FROM {EVENT_PARTITIONS} WHERE week_start IS NOT NULL GROUP BY week_start
        ),
        accounts AS (
            SELECT a.week_start, count(*) AS n, sum(hash(a.source, a.account_id, k.person_key)::HUGEINT) AS h
            FROM (SELECT DISTINCT source, account_id, week_start FROM {ACCOUNT_EVENTS}) a
            LEFT JOIN clean.identity_map m
              ON m.source = a.source AND m.account_id = a.account_id AND m.status = 'matched'
            LEFT JOIN {PERSON_KEYS_TABLE} k ON k.employee_id = m.employee_id
            GROUP BY a.week_start
        )
        SELECT p.week_start, p.parts, coalesce(a.n, 0), coalesce(a.h, 0)
        FROM parts p LEFT JOIN accounts a USING (week_start)
        """
    ).fetchall()
    return {w: f"{parts}|{n}|{h}" for w, parts, n, h in rows}


def is_read_only(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return bool(row and row[0])


def stores_can_follow(con: duckdb.DuckDBPyConnection, events: str) -> bool:
    """Whether a per-week store can follow ``events``: the warehouse's pseudonymous events view
    (what the descriptions describe), its clean-layer tables present, on a writable connection
    (a notebook's is read-only)."""
    return (events == PSEUDONYMOUS_EVENTS_VIEW and not is_read_only(con)
            and all(relation_exists(con, t) for t in EVENT_WEEK_TABLES))


def changed_weeks(now: dict[dt.date, str], stored: dict[dt.date, str]) -> set[dt.date]:
    """Weeks whose fingerprint differs from the stored one, is new, or is stored for a week gone
    from the data."""
    return {w for w, fp in now.items() if stored.get(w) != fp} | (set(stored) - set(now))
