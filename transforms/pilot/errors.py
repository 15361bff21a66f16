"""Typed errors of the pilot analyses: each names the frame, the column and what was expected."""

from __future__ import annotations

from transforms.contracts.base import ContractError


class PilotInputError(ContractError):
    """A frame handed to a pilot analysis cannot be used as it is.

    ``frame`` names the input (``"unit frame"``, ``"person_week"``, ``"kpi panel"``...), ``column``
    the offending column; the message says what was expected.
    """

    def __init__(self, message: str, *, frame: str = "frame", column: str | None = None) -> None:
        self.frame = frame
        self.column = column
        super().__init__(message, file=frame, locator=f"column {column!r}" if column else None)


class NoOverlapError(PilotInputError):
    """Treated and control units do not overlap enough on their covariates to estimate an effect."""
