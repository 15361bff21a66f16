"""DuckDB SQL of the events layers -> Spark SQL, by SQLGlot, so that no query exists twice.

:func:`to_spark` parses a query in the DuckDB dialect, applies the few rewrites SQLGlot does not
make on its own, and writes it in the Spark dialect (``QUALIFY`` becomes a filtered subquery,
``GROUP BY ALL``, ``FILTER``, ``EXCLUDE`` -> ``EXCEPT``, null ordering, ``//`` -> ``DIV`` are
SQLGlot's). The rewrites:

- ``schema.table`` -> ``schema__table``: the warehouse's tables are temporary views of the Spark
  session (:func:`spark_view_name`), registered from Parquet by the caller;
- ``epoch_us(t)`` -> ``unix_micros(t)``;
- ``hash(...)`` -> ``xxhash64(...)``: a 64-bit hash like DuckDB's (Spark's ``hash`` is 32-bit).
  Hash values differ between the engines; the layers use them only to find rows sharing a key
  (collisions resolved on the values) and as a last tie-break between copies of one event;
- ``row_number() OVER ()`` (a row's number, in no order) -> ``monotonically_increasing_id()``,
  unique without moving every row to one task.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp

__all__ = ["spark_view_name", "tables_read", "to_spark"]


def spark_view_name(table: str) -> str:
    """The Spark view of a warehouse table: ``clean.local_quarters`` -> ``clean__local_quarters``."""
    return table.replace(".", "__")


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Table) and node.args.get("db") is not None:
        name = spark_view_name(f"{node.db}.{node.name}")
        alias = node.args.get("alias")
        return exp.Table(this=exp.to_identifier(name), alias=alias.copy() if alias else None)
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "epoch_us":
            return exp.Anonymous(this="unix_micros", expressions=[e.copy() for e in node.expressions])
        if name == "hash":
            return exp.Anonymous(this="xxhash64", expressions=[e.copy() for e in node.expressions])
    if (isinstance(node, exp.Window) and isinstance(node.this, exp.RowNumber)
            and not node.args.get("partition_by") and not node.args.get("order")):
        return exp.Anonymous(this="monotonically_increasing_id", expressions=[])
    return node


@functools.lru_cache(maxsize=256)
def to_spark(sql: str) -> str:
    """``sql`` (DuckDB dialect) in the Spark dialect, warehouse tables renamed to Spark views."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(_rewrite).sql(dialect="spark")


def tables_read(sql: str) -> list[str]:
    """The tables a DuckDB query reads (``schema.table``, or a bare name for a temporary table;
    its own common table expressions left out), sorted."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {c.alias for c in tree.find_all(exp.CTE)}
    return sorted({f"{t.db}.{t.name}" if t.db else t.name for t in tree.find_all(exp.Table)
                   if t.db or t.name not in ctes})
