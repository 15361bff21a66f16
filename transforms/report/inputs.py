"""What the weekly report reads: tidy tables (already published marts), keyed by warehouse name.

The report never opens the warehouse: the caller (the Dagster asset, ``uptake report``, a notebook)
reads whichever tables exist and hands them over as Polars frames. A table that is absent makes
its section say so in one line; a table that is present but does not have the columns a chart
needs raises :class:`ReportInputError` inside that section, which the section turns into one line
too, so a missing or changed mart never breaks the whole report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from transforms.contracts.base import ContractError
from transforms.contracts.config import KpiDefinition
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE

__all__ = [
    "REPORT_TABLES",
    "ReportInputError",
    "ReportInputs",
    "require_columns",
    "table_up_to_week",
]

#: Every table the report can show, by warehouse name, with the function that computes it.
REPORT_TABLES: dict[str, str] = {
    "marts.adoption_curve": "transforms.metrics.adoption_curve.adoption_curve",
    "marts.usage_segments": "transforms.metrics.usage_segments.usage_segment_shares",
    "marts.lifecycle": "transforms.metrics.lifecycle.lifecycle_shares",
    "marts.retention": "transforms.metrics.retention.retention_triangle",
    "marts.inequality": "transforms.metrics.inequality.participation_inequality",
    "marts.diffusion": "transforms.metrics.diffusion.bass_parameters (or the projection)",
    "marts.diffusion_projection": "transforms.metrics.diffusion.bass_projection",
    "marts.non_users": "transforms.metrics.non_users.never_active (populations incl. worker_type)",
    "marts.digital_divide": "transforms.metrics.non_users.digital_divide",
    "marts.manager_relay": "transforms.metrics.manager_relay.manager_relay_effect (or the weekly arms)",
    "marts.team_uptake_by_manager": "transforms.metrics.manager_relay.team_uptake_by_manager_activity",
    "marts.pilot_representativeness": "transforms.pilot.representativeness.pilot_representativeness",
    "marts.pilot_effects": "transforms.pilot.effects_mart.pilot_effects",
    "marts.pilot_event_study": "optional: event-study rows apart (else read from marts.pilot_effects)",
    "marts.pilot_projection": "optional: projection rows apart (else read from marts.pilot_effects)",
    "marts.pilot_power": "transforms.pilot.power.kpi_power",
    "marts.community_outputs": "transforms.metrics.community_outputs.community_outputs",
    "marts.community_flags": "transforms.metrics.community_outputs.community_flags",
    "marts.outcome_kpis": "transforms.metrics.outcome_kpis.outcome_kpis",
    "marts.kpi_activity_link": "transforms.metrics.outcome_kpis.kpi_activity_lead_lag (all team KPIs stacked)",
    "quality.coverage": "quality.coverage.source_row_flow",
    "quality.match_rates": "quality.coverage.identity_match",
    "quality.weeks_covered": "quality.coverage.weeks_covered",
    "quality.hr_completeness": "quality.coverage.hr_completeness",
    "quality.kpi_freshness": "quality.coverage.kpi_feed_freshness",
    "quality.rejects_summary": "pipelines.publish (quality.rejects counted per source, contract and reason)",
}


class ReportInputError(ContractError):
    """A table handed to the report lacks what a chart or reading needs; names the table and columns."""

    def __init__(self, message: str, *, table: str, column: str | None = None) -> None:
        self.table = table
        self.column = column
        super().__init__(message, file=table, locator=f"column {column!r}" if column else None)


def require_columns(frame: pl.DataFrame, columns: Sequence[str], *, table: str) -> None:
    """Raise :class:`ReportInputError` naming ``table`` and every column of ``columns`` it lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReportInputError(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(columns)} "
            f"(the table has {', '.join(frame.columns) or 'no columns'})",
            table=table,
            column=missing[0],
        )


def table_up_to_week(frame: pl.DataFrame, week_start: dt.date) -> pl.DataFrame:
    """Rows of ``frame`` describing ``week_start`` or earlier (a new frame).

    Tables without a ``week_start`` column, and rows whose ``week_start`` is null (pooled rows),
    are kept whole: they are not weekly.
    """
    if "week_start" not in frame.columns:
        return frame
    ws = pl.col("week_start")
    if frame.schema["week_start"] != pl.Date:
        ws = ws.cast(pl.Date, strict=False)
    return frame.filter(ws.is_null() | (ws <= week_start))


@dataclass(frozen=True)
class ReportInputs:
    """Everything one weekly report shows.

    ``tables``: published marts (suppressed cells already nulled and flagged) keyed by warehouse
    name, e.g. ``"marts.adoption_curve"``; any subset of :data:`REPORT_TABLES`. ``week_start``: the
    Monday of the report's ISO week; rows after it are ignored. ``min_group_size``: the
    organisation's minimum group size; every chart also drops cells below it, whatever the table
    says. ``kpi_registry``: the outcome KPIs' definitions (unit, direction), for the outcome section.
    """

    organisation: str
    week_start: dt.date
    tables: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    kpi_registry: Sequence[KpiDefinition] = ()
    generated_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.week_start.isoweekday() != 1:
            raise ValueError(f"week_start {self.week_start.isoformat()}: expected the Monday that starts the week")
        if not isinstance(self.min_group_size, int) or self.min_group_size < 1:
            raise ValueError(f"min_group_size must be a positive integer, got {self.min_group_size!r}")
        bad = [k for k, v in self.tables.items() if not isinstance(v, pl.DataFrame)]
        if bad:
            raise TypeError(f"tables {', '.join(bad)}: expected Polars DataFrames")

    def table(self, name: str) -> pl.DataFrame | None:
        """Table ``name`` cut at the report's week, or ``None`` when it was not provided."""
        frame = self.tables.get(name)
        return None if frame is None else table_up_to_week(frame, self.week_start)

    def table_with(self, names: Sequence[str], column: str, *, whole: bool = False) -> tuple[str, pl.DataFrame] | None:
        """The first of ``names`` provided that has ``column``, as (name, table); ``None`` if none.

        Marts whose names differ between installations (e.g. the Bass parameters and projection)
        are recognised by a column only one of them has. ``whole`` skips the cut at the week.
        """
        for name in names:
            frame = self.tables.get(name)
            if frame is not None and column in frame.columns:
                return name, (frame if whole else table_up_to_week(frame, self.week_start))
        return None

    def kpi(self, name: str) -> KpiDefinition | None:
        """The registry entry of outcome KPI ``name``, if any."""
        return next((k for k in self.kpi_registry if k.name == name), None)
