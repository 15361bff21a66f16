"""Fixtures of the quality tests: a fresh hand-made warehouse per test (see warehouse_fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from tests.quality.warehouse_fixture import build_warehouse


@pytest.fixture()
def wh() -> Iterator[duckdb.DuckDBPyConnection]:
    con = build_warehouse(duckdb.connect())
    try:
        yield con
    finally:
        con.close()

