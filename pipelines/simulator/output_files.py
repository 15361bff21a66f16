"""Deterministic ZIP writing (fixed timestamps, sorted entries, fixed attributes)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path


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
