"""Contract machinery: typed column lists, casting a frame onto a contract, and typed errors."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

log = logging.getLogger(__name__)


class ContractError(ValueError):
    """A frame or file does not meet its contract. The message names the file, field and expectation."""

    def __init__(self, message: str, *, file: str | None = None, locator: str | None = None) -> None:
        self.file = file
        self.locator = locator
        where = ", ".join(p for p in (file, locator) if p)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType | type[pl.DataType]
    nullable: bool = True
    doc: str = ""
    allowed: tuple[str, ...] | None = None  # closed vocabulary for string columns


@dataclass(frozen=True)
class Contract:
    """A canonical table: its columns, key and grain."""

    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    doc: str = ""
    forbidden: tuple[str, ...] = field(default=())  # column names that must never appear (e.g. text)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def duckdb_ddl(self, table: str) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for this contract (types via an empty Arrow table)."""
        cols = ", ".join(f'"{c.name}" {_duckdb_type(c.dtype)}' for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {table} ({cols})"

    def sql_casts(self, available: Sequence[str], *, overrides: Mapping[str, str] | None = None) -> str:
        """SQL select list putting a relation with columns ``available`` onto this contract: each
        column ``TRY_CAST`` to its type (null when absent), or the SQL expression in ``overrides``."""
        overrides = overrides or {}
        parts = []
        for c in self.columns:
            if c.name in overrides:
                expr = overrides[c.name]
            elif c.name in available:
                expr = f'TRY_CAST("{c.name}" AS {_duckdb_type(c.dtype)})'
            else:
                expr = f"NULL::{_duckdb_type(c.dtype)}"
            parts.append(f'{expr} AS "{c.name}"')
        return ", ".join(parts)

    def sql_problems(self, available: Sequence[str]) -> str:
        """SQL: why a row of a relation with columns ``available`` breaks this contract ('' when it
        does not): the rules of :func:`conform` (a value that cannot be cast, an empty required
        field, a value outside a closed vocabulary), each naming the field and the expectation."""
        checks = []
        for c in self.columns:
            col = f'"{c.name}"'
            if c.name not in available:
                if not c.nullable:
                    checks.append(f"'{c.name}: required, found empty'")
                continue
            sql_type = _duckdb_type(c.dtype)
            checks.append(f"CASE WHEN {col} IS NOT NULL AND TRY_CAST({col} AS {sql_type}) IS NULL "
                          f"THEN '{c.name}: cannot read as {sql_type}' END")
            if not c.nullable:
                checks.append(f"CASE WHEN {col} IS NULL THEN '{c.name}: required, found empty' END")
            if c.allowed is not None:
                allowed = ", ".join(f"'{a}'" for a in c.allowed)
                checks.append(f"CASE WHEN {col} IS NOT NULL AND CAST({col} AS VARCHAR) NOT IN ({allowed}) "
                              f"THEN '{c.name}: expected one of {', '.join(c.allowed)}' END")
        return f"concat_ws('; ', {', '.join(checks)})" if checks else "''"


def _duckdb_type(dtype: pl.DataType | type[pl.DataType]) -> str:
    dt = dtype if isinstance(dtype, pl.DataType) else dtype()
    if isinstance(dt, pl.Datetime):
        return "TIMESTAMPTZ" if dt.time_zone else "TIMESTAMP"
    if isinstance(dt, pl.List):
        return f"{_duckdb_type(dt.inner)}[]"
    mapping = {
        pl.Utf8: "VARCHAR",
        pl.Boolean: "BOOLEAN",
        pl.Int8: "TINYINT",
        pl.Int16: "SMALLINT",
        pl.Int32: "INTEGER",
        pl.Int64: "BIGINT",
        pl.Float64: "DOUBLE",
        pl.Date: "DATE",
    }
    for k, v in mapping.items():
        if isinstance(dt, k):
            return v
    raise TypeError(f"no DuckDB type for {dt}")


def empty_frame(contract: Contract) -> pl.DataFrame:
    """A zero-row frame with the contract's exact schema."""
    return pl.DataFrame(schema=contract.schema)


def conform(
    frame: pl.DataFrame,
    contract: Contract,
    *,
    file: str | None = None,
    locator_column: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast ``frame`` onto ``contract``; return ``(conforming rows, rejected rows)``.

    - A missing required column or a forbidden column raises :class:`ContractError` naming the
      column: that is a broken contract, not a bad row.
    - Extra columns are dropped (with a debug log), missing nullable columns are added as nulls.
    - Rows whose values cannot be cast, that are null where the contract forbids it, or that fall
      outside a closed vocabulary are returned as rejects with the ``REJECTS`` schema: ``reason``
      names the field and what was expected; ``locator`` comes from ``locator_column`` when given.

    The input frame is never modified.
    """
    from transforms.contracts.tables import REJECTS  # local: tables imports this module

    bad_cols = [c for c in frame.columns if c in contract.forbidden]
    if bad_cols:
        raise ContractError(
            f"{contract.name} must not carry {', '.join(bad_cols)} (message text stays in the connector)",
            file=file,
        )
    missing = [c.name for c in contract.columns if c.name not in frame.columns and not c.nullable]
    if missing:
        raise ContractError(
            f"missing required column(s) {', '.join(missing)} for {contract.name}; "
            f"expected columns {', '.join(contract.names)}",
            file=file,
        )
    extra = [c for c in frame.columns if c not in contract.names and c != locator_column]
    if extra:
        log.debug("%s: dropping columns not in %s: %s", file or "frame", contract.name, extra)

    exprs: list[pl.Expr] = []
    problems: list[pl.Expr] = []
    for c in contract.columns:
        if c.name in frame.columns:
            src = pl.col(c.name)
            cast = src.cast(c.dtype, strict=False)
            exprs.append(cast.alias(c.name))
            bad_cast = src.is_not_null() & cast.is_null()
            problems.append(
                pl.when(bad_cast).then(pl.lit(f"{c.name}: cannot read as {c.dtype}")).otherwise(None)
            )
            if not c.nullable:
                problems.append(
                    pl.when(src.is_null()).then(pl.lit(f"{c.name}: required, found empty")).otherwise(None)
                )
            if c.allowed is not None:
                problems.append(
                    pl.when(src.is_not_null() & ~src.cast(pl.Utf8).is_in(list(c.allowed)))
                    .then(pl.lit(f"{c.name}: expected one of {', '.join(c.allowed)}"))
                    .otherwise(None)
                )
        else:
            exprs.append(pl.lit(None, dtype=c.dtype).alias(c.name))
    reason = pl.concat_str(problems, separator="; ", ignore_nulls=True) if problems else pl.lit(None)
    locator = (
        pl.col(locator_column).cast(pl.Utf8)
        if locator_column and locator_column in frame.columns
        else pl.concat_str([pl.lit("row "), pl.int_range(1, pl.len() + 1).cast(pl.Utf8)])
    )
    staged = frame.with_columns(
        reason.alias("__reason"),
        locator.alias("__locator"),
    )
    staged = staged.with_columns(
        pl.when(pl.col("__reason") == "").then(None).otherwise(pl.col("__reason")).alias("__reason")
    )
    good = staged.filter(pl.col("__reason").is_null()).select(exprs)
    bad = staged.filter(pl.col("__reason").is_not_null())
    rejects = bad.select(
        pl.lit(contract.name).alias("contract"),
        pl.lit(file).cast(pl.Utf8).alias("file"),
        pl.col("__locator").alias("locator"),
        pl.col("__reason").alias("reason"),
    )
    rejects = rejects.with_columns(
        pl.lit(None, dtype=pl.Utf8).alias("source"), pl.lit(None, dtype=pl.Utf8).alias("excerpt")
    ).select(REJECTS.names)
    return good, rejects.cast(REJECTS.schema)  # type: ignore[arg-type]


def require_columns(columns: Sequence[str], required: Sequence[str], *, file: str, what: str) -> None:
    """Raise :class:`ContractError` if any of ``required`` is absent from ``columns``."""
    missing = [c for c in required if c not in columns]
    if missing:
        raise ContractError(
            f"missing column(s) {', '.join(missing)}; expected {what} with columns {', '.join(required)}",
            file=file,
        )
