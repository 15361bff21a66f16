"""Person histories on calendar weeks: the first active week ever, and whole weeks between Mondays.

Weeks are ISO weeks identified by their Monday (``week_start``). All "previous week" and
"last 12 weeks" logic is calendar arithmetic on ``week_start``, never row offsets, so a week with
no row (a gap in eligibility, a missing export) counts as a week without activity.
"""

from __future__ import annotations

import polars as pl

__all__ = ["FIRST_ROW_WEEK", "PERSON_WEEK_CORE", "weeks_between", "with_first_active"]

#: Columns every activity metric reads from ``marts.person_week``.
PERSON_WEEK_CORE: tuple[str, ...] = (
    "person_key",
    "week_start",
    "is_active",
    "is_engaged",
    "is_contributor",
    "first_active_week",
)

#: Optional column of a person-week frame cut to recent weeks: the person's first week with a row
#: in the whole table (what a metric that measures the length of a history needs to know).
FIRST_ROW_WEEK = "first_row_week"


def weeks_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Whole weeks from Monday ``start`` to Monday ``end`` (negative if ``end`` is earlier)."""
    return ((end - start).dt.total_days() // 7).cast(pl.Int32)


def with_first_active(person_week: pl.DataFrame) -> pl.DataFrame:
    """``person_week`` with ``first_active`` = the person's first active week EVER.

    It is the earlier of the contract's ``first_active_week`` (computed over all data, also
    before the rows at hand) and the first week with ``is_active`` among the rows at hand, so
    that a frame cut to a window still knows who was active before it. Null = never active.
    """
    first_in_rows = (
        pl.when(pl.col("is_active")).then(pl.col("week_start")).otherwise(None).min().over("person_key")
    )
    declared = pl.col("first_active_week").min().over("person_key")
    return person_week.with_columns(pl.min_horizontal(declared, first_in_rows).alias("first_active"))
