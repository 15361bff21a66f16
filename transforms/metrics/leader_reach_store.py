"""The top levels' content reach kept per week in the warehouse, counted again only from the first
week whose inputs changed: what a weekly run needs instead of re-reading every event of the year.

The counts are those of :func:`~transforms.metrics.manager_relay.leader_reach_counts`, from the
same SQL pieces. An interaction counts only from the week its content was posted
(:data:`~transforms.metrics.manager_relay.LEADER_REACHED`), so a week's reach depends on its own
events and on the content posted up to it: when week W changed, the weeks before W keep their
counts and every week from W on is counted again.

A week's inputs are its events (:func:`~transforms.metrics.event_week_inputs.event_week_inputs`),
its leaders (a hash of the person keys at ``level`` <= the leader level in ``marts.person_week``
that week), the leader level and the code.

Tables (grain in brackets), rewritten from the first changed week on, in one transaction:

- ``clean.leader_week_posts`` [posting week, content id]: the first leader post of each content
  id in that week (author's person key and account, and what orders the posts: source, time,
  event id). A content's posting is its earliest such row over every week;
- ``clean.leader_week_reach`` [interaction week]: the reach columns of
  ``leader_reach_counts`` but ``leader_content_items``;
- ``clean.leader_week_fingerprints`` [week]: the inputs' fingerprint when the week was counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import duckdb
import polars as pl

from transforms.code_version import code_fingerprint
from transforms.metrics.event_week_inputs import changed_weeks, event_week_inputs, stores_can_follow
from transforms.metrics.manager_relay import (
    CONTRIBUTION_ACTIONS,
    INTERACTION_ACTIONS,
    LEADER_HUMAN_EVENTS,
    LEADER_MAX_LEVEL,
    LEADER_REACH_COUNT_COLUMNS,
    LEADER_REACH_PER_WEEK,
    LEADER_REACH_ROWS,
    LEADER_REACHED,
    leader_reach_counts,
    sql_list,
)
from transforms.warehouse import ensure_schemas, relation_exists, transaction

log = logging.getLogger(__name__)

__all__ = ["FINGERPRINT_TABLE", "POSTS_TABLE", "REACH_TABLE", "stored_leader_reach_counts"]

POSTS_TABLE = "clean.leader_week_posts"
REACH_TABLE = "clean.leader_week_reach"
FINGERPRINT_TABLE = "clean.leader_week_fingerprints"
_TABLES = (POSTS_TABLE, REACH_TABLE, FINGERPRINT_TABLE)
_PERSON_WEEK = "marts.person_week"


def _human(events: str, first: dt.date | None) -> str:
    """The events of people (not automated) in a week, from the week ``first`` on (every week:
    ``None``). A time bound two days before that Monday (time zones are within 14 hours of UTC) lets
    DuckDB skip the earlier weeks' files and row groups; the week test is exact."""
    since = "" if first is None else (
        f" AND occurred_at >= TIMESTAMPTZ '{first - dt.timedelta(days=2)} 00:00:00+00'"
        f" AND week_start >= DATE '{first}'")
    return f"SELECT * FROM ({LEADER_HUMAN_EVENTS.format(events=events)}) WHERE week_start IS NOT NULL{since}"


_POSTS_SQL = """
    WITH human AS NOT MATERIALIZED ({human}),
    leaders AS (SELECT DISTINCT person_key, week_start FROM {person_week}
                WHERE level <= {max_level} AND week_start >= DATE '{first}')
    SELECT h.week_start, h.content_id, h.person_key AS author_key, h.account_id AS author_account,
        h.source, h.occurred_at, h.event_id
    FROM human h JOIN leaders l ON l.person_key = h.person_key AND l.week_start = h.week_start
    WHERE h.action IN ({contribution}) AND h.content_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY h.week_start, h.content_id ORDER BY h.source, h.occurred_at, h.event_id) = 1
"""

#: Each content id's posting: its earliest leader post over every stored week.
_CONTENT_SQL = f"""
    SELECT content_id, arg_min(author_key, (source, occurred_at, event_id)) AS author_key,
        arg_min(author_account, (source, occurred_at, event_id)) AS author_account,
        arg_min(week_start, (source, occurred_at, event_id)) AS posted_week
    FROM {POSTS_TABLE} GROUP BY content_id
"""

_REACH_SQL = f"""
    WITH human AS NOT MATERIALIZED ({{human}}),
    content AS ({_CONTENT_SQL}),
    reached AS ({LEADER_REACHED})
    {LEADER_REACH_PER_WEEK}
"""


def _week_fingerprints(con: duckdb.DuckDBPyConnection, max_level: int) -> dict[dt.date, str]:
    leaders = dict(
        (w, f"{n}|{h}") for w, n, h in con.execute(
            f"SELECT week_start, count(*), sum(hash(person_key)::HUGEINT) FROM {_PERSON_WEEK} "
            "WHERE level <= $max GROUP BY week_start", {"max": max_level}).fetchall()
    )
    events = event_week_inputs(con)
    shared = f"{max_level}|{code_fingerprint()}"
    return {w: hashlib.blake2b(f"{events.get(w)}|{leaders.get(w)}|{shared}".encode(), digest_size=16).hexdigest()
            for w in set(events) | set(leaders)}


def _first_changed(con: duckdb.DuckDBPyConnection, now: dict[dt.date, str]) -> dt.date | None | str:
    """The first week to count again, ``None`` for every week (nothing stored), ``"none"`` when no
    week changed."""
    if not all(relation_exists(con, t) for t in _TABLES):
        return None
    stored = dict(con.execute(f"SELECT week_start, fingerprint FROM {FINGERPRINT_TABLE}").fetchall())
    touched = changed_weeks(now, stored)
    return min(touched) if touched else "none"


def stored_leader_reach_counts(con: duckdb.DuckDBPyConnection, events: str, person_week: str, *,
                               max_level: int = LEADER_MAX_LEVEL) -> pl.DataFrame:
    """The rows of :func:`~transforms.metrics.manager_relay.leader_reach_counts`, counting again
    only the weeks from the first one whose inputs changed since they were stored (module
    docstring). Counts every week and stores nothing for other relations than the warehouse's
    pseudonymous events and ``marts.person_week``, or on a read-only connection."""
    if person_week != _PERSON_WEEK or not relation_exists(con, _PERSON_WEEK) or not stores_can_follow(con, events):
        return leader_reach_counts(con, events, person_week, max_level=max_level)
    now = _week_fingerprints(con, int(max_level))
    first = _first_changed(con, now)
    if first == "none":
        log.info("leader reach: no week changed")
    else:
        _count_from(con, events, int(max_level), first, now)
        log.info("leader reach: %s", "every week counted" if first is None else f"counted again from {first}")
    return _read(con)


def _count_from(con: duckdb.DuckDBPyConnection, events: str, max_level: int, first: dt.date | None,
                now: dict[dt.date, str]) -> None:
    ensure_schemas(con)
    human = _human(events, first)
    params = {"first": first or dt.date(1, 1, 1)}
    posts = _POSTS_SQL.format(human=human, person_week=_PERSON_WEEK, max_level=max_level, first=params["first"],
                              contribution=sql_list(CONTRIBUTION_ACTIONS))
    with transaction(con):
        if first is None:
            con.execute(f"CREATE OR REPLACE TABLE {POSTS_TABLE} AS {posts}")
        else:
            con.execute(f"DELETE FROM {POSTS_TABLE} WHERE week_start >= $first", params)
            con.execute(f"INSERT INTO {POSTS_TABLE} {posts}")
        reach = _REACH_SQL.format(human=human, interaction=sql_list(INTERACTION_ACTIONS))
        if first is None:
            con.execute(f"CREATE OR REPLACE TABLE {REACH_TABLE} AS {reach}")
        else:
            con.execute(f"DELETE FROM {REACH_TABLE} WHERE week_start >= $first", params)
            con.execute(f"INSERT INTO {REACH_TABLE} {reach}")
        con.execute(f"CREATE OR REPLACE TABLE {FINGERPRINT_TABLE} AS "
                    "SELECT unnest($w::DATE[]) AS week_start, unnest($f::VARCHAR[]) AS fingerprint ORDER BY 1",
                    {"w": list(now), "f": list(now.values())})


def _read(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    counts = con.execute(
        f"""
        WITH posted AS (SELECT posted_week AS week_start, count(*) AS leader_content_items
                        FROM ({_CONTENT_SQL}) GROUP BY ALL),
        reach AS (SELECT * FROM {REACH_TABLE})
        {LEADER_REACH_ROWS}
        """
    ).pl()
    return counts.select(pl.col("week_start").cast(pl.Date),
                         *(pl.col(c).cast(pl.Int64) for c in LEADER_REACH_COUNT_COLUMNS))
