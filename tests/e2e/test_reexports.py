"""Issue 12, point 3: idempotence and overlap. The same Slack export twice (under two file names),
two exports that share weeks, and a re-export after edits and deletions (run from scratch, and
dropped beside the older export into a warehouse that already holds it) give marts identical to one
clean run of what the newest export says (``tests/mart_fingerprints.py``). The rule, "the newer
export wins where it overlaps an older one", is ``pipelines.exports`` (docs/drop_zone.md)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.simulator import simulate
from tests.e2e.drop_zones import (
    Run,
    between,
    days_of,
    differing_marts,
    edit_and_delete,
    read_members,
    run_job_here,
    slack_only_zone,
    slack_zip,
    write_export,
)

pytestmark = pytest.mark.xdist_group("reexports")

EMPLOYEES, WEEKS, SEED, START = 60, 10, 4, dt.date(2026, 1, 5)
MADE = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)  # when the first export was made


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("reexport_sim") / "raw"
    simulate(raw, employees=EMPLOYEES, weeks=WEEKS, seed=SEED, start=START)
    return raw


@pytest.fixture(scope="module")
def members(simulated: Path) -> dict[str, bytes]:
    return read_members(slack_zip(simulated))


def _zone(simulated: Path, base: Path, exports: dict[str, tuple[dict[str, bytes], dt.datetime]]) -> Path:
    raw = slack_only_zone(simulated, base / "raw")
    slack_zip(raw).unlink()
    for name, (content, made) in exports.items():
        write_export(raw / "platforms" / "slack" / name, content, made)
    return raw


def _run(simulated: Path, base: Path, exports: dict[str, tuple[dict[str, bytes], dt.datetime]]) -> Run:
    run = run_job_here(_zone(simulated, base, exports), base / "warehouse.duckdb")
    assert run.problems == ()
    return run


def _raw_event_ids(run: Run) -> list[tuple[str, str]]:
    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        return con.execute("SELECT event_id, occurred_at::VARCHAR FROM raw.slack_events ORDER BY ALL").fetchall()


def _register(run: Run) -> dict[tuple[str, str], tuple[int, int]]:
    """(export file name, table) -> (rows delivered, rows superseded) from raw.export_inputs."""
    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        rows = con.execute('SELECT export, "table", rows, superseded FROM raw.export_inputs').fetchall()
    return {(Path(e).name, t): (r, s) for e, t, r, s in rows}


@pytest.fixture(scope="module")
def clean_run(simulated: Path, members: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(simulated, tmp_path_factory.mktemp("clean"), {"export.zip": (members, MADE)})


@pytest.fixture(scope="module")
def reexport(members: dict[str, bytes]):  # noqa: ANN201 - a Rewrite
    days = days_of(members)
    return edit_and_delete(members, first=days[0], last=days[-1])


@pytest.fixture(scope="module")
def reexport_alone(simulated: Path, reexport, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(simulated, tmp_path_factory.mktemp("reexport_alone"),
                {"export (edited).zip": (reexport.members, MADE + dt.timedelta(days=7))})


def test_the_same_export_twice_under_two_names(simulated, members, clean_run, tmp_path) -> None:
    run = _run(simulated, tmp_path, {"export.zip": (members, MADE), "export (1).zip": (members, MADE)})
    assert differing_marts(run.fingerprints, clean_run.fingerprints) == []
    assert _raw_event_ids(run) == _raw_event_ids(clean_run)  # one copy of every event reached raw
    register = _register(run)
    rows = register[("export (1).zip", "events")][0]
    assert rows > 100
    # same time: the later name is the newer export and supersedes every row of the other one
    assert register[("export (1).zip", "events")] == (rows, rows)
    assert register[("export.zip", "events")] == (rows, 0)


def test_two_exports_sharing_weeks(simulated, members, clean_run, tmp_path) -> None:
    days = days_of(members)
    first_of_b, last_of_a = days[len(days) // 3], days[2 * len(days) // 3]
    assert dt.date.fromisoformat(last_of_a) - dt.date.fromisoformat(first_of_b) > dt.timedelta(days=14)
    older, newer = between(members, days[0], last_of_a), between(members, first_of_b, days[-1])
    run = _run(simulated, tmp_path, {"jan-feb.zip": (older, MADE - dt.timedelta(days=30)),
                                     "feb-mar.zip": (newer, MADE)})
    assert differing_marts(run.fingerprints, clean_run.fingerprints) == []
    assert _raw_event_ids(run) == _raw_event_ids(clean_run)
    register = _register(run)
    delivered, superseded = register[("jan-feb.zip", "events")]
    assert 0 < superseded < delivered  # the shared weeks come from the newer export, the first ones from the older
    assert register[("feb-mar.zip", "events")][1] == 0


def test_a_reexport_after_edits_and_deletions_wins(simulated, members, reexport, clean_run, reexport_alone,
                                                   tmp_path) -> None:
    assert reexport.edited >= 5 and reexport.deleted >= 5
    # the edits and deletions change the marts: a run that ignored them could not pass
    assert differing_marts(reexport_alone.fingerprints, clean_run.fingerprints) != []
    run = _run(simulated, tmp_path, {"export.zip": (members, MADE),
                                     "export (edited).zip": (reexport.members, MADE + dt.timedelta(days=7))})
    assert differing_marts(run.fingerprints, reexport_alone.fingerprints) == []
    assert _raw_event_ids(run) == _raw_event_ids(reexport_alone)


def test_a_reexport_dropped_next_to_the_export_already_run(simulated, members, reexport, clean_run,
                                                           reexport_alone, tmp_path) -> None:
    """The weekly case: the warehouse holds a run of the first export; the re-export arrives."""
    raw = _zone(simulated, tmp_path, {"export.zip": (members, MADE)})
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(clean_run.warehouse, warehouse)
    write_export(raw / "platforms" / "slack" / "export (edited).zip", reexport.members, MADE + dt.timedelta(days=7))
    run = run_job_here(raw, warehouse)
    assert run.problems == ()
    assert differing_marts(run.fingerprints, reexport_alone.fingerprints) == []
