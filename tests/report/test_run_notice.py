"""The banner of a report made after a failed or unfinished run (``transforms.report.run_notice``)."""

from __future__ import annotations

import datetime as dt

import pytest

from transforms.report.i18n import use_language
from transforms.report.run_notice import MESSAGE_CHARS, stale_run_notice

STARTED = dt.datetime(2026, 3, 2, 9, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def test_a_succeeded_run_needs_no_notice() -> None:
    assert stale_run_notice(status="succeeded", run_id="r1", started_at=STARTED) is None


def test_a_failed_run_names_its_steps_time_and_first_message_line() -> None:
    text = stale_run_notice(status="failed", run_id="r1", started_at=STARTED, failed=("raw__slack", "clean__events"),
                            message="slack: b.zip is not a zip file.\nTraceback (most recent call last): ...")
    assert text == ("The last pipeline run failed (run r1, started 2026-03-02 08:05 UTC) at raw__slack and "
                    "clean__events: slack: b.zip is not a zip file. The tables of this report may be partly those "
                    "of an earlier run: fix the cause and run `uptake run` again.")


def test_a_failed_run_without_message_or_steps_is_still_a_sentence() -> None:
    text = stale_run_notice(status="failed", run_id="r1", started_at=STARTED, message="  ")
    assert text.startswith("The last pipeline run failed (run r1, started 2026-03-02 08:05 UTC) at a step. The ")


def test_a_long_message_is_cut() -> None:
    text = stale_run_notice(status="failed", run_id="r1", started_at=STARTED, failed=("x",), message="y" * 5000)
    assert "y" * MESSAGE_CHARS in text and "y" * (MESSAGE_CHARS + 1) not in text


@pytest.mark.parametrize(("still_going", "expected"), [
    (False, "did not finish (run r1, started 2026-03-02 08:05 UTC: killed or crashed)."),
    (True, "is still going (run r1, started 2026-03-02 08:05 UTC)."),
])
def test_a_running_run_is_unfinished_or_still_going(still_going: bool, expected: str) -> None:
    text = stale_run_notice(status="running", run_id="r1", started_at=STARTED, still_going=still_going)
    assert text.startswith(f"The last pipeline run {expected} The tables")


def test_the_notice_in_french() -> None:
    with use_language("fr"):
        text = stale_run_notice(status="failed", run_id="r1", started_at=STARTED, failed=("raw__slack", "marts"),
                                message="boom")
    assert text.startswith("Le dernier passage du pipeline a échoué (passage r1, commencé le 2026-03-02 08:05 UTC), "
                           "en échec\u00a0: raw__slack et marts\u202f; boom. Certaines tables")


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="status 'queued'"):
        stale_run_notice(status="queued", run_id="r1", started_at=STARTED)
