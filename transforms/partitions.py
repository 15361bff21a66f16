"""Week partitions of the platform events: which (source, week) holds which rows, and which changed
since the last run, so that the clean layer rebuilds only those.

A partition is one source's events of one ISO week of the organisation's time zone (its UTC bounds
are the local Mondays at midnight, converted with the zone's rules, so a DST change is respected).
Events before :data:`~transforms.contracts.vocabulary.EARLIEST_PLAUSIBLE` or more than a day in
the future (a broken clock) belong to no week: they form the source's ``week_start IS NULL``
partition, which the clean layer rejects whole.

A partition's fingerprint hashes what its rows come from: for rows a connector parsed into a
DuckDB table, the rows themselves (count and a hash of every column, computed in one grouped scan
of that table); for canonical Parquet files read in place, the path, size and modification time of
every file whose time range (from the Parquet statistics) overlaps the week; and, for every
partition of a source, the source's automated accounts. A partition whose fingerprint is unchanged
gives the same clean rows: it is not read again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import duckdb

from transforms.contracts import EVENTS
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE_TIME
from transforms.warehouse import relation_exists
from transforms.weeks import week_start_of

log = logging.getLogger(__name__)

__all__ = [
    "CANONICAL_FILES",
    "Partition",
    "canonical_files_macro",
    "current_partitions",
    "future_cutoff",
    "week_bounds_utc",
]

#: The ingest layer's register of canonical Parquet files (``pipelines.warehouse``).
CANONICAL_FILES = "raw.canonical_files"


def canonical_files_macro(raw_table: str) -> str:
    """The table macro ``<raw_table>__files(files)``: the rows of some of the canonical files of a raw
    table, as its view shows them (the quarantined rows left out); written beside the view by the
    ingest layer, read by the checks that look only at files they have not passed yet."""
    return f"{raw_table}__files"


#: A timestamp later than this after the run's start is a broken clock, not activity.
FUTURE_TOLERANCE = dt.timedelta(days=1)


@dataclass(frozen=True)
class Partition:
    """One source's events of one week (``week_start`` None: the timestamps that fit no week)."""

    source: str
    week_start: dt.date | None
    fingerprint: str

    def bounds(self, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
        """The partition's UTC interval [start, end)."""
        if self.week_start is None:
            raise ValueError("the partition of timestamps outside every week has no bounds")
        return week_bounds_utc(self.week_start, time_zone)


def future_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Timestamps at or after this are in the future: a clock error."""
    return (now or dt.datetime.now(dt.UTC)) + FUTURE_TOLERANCE


def week_bounds_utc(week_start: dt.date, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """UTC [start, end) of the ISO week starting on the Monday ``week_start`` in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    start = dt.datetime.combine(week_start, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(week_start + dt.timedelta(days=7), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    return start, end


def _weeks_between(first: dt.datetime, last: dt.datetime, time_zone: str) -> list[dt.date]:
    zone = ZoneInfo(time_zone)
    lo = week_start_of(first.astimezone(zone).date())
    hi = week_start_of(last.astimezone(zone).date())
    return [lo + dt.timedelta(weeks=i) for i in range((hi - lo).days // 7 + 1)]


def _rows_table(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """The DuckDB table holding what the connector parsed (beside canonical files, or alone)."""
    rows = f"raw.{source}_events__rows"
    return rows if relation_exists(con, rows) else f"raw.{source}_events"


def _row_fingerprints(con: duckdb.DuckDBPyConnection, table: str, time_zone: str,
                      earliest: dt.datetime, cutoff: dt.datetime) -> dict[dt.date | None, str]:
    """Per week of ``table`` (a DuckDB table): its row count and the sum of its rows' hashes."""
    cols = ", ".join(f'"{c}"' for c in EVENTS.names if c != "hashtags") + ", list_sort(hashtags)"
    rows = con.execute(
        f"""
        SELECT CASE WHEN occurred_at >= $earliest AND occurred_at < $cutoff
                    THEN CAST(date_trunc('week', CAST(timezone($tz, occurred_at) AS DATE)) AS DATE) END AS week,
               count(*), sum(hash({cols})::HUGEINT)
        FROM {table} GROUP BY ALL
        """,
        {"tz": time_zone, "earliest": earliest, "cutoff": cutoff},
    ).fetchall()
    return {week: f"rows:{n}:{h}" for week, n, h in rows}


def _file_fingerprints(con: duckdb.DuckDBPyConnection, source: str, time_zone: str
                       ) -> dict[dt.date | None, list[str]]:
    """Per week, the canonical files of ``source`` whose time range overlaps it (and, under None,
    files with timestamps outside every week)."""
    if not relation_exists(con, CANONICAL_FILES):
        return {}
    files = con.execute(
        f'SELECT file, size, mtime_ns, min_at, max_at FROM {CANONICAL_FILES} '
        f'WHERE source = ? AND "table" = \'events\' ORDER BY file', [source]).fetchall()
    earliest = EARLIEST_PLAUSIBLE_TIME
    cutoff = future_cutoff()
    out: dict[dt.date | None, list[str]] = {}
    for file, size, mtime, lo, hi in files:
        entry = f"file:{file}:{size}:{mtime}"
        if lo is None:
            continue  # an empty file
        if lo < earliest or hi >= cutoff:
            out.setdefault(None, []).append(entry)
        lo, hi = max(lo, earliest), min(hi, cutoff - dt.timedelta(microseconds=1))
        if lo <= hi:
            for week in _weeks_between(lo, hi, time_zone):
                out.setdefault(week, []).append(entry)
    return out


def current_partitions(con: duckdb.DuckDBPyConnection, sources: Sequence[str], time_zone: str,
                       automated: dict[str, str]) -> list[Partition]:
    """Every (source, week) partition the raw events hold now, with its fingerprint.

    ``automated``: per source, a digest of its automated accounts (they change every partition's
    dispositions). Reads the DuckDB raw tables (one grouped scan each) and the canonical files'
    register, never the canonical files themselves.
    """
    earliest = EARLIEST_PLAUSIBLE_TIME
    cutoff = future_cutoff()
    out: list[Partition] = []
    for source in sources:
        parts: dict[dt.date | None, list[str]] = {}
        for week, fp in _row_fingerprints(con, _rows_table(con, source), time_zone, earliest, cutoff).items():
            parts.setdefault(week, []).append(fp)
        for week, entries in _file_fingerprints(con, source, time_zone).items():
            parts.setdefault(week, []).extend(entries)
        for week, pieces in parts.items():
            digest = hashlib.sha256("|".join([time_zone, automated.get(source, ""), *sorted(pieces)]).encode())
            out.append(Partition(source, week, digest.hexdigest()[:32]))
    return sorted(out, key=lambda p: (p.source, p.week_start or dt.date.min))


def changed(current: Iterable[Partition], stored: dict[tuple[str, dt.date | None], str]
            ) -> tuple[list[Partition], list[tuple[str, dt.date | None]]]:
    """The partitions to rebuild (new or changed fingerprint) and the stored ones that are gone."""
    current = list(current)
    keys = {(p.source, p.week_start) for p in current}
    rebuild = [p for p in current if stored.get((p.source, p.week_start)) != p.fingerprint]
    gone = [k for k in stored if k not in keys]
    return rebuild, gone
