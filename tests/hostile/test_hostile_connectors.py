"""Format-blind hostile cases for every registered connector, on its contract-kit fixture.

Parametrised over the ``uptake.connectors`` entry points, like the contract kit, so a connector
added later gets these cases without a line here. Each mutation of ``mutations.GENERIC`` is applied
to every file of every input of the fixture (to each member of a zip, re-zipped, and to the archive
itself); a folder is put where each file was; and hypothesis truncates, overwrites, inserts and
deletes bytes at random. Every case must end in a typed error naming the file, or in output that
honours the contract, with nothing written outside the sandbox (``corpus.run_case``). Benign
mutations (a BOM, CRLF line ends) must give the same canonical rows as the untouched fixture.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.connectors.test_contract_kit import NAMES, _load
from tests.hostile.corpus import (
    known_gap,
    Sandbox,
    copy_fixture,
    files_of,
    fixture_root,
    run_case,
    sandbox,
    tables_of,
    zip_bytes,
    zip_members,
)
from tests.hostile.mutations import BENIGN, GENERIC

pytestmark = pytest.mark.xdist_group("hostile")

#: Files of one input a format-blind mutation is applied to (the largest first), to keep it fast.
MAX_FILES_PER_INPUT = 4


@dataclass(frozen=True)
class Target:
    """One file of a fixture a mutation applies to: a file of the drop zone or a member of a zip."""

    file: Path  # relative to the drop-zone root
    member: str | None = None

    @property
    def label(self) -> str:
        return f"{self.file}!{self.member}" if self.member else str(self.file)


def _fixture(name: str) -> Path:
    root = fixture_root(name)
    if not root.is_dir():
        pytest.skip(f"connector {name!r}: no fixture yet")
    return root


def targets(name: str) -> list[Target]:
    connector = _load(name)
    root = _fixture(name)
    found: list[Target] = []
    for path in connector.inputs(root):
        if path.is_file() and path.suffix.lower() == ".zip":
            members = sorted(zip_members(path).items(), key=lambda kv: -len(kv[1]))[:MAX_FILES_PER_INPUT]
            found += [Target(path.relative_to(root), m) for m, _ in members]
            found.append(Target(path.relative_to(root)))
        else:
            files = sorted(files_of(path), key=lambda p: -p.stat().st_size)[:MAX_FILES_PER_INPUT]
            found += [Target(p.relative_to(root)) for p in files]
    assert found, f"{name}: its fixture has no input"
    return found


def _apply(box: Sandbox, name: str, target: Target, mutate) -> Path:  # noqa: ANN001 - bytes -> bytes
    """The fixture copied into the sandbox with ``mutate`` applied to ``target``; the hostile file."""
    root = copy_fixture(name, box.data)
    path = root / target.file
    if target.member is None:
        path.write_bytes(mutate(path.read_bytes()))
    else:
        members = zip_members(path)
        members[target.member] = mutate(members[target.member])
        path.write_bytes(zip_bytes(members))
    return path


def _canonical(tables: dict[str, pl.DataFrame], *, drop: tuple[str, ...] = ()) -> dict[str, pl.DataFrame]:
    """Tables without rejects and provenance (and ``drop``), in a fixed row order, for comparisons."""
    out = {}
    for table, frame in tables.items():
        if table == "rejects":
            continue
        frame = frame.drop("source_file", *drop, strict=False)
        out[table] = frame.sort(frame.columns, nulls_last=True) if frame.height else frame
    return out


_BASELINE: dict[str, dict[str, pl.DataFrame]] = {}


def baseline(name: str) -> dict[str, pl.DataFrame]:
    if name not in _BASELINE:
        _BASELINE[name] = _canonical(tables_of(tuple(_load(name).read_drop_zone(_fixture(name)))))
    return _BASELINE[name]


@pytest.mark.parametrize("mutation", sorted(GENERIC))
@pytest.mark.parametrize("name", NAMES)
def test_format_blind_mutations(request: pytest.FixtureRequest, name: str, mutation: str) -> None:
    known_gap(request, name)
    connector = _load(name)
    for target in targets(name):
        case = f"{name}:{mutation}:{target.label}"
        with sandbox() as box:
            path = _apply(box, name, target, GENERIC[mutation])
            outcome = run_case(case, name, lambda: connector.read_drop_zone(box.data), box=box,
                               files=(path, target.member or path), connector=connector)
            if mutation in BENIGN and not (target.member is None and path.suffix.lower() == ".zip"):
                assert outcome.error is None, f"{case}: {outcome.error}"
                # body_chars counts the text as exported: CRLF inside a quoted multi-line body is two characters
                drop = ("body_chars",) if mutation == "crlf" else ()
                got = _canonical(outcome.tables, drop=drop)
                expected = {t: f.drop(drop, strict=False) for t, f in baseline(name).items()}
                assert got.keys() == expected.keys(), case
                for table, frame in got.items():
                    assert frame.equals(expected[table]), f"{case}: {table} differs from the untouched fixture"


@pytest.mark.parametrize("name", NAMES)
def test_a_folder_where_a_file_is_expected(request: pytest.FixtureRequest, name: str) -> None:
    known_gap(request, name)
    connector = _load(name)
    for target in targets(name):
        if target.member is not None:
            continue
        case = f"{name}:folder:{target.label}"
        with sandbox() as box:
            root = copy_fixture(name, box.data)
            path = root / target.file
            path.unlink()
            path.mkdir()
            (path / "notes.txt").write_text("not an export\n")
            outcome = run_case(case, name, lambda: connector.read_drop_zone(box.data), box=box, files=(path,),
                               connector=connector)
            if outcome.error is None:  # then the folder must be reported, not passed over in silence
                rejects = outcome.frame("rejects")
                mentioned = rejects.filter(
                    pl.col("locator").str.contains(path.name, literal=True)
                    | pl.col("file").str.contains(path.name, literal=True)
                )
                assert mentioned.height, f"{case}: the folder was ignored without a word"


@st.composite
def byte_damage(draw: st.DrawFn, size: int) -> tuple[str, int, bytes]:
    """(operation, position, bytes): truncate at, overwrite at, insert at, or delete from a position."""
    op = draw(st.sampled_from(("truncate", "overwrite", "insert", "delete")))
    pos = draw(st.integers(0, max(size - 1, 0)))
    data = draw(st.binary(min_size=1, max_size=24))
    return op, pos, data


def _damage(op: str, pos: int, data: bytes):  # noqa: ANN202 - a mutation
    def mutate(b: bytes) -> bytes:
        if op == "truncate":
            return b[:pos]
        if op == "overwrite":
            return b[:pos] + data + b[pos + len(data):]
        if op == "insert":
            return b[:pos] + data + b[pos:]
        return b[:pos] + b[pos + len(data):]

    return mutate


@pytest.mark.parametrize("name", NAMES)
def test_random_byte_damage(request: pytest.FixtureRequest, name: str) -> None:
    known_gap(request, name)
    connector = _load(name)
    candidates = targets(name)
    root = _fixture(name)

    @settings(max_examples=15, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def damaged(data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(candidates))
        original = (zip_members(root / target.file)[target.member] if target.member
                    else (root / target.file).read_bytes())
        op, pos, chunk = data.draw(byte_damage(len(original)))
        case = f"{name}:bytes-{op}@{pos}:{target.label}"
        with sandbox() as box:
            path = _apply(box, name, target, _damage(op, pos, chunk))
            run_case(case, name, lambda: connector.read_drop_zone(box.data), box=box,
                     files=(path, target.member or path), connector=connector)

    damaged()


@pytest.mark.parametrize("name", NAMES)
def test_the_fixture_itself_is_a_clean_case(request: pytest.FixtureRequest, name: str) -> None:
    known_gap(request, name)
    """The control: the untouched fixture passes the same judge (so the judge is not trivially failing)."""
    connector = _load(name)
    with sandbox() as box:
        shutil.copytree(_fixture(name), box.data, dirs_exist_ok=True)
        outcome = run_case(f"{name}:untouched", name, lambda: connector.read_drop_zone(box.data), box=box,
                           files=(box.data,), connector=connector)
    assert outcome.error is None
    assert _canonical(outcome.tables).keys() == baseline(name).keys()
