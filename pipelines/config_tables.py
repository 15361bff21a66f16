"""The drop zone's configuration in the warehouse, so every asset reads one validated copy.

``raw.settings`` holds each YAML model as one JSON row; pilots are also flattened into
``raw.pilot_cohorts`` and ``raw.pilot_members`` for SQL, and the KPI feed into ``raw.kpi_values``.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from transforms.contracts import KPI_VALUES
from transforms.warehouse import ensure_schemas, register_frame, replace_table


def write_config_tables(con: duckdb.DuckDBPyConnection, config: Any) -> dict[str, int]:
    """Replace the configuration tables with ``config`` (from ``load_drop_zone_config``)."""
    ensure_schemas(con)
    models = {
        "settings": config.settings,
        "pilots": config.pilots,
        "kpi_registry": config.kpi_registry,
        "charters": config.charters,
        "targets": config.targets,
        **({"surveys": config.surveys} if getattr(config, "surveys", None) is not None else {}),
    }
    con.execute("CREATE OR REPLACE TABLE raw.settings (name VARCHAR PRIMARY KEY, body JSON)")
    for name, model in models.items():
        con.execute("INSERT INTO raw.settings VALUES (?, ?)", [name, model.model_dump_json()])

    cohorts = pl.DataFrame(
        [
            {
                "cohort": c.name,
                "wave": c.wave,
                "start_date": c.start,
                "end_date": c.end,
                "support_level": c.support_level,
            }
            for c in config.pilots.cohorts
        ],
        schema={"cohort": pl.Utf8, "wave": pl.Int16, "start_date": pl.Date, "end_date": pl.Date,
                "support_level": pl.Utf8},
    )
    members = pl.DataFrame(
        [
            {"cohort": c.name, "employee_id": e, "department": None, "org_unit": None, "site": None}
            for c in config.pilots.cohorts
            for e in c.employee_ids
        ]
        + [
            {"cohort": c.name, "employee_id": None, "department": s.department, "org_unit": s.org_unit,
             "site": s.site}
            for c in config.pilots.cohorts
            for s in c.selectors
        ],
        schema={"cohort": pl.Utf8, "employee_id": pl.Utf8, "department": pl.Utf8, "org_unit": pl.Utf8,
                "site": pl.Utf8},
    )
    registry = pl.DataFrame(
        [k.model_dump(mode="json") | {"expected_range": None} for k in config.kpi_registry.kpis],
        schema={"name": pl.Utf8, "description": pl.Utf8, "unit": pl.Utf8, "unit_type": pl.Utf8,
                "direction": pl.Utf8, "grain": pl.Utf8, "source": pl.Utf8, "expected_range": pl.Utf8,
                "max_delay_days": pl.Int32},
    ).drop("expected_range")
    kpi_values = config.kpi_values if config.kpi_values is not None else pl.DataFrame(schema=KPI_VALUES.schema)
    tables = {
        "raw.pilot_cohorts": cohorts,
        "raw.pilot_members": members,
        "raw.kpi_registry": registry,
        "raw.kpi_values": kpi_values.select(KPI_VALUES.names),
    }
    for name, frame in tables.items():
        replace_table(con, name, frame)
    con.execute("DELETE FROM quality.rejects WHERE source = 'kpi_feed'")
    rejects = getattr(config, "kpi_rejects", None)
    if rejects is not None and rejects.height:
        with register_frame(con, "__rej", rejects.with_columns(pl.lit("kpi_feed").alias("source"))) as view:
            con.execute(f"INSERT INTO quality.rejects BY NAME SELECT * FROM {view}")
    return {k.split(".")[1]: v.height for k, v in tables.items()}
