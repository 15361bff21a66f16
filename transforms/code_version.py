"""The version of the transforms' code, as a hash: what every store of derived tables (the marts'
memo, the per-week community and leader counts, the counters, the HR directory) records beside its
tables, so that a table built by other code is built again rather than served or extended."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
from pathlib import Path

__all__ = ["code_fingerprint"]

#: Libraries whose version can change a derived table's numbers.
_LIBRARIES = ("polars", "numpy", "scipy", "scikit-learn", "statsmodels", "diff-diff", "duckdb")
_TRANSFORMS = Path(__file__).resolve().parent


@functools.cache
def code_fingerprint() -> str:
    """A hash of every ``transforms/**/*.py`` file and of the numerical libraries' versions."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(_TRANSFORMS.rglob("*.py")):
        h.update(path.relative_to(_TRANSFORMS).as_posix().encode("utf-8") + b"\0")
        h.update(path.read_bytes() + b"\0")
    for name in _LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{name}={version}\0".encode())
    return h.hexdigest()
