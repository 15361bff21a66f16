"""Community counts kept per week (``transforms.metrics.community_count_store``): the same rows as
counting every event, counted again only for the weeks whose events changed (and the weeks whose
questions they could answer), every week when the charters change or a question id is posted in two
weeks."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.assets.clean import platform_sources
from tests.conftest import SimulatedRun
from transforms.clean_events import build_clean_events
from transforms.metrics import community_count_store as store
from transforms.metrics.community_outputs import CommunityCounts, community_counts, reply_lag_weeks
from transforms.pseudonym import PSEUDONYMOUS_EVENTS_VIEW
from transforms.warehouse import read_config

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.fixture()
def warehouse(simulated_warehouse_copy: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return simulated_warehouse_copy


@pytest.fixture()
def counted_weeks(monkeypatch: pytest.MonkeyPatch) -> list:
    """The ``weeks`` argument of every count the store makes (None = every week)."""
    calls: list = []
    real = store.community_counts

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(kwargs.get("weeks"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "community_counts", counting)
    return calls


def _sorted(counts: CommunityCounts) -> tuple[pl.DataFrame, pl.DataFrame]:
    activity = counts.activity.filter(pl.col("week_start").is_not_null()).sort("community", "week_start")
    return activity.select(sorted(activity.columns)), counts.outputs.sort("community", "week_start")


def _assert_same(a: CommunityCounts, b: CommunityCounts) -> None:
    for x, y in zip(_sorted(a), _sorted(b), strict=True):
        assert x.height > 0
        assert_frame_equal(x, y, check_dtypes=False)


def _counts(con: duckdb.DuckDBPyConnection) -> CommunityCounts:
    return store.stored_community_counts(con, PSEUDONYMOUS_EVENTS_VIEW, read_config(con).charters)


def test_stored_counts_equal_a_count_of_every_event_and_a_rerun_counts_nothing(
        warehouse: duckdb.DuckDBPyConnection, counted_weeks: list) -> None:
    charters = read_config(warehouse).charters
    everything = community_counts(warehouse, PSEUDONYMOUS_EVENTS_VIEW, charters)
    kept = _counts(warehouse)  # the pipeline's run stored every week: nothing to count again
    assert counted_weeks == []
    _assert_same(kept, everything)
    assert kept.outputs["outputs"].sum() > 0 and kept.questions.height > 0
    warehouse.execute(f"DROP TABLE {store.FINGERPRINT_TABLE}")
    recounted = _counts(warehouse)
    assert counted_weeks == [None]  # nothing stored: every week
    _assert_same(recounted, everything)
    _counts(warehouse)
    assert counted_weeks == [None]


def test_a_changed_week_is_counted_again_with_the_weeks_whose_questions_it_may_answer(
        warehouse: duckdb.DuckDBPyConnection, counted_weeks: list) -> None:
    config = read_config(warehouse)
    _counts(warehouse)
    space = next(s for c in config.charters.communities if c.rule.kind == "answered_question" for s in c.spaces)
    week, event_id = warehouse.execute(
        f"""SELECT week_start, event_id FROM {PSEUDONYMOUS_EVENTS_VIEW}
            WHERE source = $s AND space_id = $p AND action = 'reply' ORDER BY week_start DESC, event_id LIMIT 1""",
        {"s": space.source, "p": space.space_id}).fetchone()
    warehouse.execute(f"DELETE FROM raw.{space.source}_events WHERE event_id = $e", {"e": event_id})
    build_clean_events(warehouse, platform_sources(), config.settings)
    counts = _counts(warehouse)
    lag = reply_lag_weeks(config.charters)
    assert lag == 1  # the simulated charters answer within 48 hours
    assert counted_weeks[-1] == [week - dt.timedelta(weeks=1), week]
    _assert_same(counts, community_counts(warehouse, PSEUDONYMOUS_EVENTS_VIEW, config.charters))


def test_new_charters_or_a_question_posted_in_two_weeks_count_every_week(
        warehouse: duckdb.DuckDBPyConnection, counted_weeks: list) -> None:
    config = read_config(warehouse)
    _counts(warehouse)
    # a re-export put one question a second time, under its id, in the last week
    space = next(s for c in config.charters.communities if c.rule.kind == "answered_question" for s in c.spaces)
    last = warehouse.execute("SELECT max(week_start) FROM clean.event_partitions").fetchone()[0]
    copied = warehouse.execute(
        f"""INSERT INTO raw.{space.source}_events
            SELECT * REPLACE (event_id || '-again' AS event_id, occurred_at + INTERVAL 1 HOUR AS occurred_at)
            FROM raw.{space.source}_events
            WHERE space_id = $p AND action = 'post' AND is_question AND occurred_at < $w::TIMESTAMP - INTERVAL 14 DAY
              AND occurred_at >= $w::TIMESTAMP - INTERVAL 21 DAY
            ORDER BY event_id LIMIT 1""", {"p": space.space_id, "w": last}).fetchone()[0]
    assert copied == 1
    warehouse.execute(f"""UPDATE raw.{space.source}_events SET occurred_at = $w::TIMESTAMP + INTERVAL 2 DAY
                          WHERE event_id LIKE '%-again'""", {"w": last})
    build_clean_events(warehouse, platform_sources(), config.settings)
    counts = _counts(warehouse)
    assert counted_weeks[-2] is not None and counted_weeks[-1] is None  # tried the changed weeks, then all
    _assert_same(counts, community_counts(warehouse, PSEUDONYMOUS_EVENTS_VIEW, config.charters))
    # other charters: every week is counted again
    charters = config.charters.model_copy(update={"communities": config.charters.communities[:-1]})
    counts = store.stored_community_counts(warehouse, PSEUDONYMOUS_EVENTS_VIEW, charters)
    assert counted_weeks[-1] is None
    _assert_same(counts, community_counts(warehouse, PSEUDONYMOUS_EVENTS_VIEW, charters))


def test_a_read_only_warehouse_is_counted_without_storing(simulated_run: SimulatedRun, tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(simulated_run.warehouse, path)
    with duckdb.connect(str(path)) as con:
        con.execute(f"DROP TABLE {store.FINGERPRINT_TABLE}")
    with duckdb.connect(str(path), read_only=True) as con:  # a notebook's connection
        counts = _counts(con)
        _assert_same(counts, community_counts(con, PSEUDONYMOUS_EVENTS_VIEW, read_config(con).charters))
        assert not con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'community_week_fingerprints'").fetchone()[0]
