"""Weekly marts recomputed from their first changed week (``transforms.marts.week_window``): after
a new week, a late change to an old week, or nothing, the stored tables equal the marts computed
from the whole person-week panel; the settings or the code changing recomputes every week."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms.marts import InputCache, MartRegistryError, WeekWindow, compute_mart, load_registry, mart, memo
from transforms.marts.week_window import MART_WEEK_FINGERPRINTS, refresh, week_fingerprints
from transforms.metrics.registry import MetricKind
from transforms.warehouse import register_frame

WEEKLY = ("adoption_curve", "lifecycle_mart", "stickiness_mart", "usage_segments_mart")


def test_the_weekly_marts_declare_their_look_back() -> None:
    registry = load_registry()
    windows = {name: spec.week_window for name, spec in registry.items() if spec.week_window is not None}
    assert {name: w.lookback_weeks for name, w in windows.items()} == {
        "adoption_curve": 0, "lifecycle_mart": 1, "stickiness_mart": 3, "usage_segments_mart": 11}
    assert "actions_total" in windows["usage_segments_mart"].columns
    assert {"iso_week", "tenure_band", "is_manager"} <= set(windows["adoption_curve"].columns)
    with pytest.raises(MartRegistryError, match="lookback_weeks"):
        WeekWindow(-1, ("is_active",))
    with pytest.raises(MartRegistryError, match="needs the 'person_week' input"):
        mart("marts.__no_person_week", kind=MetricKind.ACTIVITY, grain="week", description="x",
             week_window=WeekWindow(0, ()))(lambda settings: pl.DataFrame())


def _as_stored(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> pl.DataFrame:
    """A computed frame read back through DuckDB, with the types a stored table has."""
    with register_frame(con, "__expected", frame) as view:
        return con.execute(f"SELECT * FROM {view}").pl()


def _assert_equal_to_whole_panel(con: duckdb.DuckDBPyConnection) -> None:
    registry, cache = load_registry(), InputCache()
    for name in WEEKLY:
        spec = registry[name]
        expected = compute_mart(spec, {k: cache.get(k, con) for k in spec.inputs})
        for table, frame in expected.items():
            assert_frame_equal(con.execute(f"SELECT * FROM {table}").pl(), _as_stored(con, frame), check_exact=False,
                               rel_tol=1e-12, abs_tol=1e-12)


def _refresh_all(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, dt.date | None]]:
    registry, cache = load_registry(), InputCache()
    return {name: (r.mode, r.from_week) for name in WEEKLY for r in [refresh(con, registry[name], cache)]}


@pytest.mark.xdist_group("e2e")
def test_a_new_week_and_a_late_change_recompute_only_the_weeks_from_the_first_change(
        simulated_warehouse_copy: duckdb.DuckDBPyConnection) -> None:
    con = simulated_warehouse_copy
    con.execute("CREATE TABLE __whole AS SELECT * FROM marts.person_week")
    last = con.execute("SELECT max(week_start) FROM marts.person_week").fetchone()[0]
    # the warehouse a week earlier: no last week, and its first adopters not adopters yet
    con.execute("DELETE FROM marts.person_week WHERE week_start = $w", {"w": last})
    newcomers = con.execute("UPDATE marts.person_week SET first_active_week = NULL WHERE first_active_week = $w",
                            {"w": last}).fetchone()[0]
    assert newcomers > 0
    # the run stored the weeks' hashes: a week gone is a changed week too
    assert set(_refresh_all(con).values()) == {("weeks", last)}
    _assert_equal_to_whole_panel(con)
    con.execute(f"DELETE FROM {MART_WEEK_FINGERPRINTS}")  # nothing stored: every week
    assert set(_refresh_all(con).values()) == {("full", None)}
    _assert_equal_to_whole_panel(con)

    # the new week arrives: its adopters' earlier rows change (first_active_week), but not what the
    # marts read of them, so only the new week (and the windows that end in it) are recomputed
    con.execute("CREATE OR REPLACE TABLE marts.person_week AS SELECT * FROM __whole")
    assert set(_refresh_all(con).values()) == {("weeks", last)}
    _assert_equal_to_whole_panel(con)
    assert set(_refresh_all(con).values()) == {("kept", None)}

    # a late export flips one row eight weeks back: recomputed from that week on
    late = last - dt.timedelta(weeks=8)
    con.execute("""UPDATE marts.person_week SET is_active = NOT is_active, actions_total = actions_total + 40
                   WHERE week_start = $w AND person_key = (SELECT min(person_key) FROM marts.person_week
                                                           WHERE week_start = $w)""", {"w": late})
    assert set(_refresh_all(con).values()) == {("weeks", late)}
    _assert_equal_to_whole_panel(con)
    stored = dict(con.execute(f"SELECT week_start, fingerprint FROM {MART_WEEK_FINGERPRINTS} "
                              "WHERE mart = 'lifecycle_mart'").fetchall())
    assert stored == week_fingerprints(con, load_registry()["lifecycle_mart"])


@pytest.mark.xdist_group("e2e")
def test_the_settings_or_the_code_changing_recompute_every_week(
        simulated_warehouse_copy: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    con = simulated_warehouse_copy
    _refresh_all(con)
    assert set(_refresh_all(con).values()) == {("kept", None)}
    body = con.execute("SELECT body FROM raw.settings WHERE name = 'settings'").fetchone()[0]
    assert '"min_group_size":5' in body
    con.execute("UPDATE raw.settings SET body = replace(body, '\"min_group_size\":5', '\"min_group_size\":7') "
                "WHERE name = 'settings'")
    assert set(_refresh_all(con).values()) == {("full", None)}
    _assert_equal_to_whole_panel(con)
    monkeypatch.setattr(memo, "code_fingerprint", lambda: "an edited metric")
    assert set(_refresh_all(con).values()) == {("full", None)}
    monkeypatch.undo()
    assert set(_refresh_all(con).values()) == {("full", None)}
    con.execute("DROP TABLE marts.stickiness")
    modes = _refresh_all(con)
    assert modes.pop("stickiness_mart") == ("full", None)
    assert set(modes.values()) == {("kept", None)}
