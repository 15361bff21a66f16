"""The events half of the clean layer, computed one (source, week) partition at a time, only for the
partitions whose inputs changed (:mod:`transforms.partitions`).

Dispositions are those of :mod:`transforms.clean_events` (rejected, duplicate, automated, kept, in
that order of precedence). Within a partition, only the rows that could be anything but ``kept``
or ``automated`` are looked at one by one: the rows that are rejected, and the rows sharing their
id or their content identity (``CONTENT_IDENTITY``) with another row of the partition (found with
two grouped counts over 64-bit hashes of those keys, collisions resolved on the values themselves).
Every other row is kept unless automated. Duplicates are therefore found within a week: a
re-export repeats an event with its original time; a copy with another time is a conflicting
duplicate, which the ingest layer's ``*_events_conflicting_ids`` check names.

Tables (grain in brackets), each replaced partition by partition:

- ``clean.event_partitions`` [source, week]: the partition's fingerprint, rows in, rejected,
  duplicate, automated, kept, and kept distinct ids (``kept_ids`` = ``kept`` when ids are unique);
- ``clean.event_candidates`` [one row per examined row]: the rows examined one by one, with every
  column of the events contract, the week, the disposition and the reason of a rejection;
- ``clean.event_counts`` [source, account, week, action]: kept events;
- ``clean.event_days`` [source, local day]: kept events;
- ``clean.account_events`` [source, account, week]: every raw event of the account (what identity
  resolution sees): the smallest e-mail, whether all were automated, the first time, the count;
- ``clean.local_quarters`` [UTC quarter-hour]: the local date, week and ISO label of each
  quarter-hour the data spans (time zones move by whole quarter-hours).

``clean.events`` is a view over the raw tables: the rows of every week partition that were not
examined one by one and are not automated, plus the examined rows kept, with ``occurred_on``,
``week_start`` and ``iso_week`` from ``clean.local_quarters``. The 100-million-row case never copies
the events: they stay in the canonical Parquet files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence

import duckdb

from transforms.contracts import EVENTS
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE
from transforms.partitions import Partition, changed, current_partitions, future_cutoff, week_bounds_utc
from transforms.warehouse import relation_exists

log = logging.getLogger(__name__)

__all__ = [
    "ACCOUNT_EVENTS",
    "CONTENT_IDENTITY",
    "EVENT_CANDIDATES",
    "EVENT_COUNTS",
    "EVENT_DAYS",
    "EVENT_PARTITIONS",
    "LOCAL_QUARTERS",
    "build_event_partitions",
]

EVENT_PARTITIONS = "clean.event_partitions"
EVENT_CANDIDATES = "clean.event_candidates"
EVENT_COUNTS = "clean.event_counts"
EVENT_DAYS = "clean.event_days"
ACCOUNT_EVENTS = "clean.account_events"
LOCAL_QUARTERS = "clean.local_quarters"
#: What makes two events the same action when their ids differ ("content-identical repeats").
CONTENT_IDENTITY: tuple[str, ...] = tuple(
    c for c in ("source", "account_id", "action", "occurred_at", "space_id", "content_id", "reaction")
    if c in EVENTS.names
)
_QUARTER_US = 900 * 10 ** 6
_COLS = ", ".join(f'"{c}"' for c in EVENTS.names)

_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {EVENT_PARTITIONS} (source VARCHAR, week_start DATE, fingerprint VARCHAR,
        rows_in BIGINT, rejected BIGINT, duplicate BIGINT, automated BIGINT, kept BIGINT, kept_ids BIGINT)""",
    f"""CREATE TABLE IF NOT EXISTS {EVENT_COUNTS} (source VARCHAR, account_id VARCHAR, week_start DATE,
        action VARCHAR, events BIGINT)""",
    f"CREATE TABLE IF NOT EXISTS {EVENT_DAYS} (source VARCHAR, week_start DATE, occurred_on DATE, events BIGINT)",
    f"""CREATE TABLE IF NOT EXISTS {ACCOUNT_EVENTS} (source VARCHAR, week_start DATE, account_id VARCHAR,
        account_email VARCHAR, all_automated BOOLEAN, first_at TIMESTAMPTZ, events BIGINT)""",
)


def _candidates_ddl() -> str:
    cols = EVENTS.duckdb_ddl(EVENT_CANDIDATES).split("(", 1)[1].rsplit(")", 1)[0]
    return (f"CREATE TABLE IF NOT EXISTS {EVENT_CANDIDATES} ({cols}, week_start DATE, disposition VARCHAR, "
            "reject_reason VARCHAR)")


def _automated_digest(con: duckdb.DuckDBPyConnection, automated_sql: str) -> dict[str, str]:
    rows = con.execute(f"SELECT source, list_sort(list(account_id)) FROM ({automated_sql}) GROUP BY ALL").fetchall()
    return {s: hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16] for s, ids in rows}


def _delete(con: duckdb.DuckDBPyConnection, partitions: Sequence[tuple[str, dt.date | None]]) -> None:
    """Remove ``partitions`` from every partitioned table: one DELETE per table for all of them (a
    DELETE per partition would scan each table once per rebuilt week)."""
    if not partitions:
        return
    con.execute("CREATE OR REPLACE TEMP TABLE __gone (source VARCHAR, week_start DATE)")
    con.executemany("INSERT INTO __gone VALUES (?, ?)", [list(p) for p in partitions])
    for table in (EVENT_PARTITIONS, EVENT_CANDIDATES, EVENT_COUNTS, EVENT_DAYS, ACCOUNT_EVENTS):
        con.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM __gone g WHERE g.source = t.source "
                    "AND g.week_start IS NOT DISTINCT FROM t.week_start)")
    con.execute("DROP TABLE temp.__gone")


def _stage_partition(con: duckdb.DuckDBPyConnection, p: Partition, time_zone: str,
                     earliest: dt.datetime, cutoff: dt.datetime) -> None:
    """TEMP ``__part``: the partition's raw rows with a row number and the hashes of their two keys."""
    if p.week_start is None:
        where = "occurred_at < $lo OR occurred_at >= $hi"
        params = {"lo": earliest, "hi": cutoff}
    else:
        lo, hi = p.bounds(time_zone)
        where = "occurred_at >= $lo AND occurred_at < $hi"
        params = {"lo": max(lo, earliest), "hi": min(hi, cutoff)}
    content = ", ".join(c for c in CONTENT_IDENTITY if c != "source")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __part AS
        SELECT {_COLS}, row_number() OVER () AS __n, hash(event_id) AS __hid, hash({content}) AS __hc
        FROM (SELECT * REPLACE ('{p.source}' AS source) FROM raw.{p.source}_events WHERE {where})
        """,
        params,
    )


def _dispose(con: duckdb.DuckDBPyConnection, p: Partition, automated_sql: str,
             earliest: dt.datetime, cutoff: dt.datetime) -> None:
    """TEMP ``__examined``: the rows that are rejected or share a key, with their disposition."""
    content = ", ".join(CONTENT_IDENTITY)
    all_cols = ", ".join(f'"{c}"' for c in EVENTS.names if c != "hashtags") + ", list_sort(hashtags)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __examined AS
        WITH shared_ids AS (SELECT __hid FROM __part GROUP BY __hid HAVING count(*) > 1),
        shared_contents AS (SELECT __hc FROM __part GROUP BY __hc HAVING count(*) > 1),
        examined AS (
            SELECT * FROM __part
            WHERE trim(account_id) = '' OR occurred_at < $earliest OR occurred_at >= $cutoff
               OR __hid IN (SELECT __hid FROM shared_ids) OR __hc IN (SELECT __hc FROM shared_contents)
        ),
        screened AS (
            SELECT *,
                CASE
                    WHEN trim(account_id) = '' THEN 'account_id: required, found blank'
                    WHEN occurred_at < $earliest
                        THEN 'occurred_at: before {EARLIEST_PLAUSIBLE}, expected a real timestamp'
                    WHEN occurred_at >= $cutoff
                        THEN 'occurred_at: more than a day in the future, a clock error'
                END AS reject_reason,
                hash({all_cols}) AS __same
            FROM examined
        ),
        first_copy_of_id AS (
            SELECT __n FROM screened WHERE reject_reason IS NULL
            QUALIFY row_number() OVER (
                PARTITION BY source, event_id ORDER BY source_file DESC NULLS LAST, __same, __n) = 1
        ),
        first_copy_of_content AS (
            SELECT __n FROM screened JOIN first_copy_of_id USING (__n)
            QUALIFY row_number() OVER (PARTITION BY {content} ORDER BY event_id, __same, __n) = 1
        ),
        automated_accounts AS ({automated_sql})
        SELECT s.* EXCLUDE (__same),
            CASE
                WHEN s.reject_reason IS NOT NULL THEN 'rejected'
                WHEN c.__n IS NULL THEN 'duplicate'
                WHEN s.is_automated OR a.account_id IS NOT NULL THEN 'automated'
                ELSE 'kept'
            END AS disposition
        FROM screened s
        LEFT JOIN first_copy_of_content c USING (__n)
        LEFT JOIN automated_accounts a ON a.source = s.source AND a.account_id = s.account_id
        """,
        {"earliest": earliest, "cutoff": cutoff},
    )


def _record(con: duckdb.DuckDBPyConnection, p: Partition, automated_sql: str) -> None:
    """Write the partition's examined rows, counts, days, account summaries and dispositions."""
    week = p.week_start
    params = {"s": p.source, "w": week}
    con.execute(
        f"""INSERT INTO {EVENT_CANDIDATES}
        SELECT {_COLS}, $w::DATE AS week_start, disposition, reject_reason FROM __examined""",
        {"w": week},
    )
    # the partition's rows with a disposition: examined ones as decided, the others kept unless automated
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW __disposed AS
        WITH automated_accounts AS ({automated_sql})
        SELECT p.account_id, p.account_email, p.action, p.occurred_at, p.is_automated, p.__hid,
            coalesce(x.disposition,
                     CASE WHEN p.is_automated OR a.account_id IS NOT NULL THEN 'automated' ELSE 'kept' END)
                AS disposition
        FROM __part p
        LEFT JOIN __examined x USING (__n)
        LEFT JOIN automated_accounts a ON a.source = p.source AND a.account_id = p.account_id
        """
    )
    if week is not None:
        con.execute(
            f"""INSERT INTO {EVENT_COUNTS}
            SELECT $s, account_id, $w::DATE, action, count(*) FROM __disposed WHERE disposition = 'kept'
            GROUP BY ALL""",
            params,
        )
        con.execute(
            f"""INSERT INTO {EVENT_DAYS}
            SELECT $s, $w::DATE, q.occurred_on, count(*)
            FROM __disposed d JOIN {LOCAL_QUARTERS} q ON q.quarter = epoch_us(d.occurred_at) // {_QUARTER_US}
            WHERE d.disposition = 'kept' GROUP BY ALL""",
            params,
        )
    con.execute(
        f"""INSERT INTO {ACCOUNT_EVENTS}
        SELECT $s, $w::DATE, account_id, min(account_email), bool_and(is_automated), min(occurred_at), count(*)
        FROM __disposed GROUP BY account_id""",
        params,
    )
    con.execute(
        f"""INSERT INTO {EVENT_PARTITIONS}
        SELECT $s, $w::DATE, $fp, count(*),
            count(*) FILTER (disposition = 'rejected'), count(*) FILTER (disposition = 'duplicate'),
            count(*) FILTER (disposition = 'automated'), count(*) FILTER (disposition = 'kept'),
            count(DISTINCT __hid) FILTER (disposition = 'kept')
        FROM __disposed""",
        {**params, "fp": p.fingerprint},
    )


def _local_quarters(con: duckdb.DuckDBPyConnection, weeks: Sequence[dt.date], time_zone: str) -> None:
    """``clean.local_quarters`` over every week of the data (rebuilt when the weeks change)."""
    con.execute(f"""CREATE TABLE IF NOT EXISTS {LOCAL_QUARTERS} (quarter BIGINT, occurred_on DATE,
                    week_start DATE, iso_week VARCHAR, time_zone VARCHAR)""")
    if not weeks:
        con.execute(f"DELETE FROM {LOCAL_QUARTERS}")
        return
    lo = week_bounds_utc(min(weeks), time_zone)[0]
    hi = week_bounds_utc(max(weeks), time_zone)[1]
    first, last = int(lo.timestamp()) // 900, int(hi.timestamp()) // 900
    stored = con.execute(f"SELECT min(quarter), max(quarter), count(*), list_distinct(list(time_zone)) "
                         f"FROM {LOCAL_QUARTERS}").fetchone()
    if (stored[0] is not None and stored[0] <= first and stored[1] >= last - 1
            and stored[2] == stored[1] - stored[0] + 1 and stored[3] == [time_zone]):
        return
    con.execute(f"DELETE FROM {LOCAL_QUARTERS}")
    con.execute(
        f"""
        INSERT INTO {LOCAL_QUARTERS}
        WITH q AS (SELECT range AS quarter,
                          CAST(timezone($tz, to_timestamp(range * 900)) AS DATE) AS occurred_on
                   FROM range($first, $last))
        SELECT quarter, occurred_on, CAST(date_trunc('week', occurred_on) AS DATE),
               strftime(occurred_on, '%G-W%V'), $tz
        FROM q
        """,
        {"tz": time_zone, "first": first, "last": last},
    )


def _create_view(con: duckdb.DuckDBPyConnection, sources: Sequence[str], automated_sql: str,
                 earliest: dt.datetime, cutoff: dt.datetime) -> None:
    """``clean.events``: what was not examined and is not automated, plus the examined rows kept."""
    examined = {s for (s,) in con.execute(f"SELECT DISTINCT source FROM {EVENT_CANDIDATES}").fetchall()}
    lit = lambda t: f"TIMESTAMPTZ '{t.isoformat()}'"  # noqa: E731 - a constant of the view's SQL
    parts = []
    for s in sources:
        anti = (f" ANTI JOIN (SELECT event_id, occurred_at FROM {EVENT_CANDIDATES} WHERE source = '{s}') x"
                f" ON x.event_id = r.event_id AND x.occurred_at = r.occurred_at") if s in examined else ""
        parts.append(
            f"SELECT r.* REPLACE ('{s}' AS source) FROM raw.{s}_events r{anti}"
            f" ANTI JOIN (SELECT account_id FROM ({automated_sql}) WHERE source = '{s}') a"
            f" ON a.account_id = r.account_id"
            f" WHERE r.occurred_at >= {lit(earliest)} AND r.occurred_at < {lit(cutoff)} AND NOT r.is_automated"
        )
    parts.append(f"SELECT {_COLS} FROM {EVENT_CANDIDATES} WHERE disposition = 'kept'")
    body = " UNION ALL ".join(f"SELECT {_COLS} FROM ({p})" for p in parts)
    con.execute(
        f"""
        CREATE OR REPLACE VIEW clean.events AS
        SELECT e.*, q.occurred_on, q.week_start, q.iso_week
        FROM ({body}) e JOIN {LOCAL_QUARTERS} q ON q.quarter = epoch_us(e.occurred_at) // {_QUARTER_US}
        """
    )


def build_event_partitions(con: duckdb.DuckDBPyConnection, sources: Sequence[str], automated_sql: str,
                           time_zone: str) -> dict[str, int]:
    """Bring the partitioned clean tables and the ``clean.events`` view up to date with the raw
    events of ``sources`` (every one has ``raw.<source>_events``); return how many partitions were
    rebuilt, kept and dropped. The caller holds the transaction."""
    for ddl in _DDL:
        con.execute(ddl)
    con.execute(_candidates_ddl())
    earliest = dt.datetime.combine(EARLIEST_PLAUSIBLE, dt.time(), tzinfo=dt.UTC)
    cutoff = future_cutoff().replace(minute=0, second=0, microsecond=0)
    now = current_partitions(con, sources, time_zone, _automated_digest(con, automated_sql))
    stored = {(s, w): fp for s, w, fp in con.execute(
        f"SELECT source, week_start, fingerprint FROM {EVENT_PARTITIONS}").fetchall()}
    stored = {k: v for k, v in stored.items() if k[0] in sources} | {
        k: "" for k in stored if k[0] not in sources}  # sources no longer present: dropped below
    rebuild, gone = changed(now, stored)
    _local_quarters(con, [p.week_start for p in now if p.week_start is not None], time_zone)
    _delete(con, [*gone, *((p.source, p.week_start) for p in rebuild)])
    for p in rebuild:
        _stage_partition(con, p, time_zone, earliest, cutoff)
        _dispose(con, p, automated_sql, earliest, cutoff)
        _record(con, p, automated_sql)
    for t in ("__part", "__examined"):
        con.execute(f"DROP TABLE IF EXISTS temp.{t}")
    con.execute("DROP VIEW IF EXISTS temp.__disposed")
    _create_view(con, sources, automated_sql, earliest, cutoff)
    log.info("clean events: %d partition(s) rebuilt, %d unchanged, %d dropped",
             len(rebuild), len(now) - len(rebuild), len(gone))
    return {"rebuilt": len(rebuild), "unchanged": len(now) - len(rebuild), "dropped": len(gone)}


def has_partitions(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the partitioned clean tables exist (a clean layer was built)."""
    return relation_exists(con, EVENT_PARTITIONS)
