"""Published snapshots of the marts, for notebooks and anyone who must not hold the warehouse lock.

The warehouse is one DuckDB file with one writer; a notebook holding it open would block the next
pipeline run (and the other way round). So every run publishes what readers need as Parquet files
they can read at any time::

    <published>/marts/<table>.parquet        every marts.* table
    <published>/quality/<table>.parquet      every quality.* table except row-level rejects
                                             (``quality.rejects_summary`` counts them instead)
    <published>/config/<name>.json           settings, KPI registry, community charters, survey registry
    <published>/manifest.json                what was published, when, with row counts

``quality.rejects`` itself is not published: its excerpts hold identifiers. Pilot membership
(``raw.pilot_members``, employee ids) is not published either. Each file is written to a staging
folder and moved into place with an atomic rename, and the manifest is written last, so a reader
sees either the old or the new version of a file, never half of one.

Readers use :func:`read_published_table` / :func:`read_published`; the folder is
``$UPTAKE_PUBLISHED``, else ``published/`` next to the warehouse (``pipelines.locations``). If nothing was published yet,
:func:`read_warehouse_table` opens the warehouse read-only for the time of one query.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.locations import PUBLISHED_ENV, published_dir
from pipelines.readers import DEFAULT_WAIT_SECONDS, connect_read_only
from transforms.contracts.config import Charters, KpiRegistry, Pilots, Settings
from transforms.privacy import DEFAULT_MIN_GROUP_SIZE
from transforms.warehouse import relation_exists

log = logging.getLogger(__name__)

__all__ = [
    "PUBLISHED_ENV",
    "PublishedConfig",
    "PublishedTableMissingError",
    "publish_marts",
    "published_config",
    "published_dir",
    "published_tables",
    "load_mart",
    "open_published",
    "read_manifest",
    "read_published",
    "read_published_table",
    "read_warehouse_table",
]

#: Schemas whose tables are published whole.
PUBLISHED_SCHEMAS: tuple[str, ...] = ("marts", "quality")
#: Tables never published: row-level rejects carry identifiers in their excerpts.
NOT_PUBLISHED: frozenset[str] = frozenset({"quality.rejects"})
#: Configuration models published as JSON (pilots are not: they list employee ids).
PUBLISHED_CONFIG: tuple[str, ...] = ("settings", "kpi_registry", "charters", "surveys")
MANIFEST = "manifest.json"


class PublishedTableMissingError(FileNotFoundError):
    """A published table a reader asked for does not exist; says where it looked and how to make it."""


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        f"WHERE schema_name IN ({', '.join('?' for _ in PUBLISHED_SCHEMAS)}) ORDER BY 1",
        list(PUBLISHED_SCHEMAS),
    ).fetchall()
    return [r[0] for r in rows if r[0] not in NOT_PUBLISHED]


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    path = str(target).replace("'", "''")
    con.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    return int(con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0])


def publish_marts(con: duckdb.DuckDBPyConnection, out_dir: str | Path) -> dict[str, int]:
    """Write every ``marts.*`` and ``quality.*`` table (but row-level rejects) as Parquet into ``out_dir``.

    Works on a read-only connection. Returns rows written per table (``schema.table``). Files of
    tables that no longer exist in the warehouse are removed, so the folder mirrors the warehouse;
    so are the staging files of a publish that was killed (one run publishes at a time: the
    warehouse's run lock).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for leftover in [*out.glob(".staging-*"), *out.glob(f".{MANIFEST}.*")]:  # of a publish that was killed
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    staging = out / f".staging-{uuid.uuid4().hex}"
    written: dict[str, int] = {}
    try:
        for name in _tables(con):
            schema, table = name.split(".")
            written[name] = _copy(con, f'SELECT * FROM "{schema}"."{table}"', staging / schema / f"{table}.parquet")
        config = {}
        if relation_exists(con, "raw.settings"):
            config = dict(con.execute("SELECT name, body FROM raw.settings").fetchall())
        (staging / "config").mkdir(parents=True, exist_ok=True)
        for name in PUBLISHED_CONFIG:
            if name in config:
                (staging / "config" / f"{name}.json").write_text(str(config[name]), encoding="utf-8")
        keep = {staging.name, MANIFEST}
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                rel = path.relative_to(staging)
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, out / rel)
                keep.add(str(rel))
        for stale in [*out.glob("marts/*.parquet"), *out.glob("quality/*.parquet"), *out.glob("config/*.json")]:
            if str(stale.relative_to(out)) not in keep:
                stale.unlink()
                log.info("published: removed %s (no longer in the warehouse)", stale)
        manifest = {
            "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "tables": written,
            "config": [n for n in PUBLISHED_CONFIG if n in config],
        }
        tmp = out / f".{MANIFEST}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, out / MANIFEST)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("published %d tables to %s", len(written), out)
    return written


def published_tables(directory: str | Path | None = None) -> list[str]:
    """Names (``schema.table``) of the tables published in ``directory`` (default :func:`published_dir`)."""
    base = published_dir() if directory is None else Path(directory)
    return sorted(f"{p.parent.name}.{p.stem}" for s in PUBLISHED_SCHEMAS for p in (base / s).glob("*.parquet"))


def read_published_table(name: str, directory: str | Path | None = None) -> pl.DataFrame:
    """One published table (``"marts.adoption_curve"``) as a Polars frame.

    Raises :class:`PublishedTableMissingError` naming the file and listing what is published.
    """
    base = published_dir() if directory is None else Path(directory)
    schema, _, table = name.partition(".")
    if schema not in PUBLISHED_SCHEMAS or not table:
        raise ValueError(f"table {name!r}: expected 'marts.<table>' or 'quality.<table>'")
    path = base / schema / f"{table}.parquet"
    if not path.is_file():
        have = ", ".join(published_tables(base)) or "nothing"
        raise PublishedTableMissingError(
            f"{path}: no published snapshot of {name}; published in {base}: {have}. "
            f"Run `uptake run` (it publishes after the report) or set ${PUBLISHED_ENV}."
        )
    # One open file, read whole: a run replaces the file by a rename meanwhile, and a reader that
    # opened the path twice (metadata, then pages) could mix two versions ("wrong page size").
    with path.open("rb") as snapshot:
        return pl.read_parquet(snapshot.read())


def load_mart(name: str, compute: Callable[[], pl.DataFrame] | None = None,
              directory: str | Path | None = None) -> pl.DataFrame:
    """A published mart, or, while it is not published yet, ``compute()`` (the same transforms
    function the pipeline uses). The notebooks' way to read a mart: they never open the warehouse.

    Logs which of the two it did; without ``compute``, a missing mart raises
    :class:`PublishedTableMissingError`.
    """
    try:
        return read_published_table(name, directory)
    except PublishedTableMissingError:
        if compute is None:
            raise
        log.warning("%s is not published yet: computed from the published person-week table instead", name)
        return compute()


def read_published(directory: str | Path | None = None) -> dict[str, pl.DataFrame]:
    """Every published table of ``directory``, keyed ``schema.table``."""
    base = published_dir() if directory is None else Path(directory)
    return {name: read_published_table(name, base) for name in published_tables(base)}


@dataclass(frozen=True)
class PublishedConfig:
    """The configuration a reader of published marts needs (pilots are not published)."""

    settings: Settings | None
    kpi_registry: KpiRegistry | None
    charters: Charters | None

    @property
    def min_group_size(self) -> int:
        return self.settings.min_group_size if self.settings else DEFAULT_MIN_GROUP_SIZE


def published_config(directory: str | Path | None = None) -> PublishedConfig:
    """The published settings, KPI registry and charters as validated models (``None`` where absent)."""
    base = published_dir() if directory is None else Path(directory)

    def load(name: str, model):
        path = base / "config" / f"{name}.json"
        return model.model_validate_json(path.read_text(encoding="utf-8")) if path.is_file() else None

    return PublishedConfig(settings=load("settings", Settings), kpi_registry=load("kpi_registry", KpiRegistry),
                           charters=load("charters", Charters))


def read_manifest(directory: str | Path | None = None) -> dict[str, object] | None:
    """The published folder's manifest (``published_at``, tables, config), or None if nothing was published."""
    path = (published_dir() if directory is None else Path(directory)) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def open_published(directory: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection on the published snapshots of ``directory``: a view per
    published table (``marts.*``, ``quality.*``, over its Parquet file) and ``raw.settings`` from the
    published configuration (pilots are not published: none are declared here). What ``uptake
    report`` reads while a run holds the warehouse. :class:`PublishedTableMissingError` if nothing
    was published there."""
    base = published_dir() if directory is None else Path(directory)
    tables = published_tables(base)
    if not tables or read_manifest(base) is None:
        raise PublishedTableMissingError(f"{base}: nothing published yet (no {MANIFEST}); run `uptake run` first")
    con = duckdb.connect()
    for schema in ("raw", *PUBLISHED_SCHEMAS):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for name in tables:
        schema, table = name.split(".")
        path = str(base / schema / f"{table}.parquet").replace("'", "''")
        con.execute(f'CREATE VIEW "{schema}"."{table}" AS SELECT * FROM read_parquet(\'{path}\')')
    config = published_config(base)
    if config.settings is None:
        con.close()
        raise PublishedTableMissingError(f"{base / 'config' / 'settings.json'}: no published settings")
    bodies = {"settings": config.settings.model_dump_json(),
              "pilots": Pilots(cohorts=[]).model_dump_json(),
              "kpi_registry": (config.kpi_registry or KpiRegistry(kpis=[])).model_dump_json(),
              "charters": (config.charters or Charters(communities=[])).model_dump_json()}
    con.execute("CREATE TABLE raw.settings (name VARCHAR, body VARCHAR)")
    con.executemany("INSERT INTO raw.settings VALUES (?, ?)", list(bodies.items()))
    return con


_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


def read_warehouse_table(warehouse: str | Path, name: str, *, wait: float = DEFAULT_WAIT_SECONDS) -> pl.DataFrame:
    """Fallback when nothing is published: one table read through a short read-only connection,
    opened once no run writes the warehouse (waiting up to ``wait`` seconds, logging which run it
    waits for: :func:`pipelines.readers.connect_read_only`)."""
    if not _TABLE_NAME.match(name):
        raise ValueError(f"table {name!r}: expected 'schema.table'")
    with connect_read_only(warehouse, wait=wait) as con:
        return con.execute(f"SELECT * FROM {name}").pl()
