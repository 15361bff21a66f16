"""The missing-export-day rule on a simulated organisation, with the code of
``benchmarks/missing_export_days.py``: no false alarm on the data as written, and a missing day
planted on each source's busiest day is found when the source is busy enough to tell (typical
volume >= 25)."""

from __future__ import annotations

import pytest

from benchmarks.missing_export_days import DETECTABLE_VOLUME, run_seed


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    return run_seed(3, employees=600, weeks=16, workdir=tmp_path_factory.mktemp("gaps"), busiest=True)


def test_no_false_alarm_on_the_simulated_exports(figures: dict[str, int]) -> None:
    assert figures["judged_days"] > 150
    assert figures["false_alarms"] == 0


def test_planted_missing_days_on_busy_sources_are_found(figures: dict[str, int]) -> None:
    assert figures["planted"] == 3  # one per event source: slack, mattermost, viva_engage
    assert figures[f"planted_ge_{DETECTABLE_VOLUME}"] >= 1
    assert figures[f"detected_ge_{DETECTABLE_VOLUME}"] == figures[f"planted_ge_{DETECTABLE_VOLUME}"]
