"""Where uptake reads and writes, one rule each: the drop zone, the warehouse, and the reports and
published snapshots, which live next to the warehouse unless an environment variable says otherwise.

    data/raw/                 the drop zone            $UPTAKE_RAW_DIR
    data/warehouse.duckdb     the warehouse            $UPTAKE_WAREHOUSE
    data/reports/             next to the warehouse    $UPTAKE_REPORTS_DIR
    data/published/           next to the warehouse    $UPTAKE_PUBLISHED
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DEFAULT_DROP_ZONE",
    "DEFAULT_WAREHOUSE",
    "PUBLISHED_ENV",
    "RAW_ENV",
    "REPORTS_ENV",
    "WAREHOUSE_ENV",
    "drop_zone_dir",
    "published_dir",
    "reports_dir",
    "warehouse_path",
]

DEFAULT_DROP_ZONE = "data/raw"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
RAW_ENV = "UPTAKE_RAW_DIR"
WAREHOUSE_ENV = "UPTAKE_WAREHOUSE"
REPORTS_ENV = "UPTAKE_REPORTS_DIR"
PUBLISHED_ENV = "UPTAKE_PUBLISHED"


def drop_zone_dir() -> Path:
    """``$UPTAKE_RAW_DIR``, else ``data/raw``."""
    return Path(os.environ.get(RAW_ENV) or DEFAULT_DROP_ZONE)


def warehouse_path() -> Path:
    """``$UPTAKE_WAREHOUSE``, else ``data/warehouse.duckdb``."""
    return Path(os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE)


def _beside_warehouse(env: str, name: str, warehouse: str | Path | None) -> Path:
    value = os.environ.get(env)
    if value:
        return Path(value)
    return Path(warehouse if warehouse is not None else warehouse_path()).parent / name


def reports_dir(warehouse: str | Path | None = None) -> Path:
    """``$UPTAKE_REPORTS_DIR``, else ``reports/`` next to the warehouse (default ``data/reports``)."""
    return _beside_warehouse(REPORTS_ENV, "reports", warehouse)


def published_dir(warehouse: str | Path | None = None) -> Path:
    """``$UPTAKE_PUBLISHED``, else ``published/`` next to the warehouse (default ``data/published``)."""
    return _beside_warehouse(PUBLISHED_ENV, "published", warehouse)
