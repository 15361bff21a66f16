"""LDIF HR connector: the real OpenLDAP sample (../shared/realdata/ldap) and a hand-written extract.

Real sample (10 files, one entry each, counted by reading them): 1 organizationalUnit, 7 people
(amy, bender, fry, hermes, leela, professor, zoidberg), 2 groups; 8 mail values (professor has 2,
so 7 primary emails + 1 alias); 12 base64 '::' values (7 userPassword, 5 jpegPhoto); amy's DN has
a multi-valued RDN and her userPassword is folded in the middle of its '=='. No manager attribute.

Hand-written extract (tests/fixtures/connectors/hr_ldif/hr/hr_2026-01-05.ldif): 11 records after
'version: 1': an OU, 5 people kept (E001 Ada with 3 mails, E002 Bruno with a folded mail and a
manager DN written in other case and spacing, E003 José with a base64 DN and cn and a manager,
dortiz with a manager outside the extract, elind an AD 'user'), a group, and 4 rejects: a
'changetype: modify' record (line 76), an entry with a line without ':' (line 82), a person with no
id attribute (line 88), a second E001 (line 93).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors.base import Batch, ConnectorError
from pipelines.connectors.hr_ldif import HrLdifConnector, iter_ldif_entries, normalise_dn
from transforms.contracts import HR_SNAPSHOTS, REJECTS

REAL = Path(__file__).parents[3] / "shared" / "realdata" / "ldap"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "connectors" / "hr_ldif"
EXTRACT = FIXTURE / "hr" / "hr_2026-01-05.ldif"

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real LDIF sample not found at {REAL}")


def _split(batches: list[Batch]) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [b.frame for b in batches if b.table == "hr_snapshots"]
    rejects = [b.frame for b in batches if b.table == "rejects"]
    return (
        pl.concat(rows) if rows else pl.DataFrame(schema=HR_SNAPSHOTS.schema),
        pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECTS.schema),
    )


@needs_real
def test_real_sample_parser_counts() -> None:
    entries = [e for f in sorted(REAL.glob("*.ldif")) for e in iter_ldif_entries(f)]
    assert len(entries) == 10
    classes = [{c.lower() for c in e.texts("objectclass")} for e in entries]
    assert sum("inetorgperson" in c for c in classes) == 7
    assert sum("group" in c for c in classes) == 2
    assert sum("organizationalunit" in c for c in classes) == 1
    assert sum(len(e.texts("mail")) for e in entries) == 8
    # base64 values: userPassword decodes to text, jpegPhoto stays bytes
    passwords = [v for e in entries for v in e.attributes.get("userpassword", [])]
    photos = [v for e in entries for v in e.attributes.get("jpegphoto", [])]
    assert (len(passwords), len(photos)) == (7, 5)
    assert all(isinstance(p, str) and p.lower().startswith("{ssha}") for p in passwords)
    assert all(isinstance(p, bytes) and p.startswith(b"\xff\xd8") for p in photos)  # JPEG magic
    amy = next(e for e in entries if e.first("uid") == "amy")
    assert amy.dn == "cn=Amy Wong+sn=Kroker,ou=people,dc=planetexpress,dc=com"
    assert amy.attributes["userpassword"] == ["{SSHA}wJv9s2Z9m0bS0R1WY7B7BEfDUVOC86cpV/uC0w=="]  # folded '=' + '='
    assert not any(e.problems for e in entries)


@needs_real
def test_real_sample_as_one_extract_folder(tmp_path: Path) -> None:
    shutil.copytree(REAL, tmp_path / "hr" / "planetexpress_2026-01-05")
    rows, rejects = _split(list(HrLdifConnector().read_drop_zone(tmp_path)))
    assert rejects.height == 0
    assert rows["employee_id"].to_list() == ["amy", "bender", "fry", "hermes", "leela", "professor", "zoidberg"]
    assert set(rows["snapshot_date"]) == {dt.date(2026, 1, 5)}
    assert rows["email"].to_list() == [f"{u}@planetexpress.com" for u in rows["employee_id"]]
    assert rows.filter(pl.col("aliases").is_not_null()).select("employee_id", "aliases").rows() == [
        ("professor", ["hubert@planetexpress.com"])
    ]
    by_id = {r["employee_id"]: r for r in rows.iter_rows(named=True)}
    assert by_id["amy"]["display_name"] == "Amy Wong"  # no displayName: cn
    assert by_id["professor"]["display_name"] == "Professor Farnsworth"
    assert rows["department"].value_counts().sort("department").rows() == [
        ("Delivering Crew", 3), ("Intern", 1), ("Office Management", 2), ("Staff", 1)
    ]
    assert rows["manager_id"].null_count() == 7  # no manager attribute in the sample
    assert by_id["professor"]["job_family"] == "Professor"


@needs_real
def test_real_sample_without_a_date_is_an_error(tmp_path: Path) -> None:
    shutil.copytree(REAL, tmp_path / "ldap")
    with pytest.raises(ConnectorError, match="no snapshot date"):
        list(HrLdifConnector().read(tmp_path / "ldap"))


def test_hand_written_extract() -> None:
    rows, rejects = _split(list(HrLdifConnector().read_drop_zone(FIXTURE)))
    assert rows.schema == HR_SNAPSHOTS.schema
    assert rows["employee_id"].to_list() == ["E001", "E002", "E003", "dortiz", "elind"]
    by_id = {r["employee_id"]: r for r in rows.iter_rows(named=True)}
    ada = by_id["E001"]
    assert ada["email"] == "ada.martin@northwind.example"
    assert ada["aliases"] == ["ada@northwind.example", "a.martin@northwind.example"]
    assert (ada["site"], ada["country"], ada["job_family"], ada["department"]) == (
        "HQ-PARIS", "FR", "Chief Executive", "Executive"
    )
    assert by_id["E002"]["email"] == "bruno.keller@northwind.example"  # folded line joined
    assert by_id["E002"]["manager_id"] == "E001"  # 'CN=Ada Martin, OU=people, ...' matched
    jose = by_id["E003"]
    assert (jose["display_name"], jose["manager_id"], jose["department"], jose["country"]) == (
        "José Müller", "E002", "Maintenance", "FR"
    )
    assert by_id["dortiz"]["manager_id"] is None  # manager DN not in the extract
    eva = by_id["elind"]
    assert (eva["upn"], eva["site"], eva["country"]) == ("elind@northwind.example", "STORE-MADRID", "ES")
    assert dict(zip(rejects["locator"], rejects["reason"], strict=True)) == {
        "hr_2026-01-05.ldif line 76": "changetype: modify is a change record, not a directory entry",
        "hr_2026-01-05.ldif line 82": "line 86: expected 'attribute: value'",
        "hr_2026-01-05.ldif line 88": "employee_id: no employeeNumber, uid or sAMAccountName",
        "hr_2026-01-05.ldif line 93": "duplicate employee_id for this snapshot_date: an earlier row was kept",
    }
    assert set(rejects["file"]) == {str(FIXTURE / "hr" / "hr_2026-01-05.ldif")}


def test_small_batches_give_the_same_rows() -> None:
    whole = _split(list(HrLdifConnector().read_drop_zone(FIXTURE)))
    tiny = _split(list(HrLdifConnector(batch_entries=2).read_drop_zone(FIXTURE)))
    assert whole[0].equals(tiny[0])
    assert whole[1].sort("locator").equals(tiny[1].sort("locator"))


def test_snapshot_date_from_modify_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "directory.ldif"
    shutil.copy(EXTRACT, path)
    rows, _ = _split(list(HrLdifConnector().read(path)))
    assert set(rows["snapshot_date"]) == {dt.date(2026, 1, 3)}  # dortiz's 20260103170000Z is the latest


def test_bad_files(tmp_path: Path) -> None:
    latin = tmp_path / "hr_2026-01-05.ldif"
    latin.write_bytes("dn: cn=Jos\xe9,dc=x\nobjectClass: person\nuid: jose\n".encode("latin-1"))
    with pytest.raises(ConnectorError, match="not UTF-8 .byte 0xe9.") as info:
        list(HrLdifConnector().read(latin))
    assert info.value.file == str(latin)
    bad64 = tmp_path / "hr_2026-01-06.ldif"
    bad64.write_text("dn: cn=A,dc=x\nobjectClass: person\nuid: a\ncn:: not*base64\n")
    rows, rejects = _split(list(HrLdifConnector().read(bad64)))
    assert rows.height == 0
    assert rejects["reason"].to_list() == ["line 4: cn: invalid base64"]
    with pytest.raises(ConnectorError, match="not found"):
        list(HrLdifConnector().read(tmp_path / "missing_2026-01-05.ldif"))


def test_normalise_dn() -> None:
    assert normalise_dn(" CN=Ada Martin, OU=people ,DC=northwind ") == "cn=ada martin,ou=people,dc=northwind"
    assert normalise_dn("cn=Amy Wong + sn=Kroker,ou=people") == "cn=amy wong+sn=kroker,ou=people"
