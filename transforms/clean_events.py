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
   ``(source, account, period, action)`` (the copy from the last ``source_file`` is kept).
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

from transforms.clean_event_partitions import (
    CONTENT_IDENTITY,
    EVENT_CANDIDATES,
    EVENT_PARTITIONS,
    FullRecompute,
    build_event_partitions,
)
from transforms.contracts import ACTIVITY_COUNTS, Contract
from transforms.contracts.config import Settings
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE
from transforms.warehouse import ensure_schemas, relation_exists
from transforms.weeks import date_week_start_sql, iso_week_sql

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


def _union(sources: Sequence[str], table: str, columns: Sequence[str]) -> str:
    """``UNION ALL`` of the raw tables, ``source`` forced to the table's connector name."""
    cols = ", ".join(f'"{c}"' for c in columns if c != "source")
    parts = [
        f"SELECT '{s}' AS source, {cols}, '{s}' || ':' || row_number() OVER () AS __row FROM raw.{s}_{table}"
        for s in sources
    ]
    return " UNION ALL ".join(parts)


def _automated_accounts_sql(sources: Sequence[str]) -> str:
    parts = [
        f"SELECT '{s}' AS source, account_id FROM raw.{s}_accounts WHERE is_automated" for s in sources
    ]
    return " UNION ".join(parts) if parts else "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS account_id WHERE false"


def _build_activity_counts(
    con: duckdb.DuckDBPyConnection, sources: list[str], automated_sql: str
) -> None:
    cols = ACTIVITY_COUNTS.names
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __raw_counts AS "
        + (
            _union(sources, "activity_counts", cols)
            if sources
            else _empty_select(con, ACTIVITY_COUNTS)
        )
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __counts_screened AS
        WITH screened AS (
            SELECT *,
                CASE
                    WHEN trim(account_id) = '' THEN 'account_id: required, found blank'
                    WHEN "count" < 0 THEN 'count: expected a count >= 0, found ' || "count"
                    WHEN period_end < period_start THEN 'period_end: before period_start'
                    WHEN period_start < DATE '{EARLIEST_PLAUSIBLE}'
                        THEN 'period_start: before {EARLIEST_PLAUSIBLE}, expected a real date'
                END AS reject_reason
            FROM __raw_counts
        ),
        first_copy AS (
            SELECT __row FROM screened
            WHERE reject_reason IS NULL
            QUALIFY row_number() OVER (
                PARTITION BY source, account_id, period_start, period_end, action
                ORDER BY source_file DESC NULLS LAST, __row) = 1
        ),
        automated_accounts AS ({automated_sql})
        SELECT s.*,
            CASE
                WHEN s.reject_reason IS NOT NULL THEN 'rejected'
                WHEN f.__row IS NULL THEN 'duplicate'
                WHEN a.account_id IS NOT NULL THEN 'automated'
            END AS screened_out
        FROM screened s
        LEFT JOIN first_copy f USING (__row)
        LEFT JOIN automated_accounts a ON a.source = s.source AND a.account_id = s.account_id
        """
    )
    # Overlapping periods of one account and action: keep a largest set of non-overlapping periods,
    # greedily by earliest end (finest periods first), recursively, only for the few account-action
    # pairs that have an overlap at all.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __counts_disposed AS
        WITH RECURSIVE candidates AS (
            SELECT *, coalesce(max(period_end) OVER (
                PARTITION BY source, account_id, action ORDER BY period_start, period_end, __row
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= period_start, false) AS overlaps_earlier
            FROM __counts_screened WHERE screened_out IS NULL
        ),
        contested AS (
            SELECT c.* FROM candidates c
            SEMI JOIN (SELECT DISTINCT source, account_id, action FROM candidates WHERE overlaps_earlier) g
                ON g.source = c.source AND g.account_id = c.account_id AND g.action = c.action
        ),
        chosen(source, account_id, action, __row, period_end) AS (
            SELECT source, account_id, action, arg_min(__row, (period_end, period_start, __row)), min(period_end)
            FROM contested GROUP BY ALL
            UNION ALL
            SELECT o.source, o.account_id, o.action, arg_min(o.__row, (o.period_end, o.period_start, o.__row)),
                min(o.period_end)
            FROM chosen c JOIN contested o
              ON o.source = c.source AND o.account_id = c.account_id AND o.action = c.action
             AND o.period_start > c.period_end
            GROUP BY ALL
        )
        SELECT s.* EXCLUDE (screened_out),
            CASE
                WHEN s.screened_out IS NOT NULL THEN s.screened_out
                WHEN x.__row IS NOT NULL AND k.__row IS NULL THEN 'overlap'
                ELSE 'kept'
            END AS disposition
        FROM __counts_screened s
        LEFT JOIN contested x ON x.__row = s.__row
        LEFT JOIN chosen k ON k.__row = s.__row
        """
    )
    # Allocation to weeks. Periods of at most 7 days go whole to the week holding most of their
    # days (ties: the later week). Longer periods are spread evenly over their days; the integer
    # split per week is floor(count * days_in_week / days) plus one unit for the weeks with the
    # largest remainders (ties: the earlier week), so the weekly parts sum to the count exactly.
    # A period of at most 7 days spans one or two weeks: its week is computed from the days in the
    # first one (Monday = 1: 8 - isodow days to its Sunday), without a row per day; only the longer
    # periods are expanded to days.
    con.execute(
        f"""
        CREATE OR REPLACE TABLE clean.activity_counts AS
        WITH kept AS (
            SELECT *, date_diff('day', period_start, period_end) + 1 AS n_days
            FROM __counts_disposed WHERE disposition = 'kept'
        ),
        short AS (
            SELECT __row, "count", n_days, {date_week_start_sql('period_start')} AS first_week,
                least(n_days, 8 - isodow(period_start)) AS days_first
            FROM kept WHERE n_days <= 7
        ),
        short_allocated AS (
            SELECT __row, CASE WHEN n_days - days_first >= days_first THEN CAST(first_week + INTERVAL 7 DAY AS DATE)
                               ELSE first_week END AS week_start,
                1 AS majority_rank, "count" AS allocated
            FROM short
        ),
        days AS (
            SELECT __row, CAST(unnest(generate_series(
                CAST(period_start AS TIMESTAMP), CAST(period_end AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS day
            FROM kept WHERE n_days > 7
        ),
        week_days AS (
            SELECT __row, {date_week_start_sql('day')} AS week_start, count(*) AS days_in_week
            FROM days GROUP BY ALL
        ),
        shares AS (
            SELECT k.__row, w.week_start, w.days_in_week, k.n_days, k."count",
                k."count" * w.days_in_week // k.n_days AS base,
                k."count" * w.days_in_week % k.n_days AS remainder,
                row_number() OVER (PARTITION BY k.__row ORDER BY w.days_in_week DESC, w.week_start DESC)
                    AS majority_rank,
                row_number() OVER (PARTITION BY k.__row ORDER BY
                    k."count" * w.days_in_week % k.n_days DESC, w.week_start) AS remainder_rank
            FROM kept k JOIN week_days w USING (__row)
        ),
        allocated AS (
            SELECT __row, week_start, majority_rank,
                base + CASE WHEN remainder_rank <= "count" - sum(base) OVER (PARTITION BY __row) THEN 1 ELSE 0 END
                    AS allocated
            FROM shares
            UNION ALL
            SELECT __row, week_start, majority_rank, allocated FROM short_allocated
        )
        -- a zero count keeps one row (its majority week) so that every kept input row is visible
        SELECT k.source, k.account_id, k.account_email, k.action, a.week_start,
            {iso_week_sql('a.week_start')} AS iso_week, CAST(a.allocated AS BIGINT) AS "count",
            k.period_start, k.period_end, k.source_file
        FROM allocated a JOIN kept k USING (__row)
        WHERE a.allocated > 0 OR (k."count" = 0 AND a.majority_rank = 1)
        ORDER BY k.source, k.account_id, k.action, a.week_start
        """
    )
    con.execute(
        """
        INSERT INTO quality.rejects (contract, file, locator, reason, source, excerpt)
        SELECT 'clean.activity_counts', source_file,
               'period=' || period_start || '..' || period_end || ', action=' || action,
               reject_reason, source, 'account_id=' || account_id
        FROM __counts_disposed WHERE disposition = 'rejected'
        """
    )


def _empty_select(con: duckdb.DuckDBPyConnection, contract: Contract) -> str:
    """A zero-row SELECT with the contract's columns (and ``__row``), for a missing input."""
    name = f"__empty_{contract.name}"
    con.execute(contract.duckdb_ddl(name).replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    return f"SELECT *, NULL::VARCHAR AS __row FROM {name}"


def _dispositions_of_rows(disposed: str) -> str:
    """Per source, the rows of each disposition of a table holding one row per input row."""
    return f"""
        SELECT source,
            count(*) FILTER (disposition = 'rejected') AS rejected_here,
            count(*) FILTER (disposition = 'duplicate') AS filtered_duplicate,
            count(*) FILTER (disposition = 'automated') AS filtered_automated,
            count(*) FILTER (disposition = 'overlap') AS filtered_overlap
        FROM {disposed} GROUP BY ALL
    """


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

    ``clean.activity_counts`` has one row per kept counter row and week it is allocated to:
    ``source, account_id, account_email, action, week_start, iso_week, count, period_start,
    period_end, source_file``. A period of at most 7 days (M365 ``D7``) goes whole to the week
    containing most of its days; a longer period is spread evenly over its days, in whole units
    (largest remainder), so the allocated counts sum exactly to the reported count. Counter dates
    are taken as the report's own calendar dates (no time-zone shift).

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
        con.execute(
            "DELETE FROM quality.rejects WHERE contract IN ('clean.events', 'clean.activity_counts')"
        )
        build_event_partitions(con, ev_sources, automated_sql, settings.time_zone, recompute)
        con.execute(
            f"""
            INSERT INTO quality.rejects (contract, file, locator, reason, source, excerpt)
            SELECT 'clean.events', source_file, 'event_id=' || event_id, reject_reason, source,
                   'account_id=' || account_id
            FROM {EVENT_CANDIDATES} WHERE disposition = 'rejected'
            """
        )
        _build_activity_counts(con, ac_sources, automated_sql)
        parts = [
            p
            for p in (
                _conservation_sql(
                    ev_sources, "events", EVENT_DISPOSITIONS,
                    f"SELECT source, sum(kept) AS kept FROM {EVENT_PARTITIONS} WHERE week_start IS NOT NULL "
                    "GROUP BY ALL",
                ),
                _conservation_sql(
                    ac_sources, "activity_counts", _dispositions_of_rows("__counts_disposed"),
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
    finally:
        for t in ("__raw_counts", "__counts_screened", "__counts_disposed"):
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")
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
