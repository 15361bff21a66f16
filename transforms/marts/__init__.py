"""The marts layer, declared once: every mart's warehouse table, the inputs it reads, its kind,
grain and description, and who reads it, beside the one pure function that computes it.

A mart is a function of named *inputs* returning one tidy Polars frame (or several, for one fit
that yields several tables)::

    @mart("marts.usage_segments", kind=MetricKind.ACTIVITY, grain="population x week x segment",
          description="Share of eligible people per usage segment ...", read_by=("report",))
    def usage_segments(person_week: pl.DataFrame, settings: Settings) -> pl.DataFrame:
        ...

Its parameters name its inputs; each input is declared once with :func:`mart_input` (what
warehouse tables it reads and how it is loaded, :mod:`transforms.marts.inputs`), so the inputs a
mart reads are declared in exactly one place, its signature. Adding a mart is one function and
its decorator: the Dagster assets (``pipelines.assets.marts``), the report's list of tables and
dependencies, the published list and ``docs/metrics.md`` are generated from :data:`MARTS`.

Inputs are loaded through an :class:`InputCache`, which loads each input at most once for all the
marts computed with it (``marts.person_week`` is read into Python once per run, however many marts
read it) and loads derived inputs (the team KPI panel, the fitted Bass model) from other inputs.

An input may also declare a *fingerprint*: a short text that changes whenever the value it loads
could (e.g. a hash of the rows it reads, computed in DuckDB without loading them). A mart whose
inputs all have one has a fingerprint too (:meth:`InputCache.fingerprint`), and the pipeline keeps
its tables when that fingerprint is the one stored at their last build (:mod:`transforms.marts.memo`).
Derived inputs (``reads=()``) inherit theirs from the inputs they need.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from transforms.metrics.registry import MetricKind, assert_single_kind

log = logging.getLogger(__name__)

__all__ = [
    "INPUTS",
    "MARTS",
    "InputCache",
    "InputContext",
    "MartInput",
    "MartSpec",
    "MartRegistryError",
    "WeekWindow",
    "compute_mart",
    "digest",
    "inputs_needed",
    "load_registry",
    "mart",
    "mart_input",
    "mart_of_table",
    "tables_read_by",
]

#: Who may read a mart: the weekly report, the analyst notebooks.
READERS: frozenset[str] = frozenset({"report", "notebooks"})


class MartRegistryError(ValueError):
    """A mart or input declaration is inconsistent (unknown input, duplicate table, bad name)."""


@dataclass(frozen=True)
class InputContext:
    """What a loader may use: a warehouse connection and the other inputs."""

    con: duckdb.DuckDBPyConnection
    cache: InputCache

    def get(self, name: str) -> Any:
        """Another input, loaded once (derived inputs build on plain ones)."""
        return self.cache.get(name, self.con)


@dataclass(frozen=True)
class MartInput:
    """A named input of marts: the warehouse tables it reads and its loader."""

    name: str
    reads: tuple[str, ...]
    load: Callable[[InputContext], Any]
    description: str
    needs: tuple[str, ...] = ()  # other inputs it is derived from
    #: A text that changes whenever the loaded value could; None: the input has no fingerprint
    #: (its marts are always recomputed), unless it is derived (``reads=()``) from inputs that do.
    fingerprint: Callable[[InputContext], str] | None = None


@dataclass(frozen=True)
class WeekWindow:
    """A weekly mart's promise: its rows of week ``t`` depend only on the person-week rows of weeks
    ``t - lookback_weeks`` .. ``t``, read through ``columns`` (besides ``person_key``,
    ``week_start`` and ``first_active_week``). A weekly run then recomputes it only from its first
    changed week (:mod:`transforms.marts.week_window`)."""

    lookback_weeks: int
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.lookback_weeks < 0:
            raise MartRegistryError(f"lookback_weeks must be >= 0, got {self.lookback_weeks}")


@dataclass(frozen=True)
class MartSpec:
    """One mart (or one fit yielding several tables): its tables, inputs, kind, grain, readers."""

    tables: tuple[str, ...]
    compute: Callable[..., pl.DataFrame | tuple[pl.DataFrame, ...]]
    inputs: tuple[str, ...]
    kind: MetricKind | None  # None: rows carry their own kind (``metric_kind``), e.g. pilot effects
    grain: str
    description: str
    read_by: frozenset[str] = field(default_factory=frozenset)
    #: Set for a weekly mart recomputed from its first changed week (None: every week, or kept whole).
    week_window: WeekWindow | None = None

    @property
    def name(self) -> str:
        """The function's name, e.g. ``usage_segments``."""
        return self.compute.__name__

    @property
    def reads(self) -> tuple[str, ...]:
        """Every warehouse table this mart reads, through its inputs (derived ones included)."""
        return tables_read_by(self.inputs)


#: Inputs by name, filled by :func:`mart_input` when :mod:`transforms.marts.inputs` is imported.
INPUTS: dict[str, MartInput] = {}
#: Marts by function name, filled by :func:`mart` when the mart modules are imported.
MARTS: dict[str, MartSpec] = {}

_MART_MODULES = (
    "transforms.marts.inputs",
    "transforms.marts.adoption",
    "transforms.marts.managers",
    "transforms.marts.diffusion",
    "transforms.marts.communities",
    "transforms.marts.outcomes",
    "transforms.marts.pilot",
    "transforms.marts.targets",
    "transforms.marts.next_wave",
    "transforms.marts.perception",
)


def load_registry() -> dict[str, MartSpec]:
    """Import every mart module (which registers its marts) and return :data:`MARTS`."""
    for module in _MART_MODULES:
        importlib.import_module(module)
    return MARTS


def mart_input(*, reads: Sequence[str], description: str, needs: Sequence[str] = (),
               fingerprint: Callable[[InputContext], str] | None = None) -> Callable:
    """Declare a loader ``fn(ctx: InputContext) -> value`` as the input named ``fn.__name__``.

    ``reads`` are the warehouse tables it reads itself; ``needs`` the inputs it is derived from
    (their tables count as read too). ``fingerprint(ctx)``: a text that changes whenever the value
    ``fn`` loads could change, cheaper than loading it (a hash computed in the engine); only an
    input that reads tables itself declares one.
    """
    if fingerprint is not None and not reads:
        raise MartRegistryError("a derived input (reads=()) takes the fingerprints of the inputs it needs")

    def decorate(fn: Callable[[InputContext], Any]) -> Callable[[InputContext], Any]:
        if fn.__name__ in INPUTS:
            raise MartRegistryError(f"input {fn.__name__!r} is declared twice")
        unknown = [n for n in needs if n not in INPUTS]
        if unknown:
            raise MartRegistryError(f"input {fn.__name__!r} needs undeclared input(s) {', '.join(unknown)}")
        INPUTS[fn.__name__] = MartInput(fn.__name__, tuple(reads), fn, description, tuple(needs), fingerprint)
        return fn

    return decorate


def mart(*tables: str, kind: MetricKind | str | None, grain: str, description: str,
         read_by: Iterable[str] = ("report",), week_window: WeekWindow | None = None) -> Callable:
    """Declare a function as computing the mart table(s) ``tables`` from the inputs its parameters name.

    The function returns one frame per table (a tuple when there are several), each of the one
    ``kind`` (checked when computed: :func:`compute_mart`); ``kind=None`` declares a table whose
    rows each name their kind (``metric_kind``), never blended. ``read_by``: ``report`` and/or
    ``notebooks``; a mart nobody reads is not declared (a test keeps it that way). ``week_window``:
    the mart's rows of a week depend on a few weeks of person-week rows only (:class:`WeekWindow`).
    """
    if not tables or any(not t.startswith("marts.") or t.count(".") != 1 for t in tables):
        raise MartRegistryError(f"mart tables {tables!r}: expected names like 'marts.<table>'")
    readers = frozenset(read_by)
    if not readers or readers - READERS:
        raise MartRegistryError(f"read_by {sorted(readers)!r}: expected some of {sorted(READERS)}")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        params = list(inspect.signature(fn).parameters)
        unknown = [p for p in params if p not in INPUTS]
        if unknown:
            raise MartRegistryError(
                f"mart {fn.__name__}: parameter(s) {', '.join(unknown)} are not declared inputs "
                f"(declared: {', '.join(sorted(INPUTS))})"
            )
        taken = [t for t in tables for s in MARTS.values() if t in s.tables]
        if fn.__name__ in MARTS or taken:
            raise MartRegistryError(f"mart {fn.__name__}: {fn.__name__ if not taken else taken[0]} is declared twice")
        if week_window is not None and "person_week" not in params:
            raise MartRegistryError(f"mart {fn.__name__}: a week window needs the 'person_week' input")
        MARTS[fn.__name__] = MartSpec(tuple(tables), fn, tuple(params), None if kind is None else MetricKind(kind),
                                      grain, " ".join(description.split()), readers, week_window)
        return fn

    return decorate


def tables_read_by(inputs: Iterable[str]) -> tuple[str, ...]:
    """The warehouse tables read by ``inputs`` and the inputs they are derived from, sorted."""
    seen: set[str] = set()
    tables: set[str] = set()
    stack = list(inputs)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        spec = INPUTS[name]
        tables.update(spec.reads)
        stack.extend(spec.needs)
    return tuple(sorted(tables))


def inputs_needed(inputs_per_mart: Iterable[Iterable[str]]) -> set[str]:
    """The inputs named, and every input they are derived from."""
    seen: set[str] = set()
    stack = [name for names in inputs_per_mart for name in names]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(INPUTS[name].needs)
    return seen


def mart_of_table(table: str) -> MartSpec:
    """The declaration that computes ``table`` (``KeyError`` naming it otherwise)."""
    for spec in load_registry().values():
        if table in spec.tables:
            return spec
    raise KeyError(f"no mart computes {table!r}")


class InputCache:
    """Loads each input at most once, for every mart computed through it.

    The pipeline keeps one cache per run (a Dagster resource), so shared inputs are read once per
    run; a notebook or a test keeps one per session. ``loads`` counts loads per input.
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._fingerprints: dict[str, str | None] = {}
        self._done: set[str] = set()
        self.loads: dict[str, int] = {}

    def get(self, name: str, con: duckdb.DuckDBPyConnection) -> Any:
        """Input ``name``, loaded through ``con`` the first time it is asked for."""
        if name not in self._values:
            try:
                spec = INPUTS[name]
            except KeyError:
                raise MartRegistryError(f"no input named {name!r}") from None
            self._values[name] = spec.load(InputContext(con, self))
            self.loads[name] = self.loads.get(name, 0) + 1
            log.debug("input %s loaded", name)
        return self._values[name]

    @property
    def loaded(self) -> tuple[str, ...]:
        """The inputs held now."""
        return tuple(self._values)

    def input_fingerprint(self, name: str, con: duckdb.DuckDBPyConnection) -> str | None:
        """Input ``name``'s fingerprint (computed once), or None when it has none: its own for an
        input that reads tables, else a hash of the fingerprints of the inputs it is derived from."""
        if name not in self._fingerprints:
            try:
                spec = INPUTS[name]
            except KeyError:
                raise MartRegistryError(f"no input named {name!r}") from None
            if spec.fingerprint is not None:
                value: str | None = spec.fingerprint(InputContext(con, self))
            elif spec.reads:
                value = None
            else:
                needs = [self.input_fingerprint(n, con) for n in spec.needs]
                value = None if None in needs else digest(name, *needs)  # type: ignore[arg-type]
            self._fingerprints[name] = value
        return self._fingerprints[name]

    def fingerprint(self, spec: MartSpec, con: duckdb.DuckDBPyConnection) -> str | None:
        """A hash of every input of the mart, or None when one of them has no fingerprint. Equal
        fingerprints mean equal inputs, hence (the mart being a pure function) equal tables."""
        parts = []
        for name in spec.inputs:
            value = self.input_fingerprint(name, con)
            if value is None:
                return None
            parts.append(f"{name}={value}")
        return digest(spec.name, *spec.tables, *parts)

    def release(self, spec: MartSpec) -> list[str]:
        """Record that ``spec`` was built (or kept) and forget the loaded inputs that no mart of the
        registry still to build needs, directly or through a derived input; return their names.
        A run's peak memory then holds only what is still to be read (``marts.person_week`` is
        dropped after the last mart that reads it). An input asked for again is loaded again."""
        self._done.add(spec.name)
        keep = set(inputs_needed(s.inputs for s in MARTS.values() if s.name not in self._done))
        released = [name for name in self._values if name not in keep]
        for name in released:
            del self._values[name]
        if released:
            log.debug("inputs released: %s", ", ".join(released))
        return released

    def clear(self) -> None:
        """Forget every loaded input and fingerprint (their tables were rewritten)."""
        self._values.clear()
        self._fingerprints.clear()

    def compute(self, spec: MartSpec, con: duckdb.DuckDBPyConnection, *,
                overrides: Mapping[str, Any] | None = None) -> dict[str, pl.DataFrame]:
        """The mart's frame(s) by table, its inputs loaded (once) through this cache; ``overrides``
        gives some inputs' values instead (a week window's rows), neither loaded nor cached."""
        given = dict(overrides or {})
        return compute_mart(spec, {name: given[name] if name in given else self.get(name, con) for name in spec.inputs})


def digest(*parts: object) -> str:
    """A short hash of ``parts`` (each as text): what fingerprints of inputs and marts are made of."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=16).hexdigest()


def compute_mart(spec: MartSpec, values: Mapping[str, Any]) -> dict[str, pl.DataFrame]:
    """Call the mart's function on its inputs; return its frame(s) by table. A frame with a
    ``kind`` column must carry the mart's one declared kind in every row."""
    result = spec.compute(**{name: values[name] for name in spec.inputs})
    frames = result if isinstance(result, tuple) else (result,)
    if len(frames) != len(spec.tables):
        raise MartRegistryError(f"mart {spec.name} returned {len(frames)} frame(s) for {len(spec.tables)} table(s)")
    out: dict[str, pl.DataFrame] = {}
    for table, frame in zip(spec.tables, frames, strict=True):
        if not isinstance(frame, pl.DataFrame):
            raise MartRegistryError(f"mart {spec.name}: {table} is a {type(frame).__name__}, expected a Polars frame")
        if frame.height and "kind" in frame.columns:
            assert_single_kind(frame, expected=spec.kind)
        out[table] = frame
    return out
