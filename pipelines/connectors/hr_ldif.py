"""HR directory as LDAP LDIF (``hr/*.ldif``, or a folder of ``.ldif`` files per extract) -> ``hr_snapshots``.

LDIF (RFC 2849) is parsed by :func:`iter_ldif_entries`, a streaming parser: folded lines (a line
starting with one space continues the previous one), comments, ``attr:: base64`` values (decoded;
text if it is UTF-8, bytes otherwise, e.g. ``jpegPhoto``), ``attr:< URL`` values (not fetched),
attribute options (``cn;lang-fr``) and case-insensitive attribute names. Change records
(``changetype: modify`` / ``delete`` / ``modrdn``) are not directory entries and are quarantined;
``changetype: add`` records are read as entries.

People are the entries whose ``objectClass`` includes ``person``, ``organizationalPerson``,
``inetOrgPerson`` or ``user``; groups (``groupOfNames``, ``group``...), organisational units and
anything else are ignored (counted in the log). Mapping, first value of each attribute unless said:

- ``employee_id`` = ``employeeNumber``, else ``uid``, else ``sAMAccountName``;
- ``email`` = the first ``mail``, ``aliases`` = the other ``mail`` values (LDIF keeps the server's
  order; the first is taken as primary);
- ``upn`` = ``userPrincipalName``; ``display_name`` = ``displayName``, else ``cn``;
- ``department`` = ``department``, else ``ou``, else ``departmentNumber``;
- ``site`` = ``l`` (locality), else ``physicalDeliveryOfficeName``; ``country`` = ``c``;
  ``job_family`` = ``title``;
- ``manager_id``: ``manager`` holds the manager's DN; it becomes that entry's ``employee_id``
  when the manager is in the same extract (DNs compared case- and blank-insensitively), and stays
  null otherwise (a DN is not an employee id). This needs the DN -> id map before any row is
  yielded, so the extract is parsed twice: once for the map, once for the rows (bounded memory).

``snapshot_date``: the ``YYYY-MM-DD`` date in the file or folder name, else the latest
``modifyTimestamp`` of the extract; neither -> :class:`~pipelines.connectors.base.ConnectorError`,
as is an extract without a single record (an empty file).

Quarantined (``locator`` = ``<file> line <n>``, ``excerpt`` = the DN): entries with a line that is
not ``attribute: value``, bad base64, no DN, change records, people without any id attribute, and
every check of :func:`~pipelines.connectors.hr_csv.normalise_hr_rows`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import polars as pl

from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.config_files import join_text
from pipelines.connectors.hr_csv import HrKeyTracker, normalise_hr_rows, snapshot_date_from_name
from transforms.contracts import HR_SNAPSHOTS, REJECTS

log = logging.getLogger(__name__)

SOURCE = "hr_ldif"
PERSON_CLASSES: frozenset[str] = frozenset({"person", "organizationalperson", "inetorgperson", "user"})
#: Attributes the mapping reads (lower-case); the parser keeps only these when asked.
USED_ATTRIBUTES: frozenset[str] = frozenset({
    "objectclass", "changetype", "modifytimestamp", "employeenumber", "uid", "samaccountname", "mail",
    "userprincipalname", "displayname", "cn", "department", "ou", "departmentnumber", "l",
    "physicaldeliveryofficename", "c", "title", "manager",
})
#: Entries per batch of rows.
DEFAULT_BATCH_ENTRIES = 10_000

_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)((?:;[A-Za-z0-9-]+)*)(::?|:<)\s?(.*)$", re.DOTALL)
_GENERALIZED_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})")


@dataclass
class LdifEntry:
    """One LDIF record: its DN, attribute values by lower-cased name (options dropped), the file and
    line it starts on, and ``problems`` found while parsing it (empty when it is well-formed)."""

    dn: str | None
    file: str
    line: int
    attributes: dict[str, list[str | bytes]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def first(self, *names: str) -> str | None:
        """The first text value of the first of ``names`` that has one."""
        for name in names:
            for value in self.attributes.get(name, ()):
                if isinstance(value, str) and value.strip():
                    return value.strip()
        return None

    def texts(self, name: str) -> list[str]:
        return [v.strip() for v in self.attributes.get(name, ()) if isinstance(v, str) and v.strip()]


def _logical_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Unfold continuation lines; yield ``(first physical line number, logical line)``.
    Blank lines are yielded as ``""`` (record separators)."""
    current: list[str] = []
    start = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if line.startswith(" ") and current:
            current.append(line[1:])
            continue
        if current:
            yield start, "".join(current)
            current = []
        if line == "":
            yield number, ""
        else:
            current, start = [line], number
    if current:
        yield start, "".join(current)


def iter_ldif_entries(path: Path, *, keep: frozenset[str] | None = None) -> Iterator[LdifEntry]:
    """Stream the records of an LDIF file (see the module docstring). ``keep`` limits the stored
    attributes to those lower-cased names (``None`` keeps everything)."""
    name = path.name
    entry: LdifEntry | None = None
    with path.open(encoding="utf-8", errors="strict", newline="") as fh:
        try:
            for number, line in _logical_lines(fh):
                if line == "":
                    if entry is not None:
                        yield entry
                        entry = None
                    continue
                if line.startswith("#"):
                    continue
                match = _LINE.match(line)
                if entry is None and match and match.group(1).lower() == "version":
                    continue
                if entry is None:
                    entry = LdifEntry(dn=None, file=name, line=number)
                if not match:
                    entry.problems.append(f"line {number}: expected 'attribute: value'")
                    continue
                attr, _options, sep, value = match.groups()
                attr = attr.lower()
                decoded: str | bytes | None = value
                if sep == "::":
                    try:
                        raw = base64.b64decode(value.strip(), validate=True)
                    except (binascii.Error, ValueError):
                        entry.problems.append(f"line {number}: {attr}: invalid base64")
                        continue
                    try:
                        decoded = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        decoded = raw
                elif sep == ":<":
                    decoded = None  # a URL reference: not fetched
                if attr == "dn":
                    if entry.dn is not None or entry.attributes:
                        entry.problems.append(f"line {number}: dn: a second DN inside one entry")
                    entry.dn = decoded if isinstance(decoded, str) else None
                    continue
                if decoded is None or (keep is not None and attr not in keep):
                    continue
                entry.attributes.setdefault(attr, []).append(decoded)
        except UnicodeDecodeError as exc:
            raise ConnectorError(f"not UTF-8 (byte {exc.object[exc.start]:#04x}); LDIF must be UTF-8 "
                                 "(non-ASCII values are base64 with '::')", file=str(path)) from exc
    if entry is not None:
        yield entry


def normalise_dn(dn: str) -> str:
    """A DN for comparison: lower-cased, no blanks around ``,``, ``+`` and ``=``."""
    return re.sub(r"\s*([,+=])\s*", r"\1", dn.strip().lower())


def _is_person(entry: LdifEntry) -> bool:
    return bool({c.lower() for c in entry.texts("objectclass")} & PERSON_CLASSES)


def _employee_id(entry: LdifEntry) -> str | None:
    return entry.first("employeenumber", "uid", "samaccountname")


def _modify_date(entry: LdifEntry) -> dt.date | None:
    value = entry.first("modifytimestamp")
    match = _GENERALIZED_TIME.match(value or "")
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def ldif_files(path: Path) -> list[Path]:
    """The ``.ldif`` files of one extract: the file itself, or a folder's files in name order."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".ldif")
    return [path]


class HrLdifConnector(Connector):
    """HR directory as an LDAP LDIF export (inetOrgPerson / AD user entries)."""

    name: ClassVar[str] = SOURCE
    title: ClassVar[str] = "HR directory (LDAP LDIF export)"
    kind = "hr"
    yields: ClassVar[tuple[TableName, ...]] = ("hr_snapshots",)
    cannot_see: ClassVar[tuple[str, ...]] = ()
    #: hr/canonical/ holds the generic HR source's (hr_csv) canonical extracts, not this one's
    reads_canonical: ClassVar[bool] = False
    reads: ClassVar[str] = (
        "hr/*.ldif, or a folder of .ldif files per extract: person entries (mail, uid/employeeNumber, ou, "
        "manager DN); snapshot date from the name, else the latest modifyTimestamp"
    )

    def __init__(self, *, batch_entries: int = DEFAULT_BATCH_ENTRIES) -> None:
        self.batch_entries = batch_entries

    def recognises(self, path: Path) -> bool:
        """An ``.ldif`` file, or a folder holding ``.ldif`` files (one extract split into files)."""
        if path.is_file():
            return path.suffix.lower() == ".ldif"
        return path.is_dir() and (path.suffix.lower() == ".ldif" or any(p.suffix.lower() == ".ldif" for p in path.iterdir()))

    def read(self, path: Path) -> Iterator[Batch]:
        yield from self._read(Path(path), HrKeyTracker())

    def read_drop_zone(self, drop_zone: Path) -> Iterator[Batch]:
        tracker = HrKeyTracker()
        for path in self.inputs(drop_zone):
            yield from self._read(path, tracker)

    def _entries(self, path: Path) -> Iterator[LdifEntry]:
        for file in ldif_files(path):
            yield from iter_ldif_entries(file, keep=USED_ATTRIBUTES)

    def _read(self, path: Path, tracker: HrKeyTracker) -> Iterator[Batch]:
        label = str(path)
        if not path.exists():
            raise ConnectorError("not found; expected an LDIF file or a folder of them", file=label)
        # pass 1: DN -> employee_id, and the latest modifyTimestamp
        ids: dict[str, str] = {}
        latest: dt.date | None = None
        entries_seen = 0
        for entry in self._entries(path):
            entries_seen += 1
            if entry.dn and not entry.problems and _is_person(entry) and (emp := _employee_id(entry)):
                ids.setdefault(normalise_dn(entry.dn), emp)
            modified = _modify_date(entry)
            if modified and (latest is None or modified > latest):
                latest = modified
        if not entries_seen:
            raise ConnectorError("no LDIF record (empty file?); expected person entries (dn: ..., objectClass: "
                                 "person, mail, uid or employeeNumber)", file=label)
        snapshot = snapshot_date_from_name(path) or latest
        if snapshot is None:
            raise ConnectorError(
                "no snapshot date: name the file (or folder) with its extract date, e.g. hr_2026-01-05.ldif, "
                "or export modifyTimestamp",
                file=label,
            )
        # pass 2: rows
        kinds: Counter[str] = Counter()
        rows: list[dict[str, object]] = []
        broken: list[dict[str, object]] = []
        kept = rejected = 0
        for entry in self._entries(path):
            locator = f"{entry.file} line {entry.line}"
            changetype = (entry.first("changetype") or "add").lower()
            if changetype != "add":
                problem = f"changetype: {changetype} is a change record, not a directory entry"
            elif entry.problems:
                problem = "; ".join(entry.problems)
            else:
                problem = "dn: missing (an entry must start with its DN)" if entry.dn is None else ""
            if problem:
                kinds["broken"] += 1
                broken.append({"locator": locator, "reason": problem, "excerpt": f"dn={entry.dn}"})
            elif not _is_person(entry):
                kinds["not a person"] += 1
                continue
            else:
                kinds["person"] += 1
                mails = entry.texts("mail")
                manager_dn = entry.first("manager")
                rows.append({
                    "employee_id": _employee_id(entry),
                    "email": mails[0] if mails else None,
                    "aliases": mails[1:],
                    "upn": entry.first("userprincipalname"),
                    "display_name": entry.first("displayname", "cn"),
                    "manager_id": ids.get(normalise_dn(manager_dn)) if manager_dn else None,
                    "department": entry.first("department", "ou", "departmentnumber"),
                    "site": entry.first("l", "physicaldeliveryofficename"),
                    "country": entry.first("c"),
                    "job_family": entry.first("title"),
                    "__locator": locator,
                    "__dn": entry.dn,
                })
            if len(rows) + len(broken) >= self.batch_entries:
                good, bad = self._batch(rows, broken, snapshot, path, tracker)
                kept, rejected = kept + good.height, rejected + bad.height
                yield from _batches(good, bad)
                rows, broken = [], []
        good, bad = self._batch(rows, broken, snapshot, path, tracker)
        kept, rejected = kept + good.height, rejected + bad.height
        yield from _batches(good, bad)
        log.info("%s: snapshot %s, entries %s; %d HR row(s) kept, %d quarantined", label, snapshot, dict(kinds),
                 kept, rejected)

    def _batch(
        self, rows: list[dict[str, object]], broken: list[dict[str, object]], snapshot: dt.date, path: Path,
        tracker: HrKeyTracker,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        label = str(path)
        schema = {c: pl.Utf8 for c in ("employee_id", "email", "upn", "display_name", "manager_id", "department",
                                       "site", "country", "job_family", "__locator", "__dn")}
        frame = pl.DataFrame(rows, schema={**schema, "aliases": pl.List(pl.Utf8)}).with_columns(
            pl.lit(snapshot).alias("snapshot_date"),
            pl.lit(path.name).alias("source_file"),
        )
        no_id = frame.filter(pl.col("employee_id").is_null())
        good, rejects = normalise_hr_rows(frame.filter(pl.col("employee_id").is_not_null()), file=label,
                                          source=SOURCE, tracker=tracker, locator=pl.col("__locator"))
        structural = pl.DataFrame(broken, schema={"locator": pl.Utf8, "reason": pl.Utf8, "excerpt": pl.Utf8})
        missing_id = no_id.select(
            pl.col("__locator").alias("locator"),
            pl.lit("employee_id: no employeeNumber, uid or sAMAccountName").alias("reason"),
            join_text("dn=", pl.col("__dn")).alias("excerpt"),
        )
        extra = pl.concat([structural, missing_id]).with_columns(
            pl.lit(HR_SNAPSHOTS.name).alias("contract"), pl.lit(label).alias("file"), pl.lit(SOURCE).alias("source")
        ).select(REJECTS.names)
        return good, pl.concat([extra.cast(REJECTS.schema), rejects])  # type: ignore[arg-type]


def _batches(good: pl.DataFrame, bad: pl.DataFrame) -> Iterator[Batch]:
    if good.height:
        yield Batch("hr_snapshots", good)
    if bad.height:
        yield Batch("rejects", bad)


__all__ = ["HrLdifConnector", "LdifEntry", "iter_ldif_entries", "ldif_files", "normalise_dn"]
