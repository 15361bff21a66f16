"""Communities: their activity (kind activity), their outputs by charter (kind output), and the flags
that set one against the other (kind link: never a blended score).

Events are the clean events (EVENTS contract columns plus ``week_start`` and ``person_key`` where
the account was resolved). An event belongs to every community whose charter lists its
``(source, space_id)``. Automated events never count.

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
from dataclasses import dataclass

import polars as pl

from transforms.contracts.config import Charters
from transforms.metrics.populations import require_columns
from transforms.metrics.registry import MetricKind, table_function, with_kind
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE, suppress_small_arms

__all__ = ["CommunityFlagRules", "community_activity", "community_flags", "community_outputs"]

_EVENT_COLUMNS = ("source", "space_id", "account_id", "action", "occurred_at", "thread_id", "content_id",
                  "is_automated", "hashtags", "is_question", "week_start")


@dataclass(frozen=True)
class CommunityFlagRules:
    """Thresholds of the community flags (see the module docstring)."""

    busy_multiple: float = 1.0
    near_zero_outputs_per_week: float = 0.25
    silent_share_of_median: float = 0.1
    silent_actions_per_week: float = 1.0


def _charter_spaces(charters: Charters) -> pl.DataFrame:
    rows = [
        {"community": c.name, "source": s.source, "space_id": s.space_id}
        for c in charters.communities for s in c.spaces
    ]
    return pl.DataFrame(rows, schema={"community": pl.Utf8, "source": pl.Utf8, "space_id": pl.Utf8})


def _community_events(events: pl.DataFrame, charters: Charters) -> pl.DataFrame:
    require_columns(events, _EVENT_COLUMNS, table="events")
    human = events.filter(~pl.col("is_automated").fill_null(False))
    if "person_key" not in human.columns:
        human = human.with_columns(pl.lit(None, dtype=pl.Utf8).alias("person_key"))
    return human.join(_charter_spaces(charters), on=["source", "space_id"], how="inner").with_columns(
        pl.coalesce(pl.col("person_key"), pl.format("{}:{}", pl.col("source"), pl.col("account_id"))).alias("actor")
    )


def _grid(events: pl.DataFrame, charters: Charters, start: dt.date | None, end: dt.date | None) -> pl.DataFrame:
    """Every community x every week from ``start`` (default: first event week) to ``end`` (last)."""
    first = start or events["week_start"].min()
    last = end or events["week_start"].max()
    communities = pl.DataFrame({"community": [c.name for c in charters.communities]}, schema={"community": pl.Utf8})
    if first is None or last is None:
        return communities.with_columns(pl.lit(None, dtype=pl.Date).alias("week_start")).head(0)
    weeks = pl.DataFrame({"week_start": pl.date_range(first, last, interval="1w", eager=True)})
    return communities.join(weeks, how="cross")


def _activity_cells(events: pl.DataFrame, charters: Charters, start: dt.date | None,
                    end: dt.date | None) -> pl.DataFrame:
    ev = _community_events(events, charters).filter(pl.col("action") != "join")
    counts = ev.group_by("community", "week_start").agg(
        pl.len().cast(pl.Int64).alias("actions"),
        (pl.col("action") == "post").sum().cast(pl.Int64).alias("posts"),
        (pl.col("action") == "reply").sum().cast(pl.Int64).alias("replies"),
        (pl.col("action") == "react").sum().cast(pl.Int64).alias("reactions"),
        pl.col("action").is_in(["read", "visit"]).sum().cast(pl.Int64).alias("reads"),
        pl.col("actor").n_unique().cast(pl.Int64).alias("active_people"),
    )
    return (
        _grid(events, charters, start, end)
        .join(counts, on=["community", "week_start"], how="left")
        .with_columns(pl.col("actions", "posts", "replies", "reactions", "reads", "active_people").fill_null(0))
    )


def _output_cells(events: pl.DataFrame, charters: Charters, start: dt.date | None,
                  end: dt.date | None) -> pl.DataFrame:
    ev = _community_events(events, charters)
    parts = []
    for c in charters.communities:
        mine = ev.filter(pl.col("community") == c.name)
        if c.rule.kind == "answered_question":
            questions = mine.filter((pl.col("action") == "post") & pl.col("is_question").fill_null(False)
                                    & pl.col("content_id").is_not_null())
            replies = mine.filter(pl.col("action") == "reply").select(
                pl.col("thread_id"), pl.col("account_id").alias("r_account"), pl.col("person_key").alias("r_person"),
                pl.col("occurred_at").alias("r_at"),
            )
            answered = questions.join(replies, left_on="content_id", right_on="thread_id", how="inner").filter(
                (pl.col("r_account") != pl.col("account_id"))
                & (pl.col("r_person").is_null() | pl.col("person_key").is_null()
                   | (pl.col("r_person") != pl.col("person_key")))
                & (pl.col("r_at") >= pl.col("occurred_at"))
            )
            if c.rule.within_hours is not None:
                answered = answered.filter(
                    pl.col("r_at") <= pl.col("occurred_at") + pl.duration(hours=c.rule.within_hours)
                )
            outputs = answered.unique(["source", "content_id"]).select("community", "week_start")
        else:
            tag = (c.rule.tag or "").lstrip("#").lower()
            outputs = mine.filter(
                pl.col("action").is_in(["post", "reply"])
                & pl.col("hashtags").list.eval(pl.element().str.to_lowercase().str.strip_chars_start("#"))
                .list.contains(tag).fill_null(False)
            ).select("community", "week_start")
        parts.append(outputs)
    counts = (
        pl.concat(parts, how="vertical").group_by("community", "week_start").agg(pl.len().cast(pl.Int64).alias("outputs"))
        if parts else pl.DataFrame(schema={"community": pl.Utf8, "week_start": pl.Date, "outputs": pl.Int64})
    )
    meta = pl.DataFrame(
        [{"community": c.name, "output_type": c.output_type, "rule": c.rule.kind,
          "target_per_week": c.target_per_week} for c in charters.communities],
        schema={"community": pl.Utf8, "output_type": pl.Utf8, "rule": pl.Utf8, "target_per_week": pl.Float64},
    )
    return (
        _grid(events, charters, start, end)
        .join(counts, on=["community", "week_start"], how="left")
        .with_columns(pl.col("outputs").fill_null(0))
        .join(meta, on="community", how="left")
        .with_columns((pl.col("outputs") / pl.col("target_per_week")).alias("output_vs_target"))
    )


@table_function(kind=MetricKind.ACTIVITY, metrics=("community_actions", "community_active_people"),
                grain="community x week")
def community_activity(
    events: pl.DataFrame,
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
    cells = _activity_cells(events, charters, start, end).with_columns(
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
    events: pl.DataFrame,
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
    cells = _output_cells(events, charters, start, end)
    return with_kind(cells.sort("community", "week_start"), MetricKind.OUTPUT)


@table_function(kind=MetricKind.LINK, metrics=("busy_without_outputs", "silent_community"),
                grain="community x period")
def community_flags(
    events: pl.DataFrame,
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
    act = _activity_cells(events, charters, start, end)
    out = _output_cells(events, charters, start, end)
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
