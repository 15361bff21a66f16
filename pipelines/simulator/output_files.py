"""Deterministic output files: ZIP archives (fixed timestamps, sorted entries, fixed attributes) and
CSV bytes (empty text cells written empty, not as a quoted ``""``; optional UTF-8 BOM)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import polars as pl

BOM = b"\xef\xbb\xbf"


def write_zip(path: Path, files: dict[str, bytes], when: dt.datetime) -> Path:
    """Write ``files`` (name -> bytes) into ``path`` so that the same input gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compresslevel=6)
    return path


def csv_bytes(frame: pl.DataFrame, *, bom: bool = False, line_terminator: str = "\n",
              float_precision: int | None = None) -> bytes:
    """``frame`` as CSV; empty strings become empty cells, as exporting systems write them."""
    text = frame.with_columns(pl.col(pl.Utf8).replace("", None)).write_csv(
        line_terminator=line_terminator, float_precision=float_precision)
    return (BOM if bom else b"") + text.encode("utf-8")


def write_tar_gz(path: Path, files: dict[str, bytes], when: dt.datetime, *, root: str) -> Path:
    """Write ``files`` (name -> bytes) under the folder ``root`` of a gzip-compressed tarball, so that
    the same input gives the same bytes (fixed times, owners and modes; no name in the gzip header)."""
    import gzip
    import io
    import tarfile

    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = int(when.replace(tzinfo=dt.UTC).timestamp())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folder = tarfile.TarInfo(root)
        folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, stamp
        tar.addfile(folder)
        for name in sorted(files):
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mode, info.mtime = len(files[name]), 0o644, stamp
            tar.addfile(info, io.BytesIO(files[name]))
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=stamp,
                                                compresslevel=6) as gz:
        gz.write(buffer.getvalue())
    return path


def json_bytes(obj: object) -> bytes:
    """``obj`` as UTF-8 JSON indented by two spaces (as Zulip's export and Google Takeout write it)."""
    import orjson

    return orjson.dumps(obj, option=orjson.OPT_INDENT_2)
