"""``uptake check --warehouse FILE``: run every quality check on a warehouse and print a table.

Registered in ``pipelines.cli`` by the lead as a thin wrapper around :func:`check_command`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

log = logging.getLogger(__name__)

_STATUS = {
    (True, False): ("pass", "green"),
    (True, True): ("skipped", "dim"),
}


def _status(passed: bool, skipped: bool, severity: str) -> Text:
    if (passed, skipped) in _STATUS:
        label, style = _STATUS[(passed, skipped)]
    else:
        label, style = ("FAIL", "bold red") if severity == "error" else ("warn", "yellow")
    return Text(label, style=style)


def check_command(
    warehouse: Path,
    *,
    only: Sequence[str] | None = None,
    console: Console | None = None,
) -> int:
    """Run the quality checks on ``warehouse`` (opened read-only) and print a table of check,
    target, severity, passed and message. Returns the exit code: 0 when no ``error`` check failed,
    1 when one did, 2 when the warehouse cannot be opened. While a run writes the warehouse it waits
    for the run to finish, saying which. ``only`` selects checks by name or
    target (shell patterns)."""
    import duckdb

    from pipelines.readers import connect_read_only
    from pipelines.run_lock import WarehouseBusyError
    from quality.runner import exit_code, run_checks

    out = console or Console()
    if not warehouse.is_file():
        out.print(f"[bold red]error:[/] warehouse {warehouse} does not exist; run `uptake run` first")
        return 2
    try:
        con = connect_read_only(warehouse, say=lambda m: out.print(f"[yellow]waiting:[/] {m}", soft_wrap=True))
    except (duckdb.Error, WarehouseBusyError) as exc:
        out.print(f"[bold red]error:[/] cannot open warehouse {warehouse}: {exc}")
        return 2
    try:
        outcomes = run_checks(con, only=only)
    finally:
        con.close()

    table = Table("check", "target", "severity", "passed", "message", title=f"uptake quality checks: {warehouse}",
                  show_lines=False, expand=False)
    for o in outcomes:
        table.add_row(o.check, o.target, o.severity.value, _status(o.passed, o.skipped, o.severity.value),
                      Text(o.message))
    out.print(table)
    errors = sum(o.fails_run for o in outcomes)
    warnings = sum(1 for o in outcomes if not o.passed and not o.fails_run)
    skipped = sum(o.skipped for o in outcomes)
    out.print(
        f"{len(outcomes)} checks: {len(outcomes) - errors - warnings - skipped} passed, {errors} failed (error), "
        f"{warnings} warning(s), {skipped} skipped"
    )
    return exit_code(outcomes)
