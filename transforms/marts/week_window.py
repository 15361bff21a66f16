"""Marts recomputed from their first changed week: the weekly run's way to extend a weekly mart
without recomputing the year before it.

A mart declared with a :class:`~transforms.marts.WeekWindow` promises that its rows of week ``t``
depend only on the rows of ``marts.person_week`` of the calendar weeks ``t - lookback_weeks ..
t``, read through the columns it declares (and ``person_key``, ``week_start``,
``first_active_week``), besides its other inputs (the settings). The adoption curve looks at one
week, lifecycle at two, stickiness at four, the usage segments at twelve.

Each build stores, per week, a hash of what the mart reads of that week's rows
(:data:`MART_WEEK_FINGERPRINTS`, computed in DuckDB without loading a row) and, in the marts' memo
(:mod:`transforms.marts.memo`), a fingerprint of everything else: its other inputs, its
declaration and the code. The next build then:

- keeps the tables when no week's hash changed;
- otherwise loads only the rows from ``lookback_weeks`` before the first changed week, computes
  the mart on them and replaces the rows of its tables from the first changed week on (the
  earlier output rows had the same inputs, so they are the same);
- computes every week when there is nothing stored, the rest changed, or a table is missing.

``first_active_week`` is a person-level column: a person first active in a new week changes it on
every earlier row. What a weekly mart can tell from it is only where it falls relative to the
row's week, within the look-back (never active yet / this week / ``k`` weeks before / earlier), so
that is what is hashed, and a new adopter does not make the earlier weeks look changed.

The rows loaded carry one more column, ``first_row_week``: the person's first week with a row in
the whole table, which the usage segments need to know how long a person's history is
(:func:`transforms.metrics.usage_segments.usage_segments`). It moves only when a row is added or
removed before it, which changes that week's hash too.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import duckdb
import polars as pl

from transforms.marts import InputCache, MartRegistryError, MartSpec, WeekWindow, digest, memo
from transforms.marts.inputs import PERSON_WEEK_TABLE
from transforms.metrics.history import FIRST_ROW_WEEK
from transforms.warehouse import ensure_schemas, register_frame, relation_exists, replace_table, transaction

log = logging.getLogger(__name__)

__all__ = ["MART_WEEK_FINGERPRINTS", "WeekRefresh", "refresh", "week_fingerprints", "window_rows"]

MART_WEEK_FINGERPRINTS = "clean.mart_week_fingerprints"
_DDL = (f"CREATE TABLE IF NOT EXISTS {MART_WEEK_FINGERPRINTS} "
        "(mart VARCHAR NOT NULL, week_start DATE NOT NULL, fingerprint VARCHAR NOT NULL)")
#: The mart parameter a window replaces (every other input is loaded whole).
WINDOWED_INPUT = "person_week"


@dataclass(frozen=True)
class WeekRefresh:
    """What a build of a weekly mart did: rows per table, and ``mode`` 'kept' (no week changed),
    'weeks' (recomputed from ``from_week`` on) or 'full' (every week)."""

    rows: dict[str, int]
    mode: str
    from_week: dt.date | None = None



def _quoted(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def week_fingerprints(con: duckdb.DuckDBPyConnection, spec: MartSpec) -> dict[dt.date, str]:
    """Per week of ``marts.person_week``: a hash of the rows' columns the mart reads (person-level
    ``first_active_week`` as its position relative to the row's week, within the look-back)."""
    window = _window(spec)
    clip = window.lookback_weeks + 1
    first_active = ("CASE WHEN first_active_week IS NULL OR first_active_week > week_start THEN NULL "
                    f"ELSE least((week_start - first_active_week) // 7, {clip}) END")
    columns = _quoted(("person_key", "week_start", *window.columns))
    rows = con.execute(
        f"SELECT week_start, count(*), sum(hash({columns}, {first_active})::HUGEINT) "
        f"FROM {PERSON_WEEK_TABLE} GROUP BY week_start").fetchall()
    return {week: digest(n, h) for week, n, h in rows}


def window_rows(con: duckdb.DuckDBPyConnection, spec: MartSpec, from_week: dt.date) -> pl.DataFrame:
    """The rows of ``marts.person_week`` from ``from_week`` on, with the columns the mart declares,
    ``first_active_week`` and ``first_row_week``."""
    columns = _quoted(tuple(dict.fromkeys(("person_key", "week_start", *_window(spec).columns, "first_active_week"))))
    return con.execute(
        f"""
        SELECT {columns}, f.{FIRST_ROW_WEEK}
        FROM (SELECT * FROM {PERSON_WEEK_TABLE} WHERE week_start >= $from) p
        JOIN (SELECT person_key, min(week_start) AS {FIRST_ROW_WEEK} FROM {PERSON_WEEK_TABLE} GROUP BY person_key) f
        USING (person_key)
        ORDER BY week_start, person_key
        """,
        {"from": from_week},
    ).pl()


def _window(spec: MartSpec) -> WeekWindow:
    if spec.week_window is None:
        raise MartRegistryError(f"mart {spec.name} declares no week window")
    return spec.week_window


def _rest_fingerprint(spec: MartSpec, cache: InputCache, con: duckdb.DuckDBPyConnection) -> str | None:
    """Everything but the person-week rows: the other inputs, the declaration (the code is added by
    the memo). None when another input has no fingerprint (the mart is then always rebuilt)."""
    parts = []
    for name in spec.inputs:
        if name == WINDOWED_INPUT:
            continue
        value = cache.input_fingerprint(name, con)
        if value is None:
            return None
        parts.append(f"{name}={value}")
    window = _window(spec)
    return digest("week-window", spec.name, *spec.tables, window.lookback_weeks, *window.columns, *parts)


def _stored_weeks(con: duckdb.DuckDBPyConnection, spec: MartSpec) -> dict[dt.date, str] | None:
    if not relation_exists(con, MART_WEEK_FINGERPRINTS):
        return None
    rows = con.execute(f"SELECT week_start, fingerprint FROM {MART_WEEK_FINGERPRINTS} WHERE mart = $m",
                       {"m": spec.name}).fetchall()
    return dict(rows) if rows else None


def _first_changed(stored: dict[dt.date, str], now: dict[dt.date, str]) -> dt.date | None:
    changed = [w for w in stored.keys() | now.keys() if stored.get(w) != now.get(w)]
    return min(changed) if changed else None


def refresh(con: duckdb.DuckDBPyConnection, spec: MartSpec, cache: InputCache) -> WeekRefresh:
    """Build the weekly mart ``spec``: keep it, recompute it from its first changed week, or
    recompute every week (see the module docstring); its tables and stored hashes are written in
    one transaction."""
    now = week_fingerprints(con, spec)
    rest = _rest_fingerprint(spec, cache, con)
    stored = _stored_weeks(con, spec) if rest is not None and memo.is_current(con, spec, rest) else None
    from_week = None if stored is None else _first_changed(stored, now)
    if stored is not None and from_week is None:
        rows = {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in spec.tables}
        return WeekRefresh(rows, "kept")
    if from_week is None:  # nothing usable stored: every week, from the whole panel in the cache
        frames = cache.compute(spec, con)
    else:
        start = from_week - dt.timedelta(weeks=_window(spec).lookback_weeks)
        frames = cache.compute(spec, con, overrides={WINDOWED_INPUT: window_rows(con, spec, start)})
    with transaction(con):
        memo.forget(con, spec)
        rows = _write(con, spec, frames, from_week)
        ensure_schemas(con)
        con.execute(_DDL)
        con.execute(f"DELETE FROM {MART_WEEK_FINGERPRINTS} WHERE mart = $m", {"m": spec.name})
        con.executemany(f"INSERT INTO {MART_WEEK_FINGERPRINTS} VALUES (?, ?, ?)",
                        [(spec.name, w, f) for w, f in sorted(now.items())])
        if rest is not None:
            memo.store(con, spec, rest)
    mode = "full" if from_week is None else "weeks"
    log.info("mart %s: %s%s", spec.name, mode, "" if from_week is None else f" from {from_week}")
    return WeekRefresh(rows, mode, from_week)


def _write(con: duckdb.DuckDBPyConnection, spec: MartSpec, frames: dict[str, pl.DataFrame],
           from_week: dt.date | None) -> dict[str, int]:
    rows = {}
    for table, frame in frames.items():
        if "week_start" not in frame.columns or frame["week_start"].null_count():
            raise MartRegistryError(f"mart {spec.name}: {table} needs a week_start on every row to be kept by week")
        if from_week is None:
            rows[table] = replace_table(con, table, frame)
            continue
        con.execute(f"DELETE FROM {table} WHERE week_start >= $w", {"w": from_week})
        with register_frame(con, "__week_window_frame", frame.filter(pl.col("week_start") >= from_week)) as view:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
        rows[table] = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return rows
