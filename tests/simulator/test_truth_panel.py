"""``simulate_truth_panel``: the same world as ``simulate``, as a person x week panel, quickly."""

from __future__ import annotations

import json
import time

import orjson
import polars as pl

from pipelines.simulator import simulate_truth_panel
from tests.simulator.conftest import SMALL, DropZone
from tests.simulator.reference_reader import hr_frame

COLUMNS = {
    "employee_id", "week", "week_start", "employed", "eligible", "worker_type", "department", "org_unit", "site",
    "country", "job_family", "level", "hire_date", "termination_date", "is_manager", "direct_reports",
    "manager_id", "pilot_cohort", "pilot_wave", "pilot_start", "pilot_support_level", "adopted", "active",
    "engaged", "contributor", "actions", "actions_observed", "kpi_first_response_hours",
}


def test_panel_truth_is_the_written_ground_truth(drop_zone: DropZone) -> None:
    panel, truth = simulate_truth_panel(SMALL["employees"], SMALL["weeks"], SMALL["seed"])
    assert json.loads(orjson.dumps(truth)) == drop_zone.truth
    assert set(panel.columns) == COLUMNS
    assert panel.select(pl.struct("employee_id", "week").is_duplicated().any()).item() is False
    # rows are the HR extracts' rows: one per employee listed that week
    hr_rows = sum(1 for p in (drop_zone.path / "hr").glob("hr_*.csv")
                  for _ in p.read_text(encoding="utf-8").splitlines()[1:])
    assert panel.height == hr_rows
    assert not panel.filter(~pl.col("eligible") & (pl.col("active") | (pl.col("actions") > 0))).height
    assert not panel.filter(pl.col("active") & ~pl.col("adopted")).height
    # tiers nest: contributor => engaged => active; observed actions only in active weeks
    assert not panel.filter((pl.col("contributor") & ~pl.col("engaged")) | (pl.col("engaged") & ~pl.col("active"))).height
    assert (panel["active"] == (panel["actions_observed"] > 0)).all()
    members = panel.filter(pl.col("pilot_cohort") == "wave-1")["employee_id"].unique().sort().to_list()
    assert members == drop_zone.truth["pilot"]["cohorts"]["wave-1"]["members"]
    assert "maturity" not in " ".join(panel.columns)


def test_panel_is_fast_and_deterministic() -> None:
    began = time.perf_counter()
    a, ta = simulate_truth_panel(500, 20, 9)
    elapsed = time.perf_counter() - began
    b, tb = simulate_truth_panel(500, 20, 9)
    assert a.equals(b) and ta == tb
    c, tc = simulate_truth_panel(500, 20, 10)
    assert tc != ta
    assert elapsed < 10, elapsed  # a few tenths of a second on an idle core


def test_panel_attributes_are_the_hr_extract_values(drop_zone: DropZone) -> None:
    panel, _ = simulate_truth_panel(SMALL["employees"], SMALL["weeks"], SMALL["seed"])
    hr = hr_frame(drop_zone.path).select(
        "employee_id", pl.col("snapshot_date").alias("week_start"), "department", "org_unit", "site", "country",
        "job_family", "manager_id", pl.col("level").cast(pl.Int16))
    cols = ["employee_id", "week_start", "department", "org_unit", "site", "country", "job_family", "manager_id",
            "level"]
    mine = panel.select(cols).sort("employee_id", "week_start")
    assert mine.equals(hr.select(cols).sort("employee_id", "week_start"))
