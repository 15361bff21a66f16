"""The connector contract: what every platform or HR connector declares and yields.

A connector is a module with one class implementing :class:`Connector`, registered through the
``uptake.connectors`` entry point group (see ``docs/connectors.md``). It reads files in its own
folder of the drop zone and yields :class:`Batch` es of canonical rows (``transforms.contracts``),
plus quarantined rows (``REJECTS``) for anything it could not use. It never yields message text.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import polars as pl

from transforms.contracts import ContractError

log = logging.getLogger(__name__)

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
    """A batch of canonical rows for one table, already conformed to its contract.

    ``origin``: the input (an export: a zip, a folder or a file of the connector's folder) the rows
    come from; :meth:`Connector.read_drop_zone` sets it. The ingest layer uses it to let a newer
    export win over an older one where they overlap (``pipelines.exports``).
    """

    table: TableName
    frame: pl.DataFrame
    origin: Path | None = None


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
        """Every batch from every recognised input of this connector in ``drop_zone``, each
        with its ``origin`` (the input it was read from)."""
        for path in self.inputs(drop_zone):
            for batch in self.read(path):
                yield batch if batch.origin is not None else dataclasses.replace(batch, origin=path)

    def export_time(self, path: Path) -> dt.datetime:
        """When the export ``path`` was made (UTC), to tell a newer export from an older one.

        A zip: the newest time stored for its members (the platform writes it when it builds the
        export, and copies and downloads keep it; an unpacked folder keeps it too, since unzip
        restores member times). A folder: the newest modification time of its files. Any other
        file (a tarball, a JSONL or CSV export): its modification time. Zip times carry no time
        zone: they are read as UTC. A platform whose exports record their creation time inside
        may override this.
        """
        path = Path(path)
        if path.is_file() and zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    stamps = [info.date_time for info in archive.infolist()]
                if stamps:
                    return dt.datetime(*max(stamps), tzinfo=dt.UTC)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:  # read() reports a damaged archive
                log.debug("%s: member times unreadable (%s); the file's modification time is used", path, exc)
        if path.is_dir():
            times = [p.stat().st_mtime for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
            if times:
                return dt.datetime.fromtimestamp(max(times), dt.UTC)
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
