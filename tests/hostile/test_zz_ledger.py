"""The hostile corpus's totals (issue 12): at least 200 cases tried, 0 unhandled exceptions, 0 good
rows lost, 0 files written outside the data folders.

The totals of the whole session (every xdist worker's cases added up) are written to
``test-artifacts/hostile_cases.txt`` by ``tests/conftest.py`` at the end of the run, which fails the
run when the whole corpus ran and fell short. This test checks the bookkeeping of the process it
runs in: whatever cases ran here left no unhandled exception, lost row or outside write behind.
"""

from __future__ import annotations

import pytest

from tests.hostile.corpus import LEDGER

pytestmark = pytest.mark.xdist_group("hostile")


def test_hostile_cases_of_this_process_left_nothing_behind() -> None:
    assert LEDGER.unhandled == [], LEDGER.unhandled
    assert LEDGER.rows_lost == [], LEDGER.rows_lost
    assert LEDGER.outside_writes == [], LEDGER.outside_writes
