"""The connector contract: what every platform or HR connector declares and yields.

A connector is a module with one class implementing :class:`Connector`, registered through the
``uptake.connectors`` entry point group (see ``docs/connectors.md``). It reads files in its own
folder of the drop zone and yields :class:`Batch` es of canonical rows (``transforms.contracts``),
plus quarantined rows (``REJECTS``) for anything it could not use. It never yields message text.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import polars as pl

from transforms.contracts import ContractError

#: The folder, inside a connector's folder, of its canonical Parquet files.
CANONICAL_FOLDER = "canonical"
#: Which canonical table a batch belongs to.
TableName = Literal["events", "accounts", "activity_counts", "hr_snapshots", "survey_responses",
                    "survey_text_dropped", "rejects"]
#: The drop-zone folder of the connectors of each kind that do not read ``platforms/<name>/``.
KIND_FOLDERS: dict[str, str] = {"hr": "hr", "survey": "surveys"}


class ConnectorError(ContractError):
    """A file cannot be read at all (missing, truncated, wrong encoding, broken schema).

    Raised only when nothing of the file is usable; bad rows are yielded as rejects instead.
    """


@dataclass(frozen=True)
class Batch:
    """A batch of canonical rows for one table, already conformed to its contract."""

    table: TableName
    frame: pl.DataFrame


class Connector(abc.ABC):
    """Base class of every connector.

    Class attributes declare what the connector is; ``read`` does the work, in bounded-size
    batches so that no export needs to fit in memory.
    """

    #: Registry name, also the drop-zone folder under ``platforms/`` (or ``hr/`` for HR connectors).
    name: ClassVar[str]
    #: Human title for ``uptake connectors``.
    title: ClassVar[str]
    #: ``platform`` connectors read ``platforms/<name>/``; ``hr`` connectors read ``hr/``; ``survey``
    #: connectors read ``surveys/`` (pulse-survey answers, metric kind perception).
    kind: ClassVar[Literal["platform", "hr", "survey"]]
    #: Canonical tables this connector yields (besides ``rejects``).
    yields: ClassVar[tuple[TableName, ...]]
    #: What the platform's export cannot show (e.g. ``("read", "visit")`` for Slack).
    cannot_see: ClassVar[tuple[str, ...]] = ()
    #: One line on the files it recognises.
    reads: ClassVar[str]
    #: Whether it also reads canonical Parquet files of its tables (``<folder>/canonical/<table>/``).
    reads_canonical: ClassVar[bool] = True

    def folder(self, drop_zone: Path) -> Path:
        """The connector's folder in a drop zone."""
        return drop_zone / KIND_FOLDERS.get(self.kind, f"platforms/{self.name}")

    @abc.abstractmethod
    def recognises(self, path: Path) -> bool:
        """Whether ``path`` (a file or directory inside the connector's folder) is for this connector."""

    @abc.abstractmethod
    def read(self, path: Path) -> Iterator[Batch]:
        """Yield canonical batches from one recognised input (an export zip/dir or a file)."""

    def inputs(self, drop_zone: Path) -> list[Path]:
        """The recognised inputs of this connector in a drop zone, sorted for determinism."""
        folder = self.folder(drop_zone)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir()
                      if not p.name.startswith(".") and p.name != CANONICAL_FOLDER and self.recognises(p))

    def canonical_inputs(self, drop_zone: Path) -> dict[TableName, list[Path]]:
        """Canonical Parquet files of this connector's tables, by table: rows already in the
        contract's columns (written by another system, or ``uptake simulate --canonical``), read in
        place. Layout: ``<folder>/canonical/<table>/**/*.parquet`` (``docs/drop_zone.md``)."""
        if not self.reads_canonical:
            return {}
        base = self.folder(drop_zone) / CANONICAL_FOLDER
        found = {t: sorted(p for p in (base / t).rglob("*.parquet") if p.is_file() and not p.name.startswith("."))
                 for t in self.yields if (base / t).is_dir()}
        return {t: files for t, files in found.items() if files}

    def read_drop_zone(self, drop_zone: Path) -> Iterator[Batch]:
        """Every batch from every recognised input of this connector in ``drop_zone``."""
        for path in self.inputs(drop_zone):
            yield from self.read(path)
