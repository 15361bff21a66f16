"""Leader content reach kept per week (``transforms.metrics.leader_reach_store``): the same rows as
counting every event, counted again only from the first week whose events or leaders changed."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.assets.clean import platform_sources
from transforms.clean_events import build_clean_events
from transforms.metrics import leader_reach_store as store
from transforms.metrics.manager_relay import leader_reach_counts
from transforms.pseudonym import PSEUDONYMOUS_EVENTS_VIEW
from transforms.warehouse import read_config

pytestmark = pytest.mark.xdist_group("e2e")

PERSON_WEEK = "marts.person_week"
#: At the tests' size the two top levels post nothing; the five top levels do.
LEVEL = 5


@pytest.fixture()
def warehouse(simulated_warehouse_copy: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return simulated_warehouse_copy


def _stored(con: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture) -> tuple[pl.DataFrame, str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="transforms.metrics.leader_reach_store"):
        counts = store.stored_leader_reach_counts(con, PSEUDONYMOUS_EVENTS_VIEW, PERSON_WEEK, max_level=LEVEL)
    return counts, caplog.text


def _assert_same(stored: pl.DataFrame, con: duckdb.DuckDBPyConnection) -> None:
    everything = leader_reach_counts(con, PSEUDONYMOUS_EVENTS_VIEW, PERSON_WEEK, max_level=LEVEL)
    everything = everything.filter(pl.col("week_start").is_not_null()).sort("week_start")
    assert everything.height > 10 and everything["reach_people"].sum() > 0
    assert everything["leader_content_items"].sum() > 0
    assert_frame_equal(stored.sort("week_start"), everything)


def test_stored_counts_equal_a_count_of_every_event_and_a_rerun_counts_nothing(
        warehouse: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture) -> None:
    counts, said = _stored(warehouse, caplog)  # the pipeline stored the two top levels' reach: another level
    first = warehouse.execute(f"SELECT min(week_start) FROM {store.FINGERPRINT_TABLE}").fetchone()[0]
    assert f"counted again from {first}" in said  # every week's fingerprint changed
    _assert_same(counts, warehouse)
    counts, said = _stored(warehouse, caplog)
    assert "no week changed" in said
    _assert_same(counts, warehouse)
    warehouse.execute(f"DROP TABLE {store.FINGERPRINT_TABLE}")
    counts, said = _stored(warehouse, caplog)
    assert "every week counted" in said
    _assert_same(counts, warehouse)


def test_a_changed_week_is_counted_again_from_that_week_on(
        warehouse: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture) -> None:
    config = read_config(warehouse)
    _stored(warehouse, caplog)
    weeks = [w for (w,) in warehouse.execute(
        f"SELECT DISTINCT week_start FROM {store.REACH_TABLE} ORDER BY 1").fetchall()]
    before = dict(warehouse.execute(f"SELECT week_start, reach_people FROM {store.REACH_TABLE}").fetchall())
    # a reaction to a leader's post, removed from the export, four weeks before the end
    week = weeks[-4]
    source, event_id = warehouse.execute(
        f"""
        WITH content AS (SELECT content_id FROM {store.POSTS_TABLE} WHERE week_start = $w)
        SELECT e.source, e.event_id FROM {PSEUDONYMOUS_EVENTS_VIEW} e SEMI JOIN content c USING (content_id)
        WHERE e.week_start = $w AND e.action = 'react' AND e.person_key IS NOT NULL ORDER BY e.event_id LIMIT 1
        """, {"w": week}).fetchone()
    warehouse.execute(f"DELETE FROM raw.{source}_events WHERE event_id = $e", {"e": event_id})
    build_clean_events(warehouse, platform_sources(), config.settings)
    counts, said = _stored(warehouse, caplog)
    assert f"counted again from {week}" in said
    _assert_same(counts, warehouse)
    after = dict(warehouse.execute(f"SELECT week_start, reach_people FROM {store.REACH_TABLE}").fetchall())
    assert {w: after[w] for w in weeks[:-4]} == {w: before[w] for w in weeks[:-4]}
    # a leader who is no longer one: the weeks of their posts and every later one are counted again
    leader, first = warehouse.execute(
        f"SELECT author_key, min(week_start) FROM {store.POSTS_TABLE} GROUP BY ALL ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    warehouse.execute(f"UPDATE {PERSON_WEEK} SET level = 9 WHERE person_key = $p", {"p": leader})
    counts, said = _stored(warehouse, caplog)
    assert "counted again from" in said
    _assert_same(counts, warehouse)
    assert warehouse.execute(f"SELECT count(*) FROM {store.POSTS_TABLE} WHERE author_key = $p",
                             {"p": leader}).fetchone() == (0,)


def test_an_interaction_dated_before_its_content_is_not_counted(
        warehouse: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture) -> None:
    """A reaction moved to a week before the post it reacts to: a clock error, counted in no week."""
    _stored(warehouse, caplog)
    source, event_id, week = warehouse.execute(
        f"""
        WITH content AS (SELECT content_id, week_start FROM {store.POSTS_TABLE})
        SELECT e.source, e.event_id, e.week_start FROM {PSEUDONYMOUS_EVENTS_VIEW} e JOIN content c USING (content_id)
        WHERE e.week_start = c.week_start AND e.action = 'react' AND e.person_key IS NOT NULL
        ORDER BY e.week_start DESC, e.event_id LIMIT 1
        """).fetchone()
    before = dict(warehouse.execute(f"SELECT week_start, reactions FROM {store.REACH_TABLE}").fetchall())
    warehouse.execute(f"UPDATE raw.{source}_events SET occurred_at = occurred_at - INTERVAL 21 DAY "
                      "WHERE event_id = $e", {"e": event_id})
    build_clean_events(warehouse, platform_sources(), read_config(warehouse).settings)
    counts, said = _stored(warehouse, caplog)
    earlier = week - dt.timedelta(weeks=3)
    assert f"counted again from {earlier}" in said
    _assert_same(counts, warehouse)
    after = dict(warehouse.execute(f"SELECT week_start, reactions FROM {store.REACH_TABLE}").fetchall())
    assert after[week] == before[week] - 1 and after[earlier] == before[earlier]
