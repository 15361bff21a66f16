"""Every mart of the end-to-end organisation is identical to its stored fingerprint
(``tests/mart_fingerprints.py``): refactorings and optimisations must not change a number.
A change meant to alter a mart regenerates the fixture on purpose and says so in its commit."""

from __future__ import annotations

import json

import pytest

from tests.conftest import E2E_EMPLOYEES, E2E_SEED, E2E_WEEKS, SimulatedRun
from tests.mart_fingerprints import STORED, mart_fingerprints

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.mark.skipif((E2E_EMPLOYEES, E2E_WEEKS, E2E_SEED) != (2000, 40, 11),
                    reason="fingerprints are stored for the default end-to-end organisation")
def test_every_mart_matches_its_stored_fingerprint(simulated_run: SimulatedRun) -> None:
    stored = json.loads(STORED.read_text(encoding="utf-8"))
    with simulated_run.connect() as con:
        current = mart_fingerprints(con)
    assert sorted(current) == sorted(stored), "the set of marts changed"
    changed = {name: (stored[name], current[name]) for name in stored if stored[name] != current[name]}
    assert not changed, f"{len(changed)} mart(s) differ from their stored fingerprint: {sorted(changed)}"
