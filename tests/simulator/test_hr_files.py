"""HR extracts show hires, leavers (kept a few weeks with a termination date) and transfers; the
SCIM file holds the latest state with managers referenced by SCIM id."""

from __future__ import annotations

import json

import polars as pl

from pipelines.simulator.hr_extract import HR_COLUMNS
from tests.simulator.conftest import DropZone
from tests.simulator.reference_reader import hr_frame


def test_extracts_have_default_headers_and_empty_worker_type(drop_zone: DropZone) -> None:
    first = sorted((drop_zone.path / "hr").glob("hr_*.csv"))[0]
    assert first.read_text(encoding="utf-8").splitlines()[0] == ",".join(HR_COLUMNS)
    hr = hr_frame(drop_zone.path)
    assert hr["worker_type"].null_count() == hr.height
    assert hr.group_by("snapshot_date").agg(pl.col("employee_id").is_duplicated().any())["employee_id"].sum() == 0
    assert hr.filter(pl.col("aliases").is_not_null()).height > 0


def test_hires_leavers_and_transfers(drop_zone: DropZone) -> None:
    hr = hr_frame(drop_zone.path).with_columns(pl.col("termination_date").str.to_date())
    dates = sorted(hr["snapshot_date"].unique())
    first_seen = hr.group_by("employee_id").agg(pl.col("snapshot_date").min(), pl.col("hire_date").first())
    hires = first_seen.filter(pl.col("snapshot_date") > dates[0])
    assert hires.height > 0
    assert (hires["hire_date"].str.to_date() == hires["snapshot_date"]).all()  # hired on the extract's Monday

    leavers = hr.filter(pl.col("termination_date").is_not_null())
    spans = leavers.group_by("employee_id").agg(
        pl.col("termination_date").first(), pl.col("snapshot_date").max().alias("last_listed"))
    assert spans.height > 0
    assert (spans["termination_date"].dt.weekday() == 5).all()  # a Friday
    full = spans.filter(pl.col("termination_date") < dates[-1] - pl.duration(weeks=4))
    assert full.height > 0
    assert ((full["last_listed"] - full["termination_date"]).dt.total_days() == 24).all()  # 4 weeks kept

    employed = hr.filter(pl.col("termination_date").is_null()).sort("employee_id", "snapshot_date")
    moves = employed.with_columns(prev=pl.col("org_unit").shift(1).over("employee_id")).filter(
        pl.col("prev").is_not_null() & (pl.col("prev") != pl.col("org_unit")))
    assert moves.height > 0
    # managers follow from the hierarchy: a manager is listed in the same extract
    per_week = hr.select("snapshot_date", "employee_id")
    missing = hr.filter(pl.col("manager_id").is_not_null()).join(
        per_week, left_on=["snapshot_date", "manager_id"], right_on=["snapshot_date", "employee_id"], how="anti")
    assert missing.height == 0


def test_scim_is_the_latest_state(drop_zone: DropZone) -> None:
    doc = json.loads((drop_zone.path / "hr" / "directory_scim.json").read_text(encoding="utf-8"))
    assert doc["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    users = doc["Resources"]
    assert doc["totalResults"] == len(users) > 0
    ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    by_id = {u["id"]: u for u in users}
    last = sorted((drop_zone.path / "hr").glob("hr_*.csv"))[-1]
    latest = pl.read_csv(last, infer_schema=False)
    assert {u[ext]["employeeNumber"] for u in users} == set(latest["employee_id"])
    managed = [u for u in users if "manager" in u[ext]]
    assert managed
    expected = dict(latest.select("employee_id", "manager_id").iter_rows())
    for u in managed:
        boss = by_id[u[ext]["manager"]["value"]]
        assert boss[ext]["employeeNumber"] == expected[u[ext]["employeeNumber"]]
    assert any(not u["active"] for u in users) == latest["termination_date"].is_not_null().any()
