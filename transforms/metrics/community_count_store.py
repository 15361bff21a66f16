"""The chartered communities' counts kept per week in the warehouse, recounted only for the weeks
whose inputs changed: what a weekly run needs instead of re-reading every event of the year.

A week's inputs are its clean events (the fingerprints of its ``clean.event_partitions``, which
cover the raw rows, the automated accounts and the time zone), the person each of its accounts
resolves to (a hash over ``clean.account_events`` x ``clean.identity_map`` x
``clean.person_keys``), the charters and the code. The weeks recounted are the changed ones and
the :func:`~transforms.metrics.community_outputs.reply_lag_weeks` before each (their questions can
be answered in it). Everything is recounted when a rule has no time limit, when a recounted
question's id was also posted in a week kept as it was (it counts once, in its first week), or
when nothing was stored yet.

Tables (grain in brackets), replaced week by week in one transaction:

- ``clean.community_week_activity`` [community, week]: the activity columns of
  :class:`~transforms.metrics.community_outputs.CommunityCounts`;
- ``clean.community_week_questions`` [community, source, question id, week]: every question post
  of an ``answered_question`` community, and whether a reply answers it;
- ``clean.community_week_tagged`` [community, week]: the tagged posts and replies;
- ``clean.community_week_fingerprints`` [week]: the inputs' fingerprint when the week was counted.

Counts only: no event, account or person key is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import duckdb
import polars as pl

from transforms.code_version import code_fingerprint
from transforms.contracts.config import Charters
from transforms.metrics.community_outputs import CommunityCounts, community_counts, outputs_of, reply_lag_weeks
from transforms.metrics.event_week_inputs import changed_weeks, event_week_inputs, stores_can_follow
from transforms.warehouse import ensure_schemas, register_frame, relation_exists, transaction

log = logging.getLogger(__name__)

__all__ = ["ACTIVITY_TABLE", "FINGERPRINT_TABLE", "QUESTIONS_TABLE", "TAGGED_TABLE", "stored_community_counts"]

ACTIVITY_TABLE = "clean.community_week_activity"
QUESTIONS_TABLE = "clean.community_week_questions"
TAGGED_TABLE = "clean.community_week_tagged"
FINGERPRINT_TABLE = "clean.community_week_fingerprints"
_TABLES = (ACTIVITY_TABLE, QUESTIONS_TABLE, TAGGED_TABLE, FINGERPRINT_TABLE)


def _week_fingerprints(con: duckdb.DuckDBPyConnection, charters: Charters) -> dict[dt.date, str]:
    """Per week of the clean events: a hash of what its events are made of
    (:func:`~transforms.metrics.event_week_inputs.event_week_inputs`), of the charters and of the code."""
    shared = f"{charters.model_dump_json()}|{code_fingerprint()}"
    return {w: hashlib.blake2b(f"{inputs}|{shared}".encode(), digest_size=16).hexdigest()
            for w, inputs in event_week_inputs(con).items()}


def _stored(con: duckdb.DuckDBPyConnection) -> dict[dt.date, str] | None:
    if not all(relation_exists(con, t) for t in _TABLES):
        return None
    return dict(con.execute(f"SELECT week_start, fingerprint FROM {FINGERPRINT_TABLE}").fetchall())


def _weeks_to_recount(now: dict[dt.date, str], stored: dict[dt.date, str] | None,
                      lag: int | None) -> list[dt.date] | None:
    """The weeks to count again, or None for all of them."""
    if stored is None or lag is None:
        return None
    weeks = {w - dt.timedelta(weeks=k) for w in changed_weeks(now, stored) for k in range(lag + 1)} & set(now)
    return None if weeks == set(now) and now else sorted(weeks)


def stored_community_counts(con: duckdb.DuckDBPyConnection, events: str, charters: Charters,
                            span: tuple[dt.date | None, dt.date | None] | None = None) -> CommunityCounts:
    """The counts of :func:`~transforms.metrics.community_outputs.community_counts` over every
    week (the same rows), counting again only the weeks whose inputs changed since they were
    stored (module docstring). Needs the clean layer's partition tables; without them it counts
    every week and stores nothing, as on a read-only connection (a notebook's) or for another
    relation than the warehouse's pseudonymous events (what the fingerprints describe)."""
    if not stores_can_follow(con, events):
        return community_counts(con, events, charters, span)
    now = _week_fingerprints(con, charters)
    stored = _stored(con)
    weeks = _weeks_to_recount(now, stored, reply_lag_weeks(charters))
    if weeks == []:  # nothing changed
        first, last = span or con.execute(f"SELECT min(week_start), max(week_start) FROM {events}").fetchone()
        log.info("community counts: no week changed")
        return _read(con, first, last)
    counts = community_counts(con, events, charters, span, weeks=weeks) if weeks is not None else None
    if counts is not None and _posted_in_a_kept_week(con, counts.questions, weeks):
        log.info("community counts: a recounted question id was also posted in a week kept as it was; "
                 "counting every week")
        weeks, counts = None, None
    if counts is None:
        counts = community_counts(con, events, charters, span)
    _store(con, counts, now, weeks, stored)
    log.info("community counts: %s", "every week counted" if weeks is None else f"{len(weeks)} week(s) counted again")
    return _read(con, counts.first_week, counts.last_week)


def _posted_in_a_kept_week(con: duckdb.DuckDBPyConnection, questions: pl.DataFrame | None,
                           weeks: list[dt.date]) -> bool:
    if questions is None or questions.height == 0:
        return False
    with register_frame(con, "__recounted_questions", questions.select("community", "source", "content_id")) as q:
        return bool(con.execute(
            f"""SELECT count(*) FROM {QUESTIONS_TABLE} s SEMI JOIN {q} n USING (community, source, content_id)
                WHERE NOT list_contains($weeks::DATE[], s.week_start)""", {"weeks": weeks}).fetchone()[0])


def _store(con: duckdb.DuckDBPyConnection, counts: CommunityCounts, now: dict[dt.date, str],
           weeks: list[dt.date] | None, stored: dict[dt.date, str] | None) -> None:
    ensure_schemas(con)
    frames = {ACTIVITY_TABLE: counts.activity, QUESTIONS_TABLE: counts.questions, TAGGED_TABLE: counts.tagged}
    fingerprints = pl.DataFrame({"week_start": list(now), "fingerprint": list(now.values())},
                                schema={"week_start": pl.Date, "fingerprint": pl.Utf8})
    with transaction(con):
        for table, frame in frames.items():
            # events outside every week (none reach the marts' week grid) are not kept
            with register_frame(con, "__community_rows", frame.filter(pl.col("week_start").is_not_null())) as view:
                if weeks is None:
                    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {view}")
                else:  # the recounted weeks and those gone from the data
                    dropped = sorted(set(weeks) | (set(stored or {}) - set(now)))
                    con.execute(f"DELETE FROM {table} WHERE list_contains($w::DATE[], week_start)", {"w": dropped})
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
        with register_frame(con, "__community_rows", fingerprints) as view:
            con.execute(f"CREATE OR REPLACE TABLE {FINGERPRINT_TABLE} AS SELECT * FROM {view} ORDER BY week_start")


def _read(con: duckdb.DuckDBPyConnection, first: dt.date | None, last: dt.date | None) -> CommunityCounts:
    activity = con.execute(f"SELECT * FROM {ACTIVITY_TABLE}").pl()
    questions = con.execute(f"SELECT * FROM {QUESTIONS_TABLE}").pl()
    tagged = con.execute(f"SELECT * FROM {TAGGED_TABLE}").pl()
    return CommunityCounts(activity=activity, outputs=outputs_of(questions, tagged), first_week=first,
                           last_week=last, questions=questions, tagged=tagged)
