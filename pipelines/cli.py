"""The ``uptake`` command line: demo, simulate, run, report, check, connectors."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sys
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
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False) -> None:
    _setup_logging(verbose)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code=1)


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the drop zone into.")],
    employees: Annotated[int, typer.Option(help="Number of employees.", min=20)] = 2000,
    weeks: Annotated[int, typer.Option(help="Number of weeks.", min=8)] = 40,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 0,
) -> None:
    """Simulate an organisation: a raw drop zone in real export formats plus ground_truth.json."""
    from pipelines.simulator import simulate as run_simulation

    if out_dir.exists() and any(out_dir.iterdir()):
        _fail(f"{out_dir} is not empty; choose a new directory (nothing was written)")
    with _progress() as progress:
        task = progress.add_task("simulating", total=100)

        def report(step: str, fraction: float) -> None:
            progress.update(task, description=step, completed=int(100 * fraction))

        summary = run_simulation(out_dir, employees=employees, weeks=weeks, seed=seed, progress=report)
        progress.update(task, completed=100)
    out.print(f"drop zone written to {out_dir}", soft_wrap=True)
    if summary is not None:
        log.info("%s", summary)


def _root_cause(error) -> str:
    """The innermost exception message of a Dagster error (the connector's own words)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip().splitlines()[-1] if error.message.strip() else error.cls_name


LAYERS: tuple[str, ...] = ("ingest", "clean", "identity", "marts", "report")


def materialise(raw: Path, warehouse: Path, reports: Path, *, until: str = "report") -> dict[str, object]:
    """Materialise every asset for a drop zone, layer by layer up to ``until``, stopping at a
    failed blocking check (downstream layers are then not run)."""
    from dagster import DagsterInstance, materialize

    from pipelines.assets import all_asset_checks, all_assets
    from pipelines.definitions import build_resources

    assets = all_assets()
    checks = all_asset_checks()
    if until not in LAYERS:
        raise UptakeCliError(f"--until {until!r}: expected one of {', '.join(LAYERS)}")
    layers = LAYERS[: LAYERS.index(until) + 1]
    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    resources = build_resources(raw, warehouse, reports)
    metadata: dict[str, object] = {}
    with _progress() as progress:
        task = progress.add_task("materialising", total=len(layers))
        for layer in layers:
            keys = [k for a in assets for k in a.keys if a.group_names_by_key.get(k) == layer]
            if not keys:
                progress.advance(task)
                continue
            progress.update(task, description=f"{layer}: {len(keys)} asset(s)")
            result = materialize(
                [*assets, *checks], selection=keys, instance=instance, resources=resources,
                raise_on_error=False, tags={"uptake/layer": layer},
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            blocked = [
                f"blocking check {ev.asset_check_key.name} on {ev.asset_key.to_user_string()} failed: "
                f"{ev.description or ''}"
                for ev in result.get_asset_check_evaluations()
                if not ev.passed and ev.blocking and ev.severity.value == "ERROR"
            ]
            if blocked:
                raise UptakeCliError("; ".join(blocked) + " (downstream assets were not run)")
            failures = [e for e in result.all_events if e.is_step_failure]
            if failures:
                msgs = "; ".join(f"{e.step_key}: {_root_cause(e.event_specific_data.error)}" for e in failures)
                raise UptakeCliError(f"{layer} layer failed: {msgs}")
            for event in result.get_asset_materialization_events():
                mat = event.step_materialization_data.materialization
                metadata[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
            progress.advance(task)
    return metadata


@app.command()
def run(
    raw: Annotated[Path, typer.Option("--raw", help="The raw drop zone (see docs/drop_zone.md).")],
    warehouse: Annotated[Path, typer.Option("--warehouse", help="The DuckDB warehouse file (created if missing).")],
    reports: Annotated[Path, typer.Option("--reports", help="Where to write the weekly report.")] = Path("data/reports"),
    until: Annotated[str, typer.Option("--until", help="Stop after this layer: ingest, clean, identity, marts, report.")] = "report",
) -> None:
    """Materialise every asset (ingest, clean, identity, marts, report) for a drop zone."""
    if not raw.is_dir():
        _fail(f"drop zone {raw} does not exist or is not a directory")
    if not (raw / "settings.yaml").is_file():
        _fail(f"{raw / 'settings.yaml'} is missing: every drop zone needs the organisation's settings")
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        metadata = materialise(raw, warehouse, reports, until=until)
    except UptakeCliError as exc:
        _fail(str(exc))
        return
    path = (metadata.get("report/weekly_adoption_report") or {}).get("path")
    if path:
        out.print(str(path), soft_wrap=True)


@app.command()
def report(
    warehouse: Annotated[Path, typer.Option("--warehouse", help="The DuckDB warehouse file.")],
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    week: Annotated[str | None, typer.Option("--week", help="ISO week YYYY-Www; default: the latest.")] = None,
) -> None:
    """Write the weekly adoption report of a week from an existing warehouse."""
    import duckdb

    from pipelines.assets.report import write_report

    if not warehouse.is_file():
        _fail(f"warehouse {warehouse} does not exist; run `uptake run` first")
    week_start = None
    if week:
        try:
            week_start = dt.datetime.strptime(week + "-1", "%G-W%V-%u").date()
        except ValueError:
            _fail(f"--week {week!r}: expected an ISO week like 2026-W14")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        path, _ = write_report(con, out_file, week_start)
    out.print(str(path), soft_wrap=True)


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
) -> None:
    """Simulate an organisation, run everything, print the report's path."""
    raw = data_dir / "raw"
    warehouse = data_dir / "warehouse.duckdb"
    for stale in (raw, warehouse, Path(str(warehouse) + ".wal")):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    simulate(out_dir=raw, employees=employees, weeks=weeks, seed=seed)
    run(raw=raw, warehouse=warehouse, reports=data_dir / "reports")


def main() -> None:  # pragma: no cover - console script entry
    try:
        app()
    except UptakeCliError as exc:
        console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
