"""Hostile archives, for every registered connector that reads zips or tarballs (``.tar.gz``):
zip-slip members (``../``), absolute member paths, symbolic links (and hard links in a tarball), a
decompression bomb, a damaged member (a damaged gzip stream in a tarball).

The archive is built from the connector's own fixture (its export zip's members, or the files of
its export folder or file) plus the hostile members, named like the real ones so the connector
would read them. Unsafe members must never be extracted anywhere (the sandbox tree is compared
before and after, ``corpus.confined``: an absolute member points into the sandbox itself) and are
reported as rejects while the real members give exactly the fixture's rows; a bomb is refused with
a typed error before anything is inflated.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path, PurePosixPath

import pytest

from tests.connectors.test_contract_kit import NAMES, _load
from tests.hostile.corpus import (
    files_of,
    fixture_root,
    known_gap,
    run_case,
    sandbox,
    tables_of,
    tar_bytes,
    zip_bytes,
    zip_members,
)

pytestmark = pytest.mark.xdist_group("hostile")

BOMB_BYTES = 24 << 20  # 24 MiB of zeros: about 24 KiB compressed, 1000 times smaller
#: The archive formats built: a zip, and a gzipped tarball (Zulip's own export format).
FORMATS = ("zip", "tar.gz")


def _export_members(name: str) -> tuple[Path, dict[str, bytes]] | None:
    """(the connector folder relative to the drop zone, the members of a zip of its fixture's first
    input), or None when the connector does not read zips."""
    connector = _load(name)
    root = fixture_root(name)
    if not root.is_dir():
        return None
    inputs = connector.inputs(root)
    if not inputs:
        return None
    first = inputs[0]
    if first.is_file() and first.suffix.lower() == ".zip":
        members = zip_members(first)
    elif first.is_dir():
        members = {str(p.relative_to(first)): p.read_bytes() for p in files_of(first)}
    else:
        members = {first.name: first.read_bytes()}
    folder = connector.folder(root).relative_to(root)
    return folder, members


def _setup(box, name: str, members: dict[str, bytes], *, fmt: str = "zip",  # noqa: ANN001
           links: dict[str, str] | None = None, hardlinks: dict[str, str] | None = None) -> Path | None:
    """The archive (``fmt``) written to the connector's folder; None if the connector does not read it."""
    found = _export_members(name)
    assert found is not None
    folder, _ = found
    target = box.data / folder
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"hostile_export.{fmt}"
    path.write_bytes(zip_bytes(members, symlinks=links) if fmt == "zip"
                     else tar_bytes(members, symlinks=links, hardlinks=hardlinks))
    return path if _load(name).recognises(path) else None


def _case(name: str, fmt: str, kind: str) -> str:
    return f"{name}:{'archive' if fmt == 'zip' else 'tar'}-{kind}"


def _zip_readers() -> list[str]:
    return NAMES


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", _zip_readers())
def test_unsafe_members_are_never_extracted_and_are_reported(
    request: pytest.FixtureRequest, name: str, fmt: str
) -> None:
    known_gap(request, name)
    found = _export_members(name)
    if found is None:
        pytest.skip(f"{name}: no fixture")
    connector = _load(name)
    _, members = found
    # the clean archive's rows: what the hostile archive must still give
    with sandbox() as box:
        clean = _setup(box, name, members, fmt=fmt)
        if clean is None:
            pytest.skip(f"{name} does not read {fmt} archives")
        expected = {t: f.height for t, f in tables_of(tuple(connector.read(clean))).items() if t != "rejects"}
    base = {PurePosixPath(m).name for m in members}
    kinds = ("zip-slip", "absolute", "symlink") + (("hardlink",) if fmt != "zip" else ())
    for kind in kinds:
        with sandbox() as box:
            hostile: dict[str, bytes] = dict(members)
            links: dict[str, str] = {}
            for i, member in enumerate(sorted(base)):
                payload = members[next(m for m in members if PurePosixPath(m).name == member)]
                if kind == "zip-slip":
                    hostile[f"../../escaped_{i}/{member}"] = payload
                elif kind == "absolute":
                    hostile[f"{box.root}/absolute_{i}/{member}"] = payload
                else:
                    links[f"links_{i}/{member}"] = "/etc/passwd"
            path = _setup(box, name, hostile, fmt=fmt, links=links if kind == "symlink" else None,
                          hardlinks=links if kind == "hardlink" else None)
            case = _case(name, fmt, kind)
            outcome = run_case(case, name, lambda: connector.read(path), box=box, files=(path,), connector=connector)
            assert outcome.error is None, f"{case}: {outcome.error}"
            got = {t: f.height for t, f in outcome.tables.items() if t != "rejects"}
            assert got == expected, f"{case}: rows {got} != the clean archive's {expected}"
            # every unsafe member the connector would have read (by its name) is reported; members it
            # never reads (e.g. Viva Engage's Topics.csv) need not be
            located = set(outcome.frame("rejects")["locator"].to_list())
            planted = {n for n in [*hostile, *links] if n not in members}
            assert located & planted, f"{case}: no unsafe member reported among rejects"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", _zip_readers())
def test_decompression_bomb_is_refused_before_inflating(request: pytest.FixtureRequest, name: str, fmt: str) -> None:
    known_gap(request, name)
    found = _export_members(name)
    if found is None:
        pytest.skip(f"{name}: no fixture")
    connector = _load(name)
    _, members = found
    biggest = max(members, key=lambda m: len(members[m]))
    with sandbox() as box:
        bomb = {**members, biggest: b"\0" * BOMB_BYTES}  # a real member's name: it would be read
        path = _setup(box, name, bomb, fmt=fmt)
        if path is None:
            pytest.skip(f"{name} does not read {fmt} archives")
        outcome = run_case(_case(name, fmt, "bomb"), name, lambda: connector.read(path), box=box, files=(path,),
                           connector=connector)
        assert outcome.error is not None and "decompression bomb" in str(outcome.error)


def _scramble(path: Path, member: str) -> None:
    """Flip bits in the compressed bytes of ``member`` (a zip) or in the middle of a tarball's gzip
    stream (its members are one stream)."""
    data = bytearray(path.read_bytes())
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(member)
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        stop = start + min(info.compress_size, 40)
    else:
        start, stop = len(data) // 3, len(data) // 3 + 38
    for i in range(start + 2, stop):  # scramble the deflate stream
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", _zip_readers())
def test_damaged_member_is_a_typed_error_or_a_reject(request: pytest.FixtureRequest, name: str, fmt: str) -> None:
    known_gap(request, name)
    found = _export_members(name)
    if found is None:
        pytest.skip(f"{name}: no fixture")
    connector = _load(name)
    _, members = found
    biggest = max(members, key=lambda m: len(members[m]))
    with sandbox() as box:
        path = _setup(box, name, members, fmt=fmt)
        if path is None:
            pytest.skip(f"{name} does not read {fmt} archives")
        _scramble(path, biggest)
        outcome = run_case(_case(name, fmt, "damaged-member"), name, lambda: connector.read(path), box=box,
                           files=(path, biggest), connector=connector)
        if outcome.error is None:
            rejects = outcome.frame("rejects")
            assert any(biggest in loc for loc in rejects["locator"].to_list()) or fmt != "zip", rejects
            assert rejects.height, f"{name}: a damaged archive read without a word"
    assert zlib  # the error this case once raised bare
