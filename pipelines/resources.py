"""Dagster resources: the warehouse (an embedded DuckDB file), the drop zone, the pseudonym secret,
and the per-run cache of the marts' shared inputs.

Asset code never changes between a laptop and production: only these resources do (tests swap the
warehouse for a temporary file).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, InitResourceContext
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from pipelines.locations import DEFAULT_DROP_ZONE, published_dir, reports_dir
from pipelines.run_history import write_connection
from pipelines.run_lock import held_here, warehouse_run_lock
from transforms.marts import InputCache
from transforms.pseudonym import new_secret

log = logging.getLogger(__name__)



class WarehouseResource(DuckDBResource):
    """The embedded DuckDB warehouse (schemas raw, clean, marts, quality).

    Unlike the base resource, the connection is closed even when the asset raises, so a failed
    step never keeps the file's write lock. A run that did not come through ``uptake run`` (the
    Dagster UI, the schedule, the sensor) takes the warehouse's run lock when its resources start
    (:mod:`pipelines.run_lock`): it fails at once, naming the running one, while another run writes.
    """

    _run_lock: ExitStack | None = PrivateAttr(default=None)
    _keep_open: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        if self.database == ":memory:":
            return
        stack = ExitStack()
        if not held_here(self.database):
            stack.enter_context(warehouse_run_lock(self.database, run_id=context.run.run_id if context.run else "dagster",
                                                   raw="(a Dagster run)"))
        self._run_lock = stack
        # One connection held for the whole run keeps the database open in this process: each step's
        # connection is then another handle on it (DuckDB's instance cache), instead of opening the
        # file, reading its catalog and checkpointing it once per step (about 45 ms each, 3 s of the
        # demo's 75 steps). The file stays locked against other processes until the run ends, as the
        # run lock already says.
        try:
            self._keep_open = self._connect()
        except BaseException:
            stack.close()
            raise

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._keep_open is not None:
            self._keep_open.close()
            self._keep_open = None
        if self._run_lock is not None:
            self._run_lock.close()
            self._run_lock = None

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A read-write connection configured as every step's, waiting (as the steps' own connections
        do) while another process's reader holds the file."""
        return write_connection(self.database, config={"custom_user_agent": "dagster", **self.connection_config})

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with super().get_connection() as con:
            try:
                yield con
            finally:
                con.close()


class DropZoneResource(ConfigurableResource):
    """Where raw exports are dropped (see docs/drop_zone.md), where weekly reports and the published
    snapshots go (by default next to the warehouse: ``pipelines.locations``)."""

    raw_dir: str = Field(default=DEFAULT_DROP_ZONE, description="the raw drop zone")
    reports_dir: str = Field(default_factory=lambda: str(reports_dir()), description="where weekly reports go")
    published_dir: str = Field(default_factory=lambda: str(published_dir()),
                               description="where Parquet snapshots of the marts go, for notebooks")

    @property
    def path(self) -> Path:
        return Path(self.raw_dir)

    @property
    def reports(self) -> Path:
        return Path(self.reports_dir)

    @property
    def published(self) -> Path:
        return Path(self.published_dir)


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
            path.write_bytes(new_secret().hex().encode("ascii"))
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
            log.warning("created a new pseudonym secret at %s; keep it, person keys depend on it", path)
        return path.read_bytes().strip()


class MartInputsResource(ConfigurableResource):
    """The marts' shared inputs (``transforms.marts.inputs``), each loaded at most once per run.

    One cache per run: created when the run starts and dropped when it ends, so ``marts.person_week``
    is read into Python once however many marts read it. The job runs in one process
    (``in_process_executor``), so every step of a run sees the same cache.
    """

    _cache: InputCache = PrivateAttr(default_factory=InputCache)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._cache = InputCache()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self._cache = InputCache()

    @property
    def cache(self) -> InputCache:
        return self._cache

