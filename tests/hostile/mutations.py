"""Format-blind mutations of an export file: what happens to files between a platform and the drop
zone (truncation, re-encoding, a BOM, Windows line ends, a changed delimiter, NUL bytes, a huge
field, bidirectional-text marks and emoji, binary garbage). Each takes and returns bytes.

``BENIGN`` mutations change nothing a reader should care about: the canonical rows must come out
identical to the untouched file's.
"""

from __future__ import annotations

from collections.abc import Callable

Mutation = Callable[[bytes], bytes]

TEN_MB = 10 * 1024 * 1024
#: Right-to-left override, right-to-left mark, zero-width joiner and emoji.
HOSTILE_TEXT = "\u202eevil\u200f\u200d\U0001F600\U0001F9D1\u200d\U0001F4BB"


def _truncate(fraction: float) -> Mutation:
    return lambda b: b[: int(len(b) * fraction)]


def _insert_in_a_value(payload: bytes) -> Mutation:
    """Insert ``payload`` right after the first letter that follows a quote or a delimiter past the
    middle of the file (inside a value in CSV, JSON and LDIF alike)."""

    def mutate(b: bytes) -> bytes:
        start = len(b) // 2
        for i in range(start, len(b) - 1):
            if b[i : i + 1] in (b'"', b",", b":", b" ") and b[i + 1 : i + 2].isalpha():
                return b[: i + 2] + payload + b[i + 2 :]
        return b + payload

    return mutate


def _latin1(b: bytes) -> bytes:
    return b.decode("utf-8", "replace").encode("latin-1", "replace")


def _nul(b: bytes) -> bytes:
    third = len(b) // 3
    return b[:third] + b"\x00\x00" + b[third:]


GENERIC: dict[str, Mutation] = {
    "empty": lambda b: b"",
    "truncated-half": _truncate(0.5),
    "truncated-last-bytes": lambda b: b[:-7] if len(b) > 7 else b"",
    "nul-bytes": _nul,
    "latin1": _latin1,
    "bom": lambda b: b"\xef\xbb\xbf" + b,
    "crlf": lambda b: b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
    "semicolon-delimiter": lambda b: b.replace(b",", b";"),
    "tab-delimiter": lambda b: b.replace(b",", b"\t"),
    "binary-garbage": lambda b: bytes(range(256)) * 8,
    "doubled": lambda b: b + b,
    "ten-mb-field": _insert_in_a_value(b"x" * TEN_MB),
    "rtl-emoji": _insert_in_a_value(HOSTILE_TEXT.encode()),
}

#: Mutations after which the canonical rows must equal the untouched file's.
BENIGN: tuple[str, ...] = ("bom", "crlf")

__all__ = ["BENIGN", "GENERIC", "HOSTILE_TEXT", "Mutation", "TEN_MB"]
