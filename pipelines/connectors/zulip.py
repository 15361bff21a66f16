"""Zulip realm export connector (``platforms/zulip/``: one export directory, tarball (``.tar.gz``,
``.tgz``, ``.tar``) or ``.zip`` per export, as written by ``./manage.py export`` / the organisation
export in Zulip's settings). Archives are read through ``archives`` (``chat_export.export_root``):
JSON members only, unsafe members (``..``, absolute paths, links, devices) and damaged zip members
quarantined (``locator`` = the member), decompression bombs and damaged tarballs refused.

What it reads (Zulip's own ids and timestamps throughout)
---------------------------------------------------------
- ``realm.json``: ``zerver_userprofile`` (and ``zerver_userprofile_mirrordummy``,
  ``zerver_userprofile_crossrealm`` for the system bots) -> ``accounts``; ``zerver_stream`` and
  ``zerver_recipient`` resolve a message's recipient to a stream or a direct-message
  conversation; ``zerver_reaction`` -> ``react`` events; ``zerver_realmauditlog`` subscription
  events -> ``join`` events.
- ``messages-*.json`` (``zerver_message``, in chunks of messages) -> message events. The
  ``zerver_usermessage`` rows (who received a message, its read flag) are not read: a read flag
  carries no time.
- ``attachment.json``, ``avatars/``, ``uploads/``, ``emoji/`` are not read.

Parsing is done by DuckDB (one query per messages file, bounded by Zulip's chunk size); thread
roots are found first in one pass over every messages file reading only ``id``, ``recipient`` and
``subject``. Message text (``content``, Markdown) is reduced to its features (``text_features``;
Zulip's ``@**Name**`` mentions are counted) and dropped here.

Mapping
-------
- time: ``date_sent`` (epoch seconds with microseconds, UTC); a join takes its audit log
  ``event_time``; a reaction has no time of its own in Zulip: it takes its message's time
  (a lower bound).
- a stream message is a ``post`` when it is the first message (smallest id) of its topic
  (stream + topic, case-insensitive, as Zulip compares topics), a ``reply`` otherwise;
  ``thread_id`` = the topic's first message id. A direct message is a ``post`` of its own thread.
- ``has_attachment`` -> ``upload`` (a message linking a file uploaded earlier is not told apart).
- ``zerver_reaction`` row -> ``react`` by ``user_profile`` on ``message``.
- ``zerver_realmauditlog`` ``event_type`` 301 (subscription created) and 302 (re-activated) ->
  ``join`` of ``modified_user`` to ``modified_stream``; 303 (unsubscribed) and others are ignored.
- ``is_automated``: bot senders (``is_bot``, cross-realm bots such as Notification Bot) and
  messages of ``type`` 2 (Zulip's topic-resolved notifications).
- ``space_id``: the stream id; ``dm:<user id>,<user id>`` (sorted) for a one-to-one direct
  message; ``dm-group:<recipient type_id>`` for a group direct message.
- ``account_id``: the Zulip user id; ``account_email``: ``delivery_email`` (the real address;
  ``email`` may be a placeholder when email visibility is restricted), lower-cased.

event_id scheme (Zulip's ids are stable across re-exports of the same server)
-----------------------------------------------------------------------------
- message: ``<message id>`` (also its ``content_id``)
- reaction: ``<message id>:react:<emoji_name>:<user id>``; its ``content_id`` is the message's
  id and ``reaction`` its ``emoji_name``, so that two emoji from one person on one message stay
  two reactions after cleaning; ``thread_id`` is the message's thread.
- join: ``join:<audit log id>``

Quarantined (``rejects``, ``file`` = the export, ``locator`` = ``<file>[id=...]``): messages with a
missing ``id``, ``sender``, ``recipient`` or ``date_sent``, a sender or recipient unknown to
``realm.json``, a time after now + 1 day, a repeated message id (also a messages file whose content
is repeated: the copies); reactions on a message that is not kept; a repeated audit log id; a
``messages-*.json`` that is not valid JSON or is a folder (the whole file; the others go on); an
archive member not read (above). Parser errors are quoted with paths relative to the export, so the
same export gives the same rejects wherever it is read from. A
:class:`~pipelines.connectors.base.ConnectorError` is raised when the archive cannot be opened, is
a bomb or a damaged tarball, or ``realm.json`` is missing, a folder, unreadable, or not exactly one
JSON object (recipients cannot be resolved without it, and a doubled realm cannot be trusted).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal

import duckdb
import polars as pl

from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.archives import SkippedMember
from pipelines.connectors.chat_export import (duplicate_reason, error_text, export_root, future_cutoff, future_reason,
                                              is_archive, not_read_note, reject_rows, skipped_rejects, split_events)
from pipelines.connectors.text_features import text_features_exprs
from transforms.contracts import ACCOUNTS, EVENTS, conform

log = logging.getLogger(__name__)

SOURCE = "zulip"
#: Zulip recipient types.
PERSONAL, STREAM, DIRECT_MESSAGE_GROUP = 1, 2, 3
#: Zulip user roles: guest.
ROLE_GUEST = 600
#: Audit log event types that are a person joining a stream (created, re-activated).
JOIN_EVENT_TYPES: tuple[int, ...] = (301, 302)
#: Message type of Zulip's own notifications (topic resolved / unresolved).
NOTIFICATION_MESSAGE_TYPE = 2

_MESSAGE_FILE = re.compile(r"^messages-\d+\.json$")
_USER = (
    "STRUCT(id BIGINT, email VARCHAR, delivery_email VARCHAR, full_name VARCHAR, is_bot BOOLEAN, "
    "is_active BOOLEAN, \"role\" INTEGER)[]"
)
_REALM_COLUMNS = {
    "zerver_userprofile": _USER,
    "zerver_userprofile_mirrordummy": _USER,
    "zerver_userprofile_crossrealm": "STRUCT(id BIGINT, email VARCHAR)[]",
    "zerver_stream": "STRUCT(id BIGINT, name VARCHAR, recipient BIGINT)[]",
    "zerver_recipient": "STRUCT(id BIGINT, \"type\" INTEGER, type_id BIGINT)[]",
    "zerver_reaction": "STRUCT(id BIGINT, user_profile BIGINT, message BIGINT, emoji_name VARCHAR)[]",
    "zerver_realmauditlog": (
        "STRUCT(id BIGINT, modified_user BIGINT, modified_stream BIGINT, event_type INTEGER, event_time VARCHAR)[]"
    ),
}
_MESSAGE = (
    "STRUCT(id BIGINT, sender BIGINT, recipient BIGINT, subject VARCHAR, content VARCHAR, date_sent VARCHAR, "
    "has_attachment BOOLEAN, \"type\" INTEGER)[]"
)
_ZULIP_MENTION = r"@_?\*\*[^*]+\*\*"


def _columns_sql(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def _epoch_us(column: str) -> str:
    """DuckDB: epoch seconds as exported (a JSON number read as text, kept exact) -> TIMESTAMPTZ."""
    return f"make_timestamp(CAST(round(TRY_CAST({column} AS DECIMAL(20, 6)) * 1000000) AS BIGINT))"


class ZulipConnector(Connector):
    """Zulip realm exports (directory or tarball) -> events and accounts."""

    name: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Zulip realm export"
    kind: ClassVar[Literal["platform", "hr"]] = "platform"
    yields: ClassVar[tuple[TableName, ...]] = ("events", "accounts")
    cannot_see: ClassVar[tuple[str, ...]] = ("visit", "read", "share")
    reads: ClassVar[str] = (
        "Zulip realm export, directory, .tar.gz or .zip: realm.json (users, streams, recipients, reactions, "
        "audit log) and messages-*.json"
    )

    def __init__(self, now: dt.datetime | None = None) -> None:
        """``now`` is for tests (the future-time cutoff)."""
        self._now = now

    def recognises(self, path: Path) -> bool:
        """A directory holding ``realm.json`` (or one level below), or anything named like an export
        archive (a folder so named, or a ``realm.json`` that is a folder, is reported by ``read``)."""
        if path.is_dir() and ((path / "realm.json").exists() or any(path.glob("*/realm.json"))):
            return True
        return is_archive(path)

    def read(self, path: Path) -> Iterator[Batch]:
        with export_root(path, prefix="zulip", find_root=_find_root, what="a Zulip realm export") as (root, skipped):
            if skipped:
                yield Batch("rejects", skipped_rejects(skipped, file=path.name, source=SOURCE, contract_of=_contract_of))
            con = duckdb.connect()
            try:
                con.execute("SET TimeZone = 'UTC'")
                yield from self._read_root(con, root, path.name, skipped)
            finally:
                con.close()

    def _read_root(
        self, con: duckdb.DuckDBPyConnection, root: Path, export: str, skipped: list[SkippedMember]
    ) -> Iterator[Batch]:
        realm = root / "realm.json"
        if realm.is_dir():
            raise ConnectorError("realm.json is a folder; expected the realm's JSON file", file=export,
                                 locator="realm.json")
        if not realm.is_file():
            raise ConnectorError(f"not a Zulip export: realm.json is missing{not_read_note(skipped, 'realm.json')}",
                                 file=export)
        try:
            con.execute(
                f"CREATE TEMP TABLE realm AS SELECT * FROM read_json(?, columns={_columns_sql(_REALM_COLUMNS)}, "
                "format='auto', maximum_object_size=2147483647)",
                [str(realm)],
            )
        except duckdb.Error as exc:
            raise ConnectorError(f"realm.json cannot be read as a Zulip realm export: {error_text(exc, root)}",
                                 file=export, locator="realm.json") from exc
        (objects,) = con.execute("SELECT count(*) FROM realm").fetchone() or (0,)
        if objects != 1:
            raise ConnectorError(f"realm.json holds {objects} JSON values; expected one object (the realm)",
                                 file=export, locator="realm.json")
        accounts = self._accounts(con)
        good_accounts, bad_accounts = conform(accounts, ACCOUNTS, file=export, locator_column="__locator")
        if good_accounts.height:
            yield Batch("accounts", good_accounts)
        if bad_accounts.height:
            yield Batch("rejects", bad_accounts.with_columns(pl.lit(SOURCE).alias("source")))
        self._lookup_tables(con)

        files = sorted(p for p in root.iterdir() if _MESSAGE_FILE.match(p.name))
        readable, file_rejects = self._topic_roots(con, files, root, export)
        if file_rejects.height:
            yield Batch("rejects", file_rejects)
        cutoff = future_cutoff(self._now)
        con.execute("CREATE TEMP TABLE kept_messages (id BIGINT, occurred_at TIMESTAMPTZ, space_id VARCHAR, "
                    "thread_id VARCHAR, source_file VARCHAR)")
        n_messages = n_rejected = 0
        for f in readable:
            events, rejects = self._messages(con, f, export, cutoff)
            n_messages += events.height
            n_rejected += rejects.height
            yield Batch("events", events)
            if rejects.height:
                yield Batch("rejects", rejects)
        reactions, reaction_rejects = self._reactions(con, export)
        joins, join_rejects = self._joins(con, export, cutoff)
        for frame in (reactions, joins):
            if frame.height:
                yield Batch("events", frame)
        for frame in (reaction_rejects, join_rejects):
            if frame.height:
                yield Batch("rejects", frame)
        log.info(
            "zulip %s: %d accounts, %d message events (%d rejected) in %d file(s), %d reactions, %d joins",
            export, good_accounts.height, n_messages, n_rejected, len(readable), reactions.height, joins.height,
        )

    # -- realm.json ---------------------------------------------------------------------------------

    def _accounts(self, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
        return con.execute(
            f"""
            WITH users AS (
                SELECT unnest(zerver_userprofile) AS u, false AS dummy FROM realm
                UNION ALL SELECT unnest(zerver_userprofile_mirrordummy), true FROM realm
            ),
            all_accounts AS (
                SELECT CAST(u.id AS VARCHAR) AS account_id,
                    lower(trim(coalesce(nullif(u.delivery_email, ''), u.email))) AS account_email,
                    u.full_name AS display_name, coalesce(u.is_bot, false) AS is_automated,
                    dummy OR NOT coalesce(u.is_active, true) AS is_deleted,
                    u."role" = {ROLE_GUEST} AS is_guest
                FROM users
                UNION ALL
                SELECT CAST(b.id AS VARCHAR), lower(b.email), NULL, true, false, false
                FROM (SELECT unnest(zerver_userprofile_crossrealm) AS b FROM realm)
            )
            SELECT '{SOURCE}' AS source, account_id, account_email, NULL AS account_upn, NULL AS employee_number,
                split_part(account_email, '@', 1) AS username, display_name, is_automated, is_deleted, is_guest,
                'realm.json[user=' || coalesce(account_id, 'missing') || ']' AS __locator
            FROM all_accounts
            QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY is_deleted) = 1
            ORDER BY TRY_CAST(account_id AS BIGINT), account_id
            """
        ).pl()

    def _lookup_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        """``senders`` (id, automated) and ``recipients`` (id -> stream id / direct message kind)."""
        con.execute(
            """
            CREATE TEMP TABLE senders AS
            SELECT u.id, coalesce(u.is_bot, false) AS is_automated, lower(trim(coalesce(nullif(u.delivery_email, ''),
                u.email))) AS email
            FROM (SELECT unnest(zerver_userprofile) AS u FROM realm
                  UNION ALL SELECT unnest(zerver_userprofile_mirrordummy) FROM realm)
            UNION ALL
            SELECT b.id, true, lower(b.email) FROM (SELECT unnest(zerver_userprofile_crossrealm) AS b FROM realm)
            """
        )
        con.execute(
            """
            CREATE TEMP TABLE recipients AS
            SELECT r.id, r."type" AS kind, r.type_id, CAST(s.id AS VARCHAR) AS stream_id
            FROM (SELECT unnest(zerver_recipient) AS r FROM realm)
            LEFT JOIN (SELECT unnest(zerver_stream) AS s FROM realm) ON s.recipient = r.id
            """
        )

    def _topic_roots(
        self, con: duckdb.DuckDBPyConnection, files: list[Path], root: Path, export: str
    ) -> tuple[list[Path], pl.DataFrame]:
        """``topic_roots`` (recipient, topic -> first message id) over every readable messages file."""
        con.execute("CREATE TEMP TABLE topic_roots (recipient BIGINT, topic VARCHAR, root BIGINT)")
        readable: list[Path] = []
        bad: list[tuple[str, str]] = []
        for f in files:
            if not f.is_file():
                bad.append((f.name, "a folder (or not a regular file); expected a Zulip messages JSON file"))
                continue
            try:
                con.execute(
                    f"""
                    INSERT INTO topic_roots
                    SELECT m.recipient, lower(m.subject), min(m.id)
                    FROM (SELECT unnest(zerver_message) AS m FROM read_json(?,
                        columns={{'zerver_message': 'STRUCT(id BIGINT, recipient BIGINT, subject VARCHAR)[]'}},
                        format='auto', maximum_object_size=2147483647))
                    WHERE m.id IS NOT NULL GROUP BY ALL
                    """,
                    [str(f)],
                )
                readable.append(f)
            except duckdb.Error as exc:
                bad.append((f.name, f"not a readable Zulip messages file (expected a JSON object with "
                                     f"zerver_message): {error_text(exc, root)}"))
        con.execute("CREATE OR REPLACE TEMP TABLE topic_roots AS SELECT recipient, topic, min(root) AS root "
                    "FROM topic_roots GROUP BY ALL")
        rejects = reject_rows(contract=EVENTS.name, file=export, locators=[b[0] for b in bad],
                              reason=[b[1] for b in bad], source=SOURCE)
        for name, reason in bad:
            log.warning("zulip %s: %s quarantined: %s", export, name, reason)
        return readable, rejects

    # -- messages ---------------------------------------------------------------------------------

    def _messages(
        self, con: duckdb.DuckDBPyConnection, path: Path, export: str, cutoff: dt.datetime
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        raw = con.execute(
            f"""
            WITH m AS (
                SELECT unnest(zerver_message) AS m FROM read_json(?, columns={{'zerver_message': '{_MESSAGE}'}},
                    format='auto', maximum_object_size=2147483647)
            )
            SELECT m.id, m.sender, m.recipient, m.content AS __text, m.date_sent, {_epoch_us('m.date_sent')}
                    AS occurred_at, coalesce(m.has_attachment, false) AS has_attachment,
                coalesce(m."type", 1) = {NOTIFICATION_MESSAGE_TYPE} AS is_notification,
                r.kind, r.type_id, r.stream_id, t.root, s.id IS NOT NULL AS sender_known,
                coalesce(s.is_automated, false) AS sender_is_bot, s.email AS account_email,
                k.id IS NOT NULL AS seen_before
            FROM m
            LEFT JOIN (SELECT DISTINCT id FROM kept_messages) k ON k.id = m.id
            LEFT JOIN recipients r ON r.id = m.recipient
            LEFT JOIN topic_roots t ON t.recipient = m.recipient AND t.topic = lower(m.subject)
            LEFT JOIN senders s ON s.id = m.sender
            ORDER BY m.id NULLS FIRST, m.date_sent, m.sender
            """,
            [str(path)],
        ).pl()
        file = path.name
        message_id = pl.col("id").cast(pl.Utf8)
        space = (
            pl.when(pl.col("kind") == STREAM).then(pl.col("stream_id"))
            .when(pl.col("kind") == PERSONAL).then(
                pl.lit("dm:") + pl.concat_list(pl.col("sender"), pl.col("type_id")).list.sort()
                .cast(pl.List(pl.Utf8)).list.join(",")
            )
            .when(pl.col("kind") == DIRECT_MESSAGE_GROUP).then(pl.lit("dm-group:") + pl.col("type_id").cast(pl.Utf8))
        )
        is_root = (pl.col("kind") != STREAM) | (pl.col("root") == pl.col("id"))
        events = raw.with_columns(
            pl.lit(SOURCE).alias("source"),
            message_id.alias("event_id"),
            _utc("occurred_at"),
            pl.col("sender").cast(pl.Utf8).alias("account_id"),
            pl.when(pl.col("has_attachment")).then(pl.lit("upload")).when(is_root).then(pl.lit("post"))
            .otherwise(pl.lit("reply")).alias("action"),
            space.alias("space_id"),
            pl.when(pl.col("kind") == STREAM).then(pl.col("root").cast(pl.Utf8)).otherwise(message_id)
            .alias("thread_id"),
            message_id.alias("content_id"),
            (pl.col("sender_is_bot") | pl.col("is_notification")).alias("is_automated"),
            pl.col("__text").str.replace_all(_ZULIP_MENTION, "@someone"),
            pl.lit(file).alias("source_file"),
            (pl.lit(f"{file}[id=") + message_id.fill_null("missing") + pl.lit("]")).alias("__locator"),
            pl.concat_str(pl.lit("id=") + message_id, pl.lit("sender=") + pl.col("sender").cast(pl.Utf8),
                          pl.lit("recipient=") + pl.col("recipient").cast(pl.Utf8), separator=" ",
                          ignore_nulls=True).alias("__excerpt"),
        ).with_columns(*text_features_exprs("__text"))
        future = pl.lit(future_reason("date_sent"))
        reject = (
            pl.when(pl.col("id").is_null()).then(pl.lit("id: missing, expected Zulip's message id"))
            .when(pl.col("sender").is_null()).then(pl.lit("sender: missing, expected a user id"))
            .when(pl.col("recipient").is_null()).then(pl.lit("recipient: missing, expected a recipient id"))
            .when(pl.col("date_sent").is_null()).then(pl.lit("date_sent: missing, expected epoch seconds"))
            .when(pl.col("occurred_at").is_null()).then(
                pl.lit("date_sent: expected epoch seconds, found ") + pl.col("date_sent").str.slice(0, 30))
            .when(~pl.col("sender_known")).then(
                pl.lit("sender: user ") + pl.col("account_id") + pl.lit(" is not in realm.json"))
            .when(pl.col("kind").is_null()).then(
                pl.lit("recipient: ") + pl.col("recipient").cast(pl.Utf8) + pl.lit(" is not in realm.json zerver_recipient"))
            .when(pl.col("occurred_at") > cutoff).then(future)
            .when(pl.col("seen_before") | (pl.col("id").is_duplicated() & ~pl.col("id").is_first_distinct()))
            .then(pl.lit("id: duplicate message id, first seen earlier"))
        )
        events = events.with_columns(reject.alias("__reject"))
        good, rejects = split_events(events, file=export, source=SOURCE)
        if good.height:
            con.register("__kept", good.select(
                pl.col("event_id").cast(pl.Int64).alias("id"), "occurred_at", "space_id", "thread_id", "source_file"
            ).to_arrow())
            con.execute("INSERT INTO kept_messages SELECT * FROM __kept")
            con.unregister("__kept")
        return good, rejects

    def _reactions(self, con: duckdb.DuckDBPyConnection, export: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        raw = con.execute(
            """
            SELECT x.id, x.user_profile, x.message AS message_id, x.emoji_name, k.occurred_at, k.space_id, k.thread_id,
                s.email AS account_email, coalesce(s.is_automated, false) AS is_automated, k.id IS NOT NULL AS kept,
                s.id IS NOT NULL AS user_known
            FROM (SELECT unnest(zerver_reaction) AS x FROM realm)
            LEFT JOIN kept_messages k ON k.id = x.message
            LEFT JOIN senders s ON s.id = x.user_profile
            ORDER BY x.message, x.emoji_name, x.user_profile, x.id
            """
        ).pl()
        message = pl.col("message_id").cast(pl.Utf8)
        user = pl.col("user_profile").cast(pl.Utf8)
        frame = raw.with_columns(
            pl.lit(SOURCE).alias("source"),
            (message + ":react:" + pl.col("emoji_name") + ":" + user).alias("event_id"),
            _utc("occurred_at"),
            user.alias("account_id"),
            pl.lit("react").alias("action"),
            message.alias("content_id"),
            pl.col("emoji_name").alias("reaction"),
            pl.lit("realm.json").alias("source_file"),
            (pl.lit("realm.json[reaction=") + pl.col("id").cast(pl.Utf8).fill_null("missing") + "]").alias("__locator"),
            pl.concat_str(pl.lit("message=") + message, pl.lit("user=") + user, separator=" ",
                          ignore_nulls=True).alias("__excerpt"),
            pl.when(pl.col("user_profile").is_null() | pl.col("message_id").is_null() | pl.col("emoji_name").is_null())
            .then(pl.lit("reaction: user_profile, message and emoji_name are required"))
            .when(~pl.col("user_known")).then(pl.lit("user_profile: user ") + user + pl.lit(" is not in realm.json"))
            .when(~pl.col("kept")).then(pl.lit("message: ") + message + pl.lit(" is not a kept message of this export"))
            .alias("__reject"),
        )
        frame = frame.with_columns(
            pl.when(pl.col("__reject").is_null() & pl.col("event_id").is_duplicated()
                    & ~pl.col("event_id").is_first_distinct())
            .then(pl.lit("reaction: duplicate (message, emoji, user)")).otherwise(pl.col("__reject")).alias("__reject")
        )
        return split_events(frame, file=export, source=SOURCE)

    def _joins(
        self, con: duckdb.DuckDBPyConnection, export: str, cutoff: dt.datetime
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        types = ", ".join(str(t) for t in JOIN_EVENT_TYPES)
        raw = con.execute(
            f"""
            SELECT a.id, a.modified_user, a.modified_stream, a.event_time, {_epoch_us('a.event_time')} AS occurred_at,
                s.email AS account_email, coalesce(s.is_automated, false) AS is_automated,
                s.id IS NOT NULL AS user_known
            FROM (SELECT unnest(zerver_realmauditlog) AS a FROM realm)
            LEFT JOIN senders s ON s.id = a.modified_user
            WHERE a.event_type IN ({types})
            ORDER BY a.id, a.modified_user, a.modified_stream
            """
        ).pl()
        user = pl.col("modified_user").cast(pl.Utf8)
        frame = raw.with_columns(_utc("occurred_at")).with_columns(
            pl.lit(SOURCE).alias("source"),
            (pl.lit("join:") + pl.col("id").cast(pl.Utf8)).alias("event_id"),
            user.alias("account_id"),
            pl.lit("join").alias("action"),
            pl.col("modified_stream").cast(pl.Utf8).alias("space_id"),
            pl.lit("realm.json").alias("source_file"),
            (pl.lit("realm.json[auditlog=") + pl.col("id").cast(pl.Utf8).fill_null("missing") + "]").alias("__locator"),
            pl.concat_str(pl.lit("user=") + user, pl.lit("stream=") + pl.col("modified_stream").cast(pl.Utf8),
                          separator=" ", ignore_nulls=True).alias("__excerpt"),
            pl.when(pl.col("id").is_null() | pl.col("modified_user").is_null() | pl.col("modified_stream").is_null())
            .then(pl.lit("subscription audit log: id, modified_user and modified_stream are required"))
            .when(pl.col("occurred_at").is_null()).then(pl.lit("event_time: expected epoch seconds"))
            .when(~pl.col("user_known")).then(pl.lit("modified_user: user ") + user + pl.lit(" is not in realm.json"))
            .when(pl.col("occurred_at") > cutoff).then(pl.lit(future_reason("event_time")))
            .otherwise(duplicate_reason(pl.col("id"), "subscription audit log id"))
            .alias("__reject"),
        )
        return split_events(frame, file=export, source=SOURCE)


def _utc(column: str) -> pl.Expr:
    """A timestamp column from DuckDB as ``Datetime("us", "UTC")``."""
    return pl.col(column).dt.replace_time_zone(None).dt.replace_time_zone("UTC").cast(pl.Datetime("us", "UTC"))


def _find_root(path: Path) -> Path:
    """``path`` itself, or the single folder below it that holds ``realm.json`` (a file or, to be
    reported, a folder so named)."""
    if (path / "realm.json").exists():
        return path
    found = sorted(p.parent for p in path.glob("*/realm.json"))
    return found[0] if len(found) == 1 else path


def _contract_of(member: str) -> str:
    """The contract of the rows an archive member holds: ``realm.json`` holds the accounts."""
    return ACCOUNTS.name if member == "realm.json" else EVENTS.name


__all__ = ["ZulipConnector"]
