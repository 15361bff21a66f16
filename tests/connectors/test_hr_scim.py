"""SCIM 2.0 HR connector against a hand-written ListResponse.

tests/fixtures/connectors/hr_scim/hr/scim_2026-01-05.json holds 9 resources (indexes 0-8):
0 Ada (E001, primary email among three, work address, costCenter), 1 Bruno (E002, no primary flag,
no address but a division, manager = Ada's SCIM id, active "True"), 2 Chloé (E003, primary "true"
as a string, home + work addresses, manager by managerId = Bruno's SCIM id), 3 Dan (E004, manager
given as a plain string not in the file), 4 Gus (no enterprise extension: employee_id = SCIM id, no
emails), 5 a bare string, 6 Eva with emails as a string, 7 a second E001, 8 Hugo (E008, inactive).
-> 5 rows (0-4), 3 rejects (5, 6, 7), 1 filtered (8: not employed at the snapshot).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors.base import Batch, ConnectorError
from pipelines.connectors.hr_scim import HrScimConnector
from transforms.contracts import HR_SNAPSHOTS, REJECTS

FIXTURE = Path(__file__).parents[1] / "fixtures" / "connectors" / "hr_scim" / "hr" / "scim_2026-01-05.json"


def _split(batches: list[Batch]) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [b.frame for b in batches if b.table == "hr_snapshots"]
    rejects = [b.frame for b in batches if b.table == "rejects"]
    return (
        pl.concat(rows) if rows else pl.DataFrame(schema=HR_SNAPSHOTS.schema),
        pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECTS.schema),
    )


def test_list_response_mapping() -> None:
    rows, rejects = _split(list(HrScimConnector().read(FIXTURE)))
    assert rows.schema == HR_SNAPSHOTS.schema
    assert rows["employee_id"].to_list() == ["E001", "E002", "E003", "E004", "contractor-77"]
    assert set(rows["snapshot_date"]) == {dt.date(2026, 1, 5)}  # from the file name
    by_id = {r["employee_id"]: r for r in rows.iter_rows(named=True)}
    ada = by_id["E001"]
    assert (ada["email"], ada["upn"]) == ("ada.martin@northwind.example", "ada.martin@northwind.example")
    assert ada["aliases"] == ["ada@northwind.example", "ada.home@example.org"]
    assert (ada["display_name"], ada["department"], ada["org_unit"]) == ("Ada Martin", "Executive", "EXEC")
    assert (ada["site"], ada["country"], ada["job_family"]) == ("HQ-PARIS", "FR", "Chief Executive")
    bruno = by_id["E002"]
    assert bruno["display_name"] == "Bruno Keller"  # from name.givenName + familyName
    assert bruno["email"] == "bruno.keller@northwind.example"  # the work entry, no primary flag
    assert bruno["org_unit"] is None  # no costCenter
    assert bruno["site"] == "HQ-PARIS"  # no address locality: the division
    assert bruno["manager_id"] == "E001"  # SCIM id of Ada translated to her employeeNumber
    assert bruno["termination_date"] is None  # active "True"
    chloe = by_id["E003"]
    assert chloe["manager_id"] == "E002" and chloe["site"] == "PLANT-LYON"  # managerId; work address
    dan = by_id["E004"]
    assert dan["manager_id"] == "E-OUTSIDE-9"  # not in the file: kept as given
    assert "E008" not in by_id  # inactive: left out of the snapshot, not quarantined
    assert rows["termination_date"].null_count() == rows.height  # SCIM has no termination date
    gus = by_id["contractor-77"]
    assert gus["email"] is None and gus["aliases"] is None and gus["upn"] == "gus@partner.example"

    assert dict(zip(rejects["locator"], rejects["reason"], strict=True)) == {
        "scim_2026-01-05.json Resources[5]": "resource: expected a JSON object, found VARCHAR",
        "scim_2026-01-05.json Resources[6]": "emails: expected a list of {value, primary, type}",
        "scim_2026-01-05.json Resources[7]": "duplicate employee_id for this snapshot_date: an earlier row was kept",
    }
    assert set(rejects["source"]) == {"hr_scim"}


def test_snapshot_date_from_last_modified_without_a_date_in_the_name(tmp_path: Path) -> None:
    path = tmp_path / "directory.json"
    shutil.copy(FIXTURE, path)
    rows, _ = _split(list(HrScimConnector().read(path)))
    # latest meta.lastModified: Dan's 2026-01-03T17:00Z (Bruno's 2026-01-02T12:30+01:00 is earlier)
    assert set(rows["snapshot_date"]) == {dt.date(2026, 1, 3)}


def test_plain_array_single_user_and_empty_page(tmp_path: Path) -> None:
    users = json.loads(FIXTURE.read_text())["Resources"][:2]
    array = tmp_path / "users_2026-02-02.json"
    array.write_text(json.dumps(users))
    rows, rejects = _split(list(HrScimConnector().read(array)))
    assert rows["employee_id"].to_list() == ["E001", "E002"] and rejects.height == 0
    assert rows["manager_id"].to_list() == [None, "E001"]

    single = tmp_path / "user_2026-02-02.json"
    single.write_text(json.dumps(users[1]))
    rows, _ = _split(list(HrScimConnector().read(single)))
    assert rows["employee_id"].to_list() == ["E002"]
    assert rows["manager_id"].to_list() == ["2819c223-7f76-453a-919d-413861904646"]  # manager not in the file

    empty = tmp_path / "page_2026-02-02.json"
    empty.write_text(json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                                 "totalResults": 0}))
    assert list(HrScimConnector().read(empty)) == []


def test_pages_of_one_extract_share_duplicate_checks(tmp_path: Path) -> None:
    resources = json.loads(FIXTURE.read_text())["Resources"]
    hr = tmp_path / "hr"
    hr.mkdir()
    page = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 4}
    (hr / "scim_2026-01-05_p1.json").write_text(json.dumps({**page, "Resources": resources[0:2]}))
    (hr / "scim_2026-01-05_p2.json").write_text(json.dumps({**page, "Resources": [resources[2], resources[7]]}))
    rows, rejects = _split(list(HrScimConnector().read_drop_zone(tmp_path)))
    assert rows["employee_id"].to_list() == ["E001", "E002", "E003"]
    assert rejects.select("locator", "excerpt").rows() == [("scim_2026-01-05_p2.json Resources[1]", "employee_id=E001")]


def test_broken_files_raise_errors_naming_them(tmp_path: Path) -> None:
    broken = tmp_path / "scim_2026-01-05.json"
    broken.write_text('{"Resources": [{"id": "1", ')
    with pytest.raises(ConnectorError, match="cannot read as SCIM JSON") as info:
        list(HrScimConnector().read(broken))
    assert info.value.file == str(broken)
    undated = tmp_path / "scim.json"
    undated.write_text(json.dumps([{"id": "1", "userName": "a@x.example"}]))
    with pytest.raises(ConnectorError, match="no snapshot date"):
        list(HrScimConnector().read(undated))
    with pytest.raises(ConnectorError, match="file not found"):
        list(HrScimConnector().read(tmp_path / "missing_2026-01-05.json"))
