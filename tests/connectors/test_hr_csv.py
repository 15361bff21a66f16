"""HR CSV connector against its fixtures.

tests/fixtures/connectors/hr_csv/hr/hr_2026-01-05.csv has 12 data rows (lines 2-13), written by
hand: lines 2-5 and 13 are good (E001-E004, E010); line 6 has level 'three', line 7 no
employee_id, line 8 hire_date 2026-02-30, line 9 repeats E002, line 10 worker_type 'remote',
line 11 country 'France', line 12 hire_date 2201-01-01. mapped_zone/ has a settings.yaml with
hr_csv_columns and an export with other headers, a snapshot-date column (two dates) and a row
without a date.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors.base import Batch, ConnectorError
from pipelines.connectors.hr_csv import HrCsvConnector, snapshot_date_from_name
from transforms.contracts import HR_SNAPSHOTS, REJECTS, ContractError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "connectors" / "hr_csv"


def _collect(batches: list[Batch]) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [b.frame for b in batches if b.table == "hr_snapshots"]
    rejects = [b.frame for b in batches if b.table == "rejects"]
    return (
        pl.concat(rows) if rows else pl.DataFrame(schema=HR_SNAPSHOTS.schema),
        pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECTS.schema),
    )


def test_default_headers_fixture_counts_and_normalisation() -> None:
    rows, rejects = _collect(list(HrCsvConnector().read_drop_zone(FIXTURES)))
    assert rows.schema == HR_SNAPSHOTS.schema
    assert rows["employee_id"].to_list() == ["E001", "E002", "E003", "E004", "E010"]
    assert set(rows["snapshot_date"]) == {dt.date(2026, 1, 5)}
    ada = rows.row(0, named=True)
    # " Ada.Martin@Northwind.example " stripped and lower-cased; the primary email removed from aliases
    assert ada["email"] == "ada.martin@northwind.example"
    assert ada["upn"] == "ada.martin@northwind.example"
    assert ada["aliases"] == ["a.martin@northwind.example", "ada@northwind.example"]
    assert ada["country"] == "FR" and ada["level"] == 1 and ada["manager_id"] is None
    by_id = {r["employee_id"]: r for r in rows.iter_rows(named=True)}
    assert by_id["E002"]["termination_date"] is None  # 9999-12-31 = no end
    assert by_id["E002"]["worker_type"] is None  # empty: derived later from settings
    assert by_id["E003"]["worker_type"] == "frontline"  # 'Frontline'
    assert by_id["E004"]["aliases"] == ["dan@northwind.example"]  # trailing ';' ignored
    assert by_id["E004"]["termination_date"] == dt.date(2026, 1, 31)
    assert by_id["E010"]["department"] == "Research, Development"
    assert set(rows["source_file"]) == {"hr_2026-01-05.csv"}

    assert rejects.schema == REJECTS.schema
    reasons = dict(zip(rejects["locator"], rejects["reason"], strict=True))
    assert reasons == {
        "hr_2026-01-05.csv line 6": "level: cannot read as Int16",
        "hr_2026-01-05.csv line 7": "employee_id: required, found empty",
        "hr_2026-01-05.csv line 8": "hire_date: expected a date YYYY-MM-DD, found '2026-02-30'",
        "hr_2026-01-05.csv line 9": "duplicate employee_id for this snapshot_date: an earlier row was kept",
        "hr_2026-01-05.csv line 10": "worker_type: expected office or frontline, found 'remote'",
        "hr_2026-01-05.csv line 11": "country: expected an ISO 3166 alpha-2 code, found 'FRANCE'",
        "hr_2026-01-05.csv line 12": "hire_date: 2201-01-01 is after 2100-01-01",
    }
    assert set(rejects["source"]) == {"hr_csv"}
    assert dict(zip(rejects["locator"], rejects["excerpt"], strict=True))["hr_2026-01-05.csv line 9"] == (
        "employee_id=E002"
    )


def test_small_batches_give_the_same_rows() -> None:
    whole = _collect(list(HrCsvConnector().read_drop_zone(FIXTURES)))
    tiny = _collect(list(HrCsvConnector(batch_rows=3).read_drop_zone(FIXTURES)))
    assert whole[0].equals(tiny[0])
    assert whole[1].sort("locator").equals(tiny[1].sort("locator"))


def test_mapping_from_settings_yaml_and_snapshot_date_column(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        rows, rejects = _collect(list(HrCsvConnector().read_drop_zone(FIXTURES / "mapped_zone")))
    assert rows.select("snapshot_date", "employee_id", "manager_id", "org_unit").rows() == [
        (dt.date(2026, 1, 5), "E001", None, "EXEC"),
        (dt.date(2026, 1, 5), "E002", "E001", "SALES-FR-2"),
        (dt.date(2026, 2, 2), "E001", None, "EXEC"),
        (dt.date(2026, 2, 2), "E002", "E001", "SALES-FR-3"),
    ]
    assert rows["display_name"].to_list()[:2] == ["Ada Martin", "Bruno Keller"]
    assert rejects.select("locator", "reason").rows() == [
        ("workday_export.csv line 6", "snapshot_date: required, found empty")
    ]
    assert "ignoring column(s) not mapped to hr_snapshots: Salary Band" in caplog.text


def test_explicit_mapping_wins_over_settings(tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    shutil.copytree(FIXTURES / "mapped_zone", zone)
    (zone / "settings.yaml").write_text("organisation: X\nplatform_launch: 2026-01-05\n")  # no mapping
    with pytest.raises(ContractError, match="missing column.s. employee_id"):
        list(HrCsvConnector().read_drop_zone(zone))
    mapping = {"employee_id": "Personnel Number", "snapshot_date": "As Of", "email": "Work Email"}
    rows, _ = _collect(list(HrCsvConnector().with_column_mapping(mapping).read_drop_zone(zone)))
    assert rows.height == 4
    assert rows["email"].to_list()[0] == "ada.martin@northwind.example"
    assert rows["display_name"].null_count() == 4  # 'Full Name' not mapped this time


def test_bad_mappings_are_rejected_up_front(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="unknown hr_snapshots column.s. salary"):
        HrCsvConnector({"salary": "Salary Band"})
    with pytest.raises(ContractError, match="Work Email mapped to more than one column"):
        HrCsvConnector({"email": "Work Email", "upn": "Work Email"})
    zone = tmp_path / "zone"
    shutil.copytree(FIXTURES / "mapped_zone", zone)
    (zone / "settings.yaml").write_text(
        "organisation: X\nplatform_launch: 2026-01-05\nhr_csv_columns: {badge: Badge}\n"
    )
    with pytest.raises(ContractError, match="settings.yaml hr_csv_columns: unknown hr_snapshots column.s. badge"):
        list(HrCsvConnector().read_drop_zone(zone))


def test_file_without_snapshot_date_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "directory.csv"
    path.write_text("employee_id,email\nE1,a@x.example\n")
    with pytest.raises(ConnectorError) as info:
        list(HrCsvConnector().read(path))
    assert info.value.file == str(path)
    assert "no snapshot date: name the file hr_YYYY-MM-DD.csv or add a 'snapshot_date' column" in str(info.value)


def test_missing_file_and_missing_key_column(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="file not found"):
        list(HrCsvConnector().read(tmp_path / "hr_2026-01-05.csv"))
    path = tmp_path / "hr_2026-01-05.csv"
    path.write_text("id,email\nE1,a@x.example\n")
    with pytest.raises(ContractError) as info:
        list(HrCsvConnector().read(path))
    assert "missing column(s) employee_id; expected an HR extract" in str(info.value)
    assert info.value.locator == "line 1"


def test_latin1_extract_is_decoded_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "hr_2026-01-05.csv"
    path.write_bytes("employee_id,display_name\nE1,Chloé Dubois\nE2,Jürgen Groß\n".encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        rows, rejects = _collect(list(HrCsvConnector().read(path)))
    assert rows["display_name"].to_list() == ["Chloé Dubois", "Jürgen Groß"]
    assert rejects.height == 0
    assert "not UTF-8" in caplog.text and "hr_2026-01-05.csv" in caplog.text


def test_duplicates_across_files_of_the_same_date(tmp_path: Path) -> None:
    hr = tmp_path / "hr"
    hr.mkdir()
    (hr / "hr_2026-01-05.csv").write_text("employee_id\nE1\nE2\n")
    (hr / "hr_2026-01-05_late.csv").write_text("employee_id\nE2\nE3\n")
    (hr / "hr_2026-01-12.csv").write_text("employee_id\nE2\n")
    rows, rejects = _collect(list(HrCsvConnector().read_drop_zone(tmp_path)))
    assert rows.select("snapshot_date", "employee_id").rows() == [
        (dt.date(2026, 1, 5), "E1"),
        (dt.date(2026, 1, 5), "E2"),
        (dt.date(2026, 1, 5), "E3"),
        (dt.date(2026, 1, 12), "E2"),
    ]
    assert rejects.select("locator", "excerpt").rows() == [("hr_2026-01-05_late.csv line 2", "employee_id=E2")]


def test_snapshot_date_from_name() -> None:
    assert snapshot_date_from_name(Path("hr_2026-01-05.csv")) == dt.date(2026, 1, 5)
    assert snapshot_date_from_name(Path("export_2026-02-30.csv")) is None
    assert snapshot_date_from_name(Path("hr.csv")) is None


def test_input_frame_of_the_caller_is_not_modified() -> None:
    from pipelines.connectors.hr_csv import HrKeyTracker, normalise_hr_rows

    frame = pl.DataFrame(
        {"employee_id": ["E1"], "email": [" A@X.example "], "snapshot_date": ["2026-01-05"], "__line": [2]}
    )
    before = frame.clone()
    rows, _ = normalise_hr_rows(frame, file="f.csv", source="hr_csv", tracker=HrKeyTracker())
    assert frame.equals(before)
    assert rows["email"].to_list() == ["a@x.example"]
