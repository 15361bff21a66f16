"""Plain-language formatting of the report's numbers: shares, points, counts, weeks.

Every function takes ``None`` (a suppressed or absent value) and returns ``"n/a"`` for it, so a
reading never shows ``None`` or ``nan``.
"""

from __future__ import annotations

import datetime as dt
import math

__all__ = ["count", "day", "population_label", "is_number", "number", "pct", "points", "signed_pct_points", "signed_points", "week_label"]

NA = "n/a"


def is_number(x: object) -> bool:
    """True for a finite int or float (not bool, None or NaN)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def pct(share: float | None, digits: int = 0) -> str:
    """A share (0.423) as a percentage ("42%", or "42.3%" with ``digits=1``)."""
    return NA if not is_number(share) else f"{100 * share:.{digits}f}%"


def points(pp: float | None, digits: int = 0) -> str:
    """An absolute difference already in percentage points, e.g. ``18.2`` -> "18 points"."""
    if not is_number(pp):
        return NA
    v = round(abs(pp), digits)
    unit = "point" if v == 1 else "points"
    return f"{v:.{digits}f} {unit}"


def signed_points(pp: float | None, digits: int = 1) -> str:
    """A change in percentage points with its sign, e.g. "+1.2 pts", "-0.4 pts", "0.0 pts"."""
    if not is_number(pp):
        return NA
    v = round(pp, digits)
    return f"{v:+.{digits}f} pts" if v != 0 else f"{0:.{digits}f} pts"


def signed_pct_points(share_change: float | None, digits: int = 1) -> str:
    """A change of a share (0.012) as signed percentage points ("+1.2 pts")."""
    return NA if not is_number(share_change) else signed_points(100 * share_change, digits)


def count(n: float | None, *, missing: str = NA) -> str:
    """A head count with thousands separators ("1,980"); ``missing`` for none."""
    return missing if not is_number(n) else f"{round(n):,}"


def day(d: dt.date | None, *, missing: str = NA) -> str:
    """A date as ISO ``YYYY-MM-DD``; ``missing`` for none (never "None")."""
    return missing if not isinstance(d, dt.date) else d.isoformat()


def number(x: float | None, digits: int = 2) -> str:
    """A plain number with ``digits`` decimals and separators."""
    return NA if not is_number(x) else f"{x:,.{digits}f}"


def week_label(week_start: dt.date | None, *, relative_to: dt.date | None = None) -> str:
    """"week 14" when in the same ISO year as ``relative_to`` (or none given), else "2025-W50"."""
    if week_start is None:
        return NA
    year, week, _ = week_start.isocalendar()
    if relative_to is None or relative_to.isocalendar()[0] == year:
        return f"week {week}"
    return f"{year}-W{week:02d}"


_POPULATION_LABELS = {"non_pilot": "not in a pilot", "(unknown)": "unknown", "organisation": "whole organisation"}


def population_label(population: object) -> str:
    """How a population is named to readers ("non_pilot" -> "not in a pilot")."""
    return _POPULATION_LABELS.get(str(population), str(population))
