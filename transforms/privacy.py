"""Minimum group size for published aggregates, with complementary suppression.

Rule (DESIGN.md, "Privacy"): no published aggregate describes fewer than ``min_group_size``
distinct people, in either arm of a comparison, and a suppressed cell cannot be recovered by
subtracting the published cells from a published total.

- The *size* of a cell is the number of distinct people it describes: its denominator (the
  eligible headcount of a population, the members of an arm), not the count of a state inside it.
- **Primary suppression**: a cell of size below ``min_group_size`` has its values nulled and its
  ``suppressed`` flag set.
- **Complementary suppression**: cells that partition a published total (e.g. the departments of
  one week add up to the organisation's headcount that week) are considered together. If any
  cell of a partition is suppressed, further cells are suppressed, smallest first, until (a) at
  least two cells are suppressed and (b) the suppressed cells together hold at least
  ``min_group_size`` people. Subtracting the published cells from the total then only reveals
  the sum over a group of at least ``min_group_size`` people, never one small cell.
- **Arms**: a comparison row (e.g. teams whose manager is active vs inactive) is suppressed when
  any of its arms is below ``min_group_size``.

Functions return new frames; the caller's frame is never modified.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = ["DEFAULT_MIN_GROUP_SIZE", "SUPPRESSED", "suppress_cells", "suppress_small_arms"]

DEFAULT_MIN_GROUP_SIZE = 5
#: Name of the flag column added by the suppression helpers.
SUPPRESSED = "suppressed"


def _check_min(min_group_size: int) -> None:
    if not isinstance(min_group_size, int) or min_group_size < 1:
        raise ValueError(f"min_group_size must be a positive integer, got {min_group_size!r}")


def _check_columns(table: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(f"{what}: column(s) {', '.join(missing)} not in table (columns: {', '.join(table.columns)})")


def suppress_cells(
    table: pl.DataFrame,
    *,
    size_column: str,
    value_columns: Sequence[str],
    partition_by: Sequence[str] = (),
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    complementary: bool = True,
    order_by: Sequence[str] = (),
) -> pl.DataFrame:
    """Null ``value_columns`` of cells describing fewer than ``min_group_size`` people.

    ``size_column`` holds each cell's number of distinct people (nulls count as 0) and is itself
    nulled when the cell is suppressed if it is listed in ``value_columns``. ``partition_by``
    names the columns whose values identify cells adding up to one published total (e.g.
    ``["week_start", "population_type"]``); with ``complementary`` the rule in the module docstring
    is applied inside each partition, picking the smallest cells first (ties broken by
    ``order_by``, then row order). Adds a boolean ``suppressed`` column.
    """
    _check_min(min_group_size)
    _check_columns(table, [size_column, *value_columns, *partition_by, *order_by], "suppress_cells")
    k = min_group_size
    size = pl.col(size_column).fill_null(0)
    staged = table.with_columns(
        size.alias("__size"), pl.int_range(pl.len()).alias("__row")
    ).sort([*partition_by, "__size", *order_by, "__row"])
    part = list(partition_by)

    def over(expr: pl.Expr) -> pl.Expr:
        return expr.over(part) if part else expr

    staged = staged.with_columns(
        over(pl.int_range(1, pl.len() + 1)).alias("__rank"),
        over(pl.col("__size").cum_sum()).alias("__cum"),
        over((pl.col("__size") < k).sum()).alias("__n_primary"),
        over(pl.len()).alias("__n_cells"),
    )
    if complementary:
        need = pl.max_horizontal(pl.col("__n_primary"), pl.lit(2))
        candidate = (pl.col("__rank") >= need) & (pl.col("__cum") >= k)
        n_star = over(pl.when(candidate).then(pl.col("__rank")).min()).fill_null(pl.col("__n_cells"))
        n_suppressed = pl.when(pl.col("__n_primary") == 0).then(0).otherwise(n_star)
        flag = pl.col("__rank") <= n_suppressed
    else:
        flag = pl.col("__size") < k
    staged = staged.with_columns(flag.alias(SUPPRESSED))
    out = staged.with_columns(
        [pl.when(pl.col(SUPPRESSED)).then(None).otherwise(pl.col(c)).alias(c) for c in value_columns]
    ).sort("__row")
    return out.drop("__size", "__row", "__rank", "__cum", "__n_primary", "__n_cells")


def suppress_small_arms(
    table: pl.DataFrame,
    *,
    size_columns: Sequence[str],
    value_columns: Sequence[str],
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> pl.DataFrame:
    """Null ``value_columns`` of rows where ANY of ``size_columns`` (one per arm) is below ``min_group_size``.

    Adds (or combines with an existing) boolean ``suppressed`` column.
    """
    _check_min(min_group_size)
    _check_columns(table, [*size_columns, *value_columns], "suppress_small_arms")
    small = pl.any_horizontal([pl.col(c).fill_null(0) < min_group_size for c in size_columns])
    if SUPPRESSED in table.columns:
        small = small | pl.col(SUPPRESSED).fill_null(False)
    staged = table.with_columns(small.alias("__small"))
    return staged.with_columns(
        *[pl.when(pl.col("__small")).then(None).otherwise(pl.col(c)).alias(c) for c in value_columns],
        pl.col("__small").alias(SUPPRESSED),
    ).drop("__small")
