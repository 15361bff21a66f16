"""The ``uptake`` command line: demo, simulate, run, report, check, connectors."""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import os
import resource
import shutil
import sys
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    name="uptake",
    help="Is the collaboration platform really being adopted, by whom, and will the pilot hold at full roll-out?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()
log = logging.getLogger("uptake")
_VERBOSE: ContextVar[bool] = ContextVar("uptake_verbose", default=False)
#: Set by the console script: the process ends with the command, so its objects may be frozen for the
#: garbage collector (``gc.freeze``); a test or notebook calling the commands in-process keeps collecting.
_PROCESS_IS_THE_COMMAND = False


class UptakeCliError(Exception):
    """A failure to report to the user in one clear line, with a non-zero exit."""


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console,
        disable=not console.is_terminal and os.environ.get("UPTAKE_PROGRESS") != "1",
    )


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        for noisy in ("dagster", "great_expectations", "py.warnings"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Log progress details, and Dagster's own logs and tracebacks.")] = False) -> None:
    _VERBOSE.set(verbose)
    _setup_logging(verbose)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code=1)


FORMATS_HELP = ("Write platforms in other export formats, PLATFORM=FORMAT,...: slack and mattermost as zulip, "
                "google_chat or rocket_chat; teams as viva_insights (a person query instead of the Teams usage "
                "reports). Each format at most once; default: each platform's own.")


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the drop zone into.")],
    employees: Annotated[int, typer.Option(help="Number of employees.", min=20)] = 2000,
    weeks: Annotated[int, typer.Option(help="Number of weeks.", min=8)] = 40,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 0,
    start: Annotated[str | None, typer.Option(
        "--start", help="The first Monday of the simulated history, YYYY-MM-DD (default 2026-01-05, or earlier "
        "when the history would otherwise reach past the last complete week: a run quarantines future events).")] = None,
    canonical: Annotated[bool, typer.Option(
        "--canonical", help="Write HR, accounts, events and counters as canonical Parquet (docs/drop_zone.md), "
        "events streamed week by week: the scale mode.")] = False,
    events_per_active_week: Annotated[float | None, typer.Option(
        "--events-per-active-week", min=1.0, help="With --canonical: mean platform actions per active "
        "person-week (real chat platforms: 10 to 50; default 3, the export mode's volume).")] = None,
    formats: Annotated[str | None, typer.Option(
        "--formats", help=FORMATS_HELP)] = None,
) -> None:
    """Simulate an organisation: a raw drop zone (real export formats, or canonical Parquet) plus ground_truth.json."""
    from pipelines.simulator import PlatformFormats
    from pipelines.simulator import simulate as run_simulation

    try:
        chosen = PlatformFormats.parse(formats)
    except ValueError as exc:
        _fail(f"--formats: {exc}")
        return
    if out_dir.exists() and any(out_dir.iterdir()):
        _fail(f"{out_dir} is not empty; choose a new directory (nothing was written)")
    with _progress() as progress:
        task = progress.add_task("simulating", total=100)

        def report(step: str, fraction: float) -> None:
            progress.update(task, description=step, completed=int(100 * fraction))

        if events_per_active_week is not None and not canonical:
            _fail("--events-per-active-week needs --canonical (the export formats are written from memory)")
        first = _default_simulation_start(weeks, dt.date.today())
        if start:
            try:
                first = dt.date.fromisoformat(start)
            except ValueError:
                _fail(f"--start {start!r}: expected a date YYYY-MM-DD")
            if first.isoweekday() != 1:
                _fail(f"--start {start}: expected a Monday")
        summary = run_simulation(out_dir, employees=employees, weeks=weeks, seed=seed, progress=report,
                                 start=first, canonical=canonical, events_per_active_week=events_per_active_week,
                                 formats=chosen)
        progress.update(task, completed=100)
    out.print(f"drop zone written to {out_dir}", soft_wrap=True)
    if summary is not None:
        log.info("%s", summary)


DEFAULT_SIMULATION_START = dt.date(2026, 1, 5)


def _default_simulation_start(weeks: int, today: dt.date) -> dt.date:
    """2026-01-05, unless ``weeks`` weeks from it would reach past the last complete week before
    ``today``: then the Monday that makes the history end with that week (no event in the future)."""
    this_monday = today - dt.timedelta(days=today.weekday())
    latest = this_monday - dt.timedelta(weeks=weeks)
    return min(DEFAULT_SIMULATION_START, latest)


def _parse_week(week: str | None, option: str = "--week") -> dt.date | None:
    if not week:
        return None
    try:
        return dt.datetime.strptime(week + "-1", "%G-W%V-%u").date()
    except ValueError:
        _fail(f"{option} {week!r}: expected an ISO week like 2026-W14")
        return None


@app.command()
def run(
    raw: Annotated[Path, typer.Option("--raw", help="The raw drop zone (see docs/drop_zone.md).")],
    warehouse: Annotated[Path, typer.Option("--warehouse", help="The DuckDB warehouse file (created if missing).")],
    reports: Annotated[Path | None, typer.Option(
        "--reports", help="Where to write the weekly report (default: reports/ next to the warehouse, "
        "or $UPTAKE_REPORTS_DIR).")] = None,
    published: Annotated[Path | None, typer.Option(
        "--published", help="Where to publish Parquet snapshots of the marts (default: published/ next to the "
        "warehouse, or $UPTAKE_PUBLISHED).")] = None,
    week: Annotated[str | None, typer.Option(
        "--week", help="The report's ISO week YYYY-Www (a partition); default: the last week that has ended.")] = None,
    until: Annotated[str, typer.Option(
        "--until", help="Stop after this layer: ingest, clean, identity, marts, report.")] = "report",
    engine: Annotated[str | None, typer.Option(
        "--engine", help="What runs the events layers: duckdb (default) or spark; default: settings.yaml's "
        "engine.name.")] = None,
    spark_master: Annotated[str | None, typer.Option(
        "--spark-master", help="Spark master: local[N] (default local[2]), sc://host:port (Spark Connect) or a "
        "cluster URL; implies --engine spark.")] = None,
    lake: Annotated[Path | None, typer.Option(
        "--lake", help="The Parquet lake the Spark engine reads and writes (default: lake/ next to the "
        "warehouse).")] = None,
    timings: Annotated[Path | None, typer.Option(
        "--timings", help="Write each step's wall-clock seconds, its rank in completion order, when it ended "
        "(Unix time) and the process's peak resident memory then to this JSON file (slowest first).")] = None,
) -> None:
    """Run the weekly job (the one the schedule runs) for a drop zone: ingest, clean, identity, marts, report."""
    from pipelines.run_lock import WarehouseBusyError, run_holding

    holder = run_holding(warehouse)
    if holder is not None:  # refused before the (slow) imports; the run's own lock decides below
        _fail(f"{warehouse} is being written by {holder.describe()}; wait for it to finish. Reports and "
              "notebooks can read the published snapshots meanwhile.")
    from pipelines.runner import PipelineRunError, run_job
    from pipelines.schedules import engine_settings

    if _PROCESS_IS_THE_COMMAND:  # the imported modules live until exit: keep the collector from re-scanning them
        gc.freeze()

    if not raw.is_dir():
        _fail(f"drop zone {raw} does not exist or is not a directory")
    if not (raw / "settings.yaml").is_file():
        _fail(f"{raw / 'settings.yaml'} is missing: every drop zone needs the organisation's settings")
    if engine is not None and engine not in ("duckdb", "spark"):
        _fail(f"--engine {engine!r}: expected duckdb or spark")
    try:
        chosen = engine_settings(raw)
    except ValueError as exc:
        _fail(str(exc))
        return
    if engine == "duckdb" and spark_master:
        _fail("--spark-master goes with --engine spark")
    overrides = {k: v for k, v in (("name", "spark" if spark_master else engine), ("spark_master", spark_master),
                                   ("lake", str(lake) if lake else None)) if v}
    chosen = chosen.model_copy(update=overrides)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with _progress() as progress:
        task = progress.add_task("running", total=None)

        peak_gib: dict[str, tuple[int, float, float]] = {}

        def step_done(done: int, total: int, step: str) -> None:
            progress.update(task, total=total, completed=done, description=step)
            peak_gib[step] = (done, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,  # KiB on Linux
                              time.time())

        try:
            outcome = run_job(raw, warehouse, reports=reports, published=published, week=_parse_week(week),
                              until=until, progress=step_done, verbose=_VERBOSE.get(), engine=chosen)
        except (PipelineRunError, WarehouseBusyError) as exc:
            progress.stop()
            _fail(str(exc))
            return
    if timings is not None:
        unreported = (None, float("nan"), None)
        slowest = {step: {"seconds": round(seconds, 3), "finished": peak_gib.get(step, unreported)[0],
                          "finished_at": peak_gib.get(step, unreported)[2],
                          "peak_gib_after": round(peak_gib.get(step, unreported)[1], 3)}
                   for step, seconds in sorted(outcome.step_seconds.items(), key=lambda kv: -kv[1])}
        timings.write_text(json.dumps(slowest, indent=1), encoding="utf-8")
    if outcome.report_path:
        out.print(str(outcome.report_path), soft_wrap=True)


@app.command()
def report(
    warehouse: Annotated[Path, typer.Option("--warehouse", help="The DuckDB warehouse file.")],
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    week: Annotated[str | None, typer.Option(
        "--week", help="ISO week YYYY-Www; default: the latest complete week with data.")] = None,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="The report's language: en or fr (default: settings.yaml's language, else en).")] = None,
    published: Annotated[Path | None, typer.Option(
        "--published", help="The published snapshots read while a run writes the warehouse (default: published/ "
        "next to the warehouse, or $UPTAKE_PUBLISHED).")] = None,
    wait: Annotated[float, typer.Option(
        "--wait", help="Seconds to wait for a run writing the warehouse when nothing is published yet.")] = 3600.0,
) -> None:
    """Write the weekly adoption report of a week from an existing warehouse.

    While a run writes the warehouse, the report is made from the snapshots the last run published
    (said on stderr); with nothing published yet it waits for the run. A report made after a run
    that failed or did not finish says so at the top of the page and on stderr."""
    from pipelines.locations import published_dir
    from pipelines.publish import PublishedTableMissingError, open_published, read_manifest
    from pipelines.readers import connect_read_only
    from pipelines.run_history import last_run, stale_notice
    from pipelines.run_lock import WarehouseBusyError, run_holding
    from transforms.report.i18n import UnsupportedLanguageError, normalise_language

    if not warehouse.is_file():
        _fail(f"warehouse {warehouse} does not exist; run `uptake run` first")
    week_start = _parse_week(week)
    language = None
    if lang is not None:
        try:
            language = normalise_language(lang)
        except UnsupportedLanguageError as exc:
            _fail(f"--lang {lang!r}: {exc}")
    holder = run_holding(warehouse)
    if holder is not None:
        folder = published or published_dir(warehouse)
        try:
            con = open_published(folder)
        except PublishedTableMissingError:
            con = None
        if con is not None:
            stamp = (read_manifest(folder) or {}).get("published_at", "?")
            console.print(f"[yellow]note:[/] {warehouse} is being written by {holder.describe()}; this report is "
                          f"made from the snapshots the last run published in {folder} at {stamp}", soft_wrap=True)
            with con:
                path, summary = _write_report_or_fail(con, out_file, week_start, language=language)
            out.print(str(path), soft_wrap=True)
            return
    try:
        con = connect_read_only(warehouse, wait=wait,
                                say=lambda m: console.print(f"[yellow]waiting:[/] {m}", soft_wrap=True))
    except WarehouseBusyError as exc:
        _fail(str(exc))
        return
    with con:
        notice = stale_notice(last_run(con), warehouse)
        if notice:
            console.print(f"[bold yellow]warning:[/] {notice}", soft_wrap=True)
        path, summary = _write_report_or_fail(con, out_file, week_start, language=language, last_run_of=warehouse)
    out.print(str(path), soft_wrap=True)


def _write_report_or_fail(con: object, out_file: Path, week: dt.date | None, **options: object) -> tuple[Path, dict]:
    """:func:`pipelines.report_file.write_report`, a warehouse without a complete week of data as a
    one-line error, and a week asked for beyond the data said on stderr (the week shown instead)."""
    from pipelines.report_file import NoCompleteWeekError, write_report

    try:
        path, summary = write_report(con, out_file, week, **options)
    except NoCompleteWeekError as exc:
        _fail(str(exc))
        raise
    if summary["requested_week"] and summary["requested_week"] != summary["week"]:
        console.print(f"[yellow]note:[/] {summary['requested_week']} is beyond the data (it has not ended, or no "
                      f"platform data covers it): the report shows {summary['week']}, the latest complete week "
                      "with data before it", soft_wrap=True)
    return path, summary


@app.command()
def check(warehouse: Annotated[Path, typer.Option("--warehouse", help="The DuckDB warehouse file.")]) -> None:
    """Run every quality check on a warehouse; exit non-zero when an error-level check fails."""
    from pipelines.check_cli import check_command

    raise typer.Exit(code=check_command(warehouse))


@app.command()
def connectors() -> None:
    """List the registered connectors and what each reads."""
    from pipelines.connectors import registered_connectors

    table = Table("name", "kind", "reads", "yields", "cannot see", title="uptake connectors")
    for c in registered_connectors().values():
        table.add_row(c.name, c.kind, c.reads, ", ".join(c.yields), ", ".join(c.cannot_see) or "-")
    out.print(table)


@app.command()
def demo(
    employees: Annotated[int, typer.Option(help="Employees in the simulated organisation.")] = 2000,
    weeks: Annotated[int, typer.Option(help="Weeks of history.")] = 40,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    data_dir: Annotated[Path, typer.Option(help="Where the demo writes (drop zone, warehouse, reports).")] = Path("data"),
    formats: Annotated[str | None, typer.Option("--formats", help=FORMATS_HELP)] = None,
) -> None:
    """Simulate an organisation, run everything, print the report's path."""
    from pipelines.simulator import PlatformFormats

    try:
        PlatformFormats.parse(formats)
    except ValueError as exc:
        _fail(f"--formats: {exc}")
    raw = data_dir / "raw"
    warehouse = data_dir / "warehouse.duckdb"
    for stale in (raw, warehouse, Path(str(warehouse) + ".wal")):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    simulate(out_dir=raw, employees=employees, weeks=weeks, seed=seed, formats=formats)
    run(raw=raw, warehouse=warehouse, reports=data_dir / "reports", published=data_dir / "published", week=None,
        until="report")


def main() -> None:  # pragma: no cover - console script entry
    global _PROCESS_IS_THE_COMMAND
    _PROCESS_IS_THE_COMMAND = True  # not when the commands are called in-process (tests, notebooks)
    try:
        app()
    except UptakeCliError as exc:
        console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        sys.exit(1)
    finally:
        # Exit handlers still run; the interpreter's last collections skip what is left (about 1 s of a
        # run's exit with Dagster and Great Expectations loaded, for memory the process gives back anyway).
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
