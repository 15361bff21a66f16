"""Shared fixtures for the transforms tests: an in-memory warehouse and a loader of hand-built
raw tables (rows given as dicts, cast onto the canonical contract)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import polars as pl
import pytest

from transforms.contracts import Contract
from transforms.contracts.config import Settings
from transforms.warehouse import ensure_schemas

Loader = Callable[[str, Contract, Sequence[dict[str, Any]]], None]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(":memory:")
    ensure_schemas(c)
    yield c
    c.close()


def load_rows(con: duckdb.DuckDBPyConnection, table: str, contract: Contract, rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` to ``table`` (created from the contract if absent); missing columns are null."""
    con.execute(contract.duckdb_ddl(table))
    if not rows:
        return
    frame = pl.DataFrame(
        [{c: r.get(c) for c in contract.names} for r in rows], schema=contract.schema, strict=False
    )
    con.register("__rows", frame.to_arrow())
    con.execute(f"INSERT INTO {table} SELECT * FROM __rows")
    con.unregister("__rows")


@pytest.fixture(scope="session")
def rows_loader() -> Callable[[duckdb.DuckDBPyConnection, str, Contract, Sequence[dict[str, Any]]], None]:
    """``load_rows`` itself, for module-scoped fixtures that open their own connection."""
    return load_rows


@pytest.fixture
def load(con: duckdb.DuckDBPyConnection) -> Loader:
    def _load(table: str, contract: Contract, rows: Sequence[dict[str, Any]]) -> None:
        load_rows(con, table, contract, rows)

    return _load


def _make_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "organisation": "Test Org",
        "time_zone": "Europe/Paris",
        "platform_launch": dt.date(2026, 1, 5),
        "email_domains": ["northwind.example"],
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(scope="session")
def make_settings() -> Callable[..., Settings]:
    """Settings for a Paris organisation launched 2026-01-05; keyword arguments override fields."""
    return _make_settings
