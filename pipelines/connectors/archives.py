"""Reading zip exports without trusting them (used by every connector that accepts a ``.zip``).

A zip from outside is hostile until checked:

- **Unsafe member names** are never extracted nor read: absolute paths (``/etc/x``, ``C:\\x``,
  ``\\\\server\\x``), paths with a ``..`` part (zip-slip), and members that are not regular files
  (symbolic links, devices: the Unix mode in ``external_attr``). Each becomes a :class:`SkippedMember`
  the connector records as a reject (``locator`` = the member name), and the others go on.
- **Decompression bombs** are refused before anything is written: a member whose declared
  uncompressed size is more than :data:`MAX_RATIO` times its compressed size (once it is above
  :data:`RATIO_FLOOR_BYTES`), or members together larger than :data:`MAX_TOTAL_BYTES`
  (``$UPTAKE_MAX_ARCHIVE_BYTES``) raise :class:`~pipelines.connectors.base.ConnectorError`.
  Python's ``zipfile`` never inflates a member past its declared size (it fails the CRC check
  instead), so the declared sizes bound what extraction can write.
- **Damaged archives** (bad CRC, truncated deflate stream, a member cut short) raise
  :class:`~pipelines.connectors.base.ConnectorError` naming the archive and the member, never a
  bare ``zlib.error``.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from pipelines.connectors.base import ConnectorError

log = logging.getLogger(__name__)

#: Largest accepted ratio of a member's uncompressed to compressed size. Text exports (JSON, CSV)
#: compress 5 to 30 times; a run of zeros compresses about 1000 times.
MAX_RATIO = 200
#: Members smaller than this are never ratio-checked (tiny files compress oddly and are harmless).
RATIO_FLOOR_BYTES = 8 << 20
#: Default ceiling on the total uncompressed size of the members read from one archive.
DEFAULT_MAX_TOTAL_BYTES = 200 << 30
MAX_TOTAL_ENV = "UPTAKE_MAX_ARCHIVE_BYTES"
#: Errors a damaged zip raises while a member is read.
READ_ERRORS: tuple[type[BaseException], ...] = (zipfile.BadZipFile, zlib.error, EOFError, OSError,
                                               NotImplementedError, RuntimeError)

_DRIVE = re.compile(r"^[A-Za-z]:")


def max_total_bytes() -> int:
    """The ceiling on the members read from one archive (``$UPTAKE_MAX_ARCHIVE_BYTES`` or 200 GiB)."""
    value = os.environ.get(MAX_TOTAL_ENV)
    return int(value) if value else DEFAULT_MAX_TOTAL_BYTES


@dataclass(frozen=True)
class SkippedMember:
    """A member that was neither extracted nor read, and why."""

    name: str
    reason: str


def open_archive(path: Path, *, what: str) -> zipfile.ZipFile:
    """``path`` opened as a zip; :class:`ConnectorError` naming it and ``what`` was expected otherwise."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConnectorError(f"cannot open as a zip archive ({exc}); expected {what}", file=str(path)) from exc


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be extracted or read (``None`` if it is a safe regular file or folder)."""
    name = info.filename
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path in the archive: not extracted"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "path leaves the archive ('..'): not extracted"
    if "\x00" in name:
        return "NUL byte in the member name: not extracted"
    mode = info.external_attr >> 16
    file_type = stat.S_IFMT(mode)  # 0 when the archiver wrote permissions only: a regular file
    if info.create_system == 3 and file_type and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        return f"{kind}: not extracted"
    return None


def safe_members(
    archive: zipfile.ZipFile, label: str, wanted: Callable[[PurePosixPath], bool]
) -> tuple[list[zipfile.ZipInfo], list[SkippedMember]]:
    """The file members ``wanted`` accepts (by their path), minus the unsafe ones, which are returned
    as :class:`SkippedMember`; raises :class:`ConnectorError` if the kept members look like a
    decompression bomb (see the module docstring)."""
    kept: list[zipfile.ZipInfo] = []
    skipped: list[SkippedMember] = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if not wanted(path):
            continue
        reason = unsafe_reason(info)
        if reason is not None:
            log.warning("%s: member %r skipped: %s", label, info.filename, reason)
            skipped.append(SkippedMember(info.filename, reason))
            continue
        kept.append(info)
    check_sizes(kept, label)
    return kept, skipped


def check_sizes(members: Iterable[zipfile.ZipInfo], label: str) -> None:
    """Raise :class:`ConnectorError` for a member inflating more than :data:`MAX_RATIO` times, or
    members together above :func:`max_total_bytes`."""
    total = 0
    ceiling = max_total_bytes()
    for info in members:
        total += info.file_size
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ConnectorError(
                f"member {info.filename!r} would inflate from {info.compress_size} to {info.file_size} bytes "
                f"(more than {MAX_RATIO} times): refused as a decompression bomb",
                file=label,
            )
        if total > ceiling:
            raise ConnectorError(
                f"members add up to more than {ceiling} bytes uncompressed (${MAX_TOTAL_ENV}): refused as a "
                "decompression bomb; unpack the export yourself and drop the folder instead",
                file=label,
            )


def extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, label: str) -> None:
    """Stream one (already checked) member to ``target``; :class:`ConnectorError` if it is damaged."""
    try:
        with archive.open(info) as src, target.open("wb") as dst:
            copy_bounded(src, dst, info.file_size)
    except READ_ERRORS as exc:
        target.unlink(missing_ok=True)
        raise ConnectorError(f"member {info.filename!r} cannot be extracted: {exc}", file=label) from exc


def copy_bounded(src: IO[bytes], dst: IO[bytes], limit: int) -> None:
    """Copy at most ``limit`` bytes (plus one chunk) from ``src``; more raises ``zipfile.BadZipFile``."""
    written = 0
    while chunk := src.read(1 << 20):
        written += len(chunk)
        if written > limit:
            raise zipfile.BadZipFile(f"member inflates past its declared size of {limit} bytes")
        dst.write(chunk)


__all__ = [
    "MAX_RATIO",
    "READ_ERRORS",
    "SkippedMember",
    "check_sizes",
    "copy_bounded",
    "extract_member",
    "max_total_bytes",
    "open_archive",
    "safe_members",
    "unsafe_reason",
]
