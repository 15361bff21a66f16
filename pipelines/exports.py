"""Several exports of one platform in its folder: the newer export wins where it overlaps an older one.

A platform's folder of the drop zone often holds more than one export: the same export twice
(downloaded again, or under another name), exports of consecutive periods that share some days,
a re-export of a period after messages were edited or deleted. The ingest layer keeps, for every
event and account, the version of the newest export that could have held it:

- **Order.** Exports are ordered by :meth:`~pipelines.connectors.base.Connector.export_time`
  (when the export was made: a zip's stored member times, else the files' modification times),
  then by file name; the later one is newer.
- **Coverage.** An export covers, in each space (channel, group, community; a null space is one
  space) in which it holds an event, the time span from its first to its last event (timestamps
  from 2000 to a day after now only: a broken clock covers nothing).
- **Events.** An event of an older export whose space and time fall in a newer export's coverage
  is superseded: the newer export's version of that stretch is the current one. An edited message
  therefore counts with its new length and features, and a message the newer export no longer
  holds inside its span was deleted. Events outside every newer export's coverage (older weeks,
  spaces the newer export does not hold) are kept from the older export.
- **Accounts.** An account of an older export whose ``account_id`` a newer export lists is
  superseded by that newer row (a changed e-mail is taken from the newer export).

Superseded rows never reach the raw tables; :data:`EXPORT_INPUTS` counts them per export, beside
the rows each export contributed, its time and its span. A deletion at the very edge of the newer
export's span (its first or last event) cannot be told from the end of the export, and a space the
newer export no longer holds at all keeps its older events: both are documented in
``docs/drop_zone.md``. Canonical Parquet files are not exports: they are read as they are.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms.contracts import CONTRACTS
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE
from transforms.partitions import future_cutoff

log = logging.getLogger(__name__)

__all__ = ["EXPORT_COLUMN", "EXPORT_INPUTS", "STAGED_TABLES", "Export", "event_spans", "keep_current_rows",
           "order_exports", "record_exports", "staging_ddl"]

#: The register of the exports each connector read: rows kept and superseded per export and table.
EXPORT_INPUTS = "raw.export_inputs"
#: Tables whose rows a newer export supersedes (counters and HR snapshots are dated by their own
#: period or extract date, see the connectors).
STAGED_TABLES: tuple[str, ...] = ("events", "accounts")
EXPORT_COLUMN = "__export"
_REGISTER_DDL = (
    f'CREATE TABLE IF NOT EXISTS {EXPORT_INPUTS} (source VARCHAR, "table" VARCHAR, export VARCHAR, '
    "export_time TIMESTAMPTZ, rank INTEGER, rows BIGINT, superseded BIGINT, first_at TIMESTAMPTZ, "
    "last_at TIMESTAMPTZ)"
)


@dataclass(frozen=True)
class Export:
    """One export of a connector's folder and its place in time (``rank`` 0 = the oldest)."""

    path: Path
    made_at: dt.datetime
    rank: int


def order_exports(paths: Iterable[Path], export_time: Callable[[Path], dt.datetime]) -> list[Export]:
    """The exports from oldest to newest: by ``export_time``, then by file name, then by path."""
    timed = sorted(((export_time(p), p.name, str(p), p) for p in paths), key=lambda t: t[:3])
    return [Export(path=p, made_at=when, rank=i) for i, (when, _, _, p) in enumerate(timed)]


def staging_ddl(table: str, name: str) -> str:
    """``CREATE TEMP TABLE`` of a contract's columns plus the export's rank, to stage rows in."""
    ddl = CONTRACTS[table].duckdb_ddl(name).replace("CREATE TABLE IF NOT EXISTS", "CREATE OR REPLACE TEMP TABLE", 1)
    head, _, tail = ddl.rpartition(")")
    return f"{head}, {EXPORT_COLUMN} INTEGER){tail}"


def _bounds() -> dict[str, dt.datetime]:
    return {"earliest": dt.datetime.combine(EARLIEST_PLAUSIBLE, dt.time(), tzinfo=dt.UTC),
            "cutoff": future_cutoff()}


def _superseded_condition(table: str) -> tuple[str, str]:
    """(the newer exports' coverage as a SELECT, the ANTI/SEMI JOIN condition of a staged row ``s``)."""
    if table == "events":
        plausible = f"FROM {{staging}} WHERE occurred_at >= $earliest AND occurred_at < $cutoff"
        cover = (  # the export's whole span, in each space it holds an event in
            f"SELECT s.{EXPORT_COLUMN}, s.space, t.lo, t.hi "
            f"FROM (SELECT DISTINCT {EXPORT_COLUMN}, coalesce(space_id, chr(0)) AS space {plausible}) s "
            f"JOIN (SELECT {EXPORT_COLUMN}, min(occurred_at) AS lo, max(occurred_at) AS hi {plausible} GROUP BY ALL) t "
            f"USING ({EXPORT_COLUMN})"
        )
        on = (f"c.space = coalesce(s.space_id, chr(0)) AND c.{EXPORT_COLUMN} > s.{EXPORT_COLUMN} "
              "AND s.occurred_at BETWEEN c.lo AND c.hi")
        return cover, on
    if table == "accounts":
        return (f"SELECT DISTINCT {EXPORT_COLUMN}, account_id FROM {{staging}}",
                f"c.account_id = s.account_id AND c.{EXPORT_COLUMN} > s.{EXPORT_COLUMN}")
    raise ValueError(f"table {table!r}: exports supersede only {', '.join(STAGED_TABLES)}")


def keep_current_rows(con: duckdb.DuckDBPyConnection, table: str, staging: str, target: str) -> dict[int, int]:
    """Insert the staged rows no newer export supersedes into ``target``; return the superseded rows
    per export rank. The caller holds the transaction."""
    cover, on = _superseded_condition(table)
    params = _bounds() if table == "events" else {}
    con.execute(f"CREATE OR REPLACE TEMP TABLE __export_cover AS {cover.format(staging=staging)}", params)
    superseded = dict(con.execute(
        f"SELECT s.{EXPORT_COLUMN}, count(*) FROM {staging} s SEMI JOIN __export_cover c ON {on} GROUP BY ALL"
    ).fetchall())
    cols = ", ".join(f'"{c}"' for c in CONTRACTS[table].names)
    con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {staging} s ANTI JOIN __export_cover c ON {on}")
    con.execute("DROP TABLE IF EXISTS temp.__export_cover")
    return {int(k): int(v) for k, v in superseded.items()}


def record_exports(con: duckdb.DuckDBPyConnection, source: str, exports: Sequence[Export],
                   rows: dict[tuple[str, int], int], superseded: dict[tuple[str, int], int],
                   spans: dict[int, tuple[object, object]]) -> None:
    """Replace ``source``'s rows of :data:`EXPORT_INPUTS`: per export and staged table, the rows
    it delivered (before superseding), how many a newer export superseded, and its events' span."""
    con.execute(_REGISTER_DDL)
    con.execute(f"DELETE FROM {EXPORT_INPUTS} WHERE source = ?", [source])
    records = [
        (source, table, str(e.path), e.made_at, e.rank, rows.get((table, e.rank), 0),
         superseded.get((table, e.rank), 0), *spans.get(e.rank, (None, None)))
        for e in exports for table in STAGED_TABLES if (table, e.rank) in rows
    ]
    if records:
        con.executemany(f"INSERT INTO {EXPORT_INPUTS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", records)
    paths = {e.rank: str(e.path) for e in exports}
    for (table, rank), n in sorted(superseded.items()):
        if n:
            log.info("%s: %d %s row(s) of %s superseded by a newer export", source, n, table,
                     paths.get(rank, "an input of unknown origin"))


def event_spans(con: duckdb.DuckDBPyConnection, table: str, *, staged: bool = True
                ) -> dict[int, tuple[object, object]]:
    """Per export rank: its first and last plausible event time (``staged=False``: ``table`` holds
    one export's events, rank 0)."""
    rank = EXPORT_COLUMN if staged else "0"
    return {int(k): (lo, hi) for k, lo, hi in con.execute(
        f"SELECT {rank} AS rank, min(occurred_at), max(occurred_at) FROM {table} "
        "WHERE occurred_at >= $earliest AND occurred_at < $cutoff GROUP BY ALL", _bounds()).fetchall()}
