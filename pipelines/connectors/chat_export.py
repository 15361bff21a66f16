"""What the JSON chat-export connectors share (``zulip``, ``google_chat``, ``rocket_chat``, ``slack``).

- :func:`export_root`: an export given as a directory, a ``.zip`` or a ``.tar`` / ``.tar.gz`` /
  ``.tgz`` tarball, as a directory (archives are extracted to a temporary directory, JSON members
  only, through ``archives``: unsafe and damaged members skipped and returned, bombs refused).
- :func:`skipped_rejects`: ``REJECTS`` rows for the archive members that were not read.
- :func:`error_text`: a parser's error as a reject reason, without the folder the export was read
  from (a temporary one for archives), so the same export gives the same rejects wherever it is.
- :func:`split_events`: an events frame with ``__reject`` (why a row is quarantined, null if
  kept), ``__locator`` and ``__excerpt`` -> conformed ``EVENTS`` rows and ``REJECTS`` rows.
- :func:`reject_rows`: ``REJECTS`` rows for whole files or single items.
- :func:`future_cutoff`: the latest plausible event time (now + 1 day); :func:`future_reason`
  the reject reason for a later one.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import polars as pl

from pipelines.connectors.archives import TAR_SUFFIXES, SkippedMember, extract_archive, first_line, member_path
from transforms.contracts import EVENTS, REJECTS, conform

log = logging.getLogger(__name__)

#: Archive suffixes an export may come in (besides a plain directory).
ARCHIVE_SUFFIXES: tuple[str, ...] = (".zip", *TAR_SUFFIXES)


def is_archive(path: Path) -> bool:
    """Whether ``path`` is named like an export archive (a folder so named is read as a folder, and
    reported if it holds no export: never passed over in silence)."""
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def future_cutoff(now: dt.datetime | None) -> dt.datetime:
    """Events after this (now + 1 day, UTC) are quarantined as clock errors."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC) + dt.timedelta(days=1)


def future_reason(field: str) -> str:
    """The reject reason for a time after :func:`future_cutoff`. It does not print the cutoff: a
    wall-clock value in a reason would make the same export give other rejects a second later."""
    return f"{field}: after now + 1 day: a clock error"


def is_json_member(path: PurePosixPath) -> bool:
    """Whether an archive member is a JSON (or JSON lines) file: the only members extracted."""
    return path.suffix.lower() in (".json", ".jsonl")


@contextmanager
def export_root(
    path: Path, *, prefix: str, find_root: Callable[[Path], Path], what: str
) -> Iterator[tuple[Path, list[SkippedMember]]]:
    """The export as a directory, and the archive members that were not read (unsafe, damaged; see
    ``archives``). Archives are extracted (JSON members only) to a temporary directory removed
    afterwards; ``find_root`` picks the export's root inside it; ``what`` names the expected export
    in the error raised for an archive that cannot be opened, a bomb or a damaged tarball."""
    if path.is_dir():
        yield find_root(path), []
        return
    with tempfile.TemporaryDirectory(prefix=f"uptake-{prefix}-") as tmp:
        target = Path(tmp)
        skipped = extract_archive(path, target, wanted=is_json_member, what=what)
        yield find_root(target), skipped


def skipped_rejects(
    skipped: Sequence[SkippedMember], *, file: str, source: str, contract_of: Callable[[str], str]
) -> pl.DataFrame:
    """One ``REJECTS`` row per archive member not read (``locator`` = the member's name);
    ``contract_of`` tells the contract of a member's rows from its base name."""
    return reject_rows(
        contract=[contract_of(member_path(m.name).name) for m in skipped], file=file,
        locators=[m.name for m in skipped], reason=[m.reason for m in skipped], source=source,
    )


def not_read_note(skipped: Sequence[SkippedMember], name: str) -> str:
    """`` (the archive's member '<member>' was not read: <reason>)`` for a member of base name
    ``name`` left out of the archive, for the error that says a required file is missing."""
    found = [m for m in skipped if member_path(m.name).name == name]
    return "".join(f" (the archive's member {m.name!r} was not read: {m.reason})" for m in found[:1])


def error_text(exc: BaseException, root: Path) -> str:
    """The first line of a parser's error, with the export's folder ``root`` left out of the paths
    it names (``/tmp/uptake-zulip-x1/messages-1.json`` -> ``messages-1.json``)."""
    return first_line(exc).replace(f"{root}/", "").replace(str(root), ".")


def reject_rows(
    *, contract: str | Sequence[str], file: str, locators: Sequence[str], reason: str | Sequence[str], source: str,
    excerpts: Sequence[str | None] | None = None,
) -> pl.DataFrame:
    """``REJECTS`` rows, one per locator (a file, a line, an item)."""
    n = len(locators)
    reasons = [reason] * n if isinstance(reason, str) else list(reason)
    contracts = [contract] * n if isinstance(contract, str) else list(contract)
    return pl.DataFrame(
        {
            "contract": contracts,
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
    "error_text",
    "export_root",
    "future_cutoff",
    "future_reason",
    "is_archive",
    "is_json_member",
    "not_read_note",
    "reject_rows",
    "skipped_rejects",
    "split_events",
]
