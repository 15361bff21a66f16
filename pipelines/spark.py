"""The events layers on Apache Spark: the Dagster resource that says which engine runs them (and
holds the Spark session), and the Spark side of the clean layer's and person-week's one definition.

The engine is chosen by configuration (``settings.yaml``'s ``engine:``, or ``uptake run --engine
spark [--spark-master URL]``). ``local[N]`` (the default) starts Spark inside this process;
``sc://host:port`` connects to a Spark Connect server; any other master URL (``spark://``,
``yarn``, ``k8s://``) is handed to the session builder. Spark reads and writes the lake
(:mod:`pipelines.lake`); the results are loaded back into the DuckDB warehouse, so the checks, the
marts and the report read the same tables whatever the engine.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow.parquet as pq
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from pipelines import lake
from transforms.clean_event_partitions import (
    EVENT_CANDIDATES,
    FullRecompute,
    Partition,
    Step,
    stage_fingerprints,
)
from transforms.engines import ENGINES
from transforms.engines.spark_sql import spark_view_name, tables_read, to_spark
from transforms.person_week import PersonWeekRecompute

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MASTER", "EngineResource", "SparkRunner", "spark_session"]

DEFAULT_MASTER = "local[2]"
#: Session settings every run needs: UTC session time (timestamps are UTC instants), Parquet
#: timestamps as UTC-adjusted microseconds (what DuckDB reads as TIMESTAMPTZ), a quiet log.
_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.sources.partitionOverwriteMode": "static",
}


def _local_conf(cores: int) -> dict[str, str]:
    """A local session's settings: as many shuffle partitions as cores (Spark's 200 are for
    clusters), and a JVM that lives for one run: the quick JIT tier only (the optimising one costs
    more CPU than it saves in a run of minutes) and one garbage-collector thread."""
    return {"spark.sql.shuffle.partitions": str(cores),
            "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


def spark_session(master: str = DEFAULT_MASTER, conf: dict[str, str] | None = None) -> SparkSession:
    """A Spark session for ``master``: ``sc://...`` through Spark Connect, anything else through the
    classic builder (``local[N]`` starts a JVM in this process)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("uptake")
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    local = re.fullmatch(r"local\[(\d+)\]", master)
    for key, value in {**_CONF, **(_local_conf(int(local.group(1))) if local else {}), **(conf or {})}.items():
        if master.startswith("sc://") and key == "spark.ui.enabled":
            continue
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if not master.startswith("sc://"):
        session.sparkContext.setLogLevel("ERROR")
    return session


class EngineResource(ConfigurableResource):
    """Which engine runs the events layers (``duckdb``, the default, or ``spark``), the Spark master
    and the lake the Spark engine reads and writes. The Spark session is started on first use and
    stopped when the run ends."""

    name: str = Field(default="duckdb", description="duckdb | spark")
    spark_master: str = Field(default=DEFAULT_MASTER, description="local[N], sc://host:port or a cluster URL")
    lake_dir: str = Field(default="", description="the lake's root (default: lake/ next to the warehouse)")
    _session: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        if self.name not in ENGINES:
            raise ValueError(f"engine {self.name!r}: expected one of {', '.join(ENGINES)}")

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._session is not None and not self.spark_master.startswith("sc://"):
            self._session.stop()
        self._session = None

    @property
    def is_spark(self) -> bool:
        return self.name == "spark"

    def session(self) -> SparkSession:
        if self._session is None:
            started = time.perf_counter()
            self._session = spark_session(self.spark_master)
            log.info("spark session on %s in %.1f s", self.spark_master, time.perf_counter() - started)
        return self._session

    def runner(self, warehouse: str | Path) -> SparkRunner:
        root = Path(self.lake_dir) if self.lake_dir else Path(warehouse).parent / "lake"
        return SparkRunner(self.session(), root)


class SparkRunner:
    """Runs the one definition of a layer's queries on Spark against the lake under ``root``."""

    def __init__(self, spark: SparkSession, root: Path) -> None:
        self.spark = spark
        self.root = root

    def _read(self, directory: Path, view: str) -> DataFrame:
        """The lake table in ``directory`` as the view ``view``; its schema is read from one file's
        footer here (Spark would run a job to infer it)."""
        from pyspark.sql.pandas.types import from_arrow_schema

        reader = self.spark.read.option("recursiveFileLookup", "true")
        files = lake.parquet_files(directory)
        if files:
            reader = reader.schema(from_arrow_schema(pq.read_schema(files[0])))
        frame = reader.parquet(str(directory))
        frame.createOrReplaceTempView(view)
        return frame

    def ship_inputs(self, con: duckdb.DuckDBPyConnection, sqls: Sequence[str], produced: set[str]) -> None:
        """Make every warehouse table the queries read (and that no step produces) a Spark view."""
        needed = sorted({t for sql in sqls for t in tables_read(sql)} - produced)
        for table in needed:
            self._read(lake.export_table(con, table, self.root / "inputs"), spark_view_name(table))

    def sql(self, duckdb_sql: str) -> DataFrame:
        return self.spark.sql(to_spark(duckdb_sql))

    def write(self, frame: DataFrame, directory: Path, by_source: bool = True) -> None:
        """Write ``frame`` to the lake, partitioned by (source and) week, replacing the table."""
        from pyspark.sql import functions as F

        week = F.coalesce(F.date_format("week_start", "yyyy-MM-dd"), F.lit("none"))
        frame = frame.withColumn("week", week)
        keys = ["week"]
        if by_source:
            frame, keys = frame.withColumn("src", F.col("source")), ["src", "week"]
        # each folder's rows in one task: one file per (source,) week instead of one per task
        frame.repartition(*keys).write.mode("overwrite").partitionBy(*keys).parquet(str(directory))

    def checkpoint(self, frame: DataFrame, name: str) -> DataFrame:
        """Materialise a working relation once (its row numbers must not be drawn again) and make
        it the view ``name``."""
        frame = frame.localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        return frame

    def person_week(self) -> PersonWeekRecompute:
        """``marts.person_week`` and ``marts.person_week_source`` on Spark (``transforms.person_week``)."""
        return self._recompute_person_week

    def _recompute_person_week(self, con: duckdb.DuckDBPyConnection, outputs: Sequence[tuple[str, str]]) -> None:
        started = time.perf_counter()
        self.ship_inputs(con, [sql for _, sql in outputs], set())
        for table, sql in outputs:
            directory = self.root / "marts" / table.split(".", 1)[1]
            self.write(self.sql(sql), directory, by_source=False)
            lake.load_table(con, table, directory)
        log.info("spark: person-week recomputed in %.1f s", time.perf_counter() - started)

    def clean_events(self) -> FullRecompute:
        """The clean layer's events partitions on Spark (``transforms.clean_event_partitions``)."""
        return self._recompute_events

    def _recompute_events(self, con: duckdb.DuckDBPyConnection, partitions: Sequence[Partition],
                          steps: Sequence[Step], relation: str) -> None:
        started = time.perf_counter()
        events_dir = self.root / "canonical" / "events"
        lake.export_partitioned(con, relation, events_dir)
        self._read(events_dir, "__rows")
        self.ship_inputs(con, [s.sql for s in steps], {s.name for s in steps} | {"__rows", "__fingerprints"})
        stage_fingerprints(con, partitions)
        self._read(lake.export_table(con, "__fingerprints", self.root / "work"), "__fingerprints")
        con.execute("DROP TABLE temp.__fingerprints")
        log.info("spark: events exported in %.1f s", time.perf_counter() - started)
        for step in steps:
            at = time.perf_counter()
            frame = self.sql(step.sql)
            if step.kind == "temp":
                self.checkpoint(frame, step.name)
            else:
                directory = self.root / "clean" / step.name.split(".", 1)[1]
                self.write(frame, directory)
                lake.load_table(con, step.name, directory)
            log.info("spark: %s in %.1f s", step.name, time.perf_counter() - at)
        self.spark.catalog.clearCache()
        examined = con.execute(f"SELECT count(*) FROM {EVENT_CANDIDATES}").fetchone()[0]
        log.info("spark: %d event partitions recomputed in %.1f s (%d rows examined one by one)",
                 len(partitions), time.perf_counter() - started, examined)
