"""The shared connector contract kit: every registered connector, run on its fixture, must honour the
connector contract (pipelines/connectors/base.py) and the canonical table contracts.

Parametrised over the ``uptake.connectors`` entry points, i.e. what
``pipelines.connectors.registered_connectors()`` loads. A connector's fixture is a drop-zone root at
``tests/fixtures/connectors/<name>/`` (``platforms/<name>/...`` or ``hr/...``). A connector whose
module or fixture does not exist yet is skipped with the reason; once both exist the kit runs on it.
Adding a connector = one module, one entry point, one fixture folder: these tests then say whether
it is right (docs/connectors.md).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors import ENTRY_POINT_GROUP, Batch, Connector, registered_connectors
from transforms.contracts import ACTIONS, CONTRACTS, REJECTS
from transforms.contracts.tables import TEXT_COLUMNS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "connectors"
NAMES = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
CANONICAL = ("events", "accounts", "activity_counts", "hr_snapshots")
#: A string value of an events column with this many words or more looks like message text.
TEXT_LIKE_WORDS = 4


def _load(name: str) -> Connector:
    (ep,) = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == name]
    try:
        cls = ep.load()
    except ModuleNotFoundError as exc:
        pytest.skip(f"connector {name!r}: module not written yet ({exc})")
    return cls()


def _fixture(name: str) -> Path:
    root = FIXTURES / name
    if not root.is_dir():
        pytest.skip(f"connector {name!r}: no fixture at {root.relative_to(FIXTURES.parents[2])} yet")
    return root


@cache
def _read(name: str) -> tuple[Batch, ...]:
    """All batches of the connector on its fixture (read once per test session)."""
    connector = _load(name)
    return tuple(connector.read_drop_zone(_fixture(name)))


def _tables(batches: tuple[Batch, ...]) -> dict[str, pl.DataFrame]:
    frames: dict[str, list[pl.DataFrame]] = {}
    for batch in batches:
        frames.setdefault(batch.table, []).append(batch.frame)
    return {t: pl.concat(f) for t, f in frames.items()}


@pytest.mark.parametrize("name", NAMES)
def test_declares_what_it_is(name: str) -> None:
    connector = _load(name)
    assert isinstance(connector, Connector)
    assert connector.name == name
    assert connector.kind in ("platform", "hr")
    assert connector.title.strip() and connector.reads.strip()
    assert connector.yields and set(connector.yields) <= set(CANONICAL), connector.yields
    assert set(connector.cannot_see) <= set(ACTIONS), f"cannot_see must use the action vocabulary: {connector.cannot_see}"
    if connector.kind == "hr":
        assert connector.yields == ("hr_snapshots",)


@pytest.mark.parametrize("name", NAMES)
def test_recognises_its_fixture(name: str) -> None:
    connector = _load(name)
    root = _fixture(name)
    inputs = connector.inputs(root)
    assert inputs, f"{name} recognises nothing in {connector.folder(root)}"
    assert all(p.parent == connector.folder(root) for p in inputs)


@pytest.mark.parametrize("name", NAMES)
def test_batches_have_exactly_the_contract_schema(name: str) -> None:
    connector = _load(name)
    batches = _read(name)
    for batch in batches:
        assert batch.table in (*connector.yields, "rejects"), f"{name} yielded undeclared table {batch.table}"
        contract = CONTRACTS[batch.table]
        assert batch.frame.schema == contract.schema, (
            f"{name} {batch.table}: schema {dict(batch.frame.schema)} != contract {dict(contract.schema)}"
        )
        not_null = [c.name for c in contract.columns if not c.nullable]
        nulls = {c: batch.frame[c].null_count() for c in not_null if batch.frame[c].null_count()}
        assert not nulls, f"{name} {batch.table}: nulls in required columns {nulls}"


@pytest.mark.parametrize("name", NAMES)
def test_yields_exactly_its_declared_tables_with_rows(name: str) -> None:
    connector = _load(name)
    tables = _tables(_read(name))
    yielded = {t for t, f in tables.items() if t != "rejects" and f.height}
    assert yielded == set(connector.yields), f"{name} declares {connector.yields}, yielded {sorted(yielded)}"


@pytest.mark.parametrize("name", NAMES)
def test_keys_are_unique_and_sources_named(name: str) -> None:
    connector = _load(name)
    tables = _tables(_read(name))
    for table, frame in tables.items():
        contract = CONTRACTS[table]
        if contract.key:
            dupes = frame.filter(pl.struct(list(contract.key)).is_duplicated())
            assert dupes.height == 0, f"{name} {table}: duplicate key {contract.key}:\n{dupes.head()}"
        if "source" in frame.columns and table != "rejects":
            assert set(frame["source"]) == {name}, f"{name} {table}: source values {set(frame['source'])}"


@pytest.mark.parametrize("name", NAMES)
def test_timestamps_are_utc_and_actions_canonical(name: str) -> None:
    connector = _load(name)
    for table, frame in _tables(_read(name)).items():
        for col, dtype in frame.schema.items():
            if isinstance(dtype, pl.Datetime):
                assert dtype.time_zone == "UTC", f"{name} {table}.{col} is {dtype}"
        if "action" in frame.columns:
            actions = set(frame["action"].drop_nulls())
            assert actions <= set(ACTIONS), f"{name} {table}: unknown actions {actions - set(ACTIONS)}"
            seen_blind = actions & set(connector.cannot_see)
            assert not seen_blind, f"{name} says it cannot see {sorted(seen_blind)} but yields them"


@pytest.mark.parametrize("name", NAMES)
def test_no_message_text(name: str) -> None:
    for table, frame in _tables(_read(name)).items():
        text_cols = [c for c in frame.columns if c in TEXT_COLUMNS]
        assert not text_cols, f"{name} {table} carries text-like column(s) {text_cols}"
        if table not in ("events", "rejects"):
            continue
        columns = [c for c, t in frame.schema.items() if t == pl.Utf8]
        wordy = frame.select(
            pl.col(c).str.count_matches(r"\S+").max().alias(c) for c in columns if c not in ("reason",)
        ).row(0, named=True) if frame.height else {}
        if table == "rejects":
            wordy = {"excerpt": wordy.get("excerpt")}
        long = {c: n for c, n in wordy.items() if n is not None and n >= TEXT_LIKE_WORDS}
        assert not long, f"{name} {table}: values with {TEXT_LIKE_WORDS}+ words look like message text: {long}"


@pytest.mark.parametrize("name", NAMES)
def test_same_input_twice_gives_identical_output(name: str) -> None:
    connector = _load(name)
    root = _fixture(name)
    first = _tables(tuple(connector.read_drop_zone(root)))
    second = _tables(tuple(_load(name).read_drop_zone(root)))
    assert first.keys() == second.keys()
    for table in first:
        assert first[table].equals(second[table]), f"{name} {table} differs between two reads"


@pytest.mark.parametrize("name", NAMES)
def test_rejects_say_where_and_why(name: str) -> None:
    tables = _tables(_read(name))
    rejects = tables.get("rejects", pl.DataFrame(schema=REJECTS.schema))
    assert rejects.schema == REJECTS.schema
    if rejects.height:
        assert rejects["reason"].null_count() == 0 and (rejects["reason"].str.len_chars() > 0).all()
        assert rejects["file"].null_count() == 0, f"{name}: rejects without a file"
        assert rejects["locator"].null_count() == 0, f"{name}: rejects without a locator"


@pytest.mark.parametrize("name", NAMES)
def test_empty_drop_zone_yields_nothing(name: str, tmp_path: Path) -> None:
    connector = _load(name)
    assert list(connector.read_drop_zone(tmp_path)) == []
    connector.folder(tmp_path).mkdir(parents=True)
    assert list(connector.read_drop_zone(tmp_path)) == []


def test_registry_loads_every_entry_point() -> None:
    try:
        connectors = registered_connectors()
    except ModuleNotFoundError as exc:
        pytest.skip(f"a registered connector's module is not written yet: {exc}")
    assert sorted(connectors) == NAMES
