"""Validated readers of the drop zone's own files: the YAML configuration and CSV inputs.

YAML (``settings.yaml``, ``pilots.yaml``, ``kpi_registry.yaml``, ``charters.yaml``, ``targets.yaml``,
``surveys.yaml``) is parsed with PyYAML and validated by the pydantic models of
:mod:`transforms.contracts.config`. Any problem is a :class:`ConfigFileError` that names the file,
the line, the field path (pydantic's ``loc`` written as ``cohorts[0].start``) and what was expected.

CSV inputs (the KPI feed here, and the CSV-based connectors) go through :func:`iter_csv_batches`:
all columns read as strings, in bounded-size batches, each row tagged with the physical line it
starts on (quoted fields may span lines), a UTF-8 BOM tolerated, and a documented encoding fallback:
a file that is not valid UTF-8 is decoded as Windows-1252 (a superset of Latin-1 for printable
characters, what Excel writes on Western-European Windows) with a warning naming the file and the
first bad byte's line.
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import yaml
from pydantic import BaseModel, ValidationError

from transforms.contracts import KPI_VALUES, REJECTS, Contract, ContractError, conform
from transforms.contracts.config import Charters, KpiRegistry, Pilots, Settings, Surveys, Targets

log = logging.getLogger(__name__)

#: Rows per batch when reading CSVs; bounded memory whatever the file size.
DEFAULT_BATCH_ROWS = 50_000
#: Column added by :func:`iter_csv_batches`: the physical line (1-based) a record starts on.
LINE_COLUMN = "__line"

SETTINGS_FILE = "settings.yaml"
PILOTS_FILE = "pilots.yaml"
KPI_REGISTRY_FILE = "kpi_registry.yaml"
CHARTERS_FILE = "charters.yaml"
TARGETS_FILE = "targets.yaml"
SURVEYS_FILE = "surveys.yaml"
KPI_DIR = "kpis"

_ModelT = TypeVar("_ModelT", bound=BaseModel)


class ConfigFileError(ContractError):
    """A drop-zone configuration file is missing, unreadable or invalid.

    ``file`` is the path, ``locator`` the line and field path of the first problem; the message
    lists every problem found, one per line.
    """


# --------------------------------------------------------------------------------------------
# YAML files
# --------------------------------------------------------------------------------------------


def _loc_text(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _node_line(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its deepest existing ancestor)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = [(k, v) for k, v in node.value if getattr(k, "value", None) == part]
            if not match:
                return line
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


#: libyaml's loader when PyYAML was built with it (about 50 times faster on large files), else PyYAML's.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ConfigLoader(_SafeBase):  # type: ignore[valid-type, misc]
    """SafeLoader that leaves dates as strings, so pydantic validates them with a field path
    (PyYAML would raise a bare ``ValueError`` on ``2026-13-05``)."""


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


#: Largest number of YAML values a configuration file may expand to (aliases counted each time used).
MAX_YAML_NODES = 100_000


def _expanded_size(node: yaml.Node | None, limit: int = MAX_YAML_NODES) -> int:
    """Number of nodes of a composed document with aliases expanded, counting stops past ``limit``."""
    count = 0
    stack = [node] if node is not None else []
    while stack and count <= limit:
        current = stack.pop()
        count += 1
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return count


def _duplicate_key(node: yaml.Node | None) -> tuple[str, int] | None:
    """The first key repeated within one mapping (PyYAML silently keeps the last), with its line."""
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        return key.value, key.start_mark.line + 1
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return None


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    if path.is_dir():
        raise ConfigFileError("is a folder; expected a YAML file", file=str(path))
    if not path.is_file():
        raise ConfigFileError("file not found", file=str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            f"not UTF-8 (byte {exc.object[exc.start]:#04x} at offset {exc.start}); save the file as UTF-8",
            file=str(path),
        ) from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ConfigFileError("NUL byte in the file; expected YAML text", file=str(path), locator=f"line {line}")
    try:
        node = yaml.compose(text, Loader=_ConfigLoader)
        if _expanded_size(node) > MAX_YAML_NODES:
            raise ConfigFileError(
                f"more than {MAX_YAML_NODES} values once its aliases (*name) are expanded: refused (an alias bomb?)",
                file=str(path),
            )
        data = yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigFileError(f"YAML syntax error: {problem}", file=str(path), locator=where) from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"YAML error: {exc}", file=str(path)) from exc
    dupe = _duplicate_key(node)
    if dupe is not None:
        raise ConfigFileError(f"duplicate key {dupe[0]!r}", file=str(path), locator=f"line {dupe[1]}")
    return data, node


def _load_model(path: Path, model: type[_ModelT]) -> _ModelT:
    return _load_model_and_node(path, model)[0]


def _load_model_and_node(path: Path, model: type[_ModelT]) -> tuple[_ModelT, yaml.Node | None]:
    """The validated model and the composed YAML (for the line of a later, cross-file problem)."""
    path = Path(path)
    data, node = _read_yaml(path)
    if data is None:
        raise ConfigFileError(f"file is empty; expected a mapping for {model.__name__}", file=str(path))
    if not isinstance(data, dict):
        raise ConfigFileError(
            f"top level is a {type(data).__name__}; expected a mapping for {model.__name__}",
            file=str(path),
            locator="line 1",
        )
    try:
        return model.model_validate(data), node
    except ValidationError as exc:
        problems: list[tuple[str, str]] = []
        for err in exc.errors(include_url=False):
            loc = err["loc"]
            line = _node_line(node, loc)
            locator = f"line {line} ({_loc_text(loc)})" if line else _loc_text(loc)
            shown = f"; found {err['input']!r}" if err["type"] != "missing" and not isinstance(
                err["input"], dict | list
            ) else ""
            problems.append((locator, f"{err['msg']}{shown}"))
        # one line per problem, each naming the file, the field and what was expected
        first, *rest = problems
        more = "".join(f"\n{path}, {locator}: {message}" for locator, message in rest)
        raise ConfigFileError(f"{first[1]}{more}", file=str(path), locator=first[0]) from None


def load_settings(path: Path) -> Settings:
    """``settings.yaml`` as :class:`~transforms.contracts.config.Settings`; :class:`ConfigFileError` if invalid."""
    return _load_model(path, Settings)


def load_pilots(path: Path) -> Pilots:
    """``pilots.yaml`` as :class:`~transforms.contracts.config.Pilots`; :class:`ConfigFileError` if invalid."""
    return _load_model(path, Pilots)


def load_kpi_registry(path: Path) -> KpiRegistry:
    """``kpi_registry.yaml`` as :class:`~transforms.contracts.config.KpiRegistry`."""
    registry = _load_model(path, KpiRegistry)
    names = [k.name for k in registry.kpis]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigFileError(f"duplicate KPI name(s): {', '.join(dupes)}", file=str(path), locator="kpis")
    return registry


def load_charters(path: Path) -> Charters:
    """``charters.yaml`` as :class:`~transforms.contracts.config.Charters`."""
    return _load_model(path, Charters)


def load_targets(path: Path, *, context: Any = None) -> Targets:
    """``targets.yaml`` as :class:`~transforms.contracts.config.Targets`.

    With ``context`` (an object carrying the other configuration models as attributes:
    ``kpi_registry``, ``charters``...), each target's metric is checked against the source of its
    kind (:func:`transforms.targets.sources.check_target`): an unknown kind or metric name, or a
    population type the metric cannot be cut by, is a :class:`ConfigFileError` naming the line.
    """
    from transforms.targets.sources import check_target

    targets, node = _load_model_and_node(path, Targets)
    if context is None:
        return targets
    for i, target in enumerate(targets.targets):
        problem = check_target(target, context)
        if problem is not None:
            field_path, message = problem
            loc: list[int | str] = ["targets", i, *field_path.split(".")]
            line = _node_line(node, loc)
            locator = f"line {line} ({_loc_text(loc)})" if line else _loc_text(loc)
            raise ConfigFileError(f"target {target.name!r}: {message}", file=str(path), locator=locator)
    return targets
def load_surveys(path: Path) -> Surveys:
    """``surveys.yaml`` (the pulse-survey registry) as :class:`~transforms.contracts.config.Surveys`."""
    return _load_model(path, Surveys)


# --------------------------------------------------------------------------------------------
# CSV files
# --------------------------------------------------------------------------------------------

_FALLBACK_ENCODING = "cp1252"


def _first_invalid_utf8(path: Path, chunk_bytes: int = 1 << 20) -> tuple[int, int] | None:
    """``(line, byte)`` of the first invalid UTF-8 byte of ``path``, or ``None`` if it is valid."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines_before + chunk.count(b"\n", 0, max(exc.start, 0)) + 1, chunk[exc.start]
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines_before + 1, 0
    return None


def _transcode(src: Path, dst: Path, chunk_bytes: int = 1 << 20) -> None:
    """Copy ``src`` to ``dst`` re-encoded from Windows-1252 (Latin-1 for its 5 unmapped bytes) to UTF-8."""
    with src.open("rb") as fin, dst.open("w", encoding="utf-8", newline="") as fout:
        while chunk := fin.read(chunk_bytes):
            try:
                fout.write(chunk.decode(_FALLBACK_ENCODING))
            except UnicodeDecodeError:
                fout.write(chunk.decode("latin-1"))


@contextmanager
def utf8_file(path: Path, *, label: str | None = None) -> Iterator[Path]:
    """``path`` itself if it is UTF-8, else a temporary UTF-8 copy decoded as Windows-1252 (warned)."""
    bad = _first_invalid_utf8(path)
    if bad is None:
        yield path
        return
    line, byte = bad
    log.warning(
        "%s: not UTF-8 (byte %#04x on line %d); decoding it as %s. Re-export as UTF-8 to silence this.",
        label or path, byte, line, _FALLBACK_ENCODING,
    )
    with tempfile.TemporaryDirectory(prefix="uptake-utf8-") as tmp:
        out = Path(tmp) / path.name
        _transcode(path, out)
        yield out


def _csv_error(exc: Exception, label: str) -> ContractError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ContractError(f"cannot read as CSV: {text}", file=label)


def iter_csv_batches(
    path: Path,
    *,
    label: str | None = None,
    required: Sequence[str] = (),
    batch_rows: int = DEFAULT_BATCH_ROWS,
    what: str = "a CSV",
) -> Iterator[pl.DataFrame]:
    """Read a CSV in batches of at most ``batch_rows`` rows, every column as a string.

    - Header names are stripped of surrounding blanks; a UTF-8 BOM is dropped (also a doubled one).
    - Each batch carries :data:`LINE_COLUMN`: the physical line each record starts on (line 1 is
      the header), counting the line breaks inside quoted fields. Blank lines are not counted.
    - ``required`` columns missing from the header raise :class:`ContractError` naming them and
      ``what`` the file was expected to be. An unreadable file (empty, unterminated quote) raises
      :class:`ContractError` naming the file.
    - Encoding: see the module docstring (UTF-8, else Windows-1252 with a warning).
    """
    path = Path(path)
    label = label or str(path)
    if path.is_dir():
        raise ContractError(f"is a folder; expected {what} (a file)", file=label)
    if not path.is_file():
        raise ContractError(f"file not found; expected {what}", file=label)
    if path.stat().st_size == 0:
        raise ContractError(f"file is empty; expected {what} with a header row", file=label)
    with utf8_file(path, label=label) as readable:
        lazy = pl.scan_csv(readable, infer_schema=False)
        try:
            header = lazy.collect_schema().names()
        except pl.exceptions.PolarsError as exc:
            raise _csv_error(exc, label) from exc
        stripped = [h.strip().lstrip("\ufeff").strip() for h in header]  # a second BOM (re-saved file) too
        # Polars renames a repeated header to "<name>_duplicated_<n>"
        renamed = [re.match(r"^(.*)_duplicated_\d+$", h) for h in stripped]
        dupes = sorted(
            {h for h in stripped if stripped.count(h) > 1}
            | {m.group(1).strip() for m in renamed if m and m.group(1) in header}
        )
        if dupes:
            raise ContractError(f"duplicate column(s) in header: {', '.join(dupes)}", file=label, locator="line 1")
        missing = [c for c in required if c not in stripped]
        if missing:
            raise ContractError(
                f"missing column(s) {', '.join(missing)}; expected {what} with columns {', '.join(required)}",
                file=label,
                locator="line 1",
            )
        if stripped != header:
            lazy = lazy.rename(dict(zip(header, stripped, strict=True)))
        next_line = 2
        try:
            for batch in lazy.collect_batches(chunk_size=batch_rows):
                if batch.height == 0:
                    continue
                breaks = pl.sum_horizontal(
                    [pl.col(c).str.count_matches("\n").fill_null(0) for c in stripped]
                ).cast(pl.Int64)
                spans = batch.select((breaks + 1).alias("span"))["span"]
                starts = spans.cum_sum() - spans + next_line
                next_line += int(spans.sum())
                yield batch.with_columns(starts.alias(LINE_COLUMN))
        except pl.exceptions.PolarsError as exc:
            raise _csv_error(exc, label) from exc


def join_text(*parts: str | pl.Expr) -> pl.Expr:
    """Concatenate literal strings and expressions (null parts are skipped).

    Used instead of ``pl.format``, which panics on some multi-chunk frames in Polars 1.44.
    """
    return pl.concat_str(
        [p if isinstance(p, pl.Expr) else pl.lit(p) for p in parts], ignore_nulls=True
    )


#: Column holding a row's quarantine reason in intermediate frames.
REASON_COLUMN = "__reason"


def parse_dates(
    frame: pl.DataFrame, columns: Sequence[str], *, formats: Sequence[str] = ("%Y-%m-%d",)
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse string ``columns`` as dates (first matching format wins); return ``(parsed rows,
    unreadable rows)``. Unreadable rows keep their strings and get :data:`REASON_COLUMN`
    (``"<column>: expected a date YYYY-MM-DD, found '<value>'"``). Empty strings count as null."""
    parsed = {
        c: pl.coalesce([pl.col(c).str.strip_chars().str.to_date(f, strict=False) for f in formats]).alias(c)
        for c in columns
    }
    reasons = [
        pl.when(pl.col(c).is_not_null() & (pl.col(c).str.strip_chars() != "") & parsed[c].is_null())
        .then(join_text(f"{c}: expected a date YYYY-MM-DD, found '", pl.col(c), "'"))
        for c in columns
    ]
    staged = frame.with_columns(pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias(REASON_COLUMN))
    staged = staged.with_columns(pl.col(REASON_COLUMN).replace("", None))
    bad = staged.filter(pl.col(REASON_COLUMN).is_not_null())
    good = staged.filter(pl.col(REASON_COLUMN).is_null()).drop(REASON_COLUMN).with_columns(parsed.values())
    return good, bad


def line_locator(file_name: str) -> pl.Expr:
    """``"<file_name> line <n>"`` from :data:`LINE_COLUMN`."""
    return join_text(f"{file_name} line ", pl.col(LINE_COLUMN).cast(pl.Utf8))


def rejects_frame(
    rows: pl.DataFrame,
    *,
    contract: str,
    file: str,
    reason: pl.Expr | str,
    source: str | None = None,
    locator: pl.Expr | None = None,
    excerpt: pl.Expr | None = None,
) -> pl.DataFrame:
    """Rows of ``rows`` as ``REJECTS`` rows (``excerpt`` must hold identifiers only, never text)."""
    if rows.height == 0:
        return pl.DataFrame(schema=REJECTS.schema)
    reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
    return rows.with_columns(
        pl.lit(contract, dtype=pl.Utf8).alias("__contract"),
        pl.lit(file, dtype=pl.Utf8).alias("__file"),
        (locator if locator is not None else line_locator(Path(file).name)).cast(pl.Utf8).alias("__locator"),
        reason_expr.cast(pl.Utf8).alias("__reason"),
        pl.lit(source, dtype=pl.Utf8).alias("__source"),
        (excerpt if excerpt is not None else pl.lit(None, dtype=pl.Utf8)).cast(pl.Utf8).alias("__excerpt"),
    ).select(pl.col(f"__{c}").alias(c) for c in REJECTS.names)


def conform_rows(
    frame: pl.DataFrame,
    contract: Contract,
    *,
    file: str,
    locator: pl.Expr,
    excerpt: pl.Expr | None = None,
    keep: Sequence[str] = (),
    source: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`transforms.contracts.conform` that keeps ``keep`` columns on the good rows and gives
    rejects a per-row ``locator`` and identifier ``excerpt`` (never text).

    ``locator`` must be unique per row (e.g. built from :data:`LINE_COLUMN`).
    """
    staged = frame.with_columns(locator.cast(pl.Utf8).alias("__locator"))
    good, bad = conform(staged, contract, file=file, locator_column="__locator")
    if bad.height == 0:
        return good.with_columns(staged.select(keep)), bad.with_columns(pl.lit(source, dtype=pl.Utf8).alias("source"))
    ok = ~staged["__locator"].is_in(bad["locator"].implode())
    good = good.with_columns(staged.filter(ok).select(keep))
    if excerpt is not None:
        ids = staged.filter(~ok).select(pl.col("__locator").alias("locator"), excerpt.cast(pl.Utf8).alias("__ex"))
        bad = bad.join(ids, on="locator", how="left", maintain_order="left").with_columns(
            pl.col("__ex").alias("excerpt")
        ).drop("__ex")
    return good, bad.with_columns(pl.lit(source, dtype=pl.Utf8).alias("source")).select(REJECTS.names)


# --------------------------------------------------------------------------------------------
# KPI feed
# --------------------------------------------------------------------------------------------

KPI_CSV_COLUMNS: tuple[str, ...] = ("kpi", "unit_type", "unit_id", "period_start", "period_end", "value")
#: KPI periods outside these dates are placeholders (epoch 0) or typos, not measurements.
KPI_EARLIEST = dt.date(2000, 1, 1)
KPI_LATEST = dt.date(2100, 1, 1)


def _kpi_files(path_or_dir: Path) -> list[Path]:
    path = Path(path_or_dir)
    if path.is_dir():
        return sorted(p for p in path.glob("*.csv") if not p.name.startswith("."))
    if path.is_file():
        return [path]
    raise ConfigFileError("KPI feed not found; expected a CSV file or a directory of CSVs", file=str(path))


def read_kpi_values(
    path_or_dir: Path, *, registry: KpiRegistry | None = None, batch_rows: int = DEFAULT_BATCH_ROWS
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The outcome KPI feed (long-format CSVs) as ``(KPI_VALUES rows, REJECTS rows)``.

    A row is quarantined, with a reason and its ``"<file> line <n>"`` locator, when a value cannot
    be read as its type, is empty where required, has a ``unit_type`` outside employee/team/site,
    ``period_end`` before ``period_start``, a period before 2000 or after 2100, a non-finite ``value``, repeats a key
    (kpi, unit_type, unit_id, period_start) already read (first occurrence wins, files in name order),
    or, when ``registry`` is given, names a KPI that is not in it. A file with a missing column
    raises :class:`ContractError`.
    """
    kept: list[pl.DataFrame] = []
    rejected: list[pl.DataFrame] = []
    known = [k.name for k in registry.kpis] if registry is not None else None
    ids = join_text("kpi=", pl.col("kpi"), " unit_type=", pl.col("unit_type"), " unit_id=", pl.col("unit_id"))
    for file in _kpi_files(path_or_dir):
        label = str(file)
        for batch in iter_csv_batches(
            file, label=label, required=KPI_CSV_COLUMNS, batch_rows=batch_rows, what="a KPI feed CSV"
        ):
            raw = batch.select(
                *[pl.col(c).str.strip_chars().replace("", None).alias(c) for c in KPI_CSV_COLUMNS],
                pl.lit(file.name).alias("source_file"),
                pl.lit(label).alias("__file"),
                pl.col(LINE_COLUMN),
            )
            staged, unreadable = parse_dates(raw, ("period_start", "period_end"))
            rejected.append(
                rejects_frame(unreadable, contract=KPI_VALUES.name, file=label, reason=pl.col(REASON_COLUMN),
                              excerpt=ids)
            )
            good, bad = conform_rows(
                staged, KPI_VALUES, file=label, locator=line_locator(file.name), excerpt=ids,
                keep=[LINE_COLUMN, "__file"],
            )
            rejected.append(bad)
            problem = (
                pl.when(pl.col("period_end") < pl.col("period_start"))
                .then(pl.lit("period_end: before period_start"))
                .when((pl.col("period_start") < KPI_EARLIEST) | (pl.col("period_end") >= KPI_LATEST))
                .then(pl.lit(f"period_start/period_end: expected dates from {KPI_EARLIEST} to {KPI_LATEST}, "
                             "found a placeholder (epoch 0) or a typo"))
                .when(~pl.col("value").is_finite())
                .then(pl.lit("value: expected a finite number"))
            )
            if known is not None:
                problem = problem.when(~pl.col("kpi").is_in(known)).then(pl.lit("kpi: not in kpi_registry.yaml"))
            good = good.with_columns(problem.otherwise(None).alias("__reason"))
            rejected.append(
                rejects_frame(
                    good.filter(pl.col("__reason").is_not_null()),
                    contract=KPI_VALUES.name, file=label, reason=pl.col("__reason"), excerpt=ids,
                )
            )
            kept.append(good.filter(pl.col("__reason").is_null()).drop("__reason"))
    rows = (
        pl.concat(kept)
        if kept
        else pl.DataFrame(schema={**KPI_VALUES.schema, LINE_COLUMN: pl.Int64, "__file": pl.Utf8})
    )
    first = rows.select(pl.struct(list(KPI_VALUES.key)).is_first_distinct().alias("first"))["first"]
    duplicates = rows.filter(~first)
    rejected.append(
        duplicates.select(
            pl.lit(KPI_VALUES.name).alias("contract"),
            pl.col("__file").alias("file"),
            join_text(pl.col("source_file"), " line ", pl.col(LINE_COLUMN).cast(pl.Utf8)).alias("locator"),
            pl.lit("duplicate key (kpi, unit_type, unit_id, period_start): an earlier row gave it").alias("reason"),
            pl.lit(None, dtype=pl.Utf8).alias("source"),
            join_text(ids, " period_start=", pl.col("period_start").cast(pl.Utf8)).alias("excerpt"),
        )
    )
    values = rows.filter(first).select(KPI_VALUES.names)
    rejects = pl.concat([r.select(REJECTS.names).cast(REJECTS.schema) for r in rejected])  # type: ignore[arg-type]
    if rejects.height:
        log.warning("KPI feed %s: %d row(s) quarantined", path_or_dir, rejects.height)
    return values, rejects


# --------------------------------------------------------------------------------------------
# The whole drop zone
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DropZoneConfig:
    """Everything configurable in a drop zone, validated. Optional files absent -> empty models."""

    settings: Settings
    pilots: Pilots = field(default_factory=lambda: Pilots(cohorts=[]))
    kpi_registry: KpiRegistry = field(default_factory=lambda: KpiRegistry(kpis=[]))
    charters: Charters = field(default_factory=lambda: Charters(communities=[]))
    kpi_values: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=KPI_VALUES.schema))
    kpi_rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECTS.schema))
    targets: Targets = field(default_factory=lambda: Targets(targets=[]))
    surveys: Surveys = field(default_factory=lambda: Surveys(surveys=[]))


def load_drop_zone_config(drop_zone: Path) -> DropZoneConfig:
    """All configuration of a drop zone: ``settings.yaml`` (required), ``pilots.yaml``,
    ``kpi_registry.yaml``, ``charters.yaml``, ``targets.yaml``, ``surveys.yaml`` and ``kpis/*.csv`` (each
    optional: empty if absent). Targets are checked against the other files (their KPIs, their communities).

    KPI rows naming a KPI missing from the registry are quarantined (a KPI without a definition has
    no unit or direction). Errors are :class:`ConfigFileError` / :class:`ContractError` naming the file.
    """
    root = Path(drop_zone)
    if not root.is_dir():
        raise ConfigFileError("drop zone directory not found", file=str(root))
    settings = load_settings(root / SETTINGS_FILE)
    pilots = load_pilots(root / PILOTS_FILE) if (root / PILOTS_FILE).exists() else Pilots(cohorts=[])
    registry = (
        load_kpi_registry(root / KPI_REGISTRY_FILE) if (root / KPI_REGISTRY_FILE).exists() else KpiRegistry(kpis=[])
    )
    charters = load_charters(root / CHARTERS_FILE) if (root / CHARTERS_FILE).exists() else Charters(communities=[])
    surveys = load_surveys(root / SURVEYS_FILE) if (root / SURVEYS_FILE).exists() else Surveys(surveys=[])
    kpi_dir = root / KPI_DIR
    if kpi_dir.is_dir():
        values, rejects = read_kpi_values(kpi_dir, registry=registry)
    else:
        values, rejects = pl.DataFrame(schema=KPI_VALUES.schema), pl.DataFrame(schema=REJECTS.schema)
    config = DropZoneConfig(settings, pilots, registry, charters, values, rejects, surveys=surveys)
    if (root / TARGETS_FILE).exists():
        config = replace(config, targets=load_targets(root / TARGETS_FILE, context=config))
    log.info(
        "drop zone %s: %d cohort(s), %d KPI(s), %d charter(s), %d target(s), %d survey(s), %d KPI value(s), "
        "%d rejected", root, len(pilots.cohorts), len(registry.kpis), len(charters.communities),
        len(config.targets.targets), len(surveys.surveys), values.height, rejects.height,
    )
    return config


__all__ = [
    "ConfigFileError",
    "DEFAULT_BATCH_ROWS",
    "DropZoneConfig",
    "LINE_COLUMN",
    "iter_csv_batches",
    "line_locator",
    "load_charters",
    "load_drop_zone_config",
    "load_kpi_registry",
    "load_pilots",
    "load_settings",
    "load_targets",
    "load_surveys",
    "read_kpi_values",
    "rejects_frame",
    "utf8_file",
]

