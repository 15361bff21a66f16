"""The transpiler that gives Spark the events layers' one definition (no Spark needed here)."""

from __future__ import annotations

import datetime as dt

import sqlglot
from sqlglot import exp

from transforms.clean_event_partitions import (
    all_events_relation,
    partition_steps,
    staged_events_sql,
)
from transforms.engines.spark_sql import spark_view_name, tables_read, to_spark
from transforms.person_week import _ROWS_SQL, _SOURCE_ROWS_SQL

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
CUTOFF = dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
AUTOMATED = "SELECT 'slack' AS source, account_id FROM raw.slack_accounts WHERE is_automated"


def _queries() -> list[str]:
    steps = partition_steps(AUTOMATED, EARLIEST, CUTOFF)
    return [staged_events_sql("__lake_events"), *(s.sql for s in steps), _ROWS_SQL, _SOURCE_ROWS_SQL]


def test_every_query_of_the_events_layers_becomes_spark_sql_without_duckdb_only_functions() -> None:
    for sql in _queries():
        spark = to_spark(sql)
        tree = sqlglot.parse_one(spark, read="spark")  # Spark's own grammar accepts it
        names = {f.name.lower() for f in tree.find_all(exp.Anonymous)}
        assert not names & {"epoch_us", "hash", "list_sort"}, names
        assert "QUALIFY" not in spark.upper() and "EXCLUDE" not in spark.upper()
        assert not [t for t in tree.find_all(exp.Table) if t.db], "warehouse tables must be session views"


def test_the_rewrites_say_what_spark_runs() -> None:
    spark = to_spark("SELECT epoch_us(t) // 900000000 AS q, hash(a, b) AS h, row_number() OVER () AS n, "
                     "row_number() OVER (PARTITION BY a ORDER BY b) AS r FROM clean.local_quarters")
    assert "UNIX_MICROS(t) DIV 900000000" in spark
    assert "XXHASH64(a, b)" in spark
    assert "MONOTONICALLY_INCREASING_ID()" in spark
    assert "ROW_NUMBER() OVER (PARTITION BY a ORDER BY b" in spark  # a numbered window keeps its order
    assert "FROM clean__local_quarters" in spark
    assert spark_view_name("raw.slack_events") == "raw__slack_events"


def test_qualify_becomes_a_filtered_subquery_with_duckdb_null_ordering() -> None:
    spark = to_spark("SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1")
    assert "QUALIFY" not in spark and "= 1" in spark
    assert "ORDER BY b NULLS LAST" in spark  # DuckDB sorts nulls last ascending, Spark first


def test_tables_read_names_inputs_not_common_table_expressions() -> None:
    steps = {s.name: s for s in partition_steps(AUTOMATED, EARLIEST, CUTOFF)}
    assert tables_read(steps["__part"].sql) == ["__rows"]
    assert tables_read(steps["__screened"].sql) == ["__rows", "__shared_contents", "__shared_ids"]
    assert tables_read(steps["__disposed"].sql) == [
        "__examined", "__part", "__shared_contents", "__shared_ids", "raw.slack_accounts"]
    assert tables_read(steps["__examined"].sql) == ["__screened", "raw.slack_accounts"]
    assert tables_read(steps["clean.event_days"].sql) == ["__disposed", "clean.local_quarters"]
    assert tables_read(_ROWS_SQL) == ["__person_keys", "__pw_activity", "__pw_employee_week", "__pw_person", "__pw_weeks"]
    assert tables_read("SELECT * FROM " + all_events_relation(["slack", "zulip"], EARLIEST, CUTOFF)) == [
        "clean.local_quarters", "raw.slack_events", "raw.zulip_events"]
