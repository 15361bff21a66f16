"""What a quality check receives and returns: :class:`CheckContext` in, :class:`CheckOutcome` out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import polars as pl

from transforms.contracts.config import KpiRegistry, Settings


class Severity(StrEnum):
    ERROR = "error"
    WARN = "warn"


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check.

    Check functions fill ``passed``, ``message``, ``metadata`` and ``failing_rows`` (a small frame of
    offending rows or groups, identifiers only, never message text); the runner stamps the check's
    identity (``check``, ``target``, ``severity``, ``blocking``). ``skipped`` means the table a
    check reads does not exist (an optional asset that was not built): it counts as passed.
    """

    passed: bool
    message: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    failing_rows: pl.DataFrame | None = None
    skipped: bool = False
    check: str = ""
    target: str = ""
    severity: Severity = Severity.ERROR
    blocking: bool = False

    @property
    def fails_run(self) -> bool:
        """A failed ``error`` check: ``uptake check`` exits non-zero on any."""
        return not self.passed and self.severity is Severity.ERROR


@dataclass(frozen=True)
class CheckContext:
    """What a check may need besides the connection.

    ``settings`` and ``kpi_registry`` come from ``raw.settings`` (``None`` when the warehouse holds
    no configuration yet; checks then fall back to the models' defaults). ``source`` is set for
    per-source checks. ``gx_sample_rows`` bounds the frame handed to Great Expectations.
    """

    settings: Settings | None = None
    kpi_registry: KpiRegistry | None = None
    source: str | None = None
    gx_sample_rows: int = 50_000

    @property
    def time_zone(self) -> str:
        return self.settings.time_zone if self.settings else "UTC"

    @property
    def min_group_size(self) -> int:
        return self.settings.min_group_size if self.settings else Settings.model_fields["min_group_size"].default

    @property
    def identity_match_threshold(self) -> float:
        if self.settings:
            return self.settings.identity_match_threshold
        return Settings.model_fields["identity_match_threshold"].default

    def fmt(self, template: str) -> str:
        """``template`` with ``{source}`` bound to this context's source."""
        return template.format(source=self.source) if self.source else template
