"""What the JSON chat-export connectors share (``zulip``, ``google_chat``, ``rocket_chat``).

- :func:`export_root`: an export given as a directory, a ``.zip`` or a ``.tar.gz`` / ``.tgz``
  tarball, as a directory (archives are extracted to a temporary directory, JSON members only,
  unsafe member names skipped).
- :func:`split_events`: an events frame with ``__reject`` (why a row is quarantined, null if
  kept), ``__locator`` and ``__excerpt`` -> conformed ``EVENTS`` rows and ``REJECTS`` rows.
- :func:`reject_rows`: ``REJECTS`` rows for whole files or single items.
- :func:`future_cutoff`: the latest plausible event time (now + 1 day).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import polars as pl

from pipelines.connectors.base import ConnectorError
from transforms.contracts import EVENTS, REJECTS, conform

log = logging.getLogger(__name__)

#: Archive suffixes an export may come in (besides a plain directory).
ARCHIVE_SUFFIXES: tuple[str, ...] = (".zip", ".tar.gz", ".tgz", ".tar")


def is_archive(path: Path) -> bool:
    """Whether ``path`` is a file named like an export archive."""
    name = path.name.lower()
    return path.is_file() and any(name.endswith(s) for s in ARCHIVE_SUFFIXES)


def future_cutoff(now: dt.datetime | None) -> dt.datetime:
    """Events after this (now + 1 day, UTC) are quarantined as clock errors."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC) + dt.timedelta(days=1)


def _safe_parts(name: str) -> tuple[str, ...] | None:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return None
    return p.parts


@contextmanager
def export_root(path: Path, *, prefix: str, find_root: Callable[[Path], Path]) -> Iterator[Path]:
    """The export as a directory; archives are extracted (``.json``/``.jsonl`` members only) to a
    temporary directory that is removed afterwards. ``find_root`` picks the export's root inside it."""
    if path.is_dir():
        yield find_root(path)
        return
    with tempfile.TemporaryDirectory(prefix=f"uptake-{prefix}-") as tmp:
        target = Path(tmp)
        name = path.name.lower()
        try:
            if name.endswith(".zip"):
                with zipfile.ZipFile(path) as archive:
                    for info in archive.infolist():
                        parts = _safe_parts(info.filename)
                        if info.is_dir() or parts is None or not parts[-1].lower().endswith((".json", ".jsonl")):
                            continue
                        dest = target.joinpath(*parts)
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        with archive.open(info) as src, open(dest, "wb") as out:
                            shutil.copyfileobj(src, out, 1 << 20)
            else:
                with tarfile.open(path) as archive:
                    for member in archive:
                        parts = _safe_parts(member.name)
                        if not member.isfile() or parts is None or not parts[-1].lower().endswith((".json", ".jsonl")):
                            continue
                        src = archive.extractfile(member)
                        if src is None:
                            continue
                        dest = target.joinpath(*parts)
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        with src, open(dest, "wb") as out:
                            shutil.copyfileobj(src, out, 1 << 20)
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            raise ConnectorError(f"cannot open as an export archive: {exc}", file=str(path)) from exc
        yield find_root(target)


def reject_rows(
    *, contract: str, file: str, locators: Sequence[str], reason: str | Sequence[str], source: str,
    excerpts: Sequence[str | None] | None = None,
) -> pl.DataFrame:
    """``REJECTS`` rows, one per locator (a file, a line, an item)."""
    n = len(locators)
    reasons = [reason] * n if isinstance(reason, str) else list(reason)
    return pl.DataFrame(
        {
            "contract": [contract] * n,
            "file": [file] * n,
            "locator": list(locators),
            "reason": reasons,
            "source": [source] * n,
            "excerpt": list(excerpts) if excerpts is not None else [None] * n,
        },
        schema=REJECTS.schema,
    )


def split_events(frame: pl.DataFrame, *, file: str, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows with a ``__reject`` reason -> ``REJECTS``; the others conformed onto ``EVENTS`` (rows
    that do not fit the contract become rejects too). Needs ``__reject``, ``__locator`` and
    ``__excerpt`` (identifiers only) besides the event columns."""
    bad = frame.filter(pl.col("__reject").is_not_null())
    rejects = bad.select(
        pl.lit(EVENTS.name).alias("contract"),
        pl.lit(file).alias("file"),
        pl.col("__locator").alias("locator"),
        pl.col("__reject").alias("reason"),
        pl.lit(source).alias("source"),
        pl.col("__excerpt").alias("excerpt"),
    ).cast(REJECTS.schema)  # type: ignore[arg-type]
    good, unfit = conform(frame.filter(pl.col("__reject").is_null()), EVENTS, file=file, locator_column="__locator")
    if unfit.height:
        rejects = pl.concat([rejects, unfit.with_columns(pl.lit(source).alias("source")).select(REJECTS.names)])
    return good, rejects


def duplicate_reason(key: pl.Expr, what: str) -> pl.Expr:
    """A reason for the second and later rows with the same ``key`` (the first one is kept)."""
    return pl.when(key.is_duplicated() & ~key.is_first_distinct()).then(pl.lit(f"{what}: duplicate, first seen earlier"))


__all__ = [
    "ARCHIVE_SUFFIXES",
    "duplicate_reason",
    "export_root",
    "future_cutoff",
    "is_archive",
    "reject_rows",
    "split_events",
]
