"""What the archive-reading chat connectors (``zulip``, ``google_chat``, ``rocket_chat``) share
(``pipelines/connectors/chat_export.py``): an export read from a zip or a tarball gives the rows
and the rejects of the same export read as a folder, twice the same (no temporary path, no
wall-clock time in a reason); a damaged member is named; a folder named like an archive is reported.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors import Batch, ConnectorError
from pipelines.connectors.base import Connector
from pipelines.connectors.google_chat import GoogleChatConnector
from pipelines.connectors.rocket_chat import RocketChatConnector
from pipelines.connectors.zulip import ZulipConnector

FIXTURES = Path(__file__).parents[1] / "fixtures" / "connectors"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Case:
    connector: type[Connector]
    export: str  # the fixture's export folder, below platforms/<name>/
    broken: str  # a file of the export made unreadable (its rejects quote the parser's error)
    broken_bytes: bytes
    broken_locator: str  # the reject it gives
    #: the member whose damage stops the read (None: a damaged member is quarantined, the rest goes on)
    required: str | None


CASES = {
    "zulip": Case(ZulipConnector, "zulip-export-x7k2pq", "messages-000002.json", b'{"zerver_message": [{"id": 1,',
                  "messages-000002.json", "realm.json"),
    "google_chat": Case(GoogleChatConnector, "takeout-20240308T101500Z",
                        "Takeout/Google Chat/Groups/Space AAAAbcdE12/messages.json", b'{"messages": [',
                        "Space AAAAbcdE12/messages.json", None),
    "rocket_chat": Case(RocketChatConnector, "rocketchat-2024-03-08", "rocketchat_room.json", b'{"_id": "r1", "t"\n',
                        "rocketchat_room.json line 1", "rocketchat_message.json"),
}


def _tables(batches: list[Batch]) -> dict[str, pl.DataFrame]:
    out: dict[str, list[pl.DataFrame]] = {}
    for b in batches:
        out.setdefault(b.table, []).append(b.frame)
    return {t: pl.concat(f) for t, f in out.items()}


def _read(name: str, path: Path) -> dict[str, pl.DataFrame]:
    return _tables(list(CASES[name].connector(now=NOW).read(path)))  # type: ignore[call-arg]


def _export_copy(name: str, dest: Path) -> Path:
    """The fixture's export copied to ``dest/<export>`` with its ``broken`` file made unreadable."""
    case = CASES[name]
    export = shutil.copytree(FIXTURES / name / "platforms" / name / case.export, dest / case.export)
    (export / case.broken).write_bytes(case.broken_bytes)
    return export


def _archive(export: Path, path: Path) -> Path:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(p for p in export.rglob("*") if p.is_file()):
                z.write(f, f"{export.name}/{f.relative_to(export)}")
    else:
        with tarfile.open(path, "w:gz") as tar:
            tar.add(export, arcname=export.name)
    return path


def _comparable(tables: dict[str, pl.DataFrame]) -> dict[str, list[tuple]]:
    """Rows of every table, rejects without their ``file`` (the archive's or the folder's name)."""
    out = {}
    for table, frame in tables.items():
        frame = frame.drop("file") if table == "rejects" else frame
        out[table] = sorted(frame.rows(), key=repr)
    return out


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_an_archive_gives_the_folders_rows_and_rejects_and_the_same_twice(tmp_path: Path, name: str, fmt: str) -> None:
    export = _export_copy(name, tmp_path)
    archive = _archive(export, tmp_path / f"export.{fmt}")
    from_folder = _read(name, export)
    first, second = _read(name, archive), _read(name, archive)
    assert _comparable(first) == _comparable(from_folder)
    assert _comparable(first) == _comparable(second)
    reasons = first["rejects"]["reason"].to_list()
    assert not [r for r in reasons if str(tmp_path) in r or "uptake-" in r], reasons  # no path of this machine
    assert set(first["rejects"]["file"]) == {archive.name}
    assert CASES[name].broken_locator in first["rejects"]["locator"].to_list()


def test_a_parser_error_is_quoted_with_the_file_relative_to_the_export(tmp_path: Path) -> None:
    rejects = _read("zulip", _export_copy("zulip", tmp_path))["rejects"]
    broken = rejects.filter(pl.col("locator") == "messages-000002.json")["reason"].item()
    assert broken.startswith("not a readable Zulip messages file") and '"messages-000002.json"' in broken, broken


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_damaged_member_is_named(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    export = shutil.copytree(FIXTURES / name / "platforms" / name / case.export, tmp_path / case.export)
    target = case.required or case.broken
    (export / target).write_bytes((export / target).read_bytes() * 20)  # long enough to damage mid-stream
    archive = _archive(export, tmp_path / "export.zip")
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo(f"{export.name}/{target}")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 2, start + 40):
        data[i] ^= 0x5A
    archive.write_bytes(bytes(data))
    member = f"{export.name}/{target}"
    if case.required is not None:
        with pytest.raises(ConnectorError, match=f"export.zip: .*'{member}' was not read: damaged member"):
            _read(name, archive)
        return
    tables = _read(name, archive)
    damaged = tables["rejects"].filter(pl.col("locator") == member)
    assert damaged["reason"].str.starts_with("damaged member, not read: ").to_list() == [True]
    assert tables["events"].height > 0  # the other groups went on


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_folder_named_like_an_archive_is_reported_not_ignored(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "platforms" / name / "export.zip"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("not an export\n")
    connector = CASES[name].connector(now=NOW)  # type: ignore[call-arg]
    assert connector.inputs(tmp_path) == [folder]
    with pytest.raises(ConnectorError, match="export.zip"):
        list(connector.read_drop_zone(tmp_path))
