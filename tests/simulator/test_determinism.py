"""Same seed and arguments -> byte-identical drop zone; another seed -> different files."""

from __future__ import annotations

import datetime as dt
import filecmp
from pathlib import Path

from pipelines.simulator import simulate


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_byte_identical_trees_and_another_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    summary = simulate(a, employees=300, weeks=12, seed=5)
    simulate(b, employees=300, weeks=12, seed=5)
    simulate(c, employees=300, weeks=12, seed=6)
    files = _files(a)
    assert files == _files(b) == sorted(summary.files)
    assert len(files) > 30
    _, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert mismatch == [] and errors == []
    common = sorted(set(files) & set(_files(c)))
    _, differ, _ = filecmp.cmpfiles(a, c, common, shallow=False)
    assert "ground_truth.json" in differ
    assert any(p.startswith("platforms/slack/") for p in differ)
    assert any(p.startswith("hr/hr_") for p in differ)


def test_default_start_keeps_the_simulated_history_in_the_past() -> None:
    """Without --start, history starts 2026-01-05 unless that would put events after the last complete week."""
    from pipelines.cli import _default_simulation_start

    today = dt.date(2026, 12, 7)  # a Monday
    assert _default_simulation_start(40, today) == dt.date(2026, 1, 5)  # ends 2026-10-11: unchanged
    first = _default_simulation_start(52, today)  # 2026-01-05 + 52 weeks would end 2027-01-03
    assert first == dt.date(2025, 12, 8) and first.isoweekday() == 1
    assert first + dt.timedelta(weeks=52) == today  # the last simulated week is the one before today's
    assert _default_simulation_start(52, dt.date(2026, 12, 9)) == dt.date(2025, 12, 8)  # mid-week: same Monday
