"""``ground_truth.json`` (sorted keys, indent 2) and the truth tables beside it:
``truth_weekly.csv`` (one row per week) and ``truth_accounts.csv`` (every account, by its source and
id as the drop zone writes them, with the employee it belongs to, its planted email variant and
whether a correct pipeline can match it)."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl

from pipelines.simulator.platform_formats import written_accounts, written_tenant_users
from pipelines.simulator.world import SimulatedWorld


def write_ground_truth(world: SimulatedWorld, truth: dict[str, object], weekly: pl.DataFrame,
                       out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = out_dir / "ground_truth.json"
    doc.write_bytes(orjson.dumps(truth, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n")
    weekly_path = out_dir / "truth_weekly.csv"
    weekly.write_csv(weekly_path, float_precision=6)
    emp = world.org.employee_id
    accounts = written_accounts(world).with_columns(
        employee_id=pl.when(pl.col("person") >= 0).then(
            pl.col("person").replace_strict(list(range(len(emp))), emp.astype(str).tolist(), default=None,
                                            return_dtype=pl.Utf8)))
    m365 = written_tenant_users(world).with_columns(
        email=pl.col("upn"), kind=pl.lit("employee"),
        is_bot=pl.lit(False), deleted=pl.lit(False),
        employee_id=pl.when(pl.col("person") >= 0).then(
            pl.col("person").replace_strict(list(range(len(emp))), emp.astype(str).tolist(), default=None,
                                            return_dtype=pl.Utf8)))
    m365 = m365.with_columns(kind=pl.when(pl.col("person") < 0).then(pl.lit("contractor")).otherwise(pl.col("kind")))
    cols = ["source", "account_id", "email", "employee_id", "kind", "is_bot", "variant", "matchable", "reason",
            "deleted"]
    table = pl.concat([accounts.select(cols), m365.select(cols)]).sort("source", "account_id")
    accounts_path = out_dir / "truth_accounts.csv"
    table.write_csv(accounts_path)
    return [doc, weekly_path, accounts_path]
