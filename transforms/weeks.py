"""ISO weeks in the organisation's time zone, and the week range the data covers.

A week is an ISO week (Monday to Sunday) in the organisation's time zone: timestamps are stored
in UTC and converted to the zone before truncating, so an event at Sunday 23:30 in Paris (22:30
UTC) belongs to that Sunday's week and one at Monday 00:30 Paris (Sunday 23:30 UTC) to the next.
Weeks are identified by their Monday (``week_start``, a date) and labelled ``YYYY-Www`` (ISO year,
which differs from the calendar year around New Year).

The SQL helpers return DuckDB expressions; the time zone is passed as a bound parameter (``$tz``)
by the callers, never spliced into SQL text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import duckdb
import polars as pl

from transforms.warehouse import require_relation

__all__ = [
    "as_week_starts",
    "data_weeks",
    "date_week_start_sql",
    "iso_week_label",
    "iso_week_sql",
    "local_date_sql",
    "week_start_expr",
    "week_start_of",
]

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def week_start_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.isoweekday() - 1)


def week_start_expr(column: str) -> pl.Expr:
    """Polars: the Monday of the ISO week of a ``Date`` column."""
    return pl.col(column) - pl.duration(days=pl.col(column).dt.weekday() - 1)


def iso_week_label(day: dt.date) -> str:
    """``YYYY-Www`` of the ISO week containing ``day`` (ISO year, e.g. 2027-01-01 -> ``2026-W53``)."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def as_week_starts(weeks: Iterable[dt.date | str]) -> list[dt.date]:
    """Normalise weeks given as Mondays or ``YYYY-Www`` labels to sorted, distinct Mondays.

    A date that is not a Monday, or a malformed label, raises ``ValueError`` naming the value.
    """
    out: set[dt.date] = set()
    for w in weeks:
        if isinstance(w, str):
            m = _ISO_WEEK.match(w)
            if not m:
                raise ValueError(f"week {w!r}: expected a Monday date or 'YYYY-Www'")
            try:
                out.add(dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1))
            except ValueError as exc:
                raise ValueError(f"week {w!r}: no such ISO week") from exc
        elif isinstance(w, dt.date) and not isinstance(w, dt.datetime):
            if w.isoweekday() != 1:
                raise ValueError(f"week {w.isoformat()}: expected the Monday that starts the week")
            out.add(w)
        else:
            raise ValueError(f"week {w!r}: expected a Monday date or 'YYYY-Www'")
    return sorted(out)


def local_date_sql(timestamp_sql: str, tz_param: str = "$tz") -> str:
    """SQL: the calendar date of a UTC ``TIMESTAMPTZ`` expression in the time zone ``tz_param``."""
    return f"CAST(timezone({tz_param}, {timestamp_sql}) AS DATE)"


def date_week_start_sql(date_sql: str) -> str:
    """SQL: the Monday of the ISO week of a ``DATE`` expression."""
    return f"CAST(date_trunc('week', {date_sql}) AS DATE)"


def iso_week_sql(date_sql: str) -> str:
    """SQL: the ``YYYY-Www`` label of the ISO week of a ``DATE`` expression."""
    return f"strftime({date_sql}, '%G-W%V')"


def data_weeks(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """The weeks the data covers (Mondays, ascending, no gaps).

    The last week is the last one with events, activity counts or HR data. The first is the week of
    the first HR extract, or earlier when the platform data starts earlier and the HR directory
    covers that time: then the later of the first week with events or counts and the week of the
    earliest ``clean.hr_directory`` interval (back-filled employment before the first extract, see
    :mod:`transforms.hr_history`). Weeks before any HR interval would have no eligible person.

    Reads ``clean.hr_extracts`` and ``clean.hr_directory`` (from
    :func:`transforms.hr_history.build_hr_directory`), ``clean.event_counts`` and ``clean.activity_counts``
    (from :func:`transforms.clean_events.build_clean_events`). No HR extract -> no weeks.
    """
    require_relation(con, "clean.hr_extracts", "transforms.hr_history.build_hr_directory")
    require_relation(con, "clean.hr_directory", "transforms.hr_history.build_hr_directory")
    require_relation(con, "clean.event_counts", "transforms.clean_events.build_clean_events")
    require_relation(con, "clean.activity_counts", "transforms.clean_events.build_clean_events")
    first, last = con.execute(
        f"""
        WITH hr AS (
            SELECT {date_week_start_sql('min(snapshot_date)')} AS first_extract_week,
                   {date_week_start_sql('max(snapshot_date)')} AS last_extract_week
            FROM clean.hr_extracts
        ),
        covered AS (SELECT {date_week_start_sql('min(valid_from)')} AS first_hr_week FROM clean.hr_directory),
        platform AS (
            SELECT min(first_week) AS first_week, max(last_week) AS last_week FROM (
                SELECT min(week_start) AS first_week, max(week_start) AS last_week FROM clean.event_counts
                UNION ALL SELECT min(week_start), max(week_start) FROM clean.activity_counts
            )
        )
        SELECT CASE WHEN platform.first_week < hr.first_extract_week
                    THEN greatest(platform.first_week, least(covered.first_hr_week, hr.first_extract_week))
                    ELSE hr.first_extract_week END,
               greatest(hr.last_extract_week, platform.last_week)
        FROM hr, covered, platform
        """
    ).fetchone()
    if first is None:
        return []
    n = (last - first).days // 7
    return [first + dt.timedelta(weeks=i) for i in range(n + 1)]
