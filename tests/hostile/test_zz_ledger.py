"""The hostile corpus's totals (issue 12): at least 200 cases tried, 0 unhandled exceptions, 0 good
rows lost, 0 files written outside the data folders. Written to ``test-artifacts/hostile_cases.txt``.

This module is collected after the other hostile modules, which share its xdist group, so it runs
after them on the same worker; when only part of the corpus was selected it records what it saw
and skips the threshold.
"""

from __future__ import annotations

import pytest

from tests.hostile.corpus import LEDGER, MIN_CASES

pytestmark = pytest.mark.xdist_group("hostile")


def test_hostile_case_totals(request: pytest.FixtureRequest) -> None:
    path = LEDGER.write()
    print(f"\n{path}:\n{LEDGER.summary()}")  # noqa: T201 - the figures the issue asks the suite to report
    assert LEDGER.unhandled == [], LEDGER.unhandled
    assert LEDGER.rows_lost == [], LEDGER.rows_lost
    assert LEDGER.outside_writes == [], LEDGER.outside_writes
    collected = [i for i in request.session.items if "tests/hostile/" in i.nodeid and i.nodeid != request.node.nodeid]
    ran_everything = not request.config.getoption("keyword") and not request.config.getoption("markexpr")
    if not ran_everything or request.session.testsfailed:
        pytest.skip(f"part of the hostile corpus selected ({len(collected)} tests): {LEDGER.tried} cases tried")
    assert LEDGER.tried >= MIN_CASES, f"only {LEDGER.tried} hostile cases tried; the issue asks for {MIN_CASES}"
