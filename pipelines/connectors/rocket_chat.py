"""Rocket.Chat connector (``platforms/rocket_chat/``: one directory, ``.zip`` or tarball per export,
holding ``mongoexport`` dumps of the ``rocketchat_message`` and ``users`` collections as JSON lines).
Archives are read through ``archives`` (``chat_export.export_root``): JSON members only, unsafe
members (``..``, absolute paths, links) and damaged zip members quarantined (``locator`` = the
member), decompression bombs and damaged tarballs refused. A UTF-8 byte order mark at the start of
a dump is dropped.

What it reads
-------------
- ``rocketchat_message*.json`` (one MongoDB document per line, as written by
  ``mongoexport --collection=rocketchat_message``) -> ``events``.
- ``users*.json`` (``mongoexport --collection=users``) -> ``accounts``; it also resolves the
  usernames that reactions and ``au`` (user added) messages name.
- ``rocketchat_room*.json`` (optional): rooms of type ``d`` (direct) get ``space_id``
  ``dm:<rid>``; without it the room id is used as is.

Dates may come in any of mongoexport's Extended JSON forms: ``{"$date": "2024-03-04T09:15:00.123Z"}``
(relaxed, the default), ``{"$date": 1709547300123}`` (legacy) or ``{"$date": {"$numberLong":
"..."}}`` (canonical). Files are read in chunks of lines (bounded memory); DuckDB parses each chunk
(``json_valid``, ``->>``), Polars maps it. Message text (``msg``) is reduced to its features and
dropped here.

Mapping
-------
- time: ``ts`` (UTC); a reaction has no time in Rocket.Chat: it takes its message's time.
- ``t`` = ``uj`` (user joined), ``ujt`` (joined team), ``ut`` (joined a conversation) -> ``join``
  by ``u``; ``au`` (added user) -> ``join`` of the user named in ``msg`` (resolved through
  ``users``); any other ``t`` (topic changed, user left, removed, pinned...) -> ``post`` with
  ``is_automated``, except ``rm`` (message removed), kept as the ``post`` it was, without text
  features.
- a message with ``tmid`` (thread parent) -> ``reply``, ``thread_id`` = ``tmid``; with ``file`` or
  ``files`` -> ``upload``; otherwise ``post`` (``thread_id`` = its own id).
- ``reactions`` (``{":emoji:": {"usernames": [...]}}``) -> one ``react`` per username and emoji.
- ``is_automated``: messages with ``bot``, from ``rocket.cat`` or from a ``users`` entry of
  ``type`` ``bot``/``app`` or with role ``bot``; system messages (above).
- filtered (counted in the log, no event): edit-history copies (``_hidden: true``, written when
  Rocket.Chat keeps message history) and their kind.
- ``account_id``: the user's ``_id``; ``account_email``: first of ``emails[].address``, lower-cased.

event_id scheme (MongoDB ``_id`` s, stable across re-exports)
------------------------------------------------------------
- message: ``<_id>`` (also its ``content_id``)
- reaction: ``<_id>:react:<emoji>:<username>``; ``content_id`` = the message's ``_id``,
  ``reaction`` = the emoji (two emoji of one person on one message stay two reactions after
  cleaning).

Quarantined (``rejects``, ``locator`` = ``<file> line N``): lines that are not JSON objects
(messages, users and rooms), messages without ``_id``, ``rid``, ``ts`` or ``u._id``, an unreadable
or future ``ts``, a repeated ``_id``; reactions and ``au`` joins naming a username not in ``users``;
user lines without ``_id``; a dump named like one that is a folder (``locator`` = its name); an
archive member not read (above). A :class:`~pipelines.connectors.base.ConnectorError` is raised
when the archive cannot be opened, is a bomb or a damaged tarball, or holds no
``rocketchat_message`` file (a folder so named included).
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal

import duckdb
import polars as pl

from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.chat_export import (export_root, future_cutoff, future_reason, is_archive, not_read_note,
                                              reject_rows, skipped_rejects, split_events)
from pipelines.connectors.text_features import text_features_exprs
from transforms.contracts import ACCOUNTS, EVENTS, REJECTS, conform

log = logging.getLogger(__name__)

SOURCE = "rocket_chat"
MESSAGES_PREFIX = "rocketchat_message"
USERS_PREFIX = "users"
ROOMS_PREFIX = "rocketchat_room"
#: Message types that are the sender joining the room.
JOIN_TYPES: tuple[str, ...] = ("uj", "ujt", "ut")
#: Message type of a user added by someone else (``msg`` holds the added username).
ADDED_TYPE = "au"
#: Message type of a removed message (kept as the post it was).
REMOVED_TYPE = "rm"
ROCKET_CAT = "rocket.cat"
#: Bytes of lines parsed per DuckDB query.
CHUNK_BYTES = 16 * 1024 * 1024

_DATE = """coalesce({c}->>'$."$date"."$numberLong"', {c}->>'$."$date"')"""


def _timestamp_sql(raw: str) -> str:
    """DuckDB: an Extended JSON date (ISO text or epoch milliseconds) -> TIMESTAMPTZ."""
    return (f"CASE WHEN regexp_matches({raw}, '^-?[0-9]+$') THEN to_timestamp(TRY_CAST({raw} AS BIGINT) / 1000.0) "
            f"ELSE TRY_CAST({raw} AS TIMESTAMPTZ) END")


class RocketChatConnector(Connector):
    """Rocket.Chat mongoexport dumps (messages and users, JSON lines) -> events and accounts."""

    name: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Rocket.Chat (mongoexport of rocketchat_message and users)"
    kind: ClassVar[Literal["platform", "hr"]] = "platform"
    yields: ClassVar[tuple[TableName, ...]] = ("events", "accounts")
    cannot_see: ClassVar[tuple[str, ...]] = ("visit", "read", "share")
    reads: ClassVar[str] = (
        "directory, .zip or .tar.gz of mongoexport JSON lines: rocketchat_message.json, users.json "
        "(rocketchat_room.json optional)"
    )

    def __init__(self, chunk_bytes: int = CHUNK_BYTES, now: dt.datetime | None = None) -> None:
        """``chunk_bytes`` bounds memory (bytes of lines per query); ``now`` is for tests."""
        self.chunk_bytes = chunk_bytes
        self._now = now

    def recognises(self, path: Path) -> bool:
        """A directory holding a ``rocketchat_message*.json`` entry (a folder so named is reported by
        ``read``), or anything named like an archive."""
        if path.is_dir() and _entries(path, MESSAGES_PREFIX):
            return True
        return is_archive(path)

    def read(self, path: Path) -> Iterator[Batch]:
        with export_root(path, prefix="rocketchat", find_root=_find_root,
                         what="a Rocket.Chat export (mongoexport JSON lines)") as (root, skipped):
            if skipped:
                yield Batch("rejects", skipped_rejects(skipped, file=path.name, source=SOURCE, contract_of=_contract_of))
            entries = _entries(root, MESSAGES_PREFIX)
            messages = [p for p in entries if p.is_file()]
            if not messages:
                folders = "".join(f"; {p.name} is a folder, not a file" for p in entries)
                note = "".join(not_read_note(skipped, n) for n in (f"{MESSAGES_PREFIX}.json", f"{MESSAGES_PREFIX}.jsonl"))
                raise ConnectorError("not a Rocket.Chat export: no rocketchat_message*.json (mongoexport of the "
                                     f"rocketchat_message collection){folders}{note}", file=path.name)
            con = duckdb.connect()
            try:
                con.execute("SET TimeZone = 'UTC'")
                yield from self._read_root(con, root, messages, path.name)
            finally:
                con.close()

    def _read_root(
        self, con: duckdb.DuckDBPyConnection, root: Path, messages: list[Path], export: str
    ) -> Iterator[Batch]:
        users, user_rejects = self._users(con, root, export)
        good_users, bad_users = conform(users.drop("__is_bot_role"), ACCOUNTS, file=export, locator_column="__locator")
        if good_users.height:
            yield Batch("accounts", good_users)
        not_files = [p for p in _entries(root, "") if not p.is_file()]
        rejects = [
            reject_rows(contract=[_contract_of(p.name) for p in not_files], file=export,
                        locators=[p.name for p in not_files], source=SOURCE,
                        reason="a folder (or not a regular file); expected mongoexport JSON lines"),
            user_rejects, bad_users.with_columns(pl.lit(SOURCE).alias("source")).select(REJECTS.names),
        ]
        lookup = users.select(
            "account_id", "username", "account_email", pl.col("is_automated").alias("__user_is_bot")
        ).filter(pl.col("username").is_not_null()).unique("username", keep="first", maintain_order=True)
        direct, room_rejects = self._direct_rooms(con, root, export)
        rejects.append(room_rejects)
        cutoff = future_cutoff(self._now)
        seen = pl.Series("event_id", [], dtype=pl.Utf8)
        n_events = n_filtered = 0
        for path in messages:
            for first_line, lines in _chunks(path, self.chunk_bytes):
                raw = _parse_messages(con, lines, first_line)
                n_filtered += int(raw["hidden"].fill_null(False).sum())
                raw = raw.filter(~pl.col("hidden").fill_null(False))
                events, bad, seen = _map_messages(raw, lookup, direct, path.name, export, cutoff, seen)
                n_events += events.height
                if events.height:
                    yield Batch("events", events)
                if bad.height:
                    yield Batch("rejects", bad)
        all_rejects = pl.concat(rejects)
        if all_rejects.height:
            yield Batch("rejects", all_rejects)
        log.info("rocket_chat %s: %d events, %d accounts, %d edit-history copies filtered",
                 export, n_events, good_users.height, n_filtered)

    def _users(self, con: duckdb.DuckDBPyConnection, root: Path, export: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        frames: list[pl.DataFrame] = []
        rejects: list[pl.DataFrame] = []
        for path in _files(root, USERS_PREFIX):
            for first_line, lines in _chunks(path, self.chunk_bytes):
                parsed = _query_lines(
                    con, lines, first_line,
                    """txt->>'$._id' AS account_id, txt->>'$.username' AS username, txt->>'$.name' AS display_name,
                    lower(trim(txt->>'$.emails[0].address')) AS account_email, txt->>'$.type' AS user_type,
                    coalesce(TRY_CAST(txt->>'$.active' AS BOOLEAN), true) AS active,
                    coalesce(list_contains(from_json(txt->'$.roles', '["VARCHAR"]'), 'bot'), false) AS __is_bot_role,
                    coalesce(list_contains(from_json(txt->'$.roles', '["VARCHAR"]'), 'guest'), false) AS is_guest""",
                )
                bad = parsed.filter(~pl.col("__ok") | pl.col("account_id").is_null())
                rejects.append(reject_rows(
                    contract=ACCOUNTS.name, file=export,
                    locators=[f"{path.name} line {n}" for n in bad["__line"]],
                    reason=["not a JSON object" if not ok else "_id: missing, expected the user's id"
                            for ok in bad["__ok"]],
                    source=SOURCE,
                ))
                frames.append(parsed.filter(pl.col("__ok") & pl.col("account_id").is_not_null()).with_columns(
                    (pl.lit(f"{path.name} line ") + pl.col("__line").cast(pl.Utf8)).alias("__locator")
                ))
        users = pl.concat(frames) if frames else pl.DataFrame(schema={
            "account_id": pl.Utf8, "username": pl.Utf8, "display_name": pl.Utf8, "account_email": pl.Utf8,
            "user_type": pl.Utf8, "active": pl.Boolean, "__is_bot_role": pl.Boolean, "is_guest": pl.Boolean,
            "__locator": pl.Utf8,
        })
        users = users.unique("account_id", keep="first", maintain_order=True).select(
            pl.lit(SOURCE).alias("source"),
            "account_id",
            "account_email",
            pl.lit(None, pl.Utf8).alias("account_upn"),
            pl.lit(None, pl.Utf8).alias("employee_number"),
            "username",
            "display_name",
            (pl.col("user_type").is_in(["bot", "app"]).fill_null(False) | pl.col("__is_bot_role")
             | (pl.col("account_id") == ROCKET_CAT)).alias("is_automated"),
            (~pl.col("active")).alias("is_deleted"),
            "is_guest",
            "__locator",
            "__is_bot_role",
        ).sort("account_id")
        return users, pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECTS.schema)

    def _direct_rooms(self, con: duckdb.DuckDBPyConnection, root: Path, export: str) -> tuple[set[str], pl.DataFrame]:
        """The ids of direct-message rooms, and a reject per room line that is not a JSON object
        (that room's messages keep its id as their space)."""
        rooms: set[str] = set()
        bad: list[str] = []
        for path in _files(root, ROOMS_PREFIX):
            for first_line, lines in _chunks(path, self.chunk_bytes):
                parsed = _query_lines(con, lines, first_line, "txt->>'$._id' AS rid, txt->>'$.t' AS room_type")
                rooms |= set(parsed.filter(pl.col("room_type") == "d")["rid"].drop_nulls().to_list())
                bad += [f"{path.name} line {n}" for n in parsed.filter(~pl.col("__ok"))["__line"]]
        return rooms, reject_rows(contract=EVENTS.name, file=export, locators=bad, source=SOURCE,
                                  reason="not a JSON object: the room's type is unknown (read as a channel)")


def _parse_messages(con: duckdb.DuckDBPyConnection, lines: list[bytes], first_line: int) -> pl.DataFrame:
    ts = _DATE.format(c="txt->'$.ts'")
    return _query_lines(
        con, lines, first_line,
        f"""txt->>'$._id' AS id, txt->>'$.rid' AS rid, txt->>'$.msg' AS __text, txt->>'$.t' AS kind,
        txt->>'$.tmid' AS tmid, {ts} AS ts_raw, {_timestamp_sql(ts)} AS occurred_at,
        txt->>'$.u._id' AS account_id, txt->>'$.u.username' AS username,
        (txt->'$.bot') IS NOT NULL AND json_type(txt->'$.bot') <> 'NULL' AS has_bot,
        TRY_CAST(txt->>'$._hidden' AS BOOLEAN) AS hidden,
        (coalesce(json_array_length(txt->'$.files'), 0) > 0
            OR ((txt->'$.file') IS NOT NULL AND json_type(txt->'$.file') = 'OBJECT')) AS has_file,
        CASE WHEN json_type(txt->'$.reactions') = 'OBJECT' THEN list_transform(json_keys(txt->'$.reactions'),
            k -> {{'emoji': k, 'usernames': from_json(json_extract(txt->'$.reactions', '$."' || k || '".usernames'),
            '["VARCHAR"]')}}) END AS reactions""",
    )


def _query_lines(con: duckdb.DuckDBPyConnection, lines: list[bytes], first_line: int, select: str) -> pl.DataFrame:
    """One row per non-blank line: ``__line``, ``__ok`` (a JSON object) and ``select`` on ``txt``."""
    frame = pl.DataFrame({"raw": pl.Series(lines, dtype=pl.Binary)}).with_row_index("__i")
    con.register("__chunk", frame.to_arrow())
    try:
        out = con.execute(
            f"""
            WITH l AS (SELECT __i, try(decode(raw)) AS s FROM __chunk),
            j AS (SELECT __i, CASE WHEN coalesce(try(json_valid(s)), false) AND json_type(CAST(s AS JSON)) = 'OBJECT'
                                   THEN CAST(s AS JSON) END AS txt FROM l WHERE trim(coalesce(s, 'x')) <> '')
            SELECT __i + {first_line} AS __line, txt IS NOT NULL AS __ok, {select} FROM j ORDER BY __i
            """
        ).pl()
    finally:
        con.unregister("__chunk")
    return out


def _map_messages(
    raw: pl.DataFrame, users: pl.DataFrame, direct: set[str], file: str, export: str, cutoff: dt.datetime,
    seen: pl.Series,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    kind = pl.col("kind")
    is_join = kind.is_in(JOIN_TYPES).fill_null(False)
    is_added = (kind == ADDED_TYPE).fill_null(False)
    is_system = kind.is_not_null() & ~is_join & ~is_added & (kind != REMOVED_TYPE)
    added = users.select(pl.col("username").alias("__added"), pl.col("account_id").alias("__added_id"),
                         pl.col("account_email").alias("__added_email"))
    frame = (
        raw.with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC").cast(pl.Datetime("us", "UTC")))
        .join(users.drop("username"), on="account_id", how="left", maintain_order="left")
        .with_columns(pl.when(is_added).then(pl.col("__text")).alias("__added"))
        .join(added, on="__added", how="left", maintain_order="left")
    )
    locator = pl.lit(f"{file} line ") + pl.col("__line").cast(pl.Utf8)
    space = pl.when(pl.col("rid").is_in(sorted(direct))).then(pl.lit("dm:") + pl.col("rid")).otherwise(pl.col("rid"))
    frame = frame.with_columns(
        pl.lit(SOURCE).alias("source"),
        pl.col("id").alias("event_id"),
        pl.when(is_added).then(pl.col("__added_id")).otherwise(pl.col("account_id")).alias("account_id"),
        pl.when(is_added).then(pl.col("__added_email")).otherwise(pl.col("account_email")).alias("account_email"),
        pl.when(is_join | is_added).then(pl.lit("join"))
        .when(pl.col("tmid").is_not_null() & ~is_system).then(pl.lit("reply"))
        .when(pl.col("has_file")).then(pl.lit("upload"))
        .otherwise(pl.lit("post")).alias("action"),
        space.alias("space_id"),
        pl.when(is_join | is_added).then(None).otherwise(pl.coalesce("tmid", "id")).alias("thread_id"),
        pl.when(is_join | is_added).then(None).otherwise(pl.col("id")).alias("content_id"),
        (is_system | pl.col("has_bot") | (pl.col("account_id") == ROCKET_CAT)
         | pl.col("__user_is_bot").fill_null(False)).alias("is_automated"),
        pl.when(kind.is_null() | ~(is_join | is_added | is_system | (kind == REMOVED_TYPE)))
        .then(pl.col("__text")).alias("__text"),
        pl.lit(file).alias("source_file"),
        locator.alias("__locator"),
        pl.concat_str(pl.lit("_id=") + pl.col("id"), pl.lit("rid=") + pl.col("rid"),
                      pl.lit("u=") + pl.col("account_id"), separator=" ", ignore_nulls=True).alias("__excerpt"),
    ).with_columns(*text_features_exprs("__text"))
    reason = (
        pl.when(~pl.col("__ok")).then(pl.lit("not a JSON object (a truncated or broken line)"))
        .when(pl.col("id").is_null()).then(pl.lit("_id: missing, expected the message id"))
        .when(pl.col("rid").is_null()).then(pl.lit("rid: missing, expected the room id"))
        .when(pl.col("ts_raw").is_null()).then(pl.lit('ts: missing, expected {"$date": ...}'))
        .when(pl.col("occurred_at").is_null()).then(pl.lit("ts: unreadable date ") + pl.col("ts_raw").str.slice(0, 40))
        .when(pl.col("occurred_at") > cutoff).then(pl.lit(future_reason("ts")))
        .when(is_added & pl.col("account_id").is_null()).then(
            pl.lit("msg: the added user '") + pl.col("__added").fill_null("") + pl.lit("' is not in users.json"))
        .when(pl.col("account_id").is_null()).then(pl.lit("u._id: missing, expected the author's user id"))
        .when(pl.col("id").is_in(seen.implode()) | (pl.col("id").is_duplicated() & ~pl.col("id").is_first_distinct()))
        .then(pl.lit("_id: duplicate, first seen earlier"))
    )
    frame = frame.with_columns(reason.alias("__reject"))
    messages, rejects = split_events(frame.drop("__text"), file=export, source=SOURCE)
    seen = pl.concat([seen, messages["event_id"]])
    reactions = _reactions(frame.filter(pl.col("__reject").is_null()), users, file)
    good_r, rejects_r = split_events(reactions, file=export, source=SOURCE)
    return pl.concat([messages, good_r]), pl.concat([rejects, rejects_r]), seen


def _reactions(messages: pl.DataFrame, users: pl.DataFrame, file: str) -> pl.DataFrame:
    exploded = (
        messages.select("id", "occurred_at", "space_id", "thread_id", "__line", "reactions")
        .explode("reactions", empty_as_null=True)
        .filter(pl.col("reactions").is_not_null())
        .with_columns(pl.col("reactions").struct.field("emoji").alias("__emoji"),
                      pl.col("reactions").struct.field("usernames").alias("username"))
        .explode("username", empty_as_null=True)
        .filter(pl.col("username").is_not_null())
        .join(users, on="username", how="left", maintain_order="left")
    )
    reaction_id = pl.col("id") + ":react:" + pl.col("__emoji") + ":" + pl.col("username")
    return exploded.select(
        pl.lit(SOURCE).alias("source"),
        reaction_id.alias("event_id"),
        "occurred_at",
        "account_id",
        "account_email",
        pl.lit("react").alias("action"),
        "space_id",
        "thread_id",
        pl.col("id").alias("content_id"),
        pl.col("__emoji").alias("reaction"),
        pl.col("__user_is_bot").fill_null(False).alias("is_automated"),
        pl.lit(file).alias("source_file"),
        (pl.lit(f"{file} line ") + pl.col("__line").cast(pl.Utf8) + ".reactions[" + pl.col("__emoji") + "]["
         + pl.col("username") + "]").alias("__locator"),
        (pl.lit("_id=") + pl.col("id")).alias("__excerpt"),
        pl.when(pl.col("account_id").is_null())
        .then(pl.lit("reactions: username '") + pl.col("username") + pl.lit("' is not in users.json"))
        .when(reaction_id.is_duplicated() & ~reaction_id.is_first_distinct())
        .then(pl.lit("reactions: the same username listed twice under one emoji")).alias("__reject"),
    )


def _entries(root: Path, prefix: str) -> list[Path]:
    """The entries of ``root`` named like a dump of a collection (``<prefix>*.json`` / ``.jsonl``),
    files or not; the empty prefix gives every dump the export names."""
    prefixes = (prefix,) if prefix else (MESSAGES_PREFIX, USERS_PREFIX, ROOMS_PREFIX)
    return sorted(p for p in root.iterdir() if p.name.startswith(prefixes) and p.suffix.lower() in (".json", ".jsonl"))


def _files(root: Path, prefix: str) -> list[Path]:
    return [p for p in _entries(root, prefix) if p.is_file()]


def _find_root(path: Path) -> Path:
    if _entries(path, MESSAGES_PREFIX):
        return path
    found = sorted(p.parent for p in path.glob(f"*/{MESSAGES_PREFIX}*.json*"))
    return found[0] if found else path


def _contract_of(member: str) -> str:
    """The contract of the rows a dump holds (``users`` holds the accounts)."""
    return ACCOUNTS.name if member.startswith(USERS_PREFIX) else EVENTS.name


def _chunks(path: Path, chunk_bytes: int) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the chunk's first line, its lines) for the whole file; a UTF-8 byte order mark
    at the start of the file is dropped (an editor's, not part of the first document)."""
    line_no = 1
    with open(path, "rb") as stream:
        while True:
            lines = stream.readlines(chunk_bytes)
            if not lines:
                return
            if line_no == 1:
                lines[0] = lines[0].removeprefix(codecs.BOM_UTF8)
            yield line_no, lines
            line_no += len(lines)


__all__ = ["RocketChatConnector"]
