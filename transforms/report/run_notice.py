"""The sentence a report made after a failed or unfinished pipeline run opens with, in the active
language (:mod:`transforms.report.i18n`): the page's banner and ``uptake report``'s warning on stderr.

Pure: the run is described by its fields (``pipelines.run_history`` reads them from
``quality.pipeline_runs``), nothing is read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from transforms.report.i18n import _, format_list

__all__ = ["MESSAGE_CHARS", "stale_run_notice"]

#: How much of the failed run's first message the notice quotes (its first line, cut there).
MESSAGE_CHARS = 300


def stale_run_notice(*, status: str, run_id: str, started_at: dt.datetime, failed: Sequence[str] = (),
                     message: str | None = None, still_going: bool = False) -> str | None:
    """What a reader must be told about the warehouse's latest run, or None when it succeeded.

    ``status`` is ``succeeded``, ``failed`` or ``running`` (a ``running`` run with ``still_going``
    false holds no lock any more: it was killed or crashed). A failed run names its failed steps
    and checks (``failed``) and quotes the first line of ``message``. Raises ``ValueError`` for any
    other status.
    """
    if status == "succeeded":
        return None
    started = started_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if status == "running" and still_going:
        what = _("The last pipeline run is still going (run {run_id}, started {started}).")
    elif status == "running":
        what = _("The last pipeline run did not finish (run {run_id}, started {started}: killed or crashed).")
    elif status == "failed" and message and message.strip():
        what = _("The last pipeline run failed (run {run_id}, started {started}) at {steps}: {message}.")
    elif status == "failed":
        what = _("The last pipeline run failed (run {run_id}, started {started}) at {steps}.")
    else:
        raise ValueError(f"run {run_id}: status {status!r}; expected succeeded, failed or running")
    steps = format_list(list(failed)) if failed else _("a step")
    first = (message or "").strip().splitlines()[0][:MESSAGE_CHARS].rstrip(".") if (message or "").strip() else ""
    text = what.format(run_id=run_id, started=started, steps=steps, message=first)
    return text + " " + _("The tables of this report may be partly those of an earlier run: fix the cause and "
                          "run `uptake run` again.")
