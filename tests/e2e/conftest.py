"""Fixtures shared by the weekly-run reliability tests (crash safety, concurrency): a Slack-only
organisation whose warehouse holds last week's run, and this week's drop zone, where a newer export
of the later weeks arrived beside the first one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.simulator import simulate
from tests.e2e.drop_zones import Run, between, days_of, read_members, run_job_here, slack_only_zone, slack_zip, write_export

EMPLOYEES, WEEKS, SEED, START = 50, 10, 8, dt.date(2026, 1, 5)
MADE = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class WeeklySetting:
    last_week: Path  # the drop zone of last week's run: the first export only
    this_week: Path  # this week's: a newer export of the later weeks beside it
    previous: Path  # last week's warehouse (its published snapshots beside it)
    reference: Run  # this week's drop zone, run uninterrupted from scratch
    steps: tuple[str, ...]  # the job's steps, in the order the reference run finished them


@pytest.fixture(scope="session")
def weekly(tmp_path_factory: pytest.TempPathFactory) -> WeeklySetting:
    base = tmp_path_factory.mktemp("weekly")
    simulated = base / "sim"
    simulate(simulated, employees=EMPLOYEES, weeks=WEEKS, seed=SEED, start=START)
    members = read_members(slack_zip(simulated))
    days = days_of(members)
    first = between(members, days[0], days[len(days) // 2])
    later = between(members, days[len(days) // 3], days[-1])
    zones = {}
    for name, exports in (("last_week", {"a.zip": (first, MADE)}),
                          ("this_week", {"a.zip": (first, MADE), "b.zip": (later, MADE + dt.timedelta(days=7))})):
        raw = slack_only_zone(simulated, base / name / "raw")
        slack_zip(raw).unlink()
        for file, (content, made) in exports.items():
            write_export(raw / "platforms" / "slack" / file, content, made)
        zones[name] = raw
    previous = run_job_here(zones["last_week"], base / "previous" / "warehouse.duckdb")
    assert previous.problems == ()
    steps: list[str] = []
    reference = run_job_here(zones["this_week"], base / "reference" / "warehouse.duckdb",
                             progress=lambda done, total, step: steps.append(step))
    assert reference.problems == ()
    return WeeklySetting(zones["last_week"], zones["this_week"], previous.warehouse, reference, tuple(steps))
