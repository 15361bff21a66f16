"""Reading zip and tar exports without trusting them (used by every connector that accepts an archive).

An archive from outside is hostile until checked:

- **Unsafe member names** are never extracted nor read: absolute paths (``/etc/x``, ``C:\\x``,
  ``\\\\server\\x``), paths with a ``..`` part (zip-slip), names with a NUL byte, and members that
  are not regular files (symbolic and hard links, devices: the Unix mode in a zip's
  ``external_attr``, the member type in a tar). Each becomes a :class:`SkippedMember` the connector
  records as a reject (``locator`` = the member name), and the others go on. So does a second
  member of the same path (the first one is read).
- **Decompression bombs** are refused before anything is written: a zip member whose declared
  uncompressed size is more than :data:`MAX_RATIO` times its compressed size (once it is above
  :data:`RATIO_FLOOR_BYTES`), the wanted members of a compressed tarball adding up to more than
  :data:`MAX_RATIO` times the tarball's own size (a tar does not record compressed sizes per
  member; the tarball's size bounds them), or members together larger than
  :func:`max_total_bytes` (``$UPTAKE_MAX_ARCHIVE_BYTES``) raise
  :class:`~pipelines.connectors.base.ConnectorError`. Extraction never writes more than a member's
  declared size (:func:`copy_bounded`), so the declared sizes bound what it can write.
- **Damaged archives** (bad CRC, truncated deflate or gzip stream, a member cut short, a broken tar
  header) raise :class:`~pipelines.connectors.base.ConnectorError` naming the archive and the
  member, never a bare ``zlib.error``; :func:`extract_archive` instead skips a damaged zip member
  (reported like an unsafe one) and goes on, since a zip's members are independent, while a
  damaged tarball stops the read (its members are one stream: nothing after the damage is sure).

:func:`extract_archive` does all of this for a connector that reads an export as a directory: the
wanted, safe members of a ``.zip`` or ``.tar`` / ``.tar.gz`` / ``.tgz`` are written below a target
directory under their own (relative) paths.
"""

from __future__ import annotations

import logging
import lzma
import os
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TypeVar

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
#: Errors a damaged tarball raises while its headers or members are read (a bad gzip stream is an
#: ``OSError`` or a ``zlib.error``, a broken header a ``tarfile.TarError``).
TAR_READ_ERRORS: tuple[type[BaseException], ...] = (tarfile.TarError, zlib.error, lzma.LZMAError, EOFError, OSError,
                                                   ValueError)
#: Suffixes of the tarballs :func:`extract_archive` reads (anything else is read as a zip).
TAR_SUFFIXES: tuple[str, ...] = (".tar", ".tar.gz", ".tgz")

#: A zip's or a tar's member (``zipfile.ZipInfo`` or ``tarfile.TarInfo``).
_Member = TypeVar("_Member")
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


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name must not be extracted (absolute, leaving the archive, a NUL byte), or ``None``."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path in the archive: not extracted"
    if ".." in member_path(name).parts:
        return "path leaves the archive ('..'): not extracted"
    if "\x00" in name:
        return "NUL byte in the member name: not extracted"
    return None


def member_path(name: str) -> PurePosixPath:
    """A member's name as a relative POSIX path (Windows separators read as ``/``; ``./`` dropped)."""
    return PurePosixPath(name.replace("\\", "/"))


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be extracted or read (``None`` if it is a safe regular file or folder)."""
    reason = unsafe_name_reason(info.filename)
    if reason is not None:
        return reason
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
    kept, skipped = _keep_safe(archive.infolist(), label, wanted, name=lambda i: i.filename,
                               is_dir=zipfile.ZipInfo.is_dir, unsafe=unsafe_reason)
    check_sizes(kept, label)
    return kept, skipped


def _keep_safe(
    members: Iterable[_Member], label: str, wanted: Callable[[PurePosixPath], bool], *,
    name: Callable[[_Member], str], is_dir: Callable[[_Member], bool], unsafe: Callable[[_Member], str | None],
) -> tuple[list[_Member], list[SkippedMember]]:
    """The members (of a zip or a tar) that are files ``wanted`` accepts and not ``unsafe``; the
    unsafe ones as :class:`SkippedMember`."""
    kept: list[_Member] = []
    skipped: list[SkippedMember] = []
    for member in members:
        if is_dir(member) or not wanted(member_path(name(member))):
            continue
        reason = unsafe(member)
        if reason is not None:
            log.warning("%s: member %r skipped: %s", label, name(member), reason)
            skipped.append(SkippedMember(name(member), reason))
            continue
        kept.append(member)
    return kept, skipped


def check_sizes(members: Iterable[zipfile.ZipInfo], label: str) -> None:
    """Raise :class:`ConnectorError` for a member inflating more than :data:`MAX_RATIO` times, or
    members together above :func:`max_total_bytes`."""
    total = 0
    ceiling = max_total_bytes()
    for info in members:
        total += info.file_size
        _check_ratio(info.file_size, info.compress_size, f"member {info.filename!r}", label)
        _check_total(total, ceiling, label)


def _check_ratio(size: int, compressed: int, what: str, label: str) -> None:
    if size > RATIO_FLOOR_BYTES and size > MAX_RATIO * max(compressed, 1):
        raise ConnectorError(
            f"{what} would inflate from {compressed} to {size} bytes (more than {MAX_RATIO} times): refused as a "
            "decompression bomb",
            file=label,
        )


def _check_total(total: int, ceiling: int, label: str) -> None:
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


# ----- tarballs -------------------------------------------------------------------------------------


def is_tarball(path: Path) -> bool:
    """Whether ``path`` is named like a tarball (:data:`TAR_SUFFIXES`)."""
    return path.name.lower().endswith(TAR_SUFFIXES)


def open_tarball(path: Path, *, what: str) -> tarfile.TarFile:
    """``path`` opened as a (possibly compressed) tarball; :class:`ConnectorError` naming it otherwise."""
    gzipped = path.name.lower().endswith((".tar.gz", ".tgz"))
    try:
        return tarfile.open(path, mode="r:gz" if gzipped else "r:*")
    except TAR_READ_ERRORS as exc:
        raise ConnectorError(f"cannot open as a tar archive ({exc}); expected {what}", file=str(path)) from exc


def unsafe_tar_reason(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be extracted or read (``None`` for a safe regular file or folder)."""
    reason = unsafe_name_reason(member.name)
    if reason is not None:
        return reason
    if member.issym():
        return "a symbolic link: not extracted"
    if member.islnk():
        return "a hard link: not extracted"
    if not (member.isreg() or member.isdir()):
        return "not a regular file: not extracted"
    return None


def safe_tar_members(
    archive: tarfile.TarFile, label: str, wanted: Callable[[PurePosixPath], bool], archive_bytes: int
) -> tuple[list[tarfile.TarInfo], list[SkippedMember]]:
    """The file members ``wanted`` accepts, minus the unsafe ones (returned as
    :class:`SkippedMember`); reading the headers walks the whole (decompressed) stream without
    writing anything. Raises :class:`ConnectorError` for a damaged tarball or one whose kept members
    look like a decompression bomb (more than :data:`MAX_RATIO` times ``archive_bytes``, or above
    :func:`max_total_bytes`)."""
    try:
        members = archive.getmembers()
    except TAR_READ_ERRORS as exc:
        raise ConnectorError(f"damaged tar archive, its members cannot be listed: {exc}", file=label) from exc
    kept, skipped = _keep_safe(members, label, wanted, name=lambda m: m.name, is_dir=tarfile.TarInfo.isdir,
                               unsafe=unsafe_tar_reason)
    total = sum(m.size for m in kept)
    _check_ratio(total, archive_bytes, "the members read", label)
    _check_total(total, max_total_bytes(), label)
    return kept, skipped


# ----- extracting an export ------------------------------------------------------------------------


def extract_archive(
    path: Path, target: Path, *, wanted: Callable[[PurePosixPath], bool], what: str
) -> list[SkippedMember]:
    """The members of a zip or tarball (:data:`TAR_SUFFIXES`) that ``wanted`` accepts (by their path)
    written below ``target`` under their own relative paths; returns the members left out (unsafe,
    a second member of the same path, a damaged zip member), for the connector to report.
    :class:`ConnectorError` for an archive that cannot be opened, a decompression bomb or a damaged
    tarball (see the module docstring); ``what`` names what the archive was expected to be."""
    label = str(path)
    if is_tarball(path):
        with open_tarball(path, what=what) as tar:
            members, skipped = safe_tar_members(tar, label, wanted, path.stat().st_size)
            entries = [(m.name, m.size, _tar_opener(tar, m)) for m in members]
            return skipped + _write_members(entries, target, label, errors=TAR_READ_ERRORS, damaged_stops=True)
    with open_archive(path, what=what) as archive:
        infos, skipped = safe_members(archive, label, wanted)
        entries = [(i.filename, i.file_size, _zip_opener(archive, i)) for i in infos]
        return skipped + _write_members(entries, target, label, errors=READ_ERRORS, damaged_stops=False)


def _zip_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: archive.open(info)


def _tar_opener(archive: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[], IO[bytes]]:
    def open_() -> IO[bytes]:
        stream = archive.extractfile(member)
        if stream is None:  # not a regular file (already refused by unsafe_tar_reason)
            raise tarfile.ExtractError(f"member {member.name!r} is not a regular file")
        return stream

    return open_


def _write_members(
    entries: list[tuple[str, int, Callable[[], IO[bytes]]]], target: Path, label: str, *,
    errors: tuple[type[BaseException], ...], damaged_stops: bool,
) -> list[SkippedMember]:
    """Write each (name, declared size, opener) below ``target``; the members that could not be."""
    skipped: list[SkippedMember] = []
    for name, size, open_member in entries:
        parts = tuple(p for p in member_path(name).parts if p not in ("", "."))
        dest = target.joinpath(*parts) if parts else target
        if not parts or dest.exists() or any(p.is_file() for p in dest.parents if p.is_relative_to(target)):
            reason = "another member already uses this path: not read" if parts else "empty name: not read"
            log.warning("%s: member %r skipped: %s", label, name, reason)
            skipped.append(SkippedMember(name, reason))
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open_member() as src, dest.open("wb") as out:
                copy_bounded(src, out, size)
        except errors as exc:
            dest.unlink(missing_ok=True)
            if damaged_stops:
                raise ConnectorError(f"member {name!r} cannot be extracted: {exc}", file=label) from exc
            log.warning("%s: member %r not read: %s", label, name, exc)
            skipped.append(SkippedMember(name, f"damaged member, not read: {first_line(exc)}"))
    return skipped


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (at most 300 characters), or its type's name."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


__all__ = [
    "MAX_RATIO",
    "READ_ERRORS",
    "SkippedMember",
    "TAR_READ_ERRORS",
    "TAR_SUFFIXES",
    "check_sizes",
    "copy_bounded",
    "extract_archive",
    "extract_member",
    "first_line",
    "is_tarball",
    "max_total_bytes",
    "member_path",
    "open_archive",
    "open_tarball",
    "safe_members",
    "safe_tar_members",
    "unsafe_name_reason",
    "unsafe_reason",
    "unsafe_tar_reason",
]
