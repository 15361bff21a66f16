"""Dagster resources: the warehouse (an embedded DuckDB file), the drop zone, the pseudonym secret.

Asset code never changes between a laptop and production: only these resources do (tests swap the
warehouse for a temporary file).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

log = logging.getLogger(__name__)

DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_DROP_ZONE = "data/raw"
DEFAULT_REPORTS = "data/reports"


class WarehouseResource(DuckDBResource):
    """The embedded DuckDB warehouse (schemas raw, clean, marts, quality).

    Unlike the base resource, the connection is closed even when the asset raises, so a failed
    step never keeps the file's write lock.
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with super().get_connection() as con:
            try:
                yield con
            finally:
                con.close()


class DropZoneResource(ConfigurableResource):
    """Where raw exports are dropped (see docs/drop_zone.md) and where reports are written."""

    raw_dir: str = Field(default=DEFAULT_DROP_ZONE, description="the raw drop zone")
    reports_dir: str = Field(default=DEFAULT_REPORTS, description="where weekly reports go")

    @property
    def path(self) -> Path:
        return Path(self.raw_dir)


def default_secret_path() -> Path:
    """The pseudonym secret's path: ``$UPTAKE_SECRET_FILE``, else ``~/.config/uptake/pseudonym.key``.

    It is kept outside the repository on purpose: whoever holds it can re-identify person keys.
    """
    env = os.environ.get("UPTAKE_SECRET_FILE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "uptake" / "pseudonym.key"


class PseudonymSecretResource(ConfigurableResource):
    """The per-installation HMAC secret for person keys; created (mode 0600) on first use."""

    path: str = Field(default_factory=lambda: str(default_secret_path()))

    def key(self) -> bytes:
        path = Path(self.path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(secrets.token_hex(32).encode())
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
            log.warning("created a new pseudonym secret at %s; keep it, person keys depend on it", path)
        return path.read_bytes().strip()
