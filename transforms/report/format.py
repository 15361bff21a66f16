"""Plain-language formatting of the report's numbers: shares, points, counts, weeks, dates.

Every function writes in the active language (:mod:`transforms.report.i18n`): ``42.3%`` and
``1,980`` in English, ``42,3 %`` and ``1 980`` in French. Every function takes ``None`` (a
suppressed or absent value) and returns "n/a" ("n.d." in French) for it, so a reading never shows
``None`` or ``nan``.
"""

from __future__ import annotations

import datetime as dt
import math

from transforms.report.i18n import _, format_date, format_number, format_percent, ngettext, pgettext

__all__ = [
    "count",
    "day",
    "is_number",
    "long_date",
    "na",
    "number",
    "pct",
    "points",
    "population_label",
    "signed",
    "signed_pct_points",
    "signed_points",
    "significant",
    "week_label",
]


def na() -> str:
    """How a missing value is written ("n/a")."""
    return pgettext("missing value", "n/a")


def is_number(x: object) -> bool:
    """True for a finite int or float (not bool, None or NaN)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def pct(share: float | None, digits: int = 0) -> str:
    """A share (0.423) as a percentage ("42%", or "42.3%" with ``digits=1``; "42 %" in French)."""
    return na() if not is_number(share) else format_percent(share, digits)


def points(pp: float | None, digits: int = 0) -> str:
    """An absolute difference already in percentage points, e.g. ``18.2`` -> "18 points"."""
    if not is_number(pp):
        return na()
    v = round(abs(pp), digits)
    return ngettext("{n} point", "{n} points", v).format(n=format_number(v, digits))


def signed(x: float | None, digits: int = 1) -> str:
    """A number with its sign ("+1.2", "-0.4"; "+1,2" in French)."""
    return na() if not is_number(x) else format_number(x, digits, sign=True)


def signed_points(pp: float | None, digits: int = 1) -> str:
    """A change in percentage points with its sign, e.g. "+1.2 pts", "-0.4 pts", "0.0 pts"."""
    if not is_number(pp):
        return na()
    v = round(pp, digits)
    text = format_number(v, digits, sign=True) if v != 0 else format_number(0, digits)
    return _("{value} pts").format(value=text)


def signed_pct_points(share_change: float | None, digits: int = 1) -> str:
    """A change of a share (0.012) as signed percentage points ("+1.2 pts")."""
    return na() if not is_number(share_change) else signed_points(100 * share_change, digits)


def count(n: float | None, *, missing: str | None = None) -> str:
    """A head count with thousands separators ("1,980"; "1 980" in French); ``missing`` (default "n/a") for none."""
    return (na() if missing is None else missing) if not is_number(n) else format_number(round(n))


def number(x: float | None, digits: int = 2) -> str:
    """A plain number with ``digits`` decimals and separators."""
    return na() if not is_number(x) else format_number(x, digits)


def significant(x: float | None, figures: int = 3) -> str:
    """A number with ``figures`` significant figures and no trailing zeros, like Python's ``:,.{figures}g``
    but never in exponent notation ("4.93", "4.9", "1,230", "0.0123")."""
    if not is_number(x):
        return na()
    if x == 0:
        return format_number(0)
    magnitude = math.floor(math.log10(abs(x)))
    digits = max(figures - 1 - magnitude, 0)
    value = round(x, digits)
    while digits > 0 and round(value, digits - 1) == value:  # no trailing zeros, as with "g"
        digits -= 1
    return format_number(value, digits)


def day(d: dt.date | None, *, missing: str | None = None) -> str:
    """A date as ISO ``YYYY-MM-DD`` (tables, where dates line up); ``missing`` (default "n/a") for none."""
    return (na() if missing is None else missing) if not isinstance(d, dt.date) else d.isoformat()


def long_date(d: dt.date | None) -> str:
    """A date in words: "7 December 2026" / "7 décembre 2026"."""
    return na() if not isinstance(d, dt.date) else format_date(d)


def week_label(week_start: dt.date | None, *, relative_to: dt.date | None = None) -> str:
    """"week 14" when in the same ISO year as ``relative_to`` (or none given), else "2025-W50"."""
    if week_start is None:
        return na()
    year, week, _day = week_start.isocalendar()
    if relative_to is None or relative_to.isocalendar()[0] == year:
        return _("week {number}").format(number=week)
    return f"{year}-W{week:02d}"


def population_label(population: object) -> str:
    """How a population is named to readers ("non_pilot" -> "not in a pilot", "office" -> "office");
    names from the HR directory or the drop zone (departments, sites, waves) are shown as they are."""
    from transforms.report.vocabulary import population_word

    return population_word(population)
