"""Clean platform activity: de-duplicated, bot-filtered events and activity counters on ISO weeks
of the organisation's time zone, with a per-source conservation report.

Reads ``raw.<source>_events``, ``raw.<source>_activity_counts``, ``raw.<source>_accounts`` (for
automated accounts) and the connectors' rows of ``quality.rejects``; a source without one of those
raw tables is skipped for that input. Writes:

- ``clean.events``: the ``EVENTS`` contract columns plus ``occurred_on`` (local date),
  ``week_start`` (Monday, local) and ``iso_week`` (``YYYY-Www``). One row per real action.
- ``clean.activity_counts``: counter rows allocated to weeks (see :func:`build_clean_events`).
- ``quality.event_conservation``: one row per source and input (``events`` / ``activity_counts``).
- rows rejected here go to ``quality.rejects`` with ``contract = 'clean.events'`` or
  ``'clean.activity_counts'`` (this module's rows are replaced on each run).

Every input row gets exactly one disposition, in this order of precedence:

1. ``rejected``: unusable although the connector accepted it (blank ``account_id``, a timestamp
   before 2000-01-01, i.e. an unset clock; for counters a negative count or an inverted period).
2. ``duplicate``: events: a further copy of the same ``(source, event_id)`` (re-ingested or
   overlapping exports; the copy from the lexically last ``source_file`` is kept), or a
   content-identical repeat under another id (same source, account, action, occurred_at, space,
   content and ``reaction``: ``CONTENT_IDENTITY``; the smallest ``event_id`` is kept). A reaction
   carries its message's time and id, so two emoji of one person on one message differ only by
   ``reaction``: both are kept. Counters: a further copy of the same
   ``(source, account, period, action)`` (the copy from the last ``source_file`` is kept; within one
   file, the largest count).
3. ``automated``: the event is flagged automated, or its account is automated in the accounts table.
4. ``overlap`` (counters only): periods of one account and action that overlap (a D30 report
   beside D7 reports, reports refreshed daily over rolling 7 days) would count the same actions
   twice; a largest set of non-overlapping periods is kept, chosen greedily by earliest end
   (so the finest periods win and rolling D7 reports tile into consecutive weeks), the rest is
   filtered.
5. ``kept``.

Conservation, per source and input: ``rows_in`` (raw rows + connector rejects of that contract) =
``kept`` + ``rejected`` (connector + here) + ``filtered_duplicate`` + ``filtered_automated`` +
``filtered_overlap``; ``kept`` is counted from the clean table afterwards, so the check is real.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import duckdb

from transforms.clean_activity_counts import COUNT_DISPOSITIONS, build_activity_counts
from transforms.clean_event_partitions import (
    CONTENT_IDENTITY,
    EVENT_CANDIDATES,
    EVENT_PARTITIONS,
    FullRecompute,
    build_event_partitions,
)
from transforms.contracts.config import Settings
from transforms.warehouse import ensure_schemas, relation_exists

log = logging.getLogger(__name__)

__all__ = [
    "CONSERVATION_TABLE",
    "CONTENT_IDENTITY",
    "build_clean_events",
    "check_conservation",
    "existing_sources",
    "validate_sources",
]

CONSERVATION_TABLE = "quality.event_conservation"
_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def validate_sources(sources: Sequence[str]) -> list[str]:
    """Distinct source names in the given order; ``ValueError`` names any that is not a plain
    lower-case identifier (they become part of table names)."""
    if isinstance(sources, str):
        raise ValueError(f"sources must be a list of names, got the string {sources!r}")
    bad = [s for s in sources if not isinstance(s, str) or not _SOURCE_NAME.match(s)]
    if bad:
        raise ValueError(f"invalid source name(s) {bad!r}: expected lower-case letters, digits and '_'")
    return list(dict.fromkeys(sources))


def existing_sources(con: duckdb.DuckDBPyConnection, sources: Sequence[str], table: str) -> list[str]:
    """The sources among ``sources`` that have a ``raw.<source>_<table>`` table."""
    return [s for s in validate_sources(sources) if relation_exists(con, f"raw.{s}_{table}")]


def _automated_accounts_sql(sources: Sequence[str]) -> str:
    parts = [
        f"SELECT '{s}' AS source, account_id FROM raw.{s}_accounts WHERE is_automated" for s in sources
    ]
    return " UNION ".join(parts) if parts else "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS account_id WHERE false"


#: Per source, the events of each disposition, added up over the week partitions.
EVENT_DISPOSITIONS = f"""
    SELECT source, sum(rejected) AS rejected_here, sum(duplicate) AS filtered_duplicate,
        sum(automated) AS filtered_automated, 0::BIGINT AS filtered_overlap
    FROM {EVENT_PARTITIONS} GROUP BY ALL
"""


def _conservation_sql(sources: list[str], input_name: str, dispositions_sql: str, clean_count_sql: str) -> str:
    if not sources:
        return ""
    raw_counts = " UNION ALL ".join(
        f"SELECT '{s}' AS source, count(*) AS raw_rows FROM raw.{s}_{input_name}" for s in sources
    )
    in_list = ", ".join(f"'{s}'" for s in sources)
    return f"""
        WITH raw_rows AS ({raw_counts}),
        connector_rejects AS (
            SELECT source, count(*) AS n FROM quality.rejects
            WHERE contract = '{input_name}' AND source IN ({in_list}) GROUP BY ALL
        ),
        dispositions AS ({dispositions_sql}),
        kept AS ({clean_count_sql})
        SELECT r.source, '{input_name}' AS input,
            r.raw_rows + coalesce(c.n, 0) AS rows_in,
            r.raw_rows,
            coalesce(c.n, 0) AS connector_rejects,
            coalesce(k.kept, 0) AS kept,
            coalesce(c.n, 0) + coalesce(d.rejected_here, 0) AS rejected,
            coalesce(d.filtered_duplicate, 0) AS filtered_duplicate,
            coalesce(d.filtered_automated, 0) AS filtered_automated,
            coalesce(d.filtered_overlap, 0) AS filtered_overlap
        FROM raw_rows r
        LEFT JOIN connector_rejects c USING (source)
        LEFT JOIN dispositions d USING (source)
        LEFT JOIN kept k USING (source)
    """


def build_clean_events(con: duckdb.DuckDBPyConnection, sources: Sequence[str], settings: Settings,
                       recompute: FullRecompute | None = None) -> None:
    """Build ``clean.events``, ``clean.activity_counts`` and ``quality.event_conservation``.

    ``sources`` are connector names; those without ``raw.<source>_events`` /
    ``raw.<source>_activity_counts`` are skipped for that input (logged). Weeks are ISO weeks in
    ``settings.time_zone``. Dispositions and their precedence are in the module docstring.

    ``clean.activity_counts`` (one row per kept counter row and week it is allocated to) is built by
    :func:`transforms.clean_activity_counts.build_activity_counts`, which reads only the counter
    files that are new since the last build when that gives the same table.

    ``quality.event_conservation`` columns: ``source, input, rows_in, raw_rows,
    connector_rejects, kept, rejected, filtered_duplicate, filtered_automated, filtered_overlap,
    balanced``. Runs in one transaction; re-running gives the same tables. ``recompute``: the
    events partitions on another engine (``transforms.clean_event_partitions.FullRecompute``).
    """
    sources = validate_sources(sources)
    ensure_schemas(con)
    ev_sources = existing_sources(con, sources, "events")
    ac_sources = existing_sources(con, sources, "activity_counts")
    acct_sources = existing_sources(con, sources, "accounts")
    missing = [s for s in sources if s not in ev_sources and s not in ac_sources]
    if missing:
        log.info("no raw events or activity counts for %s; skipped", ", ".join(missing))
    automated_sql = _automated_accounts_sql(acct_sources)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM quality.rejects WHERE contract = 'clean.events'")
        build_event_partitions(con, ev_sources, automated_sql, settings.time_zone, recompute)
        con.execute(
            f"""
            INSERT INTO quality.rejects (contract, file, locator, reason, source, excerpt)
            SELECT 'clean.events', source_file, 'event_id=' || event_id, reject_reason, source,
                   'account_id=' || account_id
            FROM {EVENT_CANDIDATES} WHERE disposition = 'rejected'
            """
        )
        build_activity_counts(con, ac_sources, automated_sql)
        parts = [
            p
            for p in (
                _conservation_sql(
                    ev_sources, "events", EVENT_DISPOSITIONS,
                    f"SELECT source, sum(kept) AS kept FROM {EVENT_PARTITIONS} WHERE week_start IS NOT NULL "
                    "GROUP BY ALL",
                ),
                _conservation_sql(
                    ac_sources, "activity_counts", COUNT_DISPOSITIONS,
                    "SELECT source, count(DISTINCT (account_id, period_start, period_end, action))"
                    " AS kept FROM clean.activity_counts GROUP BY ALL",
                ),
            )
            if p
        ]
        body = " UNION ALL ".join(f"SELECT * FROM ({p})" for p in parts) if parts else (
            "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS input, 0::BIGINT AS rows_in, "
            "0::BIGINT AS raw_rows, 0::BIGINT AS connector_rejects, 0::BIGINT AS kept, 0::BIGINT AS rejected, "
            "0::BIGINT AS filtered_duplicate, 0::BIGINT AS filtered_automated, 0::BIGINT AS filtered_overlap "
            "WHERE false"
        )
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {CONSERVATION_TABLE} AS
            SELECT *, rows_in = kept + rejected + filtered_duplicate + filtered_automated + filtered_overlap
                AS balanced
            FROM ({body}) ORDER BY source, input
            """
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for row in check_conservation(con):
        log.error("conservation: %s", row)


def check_conservation(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Failures of ``quality.event_conservation``: one message per unbalanced source and input
    (empty list = every source balances)."""
    rows = con.execute(
        f"""
        SELECT source, input, rows_in, kept, rejected, filtered_duplicate, filtered_automated, filtered_overlap
        FROM {CONSERVATION_TABLE} WHERE NOT balanced ORDER BY source, input
        """
    ).fetchall()
    return [
        f"{s} {i}: rows in {n} != kept {k} + rejected {r} + duplicates {d} + automated {a} + overlapping {o}"
        for s, i, n, k, r, d, a, o in rows
    ]
