"""The events half of the clean layer, computed by (source, week) partition, only for the partitions
whose inputs changed (:mod:`transforms.partitions`); small partitions are disposed of in batches of
about :data:`BATCH_ROWS` rows, with the same queries.

Dispositions are those of :mod:`transforms.clean_events` (rejected, duplicate, automated, kept, in
that order of precedence). Within a partition, only the rows that could be anything but ``kept``
or ``automated`` are looked at one by one: the rows that are rejected, and the rows sharing their
id or their content identity (``CONTENT_IDENTITY``) with another row of the partition (found with
two grouped counts over 64-bit hashes of those keys, collisions resolved on the values themselves).
Every other row is kept unless automated, from a narrow copy of the partition (the columns the
clean tables read); the rows looked at one by one are read whole a second time. Duplicates are
therefore found within a week: a re-export repeats an event with its original time; a copy with
another time is a conflicting duplicate, which the ingest layer's ``*_events_conflicting_ids``
check names.

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
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb

from transforms.contracts import EVENTS
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE, EARLIEST_PLAUSIBLE_TIME
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
    "FullRecompute",
    "Step",
    "all_events_relation",
    "build_event_partitions",
    "partition_steps",
    "stage_fingerprints",
    "staged_events_sql",
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


@dataclass(frozen=True)
class Step:
    """One query of the events clean layer, written once for every engine (DuckDB SQL; the Spark
    engine transpiles it, :mod:`transforms.engines.spark_sql`). ``kind``: ``temp`` (a working
    table of the run, named ``name``, computed once and read by later steps) or ``output`` (rows of
    the clean table ``name``, whose columns the query names)."""

    name: str
    kind: str
    sql: str


def _literal(t: dt.datetime) -> str:
    return f"TIMESTAMPTZ '{t.isoformat()}'"


#: The columns of an event the dispositions and the clean tables read besides the keys' hashes.
_STAGED = ("source", "week_start", "account_id", "account_email", "action", "occurred_at", "is_automated")


def _key_hashes() -> str:
    """The 64-bit hashes of an event's two keys: its id (``__hid``) and its content identity (``__hc``)."""
    content = ", ".join(c for c in CONTENT_IDENTITY if c != "source")
    return f"hash(event_id) AS __hid, hash({content}) AS __hc"


def staged_events_sql(relation: str) -> str:
    """The rows to dispose of (``relation``: raw events with ``source`` and ``week_start``), narrowed
    to :data:`_STAGED` and the hashes of their two keys. The rows examined one by one are read again
    whole from the relation, so the other columns (content ids, hashtags, files) are never copied
    for the rest."""
    return f"SELECT {', '.join(_STAGED)}, {_key_hashes()} FROM {relation}"


def partition_steps(automated_sql: str, earliest: dt.datetime, cutoff: dt.datetime) -> tuple[Step, ...]:
    """The queries that dispose of the raw rows ``__rows`` (with ``source`` and ``week_start``) and
    write the partitioned clean tables, for one (source, week) partition or for all at once: every
    window and grouping is per source and week. ``__fingerprints(source, week_start, fingerprint)``
    lists the partitions; ``clean.local_quarters`` gives local days.

    The first step stages the rows narrow (:func:`staged_events_sql`); the rows that could be
    anything but kept or automated (rejected, or sharing an id or a content identity with another
    row of their partition) are found on it and read whole from ``__rows`` a second time; every
    other row is disposed of from the narrow copy."""
    content = ", ".join(CONTENT_IDENTITY)
    every_column = ", ".join(f'r."{c}"' for c in EVENTS.names if c != "hashtags") + ", list_sort(r.hashtags)"
    lo, hi = _literal(earliest), _literal(cutoff)

    def screen(t: str) -> str:  # the rows looked at one by one, in a relation ``t`` joined to the shared keys
        return (f"trim({t}.account_id) = '' OR {t}.occurred_at < {lo} OR {t}.occurred_at >= {hi} "
                "OR i.__hid IS NOT NULL OR c.__hc IS NOT NULL")

    def shared(t: str) -> str:
        return (f"LEFT JOIN __shared_ids i ON i.source = {t}.source AND i.week_start = {t}.week_start "
                f"AND i.__hid = {t}.__hid "
                f"LEFT JOIN __shared_contents c ON c.source = {t}.source AND c.week_start = {t}.week_start "
                f"AND c.__hc = {t}.__hc")

    screened = f"""
        WITH r AS (SELECT {_COLS}, week_start, {_key_hashes()} FROM __rows)
        SELECT r.*, row_number() OVER () AS __n,
            CASE
                WHEN trim(r.account_id) = '' THEN 'account_id: required, found blank'
                WHEN r.occurred_at < {lo}
                    THEN 'occurred_at: before {EARLIEST_PLAUSIBLE}, expected a real timestamp'
                WHEN r.occurred_at >= {hi}
                    THEN 'occurred_at: more than a day in the future, a clock error'
            END AS reject_reason,
            hash({every_column}) AS __same
        FROM r {shared("r")}
        WHERE {screen("r")}
    """
    examined = f"""
        WITH screened AS (SELECT * FROM __screened),
        first_copy_of_id AS (
            SELECT __n FROM screened WHERE reject_reason IS NULL
            QUALIFY row_number() OVER (
                PARTITION BY source, week_start, event_id ORDER BY source_file DESC NULLS LAST, __same, __n) = 1
        ),
        first_copy_of_content AS (
            SELECT __n FROM screened JOIN first_copy_of_id USING (__n)
            QUALIFY row_number() OVER (PARTITION BY week_start, {content} ORDER BY event_id, __same, __n) = 1
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
    """
    # the rows with a disposition: the examined ones as decided, the others kept unless automated
    narrow = ", ".join(f"p.{c}" for c in _STAGED)
    disposed = f"""
        WITH automated_accounts AS ({automated_sql})
        SELECT {narrow}, p.__hid,
            CASE WHEN p.is_automated OR a.account_id IS NOT NULL THEN 'automated' ELSE 'kept' END AS disposition
        FROM __part p {shared("p")}
        LEFT JOIN automated_accounts a ON a.source = p.source AND a.account_id = p.account_id
        WHERE NOT coalesce({screen("p")}, false)
        UNION ALL
        SELECT {", ".join(_STAGED)}, __hid, disposition FROM __examined
    """
    return (
        Step("__part", "temp", staged_events_sql("__rows")),
        Step("__shared_ids", "temp",
             "SELECT source, week_start, __hid FROM __part GROUP BY source, week_start, __hid HAVING count(*) > 1"),
        Step("__shared_contents", "temp",
             "SELECT source, week_start, __hc FROM __part GROUP BY source, week_start, __hc HAVING count(*) > 1"),
        Step("__screened", "temp", screened),
        Step("__examined", "temp", examined),
        Step("__disposed", "temp", disposed),  # read by every output: computed once
        Step(EVENT_CANDIDATES, "output",
             f"SELECT {_COLS}, week_start, disposition, reject_reason FROM __examined"),
        Step(EVENT_COUNTS, "output", """
            SELECT source, account_id, week_start, action, count(*) AS events FROM __disposed
            WHERE disposition = 'kept' AND week_start IS NOT NULL GROUP BY source, account_id, week_start, action"""),
        Step(EVENT_DAYS, "output", f"""
            SELECT d.source, d.week_start, q.occurred_on, count(*) AS events
            FROM __disposed d JOIN {LOCAL_QUARTERS} q ON q.quarter = epoch_us(d.occurred_at) // {_QUARTER_US}
            WHERE d.disposition = 'kept' AND d.week_start IS NOT NULL GROUP BY d.source, d.week_start, q.occurred_on"""),
        Step(ACCOUNT_EVENTS, "output", """
            SELECT source, week_start, account_id, min(account_email) AS account_email,
                bool_and(is_automated) AS all_automated, min(occurred_at) AS first_at, count(*) AS events
            FROM __disposed GROUP BY source, week_start, account_id"""),
        Step(EVENT_PARTITIONS, "output", """
            SELECT f.source, f.week_start, f.fingerprint, coalesce(d.rows_in, 0) AS rows_in,
                coalesce(d.rejected, 0) AS rejected, coalesce(d.duplicate, 0) AS duplicate,
                coalesce(d.automated, 0) AS automated, coalesce(d.kept, 0) AS kept,
                coalesce(d.kept_ids, 0) AS kept_ids
            FROM __fingerprints f LEFT JOIN (
                SELECT source, week_start, count(*) AS rows_in,
                    count(*) FILTER (disposition = 'rejected') AS rejected,
                    count(*) FILTER (disposition = 'duplicate') AS duplicate,
                    count(*) FILTER (disposition = 'automated') AS automated,
                    count(*) FILTER (disposition = 'kept') AS kept,
                    count(DISTINCT __hid) FILTER (disposition = 'kept') AS kept_ids
                FROM __disposed GROUP BY source, week_start
            ) d ON d.source = f.source AND d.week_start IS NOT DISTINCT FROM f.week_start"""),
    )


def _partition_relation(p: Partition, time_zone: str, earliest: dt.datetime, cutoff: dt.datetime) -> str:
    """The raw rows of one partition with its ``source`` and ``week_start``."""
    if p.week_start is None:
        where, week = f"occurred_at < {_literal(earliest)} OR occurred_at >= {_literal(cutoff)}", "NULL"
    else:
        lo, hi = p.bounds(time_zone)
        where = f"occurred_at >= {_literal(max(lo, earliest))} AND occurred_at < {_literal(min(hi, cutoff))}"
        week = f"DATE '{p.week_start.isoformat()}'"
    return (f"SELECT * REPLACE ('{p.source}' AS source), {week}::DATE AS week_start "
            f"FROM raw.{p.source}_events WHERE {where}")


#: About how many raw rows one batch of partitions holds: small partitions are disposed of together
#: (a statement per step and batch, not per step and partition), big ones one at a time.
BATCH_ROWS = 1_000_000


def _batches(con: duckdb.DuckDBPyConnection, rebuild: Sequence[Partition], now: Sequence[Partition]
             ) -> list[list[Partition]]:
    """``rebuild`` in batches of about :data:`BATCH_ROWS` raw rows, a partition's rows estimated as
    its source's rows over its source's partitions (``count(*)`` of a Parquet view reads only the
    files' footers)."""
    per_source = Counter(p.source for p in now)
    rows = {s: con.execute(f"SELECT count(*) FROM raw.{s}_events").fetchone()[0] for s in {p.source for p in rebuild}}
    batches: list[list[Partition]] = []
    size = 0.0
    for p in rebuild:
        estimate = rows[p.source] / per_source[p.source]
        if not batches or size + estimate > BATCH_ROWS:
            batches.append([])
            size = 0.0
        batches[-1].append(p)
        size += estimate
    return batches


def stage_fingerprints(con: duckdb.DuckDBPyConnection, partitions: Sequence[Partition]) -> None:
    """The temp table ``__fingerprints(source, week_start, fingerprint)`` the steps read: the
    partitions being disposed of (every engine stages it so)."""
    con.execute("CREATE OR REPLACE TEMP TABLE __fingerprints (source VARCHAR, week_start DATE, fingerprint VARCHAR)")
    con.executemany("INSERT INTO __fingerprints VALUES (?, ?, ?)",
                    [(p.source, p.week_start, p.fingerprint) for p in partitions])


def _build_batch(con: duckdb.DuckDBPyConnection, batch: Sequence[Partition], steps: Sequence[Step],
                 time_zone: str, earliest: dt.datetime, cutoff: dt.datetime) -> None:
    """Dispose of a batch of partitions' rows in DuckDB and write their rows of the clean tables
    (every step groups by source and week, so a batch is disposed of as its partitions would be)."""
    rows = " UNION ALL ".join(f"({_partition_relation(p, time_zone, earliest, cutoff)})" for p in batch)
    con.execute(f"CREATE OR REPLACE TEMP VIEW __rows AS {rows}")
    stage_fingerprints(con, batch)
    for step in steps:
        if step.kind == "temp":
            con.execute(f"CREATE OR REPLACE TEMP TABLE {step.name} AS {step.sql}")
        else:
            con.execute(f"INSERT INTO {step.name} BY NAME {step.sql}")


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


#: Recomputes every partition at once on another engine: called with the connection, the current
#: partitions, the steps, the relation of all raw events with ``source`` and ``week_start``
#: (:func:`all_events_relation`); inserts the rows of the clean tables (emptied before).
FullRecompute = Callable[[duckdb.DuckDBPyConnection, Sequence[Partition], Sequence[Step], str], None]


def all_events_relation(sources: Sequence[str], earliest: dt.datetime, cutoff: dt.datetime) -> str:
    """Every raw event of ``sources`` with its ``source`` and its ``week_start`` (null outside
    [``earliest``, ``cutoff``)): the staged rows of a full recompute, on any engine."""
    parts = [
        f"SELECT r.* REPLACE ('{s}' AS source), CASE WHEN r.occurred_at >= {_literal(earliest)} "
        f"AND r.occurred_at < {_literal(cutoff)} THEN q.week_start END AS week_start "
        f"FROM raw.{s}_events r LEFT JOIN {LOCAL_QUARTERS} q ON q.quarter = epoch_us(r.occurred_at) // {_QUARTER_US}"
        for s in sources
    ]
    return "(" + " UNION ALL ".join(f"SELECT {_COLS}, week_start FROM ({p})" for p in parts) + ")"


def build_event_partitions(con: duckdb.DuckDBPyConnection, sources: Sequence[str], automated_sql: str,
                           time_zone: str, recompute: FullRecompute | None = None) -> dict[str, int]:
    """Bring the partitioned clean tables and the ``clean.events`` view up to date with the raw
    events of ``sources`` (every one has ``raw.<source>_events``); return how many partitions were
    rebuilt, kept and dropped. The caller holds the transaction.

    DuckDB (``recompute`` None) rebuilds only the partitions whose fingerprint changed, one at a
    time; another engine (``recompute``, e.g. Spark) recomputes all of them at once from the same
    :func:`partition_steps`."""
    for ddl in _DDL:
        con.execute(ddl)
    con.execute(_candidates_ddl())
    earliest = EARLIEST_PLAUSIBLE_TIME
    cutoff = future_cutoff().replace(minute=0, second=0, microsecond=0)
    now = current_partitions(con, sources, time_zone, _automated_digest(con, automated_sql))
    stored = {(s, w): fp for s, w, fp in con.execute(
        f"SELECT source, week_start, fingerprint FROM {EVENT_PARTITIONS}").fetchall()}
    stored = {k: v for k, v in stored.items() if k[0] in sources} | {
        k: "" for k in stored if k[0] not in sources}  # sources no longer present: dropped below
    rebuild, gone = changed(now, stored)
    _local_quarters(con, [p.week_start for p in now if p.week_start is not None], time_zone)
    # the automated accounts once per run, not once per partition and step
    con.execute(f"CREATE OR REPLACE TEMP TABLE __automated_accounts AS {automated_sql}")
    steps = partition_steps("SELECT source, account_id FROM __automated_accounts", earliest, cutoff)
    if recompute is not None:
        rebuild, gone = now, [k for k in stored if k not in {(p.source, p.week_start) for p in now}]
        for table in (EVENT_PARTITIONS, EVENT_CANDIDATES, EVENT_COUNTS, EVENT_DAYS, ACCOUNT_EVENTS):
            con.execute(f"DELETE FROM {table}")
        if now:
            recompute(con, now, steps, all_events_relation(sources, earliest, cutoff))
    else:
        _delete(con, [*gone, *((p.source, p.week_start) for p in rebuild)])
        batches = _batches(con, rebuild, now)
        for batch in batches:
            _build_batch(con, batch, steps, time_zone, earliest, cutoff)
        log.info("clean events: %d partition(s) disposed of in %d batch(es)", len(rebuild), len(batches))
        for t in ("__fingerprints", *(s.name for s in steps if s.kind == "temp")):  # the working tables
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")
        con.execute("DROP VIEW IF EXISTS temp.__rows")
    con.execute("DROP TABLE temp.__automated_accounts")
    _create_view(con, sources, automated_sql, earliest, cutoff)
    log.info("clean events: %d partition(s) rebuilt, %d unchanged, %d dropped",
             len(rebuild), len(now) - len(rebuild), len(gone))
    return {"rebuilt": len(rebuild), "unchanged": len(now) - len(rebuild), "dropped": len(gone)}


def has_partitions(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the partitioned clean tables exist (a clean layer was built)."""
    return relation_exists(con, EVENT_PARTITIONS)
