"""``pipelines.connectors.archives.extract_archive``: what it writes, what it skips and why, and
when it refuses a zip or a tarball (the hostile corpus runs it through the connectors; these pin
the member-level rules)."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from pipelines.connectors import ConnectorError
from pipelines.connectors.archives import MAX_TOTAL_ENV, extract_archive
from tests.hostile.corpus import tar_bytes, zip_bytes


def _json(path: PurePosixPath) -> bool:
    return path.suffix == ".json"


def _extract(tmp_path: Path, name: str, data: bytes) -> tuple[dict[str, bytes], dict[str, str]]:
    """(files written below the target, relative path -> bytes; skipped members, name -> reason)."""
    archive = tmp_path / name
    archive.write_bytes(data)
    target = tmp_path / "out"
    target.mkdir()
    skipped = extract_archive(archive, target, wanted=_json, what="a test export")
    written = {str(p.relative_to(target)): p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()}
    return written, {m.name: m.reason for m in skipped}


def test_zip_members_keep_their_paths_and_unsafe_or_colliding_ones_are_reported(tmp_path: Path) -> None:
    members = {
        "export/realm.json": b"{}",
        "./export/messages-1.json": b"[1]",
        "export/notes.txt": b"not wanted: neither written nor reported",
        "../escaped/realm.json": b"zip-slip",
        "/abs/realm.json": b"absolute",
        "C:\\drive\\realm.json": b"a drive letter",
        "export/a.json": b"a file",
        "export/a.json/b.json": b"a member below a file member",
    }
    written, skipped = _extract(tmp_path, "x.zip", zip_bytes(members, symlinks={"export/link.json": "/etc/passwd"}))
    assert written == {"export/realm.json": b"{}", "export/messages-1.json": b"[1]", "export/a.json": b"a file"}
    assert skipped == {
        "../escaped/realm.json": "path leaves the archive ('..'): not extracted",
        "/abs/realm.json": "absolute path in the archive: not extracted",
        "C:\\drive\\realm.json": "absolute path in the archive: not extracted",
        "export/link.json": "a symbolic link: not extracted",
        "export/a.json/b.json": "another member already uses this path: not read",
    }


def test_a_second_zip_member_of_the_same_path_is_reported_and_the_first_kept(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("realm.json", b"first")
        z.writestr("realm.json", b"second")
    written, skipped = _extract(tmp_path, "x.zip", buf.getvalue())
    assert written == {"realm.json": b"first"}
    assert skipped == {"realm.json": "another member already uses this path: not read"}


def test_a_damaged_zip_member_is_reported_and_the_others_are_extracted(tmp_path: Path) -> None:
    payload = random.Random(1).randbytes(4096).hex().encode()  # compressible, so a deflate stream
    data = bytearray(zip_bytes({"a.json": payload, "b.json": b"[2]"}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("a.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 2, start + 40):
        data[i] ^= 0x5A
    written, skipped = _extract(tmp_path, "x.zip", bytes(data))
    assert written == {"b.json": b"[2]"}  # nothing of the damaged member is left behind
    assert list(skipped) == ["a.json"] and skipped["a.json"].startswith("damaged member, not read: ")


def test_tar_members_keep_their_paths_and_links_devices_and_escapes_are_reported(tmp_path: Path) -> None:
    data = tar_bytes(
        {"./export/realm.json": b"{}", "export/messages-1.json": b"[1]", "../up/realm.json": b"x",
         "/abs/realm.json": b"x", "export/skip.txt": b"not wanted"},
        symlinks={"export/sym.json": "/etc/passwd"},
        hardlinks={"export/hard.json": "/etc/passwd"},
        fifos=("export/pipe.json",),
    )
    written, skipped = _extract(tmp_path, "x.tar.gz", data)
    assert written == {"export/realm.json": b"{}", "export/messages-1.json": b"[1]"}
    assert skipped == {
        "../up/realm.json": "path leaves the archive ('..'): not extracted",
        "/abs/realm.json": "absolute path in the archive: not extracted",
        "export/sym.json": "a symbolic link: not extracted",
        "export/hard.json": "a hard link: not extracted",
        "export/pipe.json": "not a regular file: not extracted",
    }


def test_an_uncompressed_tar_is_read_too(tmp_path: Path) -> None:
    written, skipped = _extract(tmp_path, "x.tar", tar_bytes({"realm.json": b"{}"}, compression=""))
    assert written == {"realm.json": b"{}"} and skipped == {}


def test_a_tarball_inflating_more_than_the_ratio_is_refused_before_writing(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.tar.gz"
    archive.write_bytes(tar_bytes({"realm.json": b"\0" * (24 << 20)}))
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ConnectorError, match="bomb.tar.gz: the members read would inflate .* decompression bomb"):
        extract_archive(archive, target, wanted=_json, what="a test export")
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("name", ["x.zip", "x.tar.gz"])
def test_members_above_the_total_ceiling_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     name: str) -> None:
    monkeypatch.setenv(MAX_TOTAL_ENV, "1000")
    members = {"a.json": b"[" + b"1," * 300 + b"1]", "b.json": b"[" + b"2," * 300 + b"2]"}
    data = zip_bytes(members) if name.endswith(".zip") else tar_bytes(members)
    with pytest.raises(ConnectorError, match=f"{name}: members add up to more than 1000 bytes"):
        _extract(tmp_path, name, data)
    again = tmp_path / "again"
    again.mkdir()
    monkeypatch.setenv(MAX_TOTAL_ENV, "2000")
    written, _ = _extract(again, name, data)
    assert sorted(written) == ["a.json", "b.json"]


def test_a_tarball_damaged_past_its_first_member_is_a_typed_error_and_writes_nothing(tmp_path: Path) -> None:
    noise = random.Random(2).randbytes(200_000)  # incompressible: the damage lands past the first header
    good = tar_bytes({"uploads/a.json": noise, "realm.json": b"{}"})
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(good[: len(good) * 2 // 3])  # cut short
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ConnectorError, match="x.tar.gz: damaged tar archive, its members cannot be listed"):
        extract_archive(archive, target, wanted=_json, what="a test export")
    assert list(target.iterdir()) == []


def test_an_unopenable_tarball_names_the_file_and_what_was_expected(tmp_path: Path) -> None:
    archive = tmp_path / "x.tgz"
    archive.write_bytes(b"not a tarball at all")
    with pytest.raises(ConnectorError, match="x.tgz: cannot open as a tar archive .*expected a test export"):
        extract_archive(archive, tmp_path, wanted=_json, what="a test export")
