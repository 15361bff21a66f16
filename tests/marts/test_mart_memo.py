"""Marts kept when their inputs did not change (``transforms.marts.memo``): the pilot marts read only
the weeks before the end of the pilot comparison, give the same rows as from the whole person-week
panel, and their fingerprint ignores later weeks but sees any change before the end, in the
configuration or in the code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from polars.testing import assert_frame_equal

from tests.conftest import SimulatedRun
from transforms import code_version
from transforms.contracts.config import Pilots, Settings
from transforms.marts import InputCache, compute_mart, inputs_needed, load_registry, memo
from transforms.pilot.units import pilot_comparison_end


def _settings(**extra: object) -> Settings:
    return Settings.model_validate({"organisation": "T", "time_zone": "UTC", "platform_launch": "2026-01-05", **extra})


def _pilots(*ends: str | None) -> Pilots:
    return Pilots.model_validate({"cohorts": [
        {"name": f"w{i}", "wave": i, "start": "2026-02-04", "end": end, "employee_ids": ["e1"]}
        for i, end in enumerate(ends, start=1)]})


def test_the_comparison_ends_at_the_roll_out_week_or_after_the_last_declared_end() -> None:
    # roll-out on a Wednesday: its week is left out of every window, so the bound is that Monday
    assert pilot_comparison_end(_settings(general_rollout="2026-06-24"), _pilots("2026-09-30")) == dt.date(2026, 6, 22)
    # no roll-out: the week after the latest declared last day (a Sunday -> the next Monday)
    assert pilot_comparison_end(_settings(), _pilots("2026-05-03", "2026-06-21")) == dt.date(2026, 6, 22)
    assert pilot_comparison_end(_settings(), _pilots("2026-05-04")) == dt.date(2026, 5, 11)
    # a cohort without an end and no roll-out: still open, every week counts
    assert pilot_comparison_end(_settings(), _pilots("2026-05-03", None)) is None
    assert pilot_comparison_end(_settings(general_rollout="2026-06-24"), Pilots(cohorts=[])) is None


@pytest.fixture()
def warehouse(simulated_warehouse_copy: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return simulated_warehouse_copy


@pytest.mark.xdist_group("e2e")
def test_the_pilot_marts_from_the_pilot_weeks_equal_those_from_every_week(warehouse: duckdb.DuckDBPyConnection) -> None:
    registry, cache = load_registry(), InputCache()
    bounded, whole = cache.get("pilot_person_week", warehouse), cache.get("person_week", warehouse)
    assert 0 < bounded.height < whole.height  # the demo runs past its roll-out: later weeks are left out
    everything = {"pilot_person_week": whole, "pilot_team_kpi_panel": cache.get("team_kpi_panel", warehouse),
                  "pilots": cache.get("pilots", warehouse), "settings": cache.get("settings", warehouse)}
    for name in ("pilot_effects", "pilot_representativeness"):
        spec = registry[name]
        from_pilot_weeks = cache.compute(spec, warehouse)
        from_every_week = compute_mart(spec, {k: everything[k] for k in spec.inputs})
        for table, frame in from_pilot_weeks.items():
            assert frame.height > 0, table
            assert_frame_equal(frame, from_every_week[table])


def _fingerprint(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    return InputCache().fingerprint(load_registry()[name], con)


@pytest.mark.xdist_group("e2e")
def test_the_fingerprint_ignores_weeks_after_the_comparison_and_sees_changes_before(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    spec = load_registry()["pilot_effects"]
    first = _fingerprint(warehouse, "pilot_effects")
    assert first is not None and _fingerprint(warehouse, "pilot_effects") == first
    assert _fingerprint(warehouse, "adoption_curve") is None  # reads every week: never kept
    memo.store(warehouse, spec, first)
    assert memo.is_current(warehouse, spec, first)

    # a new week of data, after the roll-out: the same fingerprint, the mart is kept
    last = warehouse.execute("SELECT max(week_start) FROM marts.person_week").fetchone()[0]
    warehouse.execute("INSERT INTO marts.person_week SELECT * REPLACE (week_start + INTERVAL 7 DAY AS week_start) "
                      "FROM marts.person_week WHERE week_start = $w", {"w": last})
    assert _fingerprint(warehouse, "pilot_effects") == first
    # someone first active in that new week: a person-level column of old weeks no pilot mart reads
    warehouse.execute("UPDATE marts.person_week SET first_active_week = $w + INTERVAL 7 DAY "
                      "WHERE person_key = (SELECT min(person_key) FROM marts.person_week)", {"w": last})
    assert _fingerprint(warehouse, "pilot_effects") == first

    # one person-week before it changed (a late export): a new fingerprint, the mart is rebuilt
    warehouse.execute("""UPDATE marts.person_week SET is_active = NOT is_active
                         WHERE (person_key, week_start) = (
                             SELECT (person_key, week_start) FROM marts.person_week
                             WHERE week_start = (SELECT min(week_start) FROM marts.person_week)
                             ORDER BY person_key LIMIT 1)""")
    changed = _fingerprint(warehouse, "pilot_effects")
    assert changed not in (None, first)
    assert not memo.is_current(warehouse, spec, changed)

    # a KPI value of a pilot week, or the pilots' configuration: rebuilt too
    warehouse.execute("UPDATE raw.kpi_values SET value = value + 1 WHERE period_start = "
                      "(SELECT min(period_start) FROM raw.kpi_values)")
    kpi_changed = _fingerprint(warehouse, "pilot_effects")
    assert kpi_changed not in (None, first, changed)
    warehouse.execute("UPDATE raw.settings SET body = replace(body, '\"wave\":1', '\"wave\":7') WHERE name = 'pilots'")
    assert _fingerprint(warehouse, "pilot_effects") not in (None, first, changed, kpi_changed)


@pytest.mark.xdist_group("e2e")
def test_a_stored_fingerprint_is_not_current_for_other_code_or_a_dropped_table(
        warehouse: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_registry()["pilot_representativeness"]
    fingerprint = _fingerprint(warehouse, "pilot_representativeness")
    memo.store(warehouse, spec, fingerprint)
    assert memo.is_current(warehouse, spec, fingerprint)
    monkeypatch.setattr(memo, "code_fingerprint", lambda: "an edited estimator")
    assert not memo.is_current(warehouse, spec, fingerprint)
    monkeypatch.undo()
    assert memo.is_current(warehouse, spec, fingerprint)
    memo.forget(warehouse, spec)
    assert not memo.is_current(warehouse, spec, fingerprint)
    memo.store(warehouse, spec, fingerprint)
    warehouse.execute("DROP TABLE marts.pilot_representativeness")
    assert not memo.is_current(warehouse, spec, fingerprint)


def test_the_code_fingerprint_changes_with_any_transforms_module(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pilot").mkdir()
    module = tmp_path / "pilot" / "effect.py"
    module.write_text("Z = 1.96\n", encoding="utf-8")
    monkeypatch.setattr(code_version, "_TRANSFORMS", tmp_path)
    compute = code_version.code_fingerprint.__wrapped__  # the cached one describes the real package
    assert memo.code_fingerprint is code_version.code_fingerprint
    before = compute()
    assert compute() == before
    module.write_text("Z = 1.645\n", encoding="utf-8")
    assert compute() != before
    (tmp_path / "pilot" / "new_estimator.py").write_text("Z = 1.645\n", encoding="utf-8")
    assert compute() not in (before,)


@pytest.mark.xdist_group("e2e")
def test_inputs_are_released_once_no_mart_still_to_build_needs_them(simulated_run: SimulatedRun) -> None:
    registry, cache = load_registry(), InputCache()
    readers = [s for s in registry.values() if "person_week" in inputs_needed([s.inputs])]
    pilots = [s for s in registry.values() if "pilot_person_week" in inputs_needed([s.inputs])]
    assert len(readers) > 10 and {s.name for s in pilots} == {"pilot_effects", "pilot_representativeness"}
    with simulated_run.connect() as con:
        for name in ("person_week", "pilot_person_week", "settings"):
            cache.get(name, con)
        for spec in pilots:
            assert "pilot_person_week" in cache.loaded
            cache.release(spec)
        assert "pilot_person_week" not in cache.loaded and "person_week" in cache.loaded
        for spec in readers[:-1]:
            cache.release(spec)
        assert "person_week" in cache.loaded  # the last reader is still to build
        cache.release(readers[-1])
        assert "person_week" not in cache.loaded
        for spec in registry.values():
            cache.release(spec)
        assert cache.loaded == ()
        assert cache.get("person_week", con).height > 0  # asked again: loaded again
        assert cache.loads["person_week"] == 2
