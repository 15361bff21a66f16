"""Builders of small hand-made person-week tables (PERSON_WEEK contract) for the metric tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from transforms.contracts import PERSON_WEEK, conform

#: Week 0 of every fixture: a Monday.
W0 = dt.date(2026, 1, 5)


def week(i: int) -> dt.date:
    return W0 + dt.timedelta(weeks=i)


def iso(d: dt.date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def make_person_week(rows: list[dict[str, Any]], *, first_active: dict[str, dt.date | None] | None = None) -> pl.DataFrame:
    """A PERSON_WEEK frame from compact rows.

    Each row needs ``person_key`` and ``w`` (week index from :data:`W0`); optional ``passive``,
    ``reaction``, ``contribution`` (action counts, default 0) and any HR/pilot attribute.
    ``first_active_week`` is computed from the rows unless ``first_active`` overrides it per person
    (to model activity before the rows at hand).
    """
    defaults: dict[str, Any] = {
        "manager_key": None, "department": "D1", "org_unit": "T1", "site": "S1", "country": "FR",
        "job_family": "J", "worker_type": "office", "level": 4, "tenure_band": "1-3y", "is_manager": False,
        "direct_reports": 0, "eligible_from": None, "has_account": True, "pilot_cohort": None,
        "pilot_wave": None, "pilot_start_week": None, "pilot_status": None, "pilot_support_level": None,
    }
    recs = []
    for r in rows:
        rec = {**defaults, **{k: v for k, v in r.items() if k not in ("w", "passive", "reaction", "contribution")}}
        ws = week(r["w"])
        p, re_, c = r.get("passive", 0), r.get("reaction", 0), r.get("contribution", 0)
        rec.update(
            week_start=ws, iso_week=iso(ws), actions_passive=p, actions_reaction=re_, actions_contribution=c,
            actions_total=p + re_ + c, is_active=p + re_ + c > 0, is_engaged=re_ + c > 0, is_contributor=c > 0,
        )
        recs.append(rec)
    frame = pl.DataFrame(recs, infer_schema_length=None)
    firsts = frame.filter(pl.col("is_active")).group_by("person_key").agg(pl.col("week_start").min().alias("first_active_week"))
    frame = frame.join(firsts, on="person_key", how="left")
    if first_active:
        override = pl.DataFrame(
            {"person_key": list(first_active), "__fa": list(first_active.values())},
            schema={"person_key": pl.Utf8, "__fa": pl.Date},
        )
        frame = frame.join(override, on="person_key", how="left").with_columns(
            pl.when(pl.col("person_key").is_in(list(first_active)))
            .then(pl.col("__fa"))
            .otherwise(pl.col("first_active_week"))
            .alias("first_active_week")
        ).drop("__fa")
    good, bad = conform(frame, PERSON_WEEK)
    assert bad.height == 0, bad
    return good.sort("person_key", "week_start")



def make_events(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Clean events (EVENTS columns + week_start, person_key) from compact rows.

    Each row needs ``event_id``, ``account_id``, ``action`` and ``at`` (a naive datetime, UTC);
    the rest defaults (space 'S', not automated, no hashtags, not a question).
    """
    from transforms.contracts import EVENTS

    recs = []
    for r in rows:
        at = r["at"]
        rec = {
            "source": "slack", "account_email": None, "space_id": "S", "thread_id": None, "content_id": None,
            "is_automated": False, "body_chars": 10, "hashtags": None, "is_question": False, "mention_count": 0,
            "source_file": None, "person_key": None,
            **{k: v for k, v in r.items() if k != "at"},
            "occurred_at": at.replace(tzinfo=dt.timezone.utc),
        }
        recs.append(rec)
    frame = pl.DataFrame(recs, infer_schema_length=None, schema_overrides={"hashtags": pl.List(pl.Utf8)})
    good, bad = conform(frame, EVENTS)
    assert bad.height == 0, bad
    extra = frame.select("source", "event_id", pl.col("person_key").cast(pl.Utf8))
    good = good.join(extra, on=["source", "event_id"], how="left")
    return good.with_columns(
        pl.col("occurred_at").dt.date().alias("__d"),
    ).with_columns(
        (pl.col("__d") - pl.duration(days=pl.col("__d").dt.weekday() - 1)).alias("week_start")
    ).drop("__d")
