"""The shared connector contract kit: every registered connector, run on its fixture, must honour the
connector contract (pipelines/connectors/base.py) and the canonical table contracts.

Parametrised over the ``uptake.connectors`` entry points, i.e. what
``pipelines.connectors.registered_connectors()`` loads. A connector's fixture is a drop-zone root at
``tests/fixtures/connectors/<name>/`` (``platforms/<name>/...``, ``hr/...`` or ``surveys/...``). A connector whose
module or fixture does not exist yet is skipped with the reason; once both exist the kit runs on it.
Adding a connector = one module, one entry point, one fixture folder: these tests then say whether
it is right (docs/connectors.md).
"""

from __future__ import annotations

import re
import types
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors import ENTRY_POINT_GROUP, Batch, Connector, registered_connectors
from transforms.clean_events import CONTENT_IDENTITY
from transforms.contracts import ACTIONS, CONTRACTS, REJECTS
from transforms.contracts.tables import TEXT_COLUMNS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "connectors"
NAMES = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
CANONICAL = ("events", "accounts", "activity_counts", "hr_snapshots")
#: What survey connectors yield (kind ``survey``): answers on a scale, and the free text dropped, counted.
SURVEY_TABLES = ("survey_responses", "survey_text_dropped")
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


# ----- the checks: each takes a connector and the batches it yielded on its fixture --------------


def check_declaration(connector: Connector, batches: tuple[Batch, ...]) -> None:
    assert isinstance(connector, Connector)
    assert connector.kind in ("platform", "hr", "survey")
    assert connector.title.strip() and connector.reads.strip()
    allowed = SURVEY_TABLES if connector.kind == "survey" else CANONICAL
    assert connector.yields and set(connector.yields) <= set(allowed), connector.yields
    assert set(connector.cannot_see) <= set(ACTIONS), (
        f"cannot_see must use the action vocabulary: {connector.cannot_see}"
    )
    if connector.kind == "hr":
        assert connector.yields == ("hr_snapshots",)


def check_schemas(connector: Connector, batches: tuple[Batch, ...]) -> None:
    name = connector.name
    for batch in batches:
        assert batch.table in (*connector.yields, "rejects"), f"{name} yielded undeclared table {batch.table}"
        contract = CONTRACTS[batch.table]
        assert batch.frame.schema == contract.schema, (
            f"{name} {batch.table}: schema {dict(batch.frame.schema)} != contract {dict(contract.schema)}"
        )
        not_null = [c.name for c in contract.columns if not c.nullable]
        nulls = {c: batch.frame[c].null_count() for c in not_null if batch.frame[c].null_count()}
        assert not nulls, f"{name} {batch.table}: nulls in required columns {nulls}"


def check_declared_tables_have_rows(connector: Connector, batches: tuple[Batch, ...]) -> None:
    tables = _tables(batches)
    yielded = {t for t, f in tables.items() if t != "rejects" and f.height}
    assert yielded == set(connector.yields), (
        f"{connector.name} declares {connector.yields}, yielded {sorted(yielded)}"
    )


def check_keys_and_sources(connector: Connector, batches: tuple[Batch, ...]) -> None:
    name = connector.name
    for table, frame in _tables(batches).items():
        contract = CONTRACTS[table]
        if contract.key:
            dupes = frame.filter(pl.struct(list(contract.key)).is_duplicated())
            assert dupes.height == 0, f"{name} {table}: duplicate key {contract.key}:\n{dupes.head()}"
        if "source" in frame.columns and table != "rejects":
            assert set(frame["source"]) == {name}, f"{name} {table}: source values {set(frame['source'])}"


def check_utc_and_vocabulary(connector: Connector, batches: tuple[Batch, ...]) -> None:
    name = connector.name
    for table, frame in _tables(batches).items():
        for col, dtype in frame.schema.items():
            if isinstance(dtype, pl.Datetime):
                assert dtype.time_zone == "UTC", f"{name} {table}.{col} is {dtype}"
        if "action" in frame.columns:
            actions = set(frame["action"].drop_nulls())
            assert actions <= set(ACTIONS), f"{name} {table}: unknown actions {actions - set(ACTIONS)}"
            seen_blind = actions & set(connector.cannot_see)
            assert not seen_blind, f"{name} says it cannot see {sorted(seen_blind)} but yields them"


def check_no_message_text(connector: Connector, batches: tuple[Batch, ...]) -> None:
    name = connector.name
    for table, frame in _tables(batches).items():
        text_cols = [c for c in frame.columns if c in TEXT_COLUMNS]
        assert not text_cols, f"{name} {table} carries text-like column(s) {text_cols}"
        if table not in ("events", "rejects") or frame.height == 0:
            continue
        columns = ["excerpt"] if table == "rejects" else [c for c, t in frame.schema.items() if t == pl.Utf8]
        words = frame.select(pl.col(c).str.count_matches(r"\S+").max() for c in columns).row(0, named=True)
        long = {c: n for c, n in words.items() if n is not None and n >= TEXT_LIKE_WORDS}
        assert not long, f"{name} {table}: values with {TEXT_LIKE_WORDS}+ words look like message text: {long}"


def check_reaction_identity(connector: Connector, batches: tuple[Batch, ...]) -> None:
    """A react event names its emoji in ``reaction`` (other actions leave it null), and no two events
    share the content identity that the clean layer uses to drop repeats under another id
    (``transforms.clean_events.CONTENT_IDENTITY``): distinct actions must stay distinct."""
    events = _tables(batches).get("events")
    if events is None or events.height == 0:
        return
    name = connector.name
    is_react = pl.col("action") == "react"
    unnamed = events.filter(is_react & pl.col("reaction").is_null()).height
    assert unnamed == 0, f"{name}: {unnamed} react event(s) without their emoji in `reaction`"
    stray = events.filter(~is_react & pl.col("reaction").is_not_null()).height
    assert stray == 0, f"{name}: {stray} non-react event(s) with a `reaction`"
    same = events.filter(pl.struct(list(CONTENT_IDENTITY)).is_duplicated())
    assert same.height == 0, (
        f"{name}: {same.height} events share {CONTENT_IDENTITY}; the clean layer would keep one of each:\n"
        f"{same.select('event_id', 'action', 'content_id', 'reaction').head()}"
    )


def check_rejects(connector: Connector, batches: tuple[Batch, ...]) -> None:
    rejects = _tables(batches).get("rejects", pl.DataFrame(schema=REJECTS.schema))
    assert rejects.schema == REJECTS.schema
    if rejects.height:
        assert rejects["reason"].null_count() == 0 and (rejects["reason"].str.len_chars() > 0).all()
        assert rejects["file"].null_count() == 0, f"{connector.name}: rejects without a file"
        assert rejects["locator"].null_count() == 0, f"{connector.name}: rejects without a locator"


CHECKS = (
    check_declaration, check_schemas, check_declared_tables_have_rows, check_keys_and_sources,
    check_utc_and_vocabulary, check_no_message_text, check_reaction_identity, check_rejects,
)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize("name", NAMES)
def test_connector_honours_the_contract(name: str, check) -> None:  # noqa: ANN001 - a check function
    connector = _load(name)
    assert connector.name == name, f"entry point {name!r} builds a connector named {connector.name!r}"
    check(connector, _read(name))


@pytest.mark.parametrize("name", NAMES)
def test_recognises_its_fixture(name: str) -> None:
    connector = _load(name)
    root = _fixture(name)
    inputs = connector.inputs(root)
    assert inputs, f"{name} recognises nothing in {connector.folder(root)}"
    assert all(p.parent == connector.folder(root) for p in inputs)


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


# ----- the worked example of docs/connectors.md ---------------------------------------------------

GUIDE = Path(__file__).parents[2] / "docs" / "connectors.md"


def _guide_block(label: str) -> str:
    match = re.search(rf"<!-- example: {re.escape(label)} -->\s*```\w+\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert match, f"docs/connectors.md has no example block {label!r}"
    return match.group(1)


def test_the_guide_example_connector_works(tmp_path: Path) -> None:
    module = types.ModuleType("guide_chatlog")
    exec(compile(_guide_block("chatlog.py"), str(GUIDE), "exec"), module.__dict__)  # noqa: S102 - our own docs
    connector = module.ChatLogConnector()
    folder = tmp_path / "platforms" / "chatlog"
    folder.mkdir(parents=True)
    (folder / "log.csv").write_text(_guide_block("log.csv"))
    batches = tuple(connector.read_drop_zone(tmp_path))
    for check in CHECKS:
        check(connector, batches)
    tables = _tables(batches)
    assert tables["events"].select("event_id", "action", "thread_id", "account_email", "hashtags").rows() == [
        ("m1", "post", "m1", "ana@example.com", ["roadmap"]),
        ("m2", "reply", "m1", "bo@example.com", []),
    ]
    assert tables["rejects"].select("locator", "reason").rows() == [
        ("log.csv line 4", "occurred_at: required, found empty")
    ]


@pytest.mark.parametrize(
    ("original", "broken", "failing_check"),
    [
        ('pl.col("message_id").alias("event_id")', 'pl.lit("m").alias("event_id")', check_keys_and_sources),
        ('pl.col("channel").alias("space_id")', 'pl.col("text").alias("space_id")', check_no_message_text),
        ('("visit", "read", "react", "share", "upload", "join")', '("reply",)', check_utc_and_vocabulary),
        ('yields: ClassVar[tuple[TableName, ...]] = ("events",)',
         'yields: ClassVar[tuple[TableName, ...]] = ("events", "accounts")', check_declared_tables_have_rows),
    ],
    ids=["duplicate-ids", "text-in-a-column", "yields-what-it-cannot-see", "declares-a-table-it-never-yields"],
)
def test_the_kit_catches_a_broken_connector(tmp_path: Path, original: str, broken: str, failing_check) -> None:  # noqa: ANN001
    code = _guide_block("chatlog.py")
    assert original in code
    module = types.ModuleType("broken_chatlog")
    exec(compile(code.replace(original, broken), "broken_chatlog", "exec"), module.__dict__)  # noqa: S102
    connector = module.ChatLogConnector()
    folder = tmp_path / "platforms" / "chatlog"
    folder.mkdir(parents=True)
    (folder / "log.csv").write_text(_guide_block("log.csv"))
    batches = tuple(connector.read_drop_zone(tmp_path))
    with pytest.raises(AssertionError):
        failing_check(connector, batches)
