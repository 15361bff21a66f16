"""The simulator: a deterministic simulated organisation with a planted truth, written as a raw drop
zone in the platforms' real export formats (``uptake simulate``).

- :func:`simulate` writes the drop zone and ``ground_truth.json``;
- :func:`simulate_truth_panel` returns the same world's person x week panel and truth, fast, for
  statistical tests over many seeds (no files, no connectors).

Same seed and arguments -> byte-identical files. The model is documented in ``docs/simulator.md``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.simulator.parameters import SimulationParameters
from pipelines.simulator.platform_formats import PlatformFormats
from pipelines.simulator.world import SimulatedWorld, build_ground_truth, build_world, truth_panel

log = logging.getLogger(__name__)

__all__ = ["PlatformFormats", "SimulationParameters", "SimulationSummary", "simulate", "simulate_truth_panel"]


@dataclass(frozen=True)
class SimulationSummary:
    """What :func:`simulate` wrote."""

    out_dir: Path
    employees: int
    weeks: int
    seed: int
    start: dt.date
    people_total: int
    files: tuple[str, ...]  # relative paths, sorted
    events_by_source: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        events = ", ".join(f"{k}={v}" for k, v in sorted(self.events_by_source.items()))
        return (f"simulated {self.employees} employees x {self.weeks} weeks (seed {self.seed}) into {self.out_dir}: "
                f"{len(self.files)} files; events {events}")


def simulate(out_dir: Path, *, employees: int = 2000, weeks: int = 40, seed: int = 0,
             start: dt.date = dt.date(2026, 1, 5),
             progress: Callable[[str, float], None] | None = None,
             canonical: bool = False, events_per_active_week: float | None = None,
             params: SimulationParameters | None = None,
             formats: PlatformFormats | str | None = None) -> SimulationSummary:
    """Write a simulated drop zone into ``out_dir`` (created if missing) and return what was written.

    ``start`` must be a Monday. ``progress(step, fraction)`` is called as the stages advance.
    ``canonical``: write HR, accounts, events and Teams counters as canonical Parquet, events
    streamed week by week (:mod:`pipelines.simulator.canonical`), at ``events_per_active_week``
    (default 3, about today's export volume); the export formats are written otherwise.
    ``params`` overrides the planted constants (e.g. a planted pre-trend); default
    :class:`~pipelines.simulator.parameters.SimulationParameters`.
    ``formats`` writes the Slack workspace, the Mattermost team or the Teams counters in another
    export format (``"slack=zulip,teams=viva_insights"``; :mod:`pipelines.simulator.platform_formats`);
    default: each platform's own.
    """
    if not isinstance(formats, PlatformFormats):
        formats = PlatformFormats.parse(formats)
    if events_per_active_week is not None and not canonical:
        raise ValueError("events_per_active_week needs canonical=True: the export formats are written from "
                         "an in-memory event table, the canonical files are streamed week by week")
    if canonical:
        return _simulate_canonical(Path(out_dir), employees=employees, weeks=weeks, seed=seed, start=start,
                                   progress=progress, events_per_active_week=events_per_active_week, params=params,
                                   formats=formats)
    from pipelines.simulator.drop_zone_files import write_config_files, write_kpi_feed
    from pipelines.simulator.ground_truth import write_ground_truth
    from pipelines.simulator.hr_extract import write_hr_extracts, write_scim
    from pipelines.simulator.m365_usage_report import write_m365_reports, write_viva_engage_reports
    from pipelines.simulator.viva_engage_export import write_viva_engage_export
    from pipelines.simulator.viva_insights_person_query import write_person_query

    say = progress or (lambda step, fraction: None)
    out_dir = Path(out_dir)
    world = build_world(employees, weeks, seed, start, progress=say, params=params, formats=formats)
    say("ground truth", 0.35)
    truth, weekly = build_ground_truth(world)
    written: list[Path] = []
    say("configuration and KPI files", 0.4)
    written += write_config_files(world, out_dir)
    written += write_kpi_feed(world, out_dir)
    say("HR extracts", 0.45)
    written += write_hr_extracts(world, out_dir)
    written.append(write_scim(world, out_dir))
    for platform, fraction in (("slack", 0.55), ("mattermost", 0.75)):
        fmt = formats.source(platform)
        say(f"{_TITLES[platform]} export" + (f" as {_TITLES[fmt]}" if fmt != platform else ""), fraction)
        written.append(_write_chat(world, out_dir, platform, fmt))
    say("Viva Engage export", 0.8)
    written.append(write_viva_engage_export(world, out_dir))
    say("Microsoft 365 usage reports", 0.9)
    if formats.teams == "m365_usage":
        written += write_m365_reports(world, out_dir)
    else:
        written.append(write_person_query(world, out_dir))
    written += write_viva_engage_reports(world, out_dir)
    written += write_ground_truth(world, truth, weekly, out_dir)
    say("done", 1.0)
    counts = world.events.events.group_by("source").len().with_columns(
        pl.col("source").replace_strict({p: formats.source(p) for p in ("slack", "mattermost", "viva_engage")}))
    summary = SimulationSummary(
        out_dir=out_dir, employees=employees, weeks=weeks, seed=seed, start=start,
        people_total=world.org.n_people,
        files=tuple(sorted(str(p.relative_to(out_dir)) for p in written)),
        events_by_source=dict(zip(counts["source"].to_list(), counts["len"].to_list(), strict=True)),
    )
    log.info("%s", summary)
    return summary


_TITLES = {"slack": "Slack", "mattermost": "Mattermost", "zulip": "Zulip", "google_chat": "Google Chat",
           "rocket_chat": "Rocket.Chat"}


def _write_chat(world: SimulatedWorld, out_dir: Path, platform: str, fmt: str) -> Path:
    """Write the simulated chat ``platform`` in export format ``fmt``."""
    if fmt == "slack":
        from pipelines.simulator.slack_export import write_slack_export
        return write_slack_export(world, out_dir)
    if fmt == "mattermost":
        from pipelines.simulator.mattermost_export import write_mattermost_export
        return write_mattermost_export(world, out_dir)
    if fmt == "zulip":
        from pipelines.simulator.zulip_export import write_zulip_export
        return write_zulip_export(world, out_dir, platform)
    if fmt == "google_chat":
        from pipelines.simulator.google_chat_export import write_google_chat_takeout
        return write_google_chat_takeout(world, out_dir, platform)
    from pipelines.simulator.rocket_chat_export import write_rocket_chat_export
    return write_rocket_chat_export(world, out_dir, platform)


def _simulate_canonical(out_dir: Path, *, employees: int, weeks: int, seed: int, start: dt.date,
                        progress: Callable[[str, float], None] | None,
                        events_per_active_week: float | None,
                        params: SimulationParameters | None = None,
                        formats: PlatformFormats | None = None) -> SimulationSummary:
    from pipelines.simulator.canonical import DEFAULT_EVENTS_PER_ACTIVE_WEEK, write_canonical_platforms
    from pipelines.simulator.drop_zone_files import write_config_files, write_kpi_feed
    from pipelines.simulator.ground_truth import write_ground_truth

    say = progress or (lambda step, fraction: None)
    world = build_world(employees, weeks, seed, start, progress=say, with_events=False, params=params,
                        formats=formats)
    say("ground truth", 0.35)
    truth, weekly = build_ground_truth(world)
    written: list[Path] = [*write_config_files(world, out_dir), *write_kpi_feed(world, out_dir)]
    say("canonical Parquet", 0.45)
    files, events = write_canonical_platforms(
        world, out_dir, events_per_active_week=events_per_active_week or DEFAULT_EVENTS_PER_ACTIVE_WEEK,
        progress=say)
    written += files
    written += write_ground_truth(world, truth, weekly, out_dir)
    say("done", 1.0)
    summary = SimulationSummary(out_dir=out_dir, employees=employees, weeks=weeks, seed=seed, start=start,
                                people_total=world.org.n_people,
                                files=tuple(sorted(str(p.relative_to(out_dir)) for p in written)),
                                events_by_source=events)
    log.info("%s", summary)
    return summary


def simulate_truth_panel(employees: int, weeks: int, seed: int, start: dt.date = dt.date(2026, 1, 5),
                         params: SimulationParameters | None = None) -> tuple[pl.DataFrame, dict[str, object]]:
    """The simulator's person x week panel (observables only) and its ground-truth dict.

    Same code path as :func:`simulate` (which adds the file writers), so the truth is identical to
    the ``ground_truth.json`` that ``simulate`` would write for the same arguments.
    """
    world = build_world(employees, weeks, seed, start, params=params)
    truth, _ = build_ground_truth(world)
    return truth_panel(world), truth
