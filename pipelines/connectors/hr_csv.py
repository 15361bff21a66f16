"""HR directory extracts as CSV files (``hr/*.csv``) -> ``hr_snapshots``.

File format: ``docs/drop_zone.md`` ("hr/*.csv"). One file per extract, named ``hr_YYYY-MM-DD.csv``
(the extract date) or carrying a ``snapshot_date`` column (a non-empty value wins over the name).

Column mapping: the canonical ``hr_snapshots`` column -> the header in the file. Defaults to the
canonical names; override per installation with ``hr_csv_columns`` in ``settings.yaml``. The
connector built by the registry takes no arguments, so :meth:`HrCsvConnector.read_drop_zone`
reads ``settings.yaml`` of the drop zone it is given; code can also pass a mapping explicitly
(``HrCsvConnector(column_mapping=...)`` or ``.with_column_mapping(...)``), which then wins.

Normalisation shared by every HR connector (:func:`normalise_hr_rows`): blanks -> null, emails and
UPNs stripped and lower-cased, aliases split on ``;`` (lower-cased, de-duplicated, the primary
email removed), ``country`` upper-cased, ``worker_type`` lower-cased. ``9999-12-31`` as
``termination_date`` means "no end" in many HR systems and becomes null.

Quarantined rows (``REJECTS``, ``"<file> line <n>"``): empty ``employee_id``, a date that is not
``YYYY-MM-DD`` or lies after 2100, a ``level`` that is not an integer, a ``worker_type`` other
than office/frontline, a ``country`` that is not two letters, and a repeated
(``snapshot_date``, ``employee_id``) (the first row read wins; files in name order).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import polars as pl

from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.config_files import (
    DEFAULT_BATCH_ROWS,
    LINE_COLUMN,
    REASON_COLUMN,
    SETTINGS_FILE,
    conform_rows,
    iter_csv_batches,
    join_text,
    line_locator,
    load_settings,
    parse_dates,
    rejects_frame,
)
from transforms.contracts import HR_SNAPSHOTS, REJECTS, ContractError
from transforms.contracts.vocabulary import LATEST_PLAUSIBLE, WORKER_TYPES

log = logging.getLogger(__name__)

#: Canonical columns a CSV may carry (everything but the provenance column).
HR_CSV_CANONICAL: tuple[str, ...] = tuple(c for c in HR_SNAPSHOTS.names if c != "source_file")
#: Dates after this are typos or placeholders, not plans.
#: HR systems write this for "no end date".
OPEN_END_DATE = dt.date(9999, 12, 31)

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
_DATE_COLUMNS = ("snapshot_date", "hire_date", "termination_date")


def snapshot_date_from_name(path: Path) -> dt.date | None:
    """The ``YYYY-MM-DD`` date in a file or folder name (``hr_2026-01-05.csv``), if any."""
    match = _DATE_IN_NAME.search(path.name)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


class HrKeyTracker:
    """The (snapshot_date, employee_id) keys already yielded, to quarantine repeats across batches
    and files. Holds two small columns per employee-snapshot, never the rows."""

    def __init__(self) -> None:
        self._seen = pl.DataFrame(schema={"snapshot_date": pl.Date, "employee_id": pl.Utf8})

    def split(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``(first occurrences, repeats)`` of ``frame``'s keys, given every key seen before."""
        key = ["snapshot_date", "employee_id"]
        first_in_batch = frame.select(pl.struct(key).is_first_distinct())
        seen_before = frame.select(key).join(
            self._seen.with_columns(pl.lit(True).alias("__seen")), on=key, how="left", maintain_order="left"
        )["__seen"].fill_null(False)
        fresh = first_in_batch.to_series() & ~seen_before
        new = frame.filter(fresh)
        self._seen = pl.concat([self._seen, new.select(key)])
        return new, frame.filter(~fresh)


def _lower_strip(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.to_lowercase().replace("", None)


def normalise_hr_rows(
    frame: pl.DataFrame,
    *,
    file: str,
    source: str,
    tracker: HrKeyTracker,
    locator: pl.Expr | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical ``hr_snapshots`` rows and ``REJECTS`` rows from a frame of HR attributes.

    ``frame`` holds string columns named like ``HR_SNAPSHOTS`` (any subset; ``snapshot_date``,
    ``hire_date``, ``termination_date`` as ``YYYY-MM-DD`` strings or dates, ``aliases`` as a
    ``;``-separated string or a list) and the :data:`LINE_COLUMN` used for locators unless
    ``locator`` is given. The input frame is not modified.
    """
    locator = locator if locator is not None else line_locator(Path(file).name)
    excerpt = join_text("employee_id=", pl.col("employee_id"))
    staged = frame.with_columns(locator.alias("__locator"))
    for col in HR_CSV_CANONICAL:
        if col not in staged.columns:
            staged = staged.with_columns(pl.lit(None, dtype=pl.Utf8).alias(col))
    text_cols = [c for c in HR_CSV_CANONICAL if c != "aliases" and staged.schema[c] == pl.Utf8]
    staged = staged.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in text_cols)
    if staged.schema["aliases"] == pl.Utf8:
        staged = staged.with_columns(pl.col("aliases").str.split(";"))
    staged = staged.with_columns(
        _lower_strip("email").alias("email"),
        _lower_strip("upn").alias("upn"),
        pl.col("country").str.to_uppercase(),
        pl.col("worker_type").str.to_lowercase(),
        pl.col("aliases").cast(pl.List(pl.Utf8)).list.eval(
            pl.element().str.strip_chars().str.to_lowercase().filter(pl.element().str.len_chars() > 0)
        ),
    )
    staged = staged.with_columns(
        pl.col("aliases").list.set_difference(pl.concat_list(pl.col("email").fill_null(""))).list.unique(
            maintain_order=True
        )
    ).with_columns(pl.when(pl.col("aliases").list.len() > 0).then(pl.col("aliases")).alias("aliases"))

    string_dates = [c for c in _DATE_COLUMNS if staged.schema[c] == pl.Utf8]
    staged, bad_dates = parse_dates(staged, string_dates)
    rejects = [
        rejects_frame(bad_dates, contract=HR_SNAPSHOTS.name, file=file, source=source,
                      reason=pl.col(REASON_COLUMN), locator=pl.col("__locator"), excerpt=excerpt)
    ]
    staged = staged.with_columns(
        pl.when(pl.col("termination_date") != OPEN_END_DATE).then(pl.col("termination_date")).alias(
            "termination_date"
        )
    )
    checks = [
        pl.when(pl.col(c) >= LATEST_PLAUSIBLE).then(
            join_text(f"{c}: ", pl.col(c).cast(pl.Utf8), f" is after {LATEST_PLAUSIBLE}")
        )
        for c in _DATE_COLUMNS
    ] + [
        pl.when(pl.col("worker_type").is_not_null() & ~pl.col("worker_type").is_in(WORKER_TYPES)).then(
            join_text("worker_type: expected office or frontline, found '", pl.col("worker_type"), "'")
        ),
        pl.when(pl.col("country").is_not_null() & ~pl.col("country").str.contains(r"^[A-Z]{2}$")).then(
            join_text("country: expected an ISO 3166 alpha-2 code, found '", pl.col("country"), "'")
        ),
    ]
    staged = staged.with_columns(
        pl.concat_str(checks, separator="; ", ignore_nulls=True).replace("", None).alias(REASON_COLUMN)
    )
    rejects.append(
        rejects_frame(staged.filter(pl.col(REASON_COLUMN).is_not_null()), contract=HR_SNAPSHOTS.name,
                      file=file, source=source, reason=pl.col(REASON_COLUMN), locator=pl.col("__locator"),
                      excerpt=excerpt)
    )
    staged = staged.filter(pl.col(REASON_COLUMN).is_null()).drop(REASON_COLUMN)
    good, bad = conform_rows(staged, HR_SNAPSHOTS, file=file, locator=pl.col("__locator"), excerpt=excerpt,
                             keep=["__locator"], source=source)
    rejects.append(bad)
    good, repeats = tracker.split(good)
    rejects.append(
        rejects_frame(repeats, contract=HR_SNAPSHOTS.name, file=file, source=source,
                      reason="duplicate employee_id for this snapshot_date: an earlier row was kept",
                      locator=pl.col("__locator"), excerpt=excerpt)
    )
    out_rejects = pl.concat([r.select(REJECTS.names).cast(REJECTS.schema) for r in rejects])  # type: ignore[arg-type]
    return good.select(HR_SNAPSHOTS.names), out_rejects


class HrCsvConnector(Connector):
    """HR directory CSV extracts, one file per extract date."""

    name: ClassVar[str] = "hr_csv"
    title: ClassVar[str] = "HR directory (CSV extracts)"
    kind = "hr"
    yields: ClassVar[tuple[TableName, ...]] = ("hr_snapshots",)
    cannot_see: ClassVar[tuple[str, ...]] = ()
    reads: ClassVar[str] = (
        "hr/*.csv, one extract per file named hr_YYYY-MM-DD.csv or with a snapshot_date column; "
        "headers remapped by settings.yaml hr_csv_columns"
    )

    def __init__(self, column_mapping: Mapping[str, str] | None = None, *, batch_rows: int = DEFAULT_BATCH_ROWS):
        self.column_mapping: dict[str, str] | None = dict(column_mapping) if column_mapping is not None else None
        self.batch_rows = batch_rows
        if self.column_mapping is not None:
            check_column_mapping(self.column_mapping, origin="column_mapping")

    def with_column_mapping(self, mapping: Mapping[str, str]) -> HrCsvConnector:
        """A copy of this connector that reads headers through ``mapping`` (canonical -> header)."""
        return HrCsvConnector(mapping, batch_rows=self.batch_rows)

    def recognises(self, path: Path) -> bool:
        return path.suffix.lower() == ".csv"  # a folder named like one is reported by read()

    def read(self, path: Path) -> Iterator[Batch]:
        yield from self._read(Path(path), self.column_mapping or {}, HrKeyTracker())

    def read_drop_zone(self, drop_zone: Path) -> Iterator[Batch]:
        """Every extract in ``hr/``, with the mapping given to the constructor or, failing that,
        ``hr_csv_columns`` of the drop zone's ``settings.yaml`` (if the file exists)."""
        mapping = self.column_mapping
        settings_path = Path(drop_zone) / SETTINGS_FILE
        if mapping is None and settings_path.is_file():
            mapping = load_settings(settings_path).hr_csv_columns
            check_column_mapping(mapping, origin=f"{settings_path} hr_csv_columns")
        tracker = HrKeyTracker()
        for path in self.inputs(drop_zone):
            yield from self._read(path, mapping or {}, tracker)

    def _read(self, path: Path, mapping: Mapping[str, str], tracker: HrKeyTracker) -> Iterator[Batch]:
        label = str(path)
        headers = {c: mapping.get(c, c) for c in HR_CSV_CANONICAL}
        file_date = snapshot_date_from_name(path)
        required = [headers["employee_id"], *(h for c, h in headers.items() if c in mapping and c != "employee_id")]
        kept = rejected = 0
        first = True
        for batch in iter_csv_batches(path, label=label, required=required, batch_rows=self.batch_rows,
                                      what="an HR extract"):
            if first:
                first = False
                present = {c: h for c, h in headers.items() if h in batch.columns}
                if file_date is None and "snapshot_date" not in present:
                    raise ConnectorError(
                        f"no snapshot date: name the file hr_YYYY-MM-DD.csv or add a "
                        f"'{headers['snapshot_date']}' column",
                        file=label,
                    )
                ignored = [c for c in batch.columns if c != LINE_COLUMN and c not in present.values()]
                if ignored:
                    log.info("%s: ignoring column(s) not mapped to hr_snapshots: %s", label, ", ".join(ignored))
            frame = batch.select(
                *[pl.col(h).alias(c) for c, h in present.items()],
                pl.col(LINE_COLUMN),
            )
            if file_date is not None:
                frame = frame.with_columns(
                    pl.coalesce(
                        pl.col("snapshot_date").str.strip_chars().replace("", None)
                        if "snapshot_date" in frame.columns else pl.lit(None, dtype=pl.Utf8),
                        pl.lit(file_date.isoformat()),
                    ).alias("snapshot_date")
                )
            frame = frame.with_columns(pl.lit(path.name).alias("source_file"))
            good, bad = normalise_hr_rows(frame, file=label, source=self.name, tracker=tracker)
            kept += good.height
            rejected += bad.height
            if good.height:
                yield Batch("hr_snapshots", good)
            if bad.height:
                yield Batch("rejects", bad)
        log.info("%s: %d HR row(s) kept, %d quarantined", label, kept, rejected)


def check_column_mapping(mapping: Mapping[str, str], *, origin: str) -> None:
    """Raise :class:`ContractError` if ``mapping`` names a column that ``hr_snapshots`` lacks."""
    unknown = sorted(set(mapping) - set(HR_CSV_CANONICAL))
    if unknown:
        raise ContractError(
            f"unknown hr_snapshots column(s) {', '.join(unknown)}; expected keys among {', '.join(HR_CSV_CANONICAL)}",
            file=origin,
        )
    headers = list(mapping.values())
    dupes = sorted({h for h in headers if headers.count(h) > 1})
    if dupes:
        raise ContractError(f"header(s) {', '.join(dupes)} mapped to more than one column", file=origin)


__all__ = [
    "HrCsvConnector",
    "HrKeyTracker",
    "check_column_mapping",
    "normalise_hr_rows",
    "snapshot_date_from_name",
]

