"""Communities: their activity (kind activity), their outputs by charter (kind output), and the flags
that set one against the other (kind link: never a blended score).

Events are the clean events (EVENTS contract columns plus ``week_start`` and ``person_key`` where
the account was resolved). An event belongs to every community whose charter lists its
``(source, space_id)``. Automated events never count. The events are reduced to counts per
community x week inside DuckDB (:func:`community_counts`, over a warehouse relation); the public
functions take those counts, or a Polars frame of events that they count by the same SQL.

Output rules (``CommunityCharter.rule``):

- ``answered_question``: a ``post`` with ``is_question`` whose thread (``thread_id`` = the post's
  ``content_id``) gets a ``reply`` by another account (and another person, when both are
  resolved) at most ``within_hours`` after the post (no limit when null). Each question counts
  once, in the week of the question.
- ``hashtag``: a ``post`` or ``reply`` whose ``hashtags`` contain the tag (lower-cased, without
  '#'). Each event counts once, in its week.

Flags over a period (:class:`CommunityFlagRules`, defaults):

- ``busy_without_outputs``: busy = mean weekly actions >= ``busy_multiple`` (1.0) x the median
  chartered community's mean weekly actions (at least as active as the typical community, and not
  silent); without outputs = outputs per week below ``near_zero_outputs_per_week`` (0.25: fewer
  than one output a month). The multiple is 1.0 rather than higher because the output test does
  the discriminating: a community that draws as much activity as the typical one and produces
  nothing is the case to flag (on the simulator's organisations the planted "busy" communities sit
  at 1.3x and 4x the median; raise ``busy_multiple`` to flag only the busiest).
- ``silent``: mean weekly actions <= ``silent_share_of_median`` (0.1) x the median community's, or
  below ``silent_actions_per_week`` (1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from transforms.contracts.config import Charters
from transforms.metrics.populations import require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_small_arms
from transforms.warehouse import register_frame

__all__ = ["CommunityCounts", "CommunityFlagRules", "community_activity", "community_counts", "community_flags",
           "community_outputs", "reply_lag_weeks"]

_EVENT_COLUMNS = ("source", "space_id", "account_id", "action", "occurred_at", "thread_id", "content_id",
                  "is_automated", "hashtags", "is_question", "week_start")


@dataclass(frozen=True)
class CommunityFlagRules:
    """Thresholds of the community flags (see the module docstring)."""

    busy_multiple: float = 1.0
    near_zero_outputs_per_week: float = 0.25
    silent_share_of_median: float = 0.1
    silent_actions_per_week: float = 1.0


_ACTIVITY_COLUMNS = ("actions", "posts", "replies", "reactions", "reads", "active_people")

# Events of the chartered spaces, one row per event x community that charters its space, automated
# events left out; ``actor`` is the person when resolved, else the platform account.
_COMMUNITY_EVENTS_SQL = """
    SELECT r.community, r.rule, r.within_hours, r.tag, e.source, e.account_id, e.person_key, e.action,
           e.occurred_at, e.week_start, e.content_id, e.thread_id, e.is_question, e.hashtags,
           coalesce(e.person_key, e.source || ':' || e.account_id) AS actor
    FROM {events} e JOIN {rules} r ON r.source = e.source AND r.space_id = e.space_id
    WHERE NOT coalesce(e.is_automated, false) {read_weeks}
"""

_ACTIVITY_SQL = """
    SELECT community, week_start,
           count(*) AS actions,
           count(*) FILTER (WHERE action = 'post') AS posts,
           count(*) FILTER (WHERE action = 'reply') AS replies,
           count(*) FILTER (WHERE action = 'react') AS reactions,
           count(*) FILTER (WHERE action IN ('read', 'visit')) AS reads,
           count(DISTINCT actor) AS active_people
    FROM ce WHERE action <> 'join' {counted_weeks}
    GROUP BY community, week_start
"""

# A question counts once (in its own week) when a reply in the same community's spaces comes from
# another account and, where both are resolved, another person, within the charter's hours; a
# hashtag output is a post or reply carrying the tag. One row per question post (its id and week,
# whether some reply answers it; they are few, and their ids let counts of separate weeks be checked:
# an id posted in two weeks counts once), then, in a query of its own, the tagged items per community
# x week (with both in one UNION ALL, DuckDB 1.5.6 waited forever on a 20k-employee warehouse).
_QUESTIONS_SQL = """
    , questions AS (
        SELECT community, source, content_id, account_id, person_key, occurred_at, week_start, within_hours
        FROM ce WHERE rule = 'answered_question' AND action = 'post' AND coalesce(is_question, false)
          AND content_id IS NOT NULL {counted_weeks}
    ),
    answered AS (
        SELECT DISTINCT q.community, q.source, q.content_id, q.week_start
        FROM questions q JOIN ce r
          ON r.community = q.community AND r.action = 'reply' AND r.thread_id = q.content_id
        WHERE r.account_id <> q.account_id
          AND (r.person_key IS NULL OR q.person_key IS NULL OR r.person_key <> q.person_key)
          AND r.occurred_at >= q.occurred_at
          AND (q.within_hours IS NULL OR r.occurred_at <= q.occurred_at + to_hours(CAST(q.within_hours AS BIGINT)))
    )
    SELECT q.community, q.week_start, q.source, q.content_id, a.content_id IS NOT NULL AS answered
    FROM (SELECT DISTINCT community, source, content_id, week_start FROM questions) q
    LEFT JOIN answered a USING (community, source, content_id, week_start)
"""

_TAGGED_SQL = """
    SELECT community, week_start, count(*) AS tagged FROM ce
    WHERE rule = 'hashtag' AND action IN ('post', 'reply')
      AND coalesce(list_contains(list_transform(hashtags, x -> ltrim(lower(x), '#')), tag), false) {counted_weeks}
    GROUP BY community, week_start
"""


@dataclass(frozen=True)
class CommunityCounts:
    """The chartered communities' events reduced to counts per community x week (computed in DuckDB).

    ``activity``: community, week_start and the activity columns (``actions`` excludes joins;
    ``active_people`` counts distinct people, or accounts when unresolved); ``outputs``: community,
    week_start, outputs by each charter's rule (weeks without any are absent); ``first_week`` /
    ``last_week``: the span of all the events counted from (every space, not only chartered ones);
    ``questions``: every question post of the ``answered_question`` communities (community,
    week_start, source, content_id, answered) and ``tagged``: the tagged items per community x
    week, from which the outputs were counted (:func:`outputs_of`).
    """

    activity: pl.DataFrame
    outputs: pl.DataFrame
    first_week: dt.date | None
    last_week: dt.date | None
    questions: pl.DataFrame | None = None
    tagged: pl.DataFrame | None = None


def _charter_rules(charters: Charters) -> pl.DataFrame:
    rows = [
        {"community": c.name, "source": s.source, "space_id": s.space_id, "rule": c.rule.kind,
         "within_hours": c.rule.within_hours if c.rule.kind == "answered_question" else None,
         "tag": (c.rule.tag or "").lstrip("#").lower() if c.rule.kind == "hashtag" else None}
        for c in charters.communities for s in c.spaces
    ]
    return pl.DataFrame(rows, schema={"community": pl.Utf8, "source": pl.Utf8, "space_id": pl.Utf8, "rule": pl.Utf8,
                                      "within_hours": pl.Int64, "tag": pl.Utf8})


def reply_lag_weeks(charters: Charters) -> int | None:
    """How many weeks after its own a question's answer can fall (the ``answered_question`` rules'
    longest ``within_hours``, rounded up to whole weeks, plus the week a late question spills
    into); None when some rule has no limit. 0 without such rules."""
    hours = [c.rule.within_hours for c in charters.communities if c.rule.kind == "answered_question"]
    if any(h is None for h in hours):
        return None
    return max((int(h) // (7 * 24) + 1 for h in hours), default=0)


def community_counts(con: duckdb.DuckDBPyConnection, events: str, charters: Charters,
                     span: tuple[dt.date | None, dt.date | None] | None = None,
                     weeks: Sequence[dt.date] | None = None) -> CommunityCounts:
    """Count the chartered communities' activity and outputs inside DuckDB, from the relation
    ``events`` (a table or view name on ``con`` with the clean events' columns, ``week_start`` and
    ``person_key``): only the per community x week counts leave the engine. ``span``: the first
    and last week of all the events when the caller knows them (else one more scan finds them).
    ``weeks``: count only these weeks (of activity, and of the questions and tagged items counted
    as outputs), reading their events and those of the :func:`reply_lag_weeks` after them; every
    week when None. Counting week sets one by one gives the rows of counting them all, provided a
    question's id is posted in one week only (the caller checks)."""
    counted, read = "", ""
    if weeks is not None:
        counted_list = sorted(set(weeks))
        lag = reply_lag_weeks(charters)
        if lag is None:
            raise ValueError("community_counts(weeks=...): an answered_question rule has no time limit")
        read_list = sorted({w + dt.timedelta(weeks=k) for w in counted_list for k in range(lag + 1)})
        counted = f"AND week_start IN ({_date_list(counted_list)})"
        # the time bounds let DuckDB skip the other weeks' files and row groups; the week test is exact
        lo = min(read_list, default=dt.date(2000, 1, 3)) - dt.timedelta(days=2)
        hi = max(read_list, default=dt.date(2000, 1, 3)) + dt.timedelta(days=9)
        read = (f"AND e.occurred_at >= TIMESTAMPTZ '{lo} 00:00:00+00' AND e.occurred_at < TIMESTAMPTZ '{hi} 00:00:00+00' "
                f"AND e.week_start IN ({_date_list(read_list)})")
    with register_frame(con, "__community_rules", _charter_rules(charters)) as rules:
        # _QUESTIONS_SQL adds CTEs; ce is read several times: NOT MATERIALIZED streams it from the events
        ce = f"WITH ce AS NOT MATERIALIZED ({_COMMUNITY_EVENTS_SQL.format(events=events, rules=rules, read_weeks=read)})"
        activity = con.execute(f"{ce} {_ACTIVITY_SQL.format(counted_weeks=counted)}").pl()
        questions = con.execute(f"{ce} {_QUESTIONS_SQL.format(counted_weeks=counted)}").pl()
        tagged = con.execute(f"{ce} {_TAGGED_SQL.format(counted_weeks=counted)}").pl()
    first, last = span or con.execute(f"SELECT min(week_start), max(week_start) FROM {events}").fetchone()
    cast = {c: pl.Int64 for c in _ACTIVITY_COLUMNS}
    questions = questions.select(
        pl.col("community").cast(pl.Utf8), pl.col("week_start").cast(pl.Date), pl.col("source").cast(pl.Utf8),
        pl.col("content_id").cast(pl.Utf8), pl.col("answered").cast(pl.Boolean),
    ).sort("community", "source", "content_id", "week_start")
    tagged = tagged.select(pl.col("community").cast(pl.Utf8), pl.col("week_start").cast(pl.Date),
                           pl.col("tagged").cast(pl.Int64)).sort("community", "week_start")
    return CommunityCounts(
        activity=activity.with_columns(pl.col("week_start").cast(pl.Date)).cast(cast),
        outputs=outputs_of(questions, tagged), first_week=first, last_week=last, questions=questions, tagged=tagged,
    )


def outputs_of(questions: pl.DataFrame, tagged: pl.DataFrame) -> pl.DataFrame:
    """Outputs per community x week: each answered question once, in the first week its id was
    posted with an answer; plus the tagged items (``tagged`` per community x week)."""
    answered = (questions.filter(pl.col("answered")).group_by("community", "source", "content_id")
                .agg(pl.col("week_start").min()).select("community", "week_start"))
    return (
        pl.concat([answered.with_columns(pl.lit(1, dtype=pl.Int64).alias("outputs")),
                   tagged.select("community", "week_start", pl.col("tagged").cast(pl.Int64).alias("outputs"))])
        .group_by("community", "week_start").agg(pl.col("outputs").sum())
        .sort("community", "week_start")
    )


def _date_list(days: Sequence[dt.date]) -> str:
    return ", ".join(f"DATE '{d.isoformat()}'" for d in days) or "NULL"


def _counts(events: pl.DataFrame | CommunityCounts, charters: Charters) -> CommunityCounts:
    """Counts of an in-memory events frame, by the same SQL on a private DuckDB connection."""
    if isinstance(events, CommunityCounts):
        return events
    require_columns(events, _EVENT_COLUMNS, table="events")
    if "person_key" not in events.columns:
        events = events.with_columns(pl.lit(None, dtype=pl.Utf8).alias("person_key"))
    with duckdb.connect() as con, register_frame(con, "__community_events", events) as view:
        return community_counts(con, view, charters)


def _grid(counts: CommunityCounts, charters: Charters, start: dt.date | None, end: dt.date | None) -> pl.DataFrame:
    """Every community x every week from ``start`` (default: first event week) to ``end`` (last)."""
    first = start or counts.first_week
    last = end or counts.last_week
    communities = pl.DataFrame({"community": [c.name for c in charters.communities]}, schema={"community": pl.Utf8})
    if first is None or last is None:
        return communities.with_columns(pl.lit(None, dtype=pl.Date).alias("week_start")).head(0)
    weeks = pl.DataFrame({"week_start": pl.date_range(first, last, interval="1w", eager=True)})
    return communities.join(weeks, how="cross")


def _activity_cells(counts: CommunityCounts, charters: Charters, start: dt.date | None,
                    end: dt.date | None) -> pl.DataFrame:
    return (
        _grid(counts, charters, start, end)
        .join(counts.activity, on=["community", "week_start"], how="left")
        .with_columns(pl.col(*_ACTIVITY_COLUMNS).fill_null(0))
    )


def _output_cells(counts: CommunityCounts, charters: Charters, start: dt.date | None,
                  end: dt.date | None) -> pl.DataFrame:
    meta = pl.DataFrame(
        [{"community": c.name, "output_type": c.output_type, "rule": c.rule.kind,
          "target_per_week": c.target_per_week} for c in charters.communities],
        schema={"community": pl.Utf8, "output_type": pl.Utf8, "rule": pl.Utf8, "target_per_week": pl.Float64},
    )
    return (
        _grid(counts, charters, start, end)
        .join(counts.outputs, on=["community", "week_start"], how="left")
        .with_columns(pl.col("outputs").fill_null(0))
        .join(meta, on="community", how="left")
        .with_columns((pl.col("outputs") / pl.col("target_per_week")).alias("output_vs_target"))
    )


@table_function(kind=MetricKind.ACTIVITY, metrics=("community_actions", "community_active_people"),
                grain="community x week")
def community_activity(
    events: pl.DataFrame | CommunityCounts,
    charters: Charters,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Activity in each community's spaces per week (weeks without events included, as zeros).

    Grain: one row per community x week from ``start`` to ``end`` (default: the events' span).
    Denominator: none (counts). ``active_people`` counts distinct resolved people, or accounts when
    unresolved. Weeks with 1 to ``min_group_size`` - 1 active people have their counts suppressed
    (a week with nobody active describes nobody and shows its zeros).
    """
    cells = _activity_cells(_counts(events, charters), charters, start, end).with_columns(
        # a week where nobody acted describes nobody: its zeros are published
        pl.when(pl.col("active_people") == 0).then(pl.lit(min_group_size, dtype=pl.Int64))
        .otherwise(pl.col("active_people")).alias("__size")
    )
    published = suppress_small_arms(
        cells, size_columns=["__size"],
        value_columns=["actions", "posts", "replies", "reactions", "reads", "active_people"],
        min_group_size=min_group_size,
    ).drop("__size")
    return with_kind(published.sort("community", "week_start"), MetricKind.ACTIVITY)


@table_function(kind=MetricKind.OUTPUT, metrics=("community_outputs", "community_output_vs_target"),
                grain="community x week")
def community_outputs(
    events: pl.DataFrame | CommunityCounts,
    charters: Charters,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.DataFrame:
    """Outputs per community and week by its charter's rule (module docstring), with the target.

    Grain: one row per community x week from ``start`` to ``end`` (default: the events' span).
    Denominator of ``output_vs_target``: the charter's ``target_per_week`` (null when none). The
    counts are of content items, not of people; no activity column is carried.
    """
    cells = _output_cells(_counts(events, charters), charters, start, end)
    return with_kind(cells.sort("community", "week_start"), MetricKind.OUTPUT)


@table_function(kind=MetricKind.LINK, metrics=("busy_without_outputs", "silent_community"),
                grain="community x period")
def community_flags(
    events: pl.DataFrame | CommunityCounts,
    charters: Charters,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    rules: CommunityFlagRules = CommunityFlagRules(),
) -> pl.DataFrame:
    """Per community over the period: activity and outputs side by side, and the two flags.

    Grain: one row per community over ``[start, end]``. Denominators: ``weeks`` of the period for
    both means; the median is over the chartered communities. Activity (``mean_weekly_actions``)
    and outputs (``outputs_per_week``) stay in separate columns: the flags compare them against
    documented thresholds, they are not a blended score.
    """
    counts = _counts(events, charters)
    act = _activity_cells(counts, charters, start, end)
    out = _output_cells(counts, charters, start, end)
    period = act.join(out.select("community", "week_start", "outputs"), on=["community", "week_start"], how="left")
    summary = period.group_by("community").agg(
        pl.len().cast(pl.Int64).alias("weeks"),
        pl.col("week_start").min().alias("period_start"),
        pl.col("week_start").max().alias("period_end"),
        pl.col("actions").mean().alias("mean_weekly_actions"),
        pl.col("active_people").mean().alias("mean_weekly_active_people"),
        pl.col("outputs").sum().cast(pl.Int64).alias("outputs"),
        pl.col("outputs").mean().alias("outputs_per_week"),
    )
    median = pl.col("mean_weekly_actions").median()
    silent = (pl.col("mean_weekly_actions") <= rules.silent_share_of_median * median) | (
        pl.col("mean_weekly_actions") < rules.silent_actions_per_week
    )
    flagged = summary.with_columns(median.alias("median_weekly_actions")).with_columns(
        silent.alias("silent"),
    ).with_columns(
        ((pl.col("mean_weekly_actions") >= rules.busy_multiple * pl.col("median_weekly_actions"))
         & ~pl.col("silent")
         & (pl.col("outputs_per_week") < rules.near_zero_outputs_per_week)).alias("busy_without_outputs"),
        pl.lit(rules.busy_multiple).alias("busy_multiple"),
        pl.lit(rules.near_zero_outputs_per_week).alias("near_zero_outputs_per_week"),
        pl.lit(rules.silent_share_of_median).alias("silent_share_of_median"),
    )
    return with_kind(flagged.sort("community"), MetricKind.LINK)
