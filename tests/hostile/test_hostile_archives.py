"""Hostile zip archives, for every registered connector that reads zips: zip-slip members (``../``),
absolute member paths, symbolic links, a decompression bomb, a damaged member.

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
from tests.hostile.corpus import known_gap, files_of, fixture_root, run_case, sandbox, tables_of, zip_bytes, zip_members

pytestmark = pytest.mark.xdist_group("hostile")

BOMB_BYTES = 24 << 20  # 24 MiB of zeros: about 24 KiB compressed, 1000 times smaller


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


def _setup(box, name: str, members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> Path | None:  # noqa: ANN001
    found = _export_members(name)
    assert found is not None
    folder, _ = found
    target = box.data / folder
    target.mkdir(parents=True, exist_ok=True)
    path = target / "hostile_export.zip"
    path.write_bytes(zip_bytes(members, symlinks=symlinks))
    return path if _load(name).recognises(path) else None


def _zip_readers() -> list[str]:
    return NAMES


@pytest.mark.parametrize("name", _zip_readers())
def test_unsafe_members_are_never_extracted_and_are_reported(request: pytest.FixtureRequest, name: str) -> None:
    known_gap(request, name)
    found = _export_members(name)
    if found is None:
        pytest.skip(f"{name}: no fixture")
    connector = _load(name)
    _, members = found
    # the clean zip's rows: what the hostile zip must still give
    with sandbox() as box:
        clean = _setup(box, name, members)
        if clean is None:
            pytest.skip(f"{name} does not read zip archives")
        expected = {t: f.height for t, f in tables_of(tuple(connector.read(clean))).items() if t != "rejects"}
    base = {PurePosixPath(m).name for m in members}
    for kind in ("zip-slip", "absolute", "symlink"):
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
            path = _setup(box, name, hostile, symlinks=links)
            case = f"{name}:archive-{kind}"
            outcome = run_case(case, name, lambda: connector.read(path), box=box, files=(path,), connector=connector)
            assert outcome.error is None, f"{case}: {outcome.error}"
            got = {t: f.height for t, f in outcome.tables.items() if t != "rejects"}
            assert got == expected, f"{case}: rows {got} != the clean archive's {expected}"
            # every unsafe member the connector would have read (by its name) is reported; members it
            # never reads (e.g. Viva Engage's Topics.csv) need not be
            located = set(outcome.frame("rejects")["locator"].to_list())
            planted = {n for n in [*hostile, *links] if n not in members}
            assert located & planted, f"{case}: no unsafe member reported among rejects"


@pytest.mark.parametrize("name", _zip_readers())
def test_decompression_bomb_is_refused_before_inflating(request: pytest.FixtureRequest, name: str) -> None:
    known_gap(request, name)
    found = _export_members(name)
    if found is None:
        pytest.skip(f"{name}: no fixture")
    connector = _load(name)
    _, members = found
    biggest = max(members, key=lambda m: len(members[m]))
    with sandbox() as box:
        bomb = {**members, biggest: b"\0" * BOMB_BYTES}  # a real member's name: it would be read
        path = _setup(box, name, bomb)
        if path is None:
            pytest.skip(f"{name} does not read zip archives")
        outcome = run_case(f"{name}:archive-bomb", name, lambda: connector.read(path), box=box, files=(path,),
                           connector=connector)
        assert outcome.error is not None and "decompression bomb" in str(outcome.error)


@pytest.mark.parametrize("name", _zip_readers())
def test_damaged_member_is_a_typed_error_or_a_reject(request: pytest.FixtureRequest, name: str) -> None:
    known_gap(request, name)
    found = _export_members(name)
    if found is None:
        pytest.skip(f"{name}: no fixture")
    connector = _load(name)
    _, members = found
    biggest = max(members, key=lambda m: len(members[m]))
    with sandbox() as box:
        path = _setup(box, name, members)
        if path is None:
            pytest.skip(f"{name} does not read zip archives")
        data = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(biggest)
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for i in range(start + 2, start + min(info.compress_size, 40)):  # scramble the deflate stream
            data[i] ^= 0x5A
        path.write_bytes(bytes(data))
        outcome = run_case(f"{name}:archive-damaged-member", name, lambda: connector.read(path), box=box,
                           files=(path, biggest), connector=connector)
        if outcome.error is None:
            assert any(biggest in loc for loc in outcome.frame("rejects")["locator"].to_list())
    assert zlib  # the error this case once raised bare
