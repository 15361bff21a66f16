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


def _hash_sources(h: hashlib.blake2b, root: Path) -> None:
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(path.read_bytes() + b"\0")


@functools.cache
def code_fingerprint(*packages: Path) -> str:
    """A hash of every ``transforms/**/*.py`` file (and of every ``*.py`` under ``packages``, e.g.
    the quality checks' own package) and of the numerical libraries' versions."""
    h = hashlib.blake2b(digest_size=16)
    for root in (_TRANSFORMS, *packages):
        _hash_sources(h, root)
    for name in _LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{name}={version}\0".encode())
    return h.hexdigest()
