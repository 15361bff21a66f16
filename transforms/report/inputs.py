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
    "QUALITY_TABLES",
    "ReportInputError",
    "ReportInputs",
    "require_columns",
    "report_tables",
    "table_up_to_week",
]

#: The data-quality tables of the "quality and coverage" section (``quality.coverage.COVERAGE_TABLES``).
QUALITY_TABLES: tuple[str, ...] = (
    "quality.coverage", "quality.match_rates", "quality.weeks_covered", "quality.hr_completeness",
    "quality.kpi_freshness", "quality.rejects_summary",
)


def report_tables() -> tuple[str, ...]:
    """Every table the report shows: the marts the registry declares as read by the report
    (``transforms.marts``), then :data:`QUALITY_TABLES`."""
    from transforms.marts import load_registry  # the registry imports the metric modules: load on use

    marts = [t for spec in load_registry().values() if "report" in spec.read_by for t in spec.tables]
    return (*marts, *QUALITY_TABLES)


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
    name, e.g. ``"marts.adoption_curve"``; any subset of :func:`report_tables`. ``week_start``: the
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
    notices: Sequence[str] = ()

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
