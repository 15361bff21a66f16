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
