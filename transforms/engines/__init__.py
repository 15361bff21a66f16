"""Execution engines of the events layers (see ``docs/engines.md``).

Every transform of the layers whose cost grows with events (canonical events -> clean ->
person-week) is written once, in DuckDB SQL, in its own module (``transforms.clean_event_partitions``,
``transforms.person_week``). DuckDB, the default, runs that text as it is, partition by partition;
the Spark engine runs the same text transpiled by SQLGlot (:mod:`transforms.engines.spark_sql`), as a
full recompute into partitioned Parquet (:mod:`transforms.engines.lake`). Nothing here imports
pyspark or Dagster: the Spark session and its resource live in ``pipelines/spark.py``.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ENGINES", "EngineName"]

EngineName = Literal["duckdb", "spark"]
#: The engines the events layers run on; DuckDB is the default.
ENGINES: tuple[str, ...] = ("duckdb", "spark")
