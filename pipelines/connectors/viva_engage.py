"""Viva Engage (Yammer) network data export (``platforms/viva_engage/``: a ``.zip`` or an unpacked
directory per export) -> ``events`` and ``accounts``.

What it reads
-------------
- ``Messages.csv`` (required) -> one event per message. Columns used: ``id``, ``thread_id``,
  ``group_id``, ``sender_id``, ``sender_type``, ``sender_email``, ``body``, ``created_at``,
  ``deleted_at``, ``attachments``. ``replied_to_id``, ``conversation_id``, ``participants``
  (``user:1,user:2``), ``in_private_group``, ``in_private_conversation`` and ``api_url`` are not
  needed and not read into the output.
- ``Users.csv`` -> ``accounts`` (one per user id) and one ``join`` event per user with a
  ``joined_at`` (joining the network; ``space_id`` null). A sender of ``Messages.csv`` missing from
  ``Users.csv`` (bots are never listed there; all senders when ``Users.csv`` is missing) gets an
  account from the message columns: ``sender_email``, ``sender_name``, ``is_automated`` from
  ``sender_type``, ``is_deleted`` false (unknown).
- ``Groups.csv`` -> validated (ids unique, booleans readable) and used to warn about messages whose
  ``group_id`` is not a known group; it feeds no canonical table (spaces have none).
  Other files of the export (Topics, Files, Admins, Networks...) are not read.
Members are found by base name, case-insensitively, anywhere in the zip or directory; a zip's
members are streamed to a temporary directory and every CSV is read in batches
(:func:`~pipelines.connectors.config_files.iter_csv_batches`: UTF-8 with BOM tolerated, quoted
multi-line bodies, a Windows-1252 fallback with a warning for non-UTF-8 files).

Mapping
-------
- ``action``: a message with an uploaded file (``attachments`` holding ``uploadedfile:<id>``) ->
  ``upload`` (as the Slack connector does for messages carrying a file); otherwise a thread starter
  (``thread_id`` equal to ``id``, or empty) -> ``post`` and any other message -> ``reply``.
  Link previews (``opengraphobject:``) do not change the action. ``content_id`` = ``id``;
  ``thread_id`` = the starter's id.
- ``space_id`` = ``group_id`` (null for private conversations, which have no group).
- ``is_automated``: ``sender_type`` ``bot`` or ``system`` (any case).
- ``account_id`` = ``sender_id``; ``account_email`` = ``sender_email`` lower-cased.
- time: ``created_at`` as exported (``2026-03-02 09:15:00 UTC``; ISO ``2026-03-02T09:15:00Z`` is
  also accepted), stored in UTC.
- text features (``text_features``) from ``body``, then the body is dropped; ``mention_count`` also
  counts Viva Engage's own references ``[[user:123]]``.
- deletions: a message with a non-empty ``deleted_at`` is kept as the event it was (it happened;
  the deletion itself is not an action of the vocabulary and is not an event). Its content is gone,
  so it carries no text features (``body_chars`` 0, no hashtags, not a question) and can never count
  as a community output. The number of deleted
  messages is logged. ``Users.csv``: ``state`` suspended / soft_delete / deleted, or a non-empty
  ``deleted_at`` / ``suspended_at``, -> ``is_deleted``; ``guest`` -> ``is_guest``.

event_id scheme (stable across re-exports: the ids are Viva Engage's own)
-------------------------------------------------------------------------
- message: its ``id``; network join: ``join:<user id>``.

Quarantined rows (``rejects``, ``file`` = the export, ``locator`` = ``Messages.csv line <n>``,
``excerpt`` = ids only): an empty ``id`` or ``sender_id``, a ``created_at`` that cannot be read,
before 2008 (Yammer's launch) or more than one day after now, a repeated message or user id (the
first row wins), a ``joined_at`` or ``guest`` value that cannot be read. A missing ``Users.csv`` or
``Groups.csv`` is recorded as one reject (locator = the file) and the messages still go on, and so
is a zip member with an unsafe path (``..``, absolute) or that is a link (never extracted); a
missing ``Messages.csv``, an unreadable or damaged zip, a decompression bomb or a CSV without its
required columns raises
:class:`~pipelines.connectors.base.ConnectorError` / ``ContractError`` naming the file.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import ClassVar

import polars as pl

from pipelines.connectors.archives import SkippedMember, extract_member, open_archive, safe_members
from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.config_files import (
    DEFAULT_BATCH_ROWS,
    LINE_COLUMN,
    REASON_COLUMN,
    conform_rows,
    iter_csv_batches,
    join_text,
    line_locator,
    rejects_frame,
)
from pipelines.connectors.text_features import text_features_exprs
from transforms.contracts import ACCOUNTS, EVENTS, REJECTS
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE

log = logging.getLogger(__name__)

SOURCE = "viva_engage"
MESSAGES_FILE = "Messages.csv"
USERS_FILE = "Users.csv"
GROUPS_FILE = "Groups.csv"
EXPORT_FILES: tuple[str, ...] = (MESSAGES_FILE, USERS_FILE, GROUPS_FILE)

MESSAGE_COLUMNS: tuple[str, ...] = (
    "id", "thread_id", "group_id", "sender_id", "sender_type", "body", "created_at",
)
USER_COLUMNS: tuple[str, ...] = ("id", "email")
GROUP_COLUMNS: tuple[str, ...] = ("id", "name")
#: ``sender_type`` values that are not people.
AUTOMATED_SENDER_TYPES: tuple[str, ...] = ("bot", "system")
#: ``state`` values of a user that no longer exists or may not sign in.
INACTIVE_USER_STATES: tuple[str, ...] = ("suspended", "soft_delete", "deleted")
#: Nothing in an export predates Yammer.
EARLIEST_PLAUSIBLE_TIME = dt.datetime.combine(EARLIEST_PLAUSIBLE, dt.time(), tzinfo=dt.UTC)
#: Timestamp layouts seen in exports.
TIME_FORMATS: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%.fZ")
#: An uploaded file among a message's ``attachments``.
UPLOAD_PATTERN = r"(?:^|[,\s])uploadedfile:\d+"
#: Viva Engage's own mention markup in bodies.
REFERENCE_MENTION_PATTERN = r"\[\[user:\d+\]\]"

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


def _blank_to_null(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().replace("", None)


def parse_time(col: str) -> pl.Expr:
    """A Viva Engage time string as a UTC ``Datetime("us", "UTC")`` (null if unreadable)."""
    value = pl.col(col).str.strip_chars()
    return pl.coalesce(
        [value.str.to_datetime(f, time_unit="us", strict=False) for f in TIME_FORMATS]
    ).dt.replace_time_zone("UTC")


def parse_bool(col: str) -> pl.Expr:
    """``true``/``TRUE``/``True``/``1``/``yes`` -> True, their opposites -> False, empty -> null."""
    value = pl.col(col).str.strip_chars().str.to_lowercase()
    return pl.when(value.is_in(_TRUE)).then(True).when(value.is_in(_FALSE)).then(False).otherwise(None)


def _bad_bool(col: str) -> pl.Expr:
    value = pl.col(col).str.strip_chars()
    return pl.when(value.is_not_null() & (value != "") & parse_bool(col).is_null()).then(
        join_text(f"{col}: expected true or false, found '", value, "'")
    )


def _bad_time(col: str, *, latest: dt.datetime, required: bool) -> pl.Expr:
    raw = pl.col(col).str.strip_chars()
    parsed = parse_time(col)
    expr = pl.when(raw.is_not_null() & (raw != "") & parsed.is_null()).then(
        join_text(f"{col}: expected a time like '2026-03-02 09:15:00 UTC', found '", raw, "'")
    )
    if required:
        expr = expr.when(raw.is_null() | (raw == "")).then(pl.lit(f"{col}: required, found empty"))
    return (
        expr.when(parsed < EARLIEST_PLAUSIBLE_TIME)
        .then(join_text(f"{col}: ", raw, f" is before {EARLIEST_PLAUSIBLE:%Y-%m-%d}"))
        .when(parsed > latest)
        .then(join_text(f"{col}: ", raw, " is in the future (more than one day after the time of reading)"))
    )


def _reasons(*checks: pl.Expr) -> pl.Expr:
    return pl.concat_str(list(checks), separator="; ", ignore_nulls=True).replace("", None).alias(REASON_COLUMN)


class _SeenIds:
    """Ids already yielded (one string column), to quarantine repeats across batches."""

    def __init__(self) -> None:
        self.ids = pl.Series("id", [], dtype=pl.Utf8)

    def fresh(self, ids: pl.Series) -> pl.Series:
        """Mask: True where the id is neither earlier in ``ids`` nor seen before; remembers them."""
        mask = ids.is_first_distinct() & ~ids.is_in(self.ids.implode())
        self.ids = pl.concat([self.ids, ids.filter(mask)])
        return mask


def _file_reject(export: Path, member: str, reason: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"contract": [None], "file": [str(export)], "locator": [member], "reason": [reason],
         "source": [SOURCE], "excerpt": [None]},
        schema=REJECTS.schema,
    )


class VivaEngageConnector(Connector):
    """Viva Engage network data export (zip or directory of CSVs) -> events and accounts."""

    name: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Viva Engage (Yammer) network data export"
    kind = "platform"
    yields: ClassVar[tuple[TableName, ...]] = ("events", "accounts")
    cannot_see: ClassVar[tuple[str, ...]] = ("visit", "read", "react", "share")
    reads: ClassVar[str] = "Viva Engage network export .zip or directory: Messages.csv, Users.csv, Groups.csv"

    def __init__(self, *, batch_rows: int = DEFAULT_BATCH_ROWS, now: dt.datetime | None = None) -> None:
        """``batch_rows`` bounds memory (CSV rows per batch); ``now`` is for tests."""
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self.batch_rows = batch_rows
        self._now = now

    def recognises(self, path: Path) -> bool:
        """A ``.zip`` file or a directory (an unpacked export) in ``platforms/viva_engage/``."""
        return path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip")

    def read(self, path: Path) -> Iterator[Batch]:
        export = Path(path)
        latest = (self._now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=1)
        with _export_files(export) as (files, skipped):
            for member in skipped:
                yield Batch("rejects", _file_reject(export, member.name, member.reason))
            if MESSAGES_FILE not in files:
                raise ConnectorError(
                    f"no {MESSAGES_FILE} in the export; expected a Viva Engage network data export "
                    f"({', '.join(EXPORT_FILES)})",
                    file=str(export),
                )
            for member in (USERS_FILE, GROUPS_FILE):
                if member not in files:
                    log.warning("%s: no %s in the export", export, member)
                    yield Batch("rejects", _file_reject(
                        export, member, f"file missing: {'no accounts or join events' if member == USERS_FILE else 'group ids not checked'}"
                    ))
            groups = self._read_groups(export, files[GROUPS_FILE]) if GROUPS_FILE in files else None
            accounts = _SeenIds()
            if USERS_FILE in files:
                yield from self._read_users(export, files[USERS_FILE], latest, accounts)
            yield from self._read_messages(export, files[MESSAGES_FILE], latest, groups, accounts)

    # ----- Groups.csv ---------------------------------------------------------------------------

    def _read_groups(self, export: Path, path: Path) -> pl.Series:
        ids: list[pl.Series] = []
        bad_flags = 0
        for batch in iter_csv_batches(path, label=f"{export}:{GROUPS_FILE}", required=GROUP_COLUMNS,
                                      batch_rows=self.batch_rows, what="a Viva Engage Groups.csv"):
            ids.append(batch.select(_blank_to_null("id"))["id"].drop_nulls())
            flags = [c for c in ("private", "external", "deleted") if c in batch.columns]
            if flags:
                bad_flags += batch.select(pl.any_horizontal([_bad_bool(c).is_not_null() for c in flags]).sum()).item()
        group_ids = pl.concat(ids) if ids else pl.Series("id", [], dtype=pl.Utf8)
        dupes = group_ids.filter(group_ids.is_duplicated()).unique().sort().to_list()
        if dupes:
            log.warning("%s: %s lists group id(s) more than once: %s", export, GROUPS_FILE, ", ".join(dupes[:10]))
        if bad_flags:
            log.warning("%s: %s has %d row(s) with unreadable true/false flags", export, GROUPS_FILE, bad_flags)
        return group_ids.unique()

    # ----- Users.csv ----------------------------------------------------------------------------

    def _read_users(self, export: Path, path: Path, latest: dt.datetime, seen: _SeenIds) -> Iterator[Batch]:
        label = str(export)
        excerpt = join_text("user id=", pl.col("id"))
        kept = rejected = joins = 0
        for batch in iter_csv_batches(path, label=f"{export}:{USERS_FILE}", required=USER_COLUMNS,
                                      batch_rows=self.batch_rows, what="a Viva Engage Users.csv"):
            staged = batch.with_columns(
                *[pl.lit(None, dtype=pl.Utf8).alias(c)
                  for c in ("name", "joined_at", "deleted_at", "suspended_at", "guest", "state")
                  if c not in batch.columns],
            ).with_columns(_blank_to_null("id").alias("id"))
            staged = staged.with_columns(
                _reasons(
                    pl.when(pl.col("id").is_null()).then(pl.lit("id: required, found empty")),
                    _bad_time("joined_at", latest=latest, required=False),
                    _bad_bool("guest"),
                )
            )
            bad = staged.filter(pl.col(REASON_COLUMN).is_not_null())
            good = staged.filter(pl.col(REASON_COLUMN).is_null())
            fresh = seen.fresh(good["id"])
            repeats = good.filter(~fresh).with_columns(
                pl.lit("duplicate user id: an earlier row was kept").alias(REASON_COLUMN)
            )
            good = good.filter(fresh)
            rejects = pl.concat([
                rejects_frame(frame, contract=ACCOUNTS.name, file=label, source=SOURCE,
                              reason=pl.col(REASON_COLUMN), locator=line_locator(USERS_FILE), excerpt=excerpt)
                for frame in (bad, repeats)
            ])
            state = pl.col("state").str.strip_chars().str.to_lowercase()
            accounts = good.select(
                pl.lit(SOURCE).alias("source"),
                pl.col("id").alias("account_id"),
                pl.col("email").str.strip_chars().str.to_lowercase().replace("", None).alias("account_email"),
                pl.lit(None, dtype=pl.Utf8).alias("account_upn"),
                pl.lit(None, dtype=pl.Utf8).alias("employee_number"),
                pl.lit(None, dtype=pl.Utf8).alias("username"),
                _blank_to_null("name").alias("display_name"),
                pl.lit(False).alias("is_automated"),
                (
                    state.is_in(INACTIVE_USER_STATES).fill_null(False)
                    | _blank_to_null("deleted_at").is_not_null()
                    | _blank_to_null("suspended_at").is_not_null()
                ).alias("is_deleted"),
                parse_bool("guest").alias("is_guest"),
                pl.col(LINE_COLUMN),
            )
            accounts, bad_rows = conform_rows(accounts, ACCOUNTS, file=label, locator=line_locator(USERS_FILE),
                                              excerpt=join_text("user id=", pl.col("account_id")), source=SOURCE)
            join_events = good.filter(_blank_to_null("joined_at").is_not_null()).select(
                pl.lit(SOURCE).alias("source"),
                join_text("join:", pl.col("id")).alias("event_id"),
                parse_time("joined_at").alias("occurred_at"),
                pl.col("id").alias("account_id"),
                pl.col("email").str.strip_chars().str.to_lowercase().replace("", None).alias("account_email"),
                pl.lit("join").alias("action"),
                pl.lit(False).alias("is_automated"),
                pl.lit(USERS_FILE).alias("source_file"),
                pl.col(LINE_COLUMN),
            )
            join_events, bad_joins = conform_rows(join_events, EVENTS, file=label, locator=line_locator(USERS_FILE),
                                                  excerpt=join_text("event_id=", pl.col("event_id")), source=SOURCE)
            rejects = pl.concat([rejects, bad_rows, bad_joins])
            kept += accounts.height
            joins += join_events.height
            rejected += rejects.height
            if accounts.height:
                yield Batch("accounts", accounts.select(ACCOUNTS.names))
            if join_events.height:
                yield Batch("events", join_events.select(EVENTS.names))
            if rejects.height:
                yield Batch("rejects", rejects)
        log.info("%s: %s: %d account(s), %d join event(s), %d quarantined", export, USERS_FILE, kept, joins, rejected)

    # ----- Messages.csv -------------------------------------------------------------------------

    def _read_messages(
        self, export: Path, path: Path, latest: dt.datetime, groups: pl.Series | None, accounts: _SeenIds
    ) -> Iterator[Batch]:
        seen = _SeenIds()
        label = str(export)
        excerpt = join_text("id=", pl.col("id"), " sender_id=", pl.col("sender_id"))
        tally = {"rows": 0, "events": 0, "rejected": 0, "deleted": 0, "unknown_group": 0, "senders": 0}
        for batch in iter_csv_batches(path, label=f"{export}:{MESSAGES_FILE}", required=MESSAGE_COLUMNS,
                                      batch_rows=self.batch_rows, what="a Viva Engage Messages.csv"):
            tally["rows"] += batch.height
            staged = batch.with_columns(
                *[pl.lit(None, dtype=pl.Utf8).alias(c) for c in ("sender_email", "deleted_at", "attachments")
                  if c not in batch.columns],
            ).with_columns(
                _blank_to_null("id").alias("id"),
                _blank_to_null("sender_id").alias("sender_id"),
                _blank_to_null("thread_id").alias("thread_id"),
                _blank_to_null("group_id").alias("group_id"),
                # a deleted message's content is gone: no length, hashtags or question from it
                pl.when(_blank_to_null("deleted_at").is_not_null()).then(pl.lit(""))
                .otherwise(pl.col("body").fill_null("")).alias("body"),
            )
            staged = staged.with_columns(
                _reasons(
                    pl.when(pl.col("id").is_null()).then(pl.lit("id: required, found empty")),
                    pl.when(pl.col("sender_id").is_null()).then(pl.lit("sender_id: required, found empty")),
                    _bad_time("created_at", latest=latest, required=True),
                )
            )
            bad = staged.filter(pl.col(REASON_COLUMN).is_not_null())
            good = staged.filter(pl.col(REASON_COLUMN).is_null())
            fresh = seen.fresh(good["id"])
            repeats = good.filter(~fresh).with_columns(
                pl.lit("duplicate message id: an earlier row was kept").alias(REASON_COLUMN)
            )
            good = good.filter(fresh)
            tally["deleted"] += good.select(_blank_to_null("deleted_at").is_not_null().sum()).item()
            if groups is not None:
                tally["unknown_group"] += good.select(
                    (pl.col("group_id").is_not_null() & ~pl.col("group_id").is_in(groups.implode())).sum()
                ).item()
            events = good.select(
                pl.lit(SOURCE).alias("source"),
                pl.col("id").alias("event_id"),
                parse_time("created_at").alias("occurred_at"),
                pl.col("sender_id").alias("account_id"),
                pl.col("sender_email").str.strip_chars().str.to_lowercase().replace("", None).alias("account_email"),
                pl.when(pl.col("attachments").str.contains(UPLOAD_PATTERN).fill_null(False))
                .then(pl.lit("upload"))
                .when(pl.col("thread_id").is_null() | (pl.col("thread_id") == pl.col("id")))
                .then(pl.lit("post"))
                .otherwise(pl.lit("reply"))
                .alias("action"),
                pl.col("group_id").alias("space_id"),
                pl.coalesce("thread_id", "id").alias("thread_id"),
                pl.col("id").alias("content_id"),
                pl.col("sender_type").str.strip_chars().str.to_lowercase().is_in(AUTOMATED_SENDER_TYPES)
                .fill_null(False).alias("is_automated"),
                *text_features_exprs("body"),
                pl.col("body").str.count_matches(REFERENCE_MENTION_PATTERN).alias("__refs"),
                pl.lit(MESSAGES_FILE).alias("source_file"),
                pl.col(LINE_COLUMN),
            ).with_columns(
                (pl.col("mention_count").cast(pl.Int32) + pl.col("__refs").fill_null(0))
                .clip(upper_bound=32767).cast(pl.Int16).alias("mention_count")
            ).drop("__refs")
            events, bad_events = conform_rows(events, EVENTS, file=label, locator=line_locator(MESSAGES_FILE),
                                              excerpt=join_text("id=", pl.col("event_id")), source=SOURCE)
            rejects = pl.concat([
                *(rejects_frame(frame, contract=EVENTS.name, file=label, source=SOURCE, reason=pl.col(REASON_COLUMN),
                                locator=line_locator(MESSAGES_FILE), excerpt=excerpt)
                  for frame in (bad, repeats)),
                bad_events,
            ])
            senders = good.filter(~pl.col("sender_id").is_in(accounts.ids.implode())).unique(
                "sender_id", keep="first", maintain_order=True
            )
            senders = senders.filter(accounts.fresh(senders["sender_id"])).select(
                pl.lit(SOURCE).alias("source"),
                pl.col("sender_id").alias("account_id"),
                pl.col("sender_email").str.strip_chars().str.to_lowercase().replace("", None).alias("account_email"),
                pl.lit(None, dtype=pl.Utf8).alias("account_upn"),
                pl.lit(None, dtype=pl.Utf8).alias("employee_number"),
                pl.lit(None, dtype=pl.Utf8).alias("username"),
                _blank_to_null("sender_name").alias("display_name") if "sender_name" in good.columns
                else pl.lit(None, dtype=pl.Utf8).alias("display_name"),
                pl.col("sender_type").str.strip_chars().str.to_lowercase().is_in(AUTOMATED_SENDER_TYPES)
                .fill_null(False).alias("is_automated"),
                pl.lit(False).alias("is_deleted"),
                pl.lit(None, dtype=pl.Boolean).alias("is_guest"),
            )
            tally["senders"] += senders.height
            tally["events"] += events.height
            tally["rejected"] += rejects.height
            if senders.height:
                yield Batch("accounts", senders.cast(ACCOUNTS.schema))  # type: ignore[arg-type]
            if events.height:
                yield Batch("events", events.select(EVENTS.names))
            if rejects.height:
                yield Batch("rejects", rejects)
        if tally["unknown_group"]:
            log.warning("%s: %d message(s) name a group_id missing from %s", export, tally["unknown_group"],
                        GROUPS_FILE)
        log.info(
            "%s: %s: %d row(s) = %d event(s) + %d quarantined; %d deleted message(s) kept as events; "
            "%d sender(s) missing from %s added as accounts",
            export, MESSAGES_FILE, tally["rows"], tally["events"], tally["rejected"], tally["deleted"],
            tally["senders"], USERS_FILE,
        )


@contextmanager
def _export_files(export: Path) -> Iterator[tuple[dict[str, Path], list[SkippedMember]]]:
    """The export's Messages/Users/Groups CSVs as readable paths (a zip's members are streamed to a
    temporary directory), and the zip members left out as unsafe (``archives``). Matched by base
    name, case-insensitively; the shallowest match wins."""
    wanted = {name.lower(): name for name in EXPORT_FILES}
    if export.is_dir():
        found: dict[str, Path] = {}
        for path in sorted(export.rglob("*"), key=lambda p: (len(p.parts), str(p))):
            canonical = wanted.get(path.name.lower())
            if canonical and path.is_file() and canonical not in found:
                found[canonical] = path
        yield found, []
        return
    if not export.is_file():
        raise ConnectorError("export not found; expected a .zip or a directory", file=str(export))
    archive = open_archive(export, what="a Viva Engage network data export")
    with archive, tempfile.TemporaryDirectory(prefix="uptake-viva-") as tmp:
        candidates, skipped = safe_members(archive, str(export), lambda name: name.name.lower() in wanted)
        members: dict[str, zipfile.ZipInfo] = {}
        for info in sorted(candidates, key=lambda i: (i.filename.count("/"), i.filename)):
            canonical = wanted[PurePosixPath(info.filename).name.lower()]
            members.setdefault(canonical, info)
        found = {}
        for canonical, info in members.items():
            target = Path(tmp) / canonical
            extract_member(archive, info, target, str(export))
            found[canonical] = target
        yield found, skipped


__all__ = ["VivaEngageConnector", "parse_bool", "parse_time"]
