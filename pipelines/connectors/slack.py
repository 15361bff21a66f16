"""Slack workspace export connector (``platforms/slack/``: one ``.zip`` or unpacked directory per export).

What it reads
-------------
- ``users.json`` -> ``accounts`` (deleted users kept with ``is_deleted``; ``is_bot`` and Slackbot
  flagged ``is_automated``; restricted / ultra-restricted users are guests).
- ``channels.json``, ``groups.json``, ``mpims.json`` (folder = ``name``) and ``dms.json``
  (folder = ``id``) map each day-file folder to its conversation id (``space_id``).
- ``<folder>/<YYYY-MM-DD>.json`` day files (JSON arrays of messages) -> ``events``.
  ``integration_logs.json``, ``lists.json``, canvases and other files are not read.

Day files are parsed by DuckDB's JSON reader, ``files_per_batch`` files per query, reading only
the fields of ``MESSAGE_FIELDS``; Polars maps each batch (message text is reduced to its features
by ``text_features`` and dropped there: it never leaves this module). One thread parses, another
maps, while the caller writes: at most two batches wait ahead of the one being written. A
zip is extracted (JSON members only) to a temporary directory first.

Mapping (one event per message, plus one per reacting person)
-------------------------------------------------------------
- time: from ``ts`` (seconds and microseconds since the epoch, UTC), never from the file name
  (day files are bucketed by the workspace's local date).
- ``channel_join`` / ``group_join`` -> ``join`` (the joining person, also when invited).
- ``file_comment`` -> ``reply`` by the commenter (``comment.user``); features from the comment.
- a message carrying a file (``file{}`` in old exports, ``files[]`` in new ones) -> ``upload``,
  or ``share`` when ``upload`` is false (an existing file shared again); old ``file_share``
  messages take their features from the file's initial comment, not the generated text.
- a message whose ``thread_ts`` differs from its ``ts`` -> ``reply`` (``thread_broadcast``
  included: its copy of the parent in ``root`` is not read, so the parent counts once); any
  other message -> ``post``. A parent's ``replies`` list is never read (the replies are
  messages of their own).
- ``is_automated``: ``bot_message`` and system subtypes (topic, purpose, rename, archive,
  pins, integrations added/removed, leaves, reminders...), any message with a ``bot_id`` or
  ``app_id``, and messages by ``is_bot`` users or Slackbot. Joins are the person's own action.
- ``reactions``: one ``react`` event per listed user and emoji, the emoji's name in ``reaction``
  (a person's two emoji on one message are two events that differ only by it); Slack exports
  carry no reaction time, so ``occurred_at`` is the reacted message's time (a lower bound).
- filtered (counted in the log, no event): tombstones of deleted parents (``subtype:
  tombstone``), ``message_changed`` / ``message_deleted`` / ``message_replied`` records and
  any other ``hidden`` message.
- ``account_id``: ``user``, else ``comment.user``, else ``bot_id``, else ``bot:<username>``
  for old integrations that only name themselves; ``account_email`` from ``users.json``.

event_id scheme (stable across re-exports: ids and ``ts`` are Slack's own)
---------------------------------------------------------------------------
- message: ``<space_id>:<ts>`` (also its ``content_id``)
- reaction: ``<space_id>:<ts>:react:<emoji>:<user>`` (``content_id`` = the message's id)
- ``thread_id``: ``<space_id>:<thread_ts>`` for messages in a thread, the post's own id for any
  other post; null for joins outside threads and for file comments (their thread is the file).

Quarantined rows (``rejects``, ``file`` = the export, ``locator`` = ``<folder>/<day>.json[ts=...]``):
missing or malformed ``ts``, a time before 2009 (epoch 0 placeholders), a time more than one day after the export's newest day file or after
now + 1 day, a duplicate ``ts`` in one conversation, a field of the wrong JSON type, a message with
no author. Zip members with unsafe paths (``..``, absolute) or that are links, and damaged members, are not
extracted (one reject each, locator = the member; ``archives``). A day file that is not valid UTF-8 JSON is quarantined whole (locator = the file) and the
other files go on; a missing or broken ``users.json`` / ``channels.json`` is recorded the same way.
A :class:`~pipelines.connectors.base.ConnectorError` is raised only when nothing can go on: the
zip cannot be opened or is a decompression bomb, the input holds neither metadata nor day files, or DuckDB fails on a batch
for a reason no single file explains.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import duckdb
import polars as pl

from pipelines.connectors.archives import first_line
from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.chat_export import export_root
from pipelines.connectors.text_features import text_features_exprs
from transforms.contracts import ACCOUNTS, EVENTS, REJECTS, conform

log = logging.getLogger(__name__)

SOURCE = "slack"

#: Message subtypes written by Slack itself: flagged ``is_automated``, no text features.
SYSTEM_SUBTYPES: tuple[str, ...] = (
    "bot_add",
    "bot_remove",
    "bot_enable",
    "bot_disable",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "channel_archive",
    "channel_unarchive",
    "channel_leave",
    "channel_convert_to_private",
    "channel_convert_to_public",
    "group_topic",
    "group_purpose",
    "group_name",
    "group_archive",
    "group_unarchive",
    "group_leave",
    "pinned_item",
    "unpinned_item",
    "reminder_add",
    "reminder_delete",
    "slackbot_response",
    "sh_room_created",
    "huddle_thread",
    "channel_canvas_updated",
)
#: Subtypes of messages posted by integrations: ``is_automated``, text features kept.
BOT_SUBTYPES: tuple[str, ...] = ("bot_message",)
#: Subtypes that are a person joining a conversation.
JOIN_SUBTYPES: tuple[str, ...] = ("channel_join", "group_join")
#: Subtypes that are not actions (edits, deletions, tombstones): filtered, like any ``hidden`` message.
FILTERED_SUBTYPES: tuple[str, ...] = ("tombstone", "message_changed", "message_deleted", "message_replied")
#: Times before this are placeholders (epoch 0), not messages: Slack did not exist yet (a bound
#: stricter than the contracts' SLACK_LAUNCH, which every source shares).
SLACK_LAUNCH = dt.datetime(2009, 1, 1, tzinfo=dt.UTC)
#: Slackbot's fixed user id.
SLACKBOT_ID = "USLACKBOT"

#: Fields read from day files (DuckDB types); nothing else of a message is parsed.
MESSAGE_FIELDS: dict[str, str] = {
    "ts": "VARCHAR",
    "user": "VARCHAR",
    "bot_id": "VARCHAR",
    "app_id": "VARCHAR",
    "username": "VARCHAR",
    "subtype": "VARCHAR",
    "text": "VARCHAR",
    "thread_ts": "VARCHAR",
    "hidden": "BOOLEAN",
    "upload": "BOOLEAN",
    "reactions": "STRUCT(name VARCHAR, users VARCHAR[])[]",
    "files": "STRUCT(id VARCHAR)[]",
    "file": "STRUCT(id VARCHAR, initial_comment STRUCT(comment VARCHAR))",
    "comment": 'STRUCT("user" VARCHAR, comment VARCHAR)',
}
#: Fields read from ``users.json``.
USER_FIELDS: dict[str, str] = {
    "id": "VARCHAR",
    "name": "VARCHAR",
    "real_name": "VARCHAR",
    "deleted": "BOOLEAN",
    "is_bot": "BOOLEAN",
    "is_restricted": "BOOLEAN",
    "is_ultra_restricted": "BOOLEAN",
    "profile": "STRUCT(email VARCHAR, real_name VARCHAR, display_name VARCHAR)",
}
#: Conversation lists: file -> the field naming the day-file folder.
CONVERSATION_FILES: dict[str, str] = {
    "channels.json": "name",
    "groups.json": "name",
    "mpims.json": "name",
    "dms.json": "id",
}
_METADATA_FILES = ("users.json", *CONVERSATION_FILES)
_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")
_ERROR_FILE = re.compile(r'in file "([^"]+)"')


def struct_literal(fields: dict[str, str]) -> str:
    """A DuckDB struct literal ``{'name': 'TYPE', ...}`` for ``read_json(columns=...)``."""
    return "{" + ", ".join(f"'{k}': '{v.replace(chr(39), chr(39) * 2)}'" for k, v in fields.items()) + "}"


#: ``MESSAGE_FIELDS`` as a ``read_json`` ``columns`` literal.
MESSAGE_COLUMNS_SQL = struct_literal(MESSAGE_FIELDS)

_JSON_TYPES_FOR: dict[str, tuple[str, ...]] = {
    "VARCHAR": ("VARCHAR", "BIGINT", "UBIGINT", "DOUBLE"),
    "BOOLEAN": ("BOOLEAN",),
}


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


@dataclass
class _Tally:
    """Row accounting for one export: messages in = message events + rejected + filtered."""

    messages: int = 0
    message_events: int = 0
    reaction_events: int = 0
    rejected: int = 0
    filtered: int = 0
    bad_files: int = 0


@dataclass
class _BatchState:
    """What the reading and mapping threads carry from one batch to the next (each field is touched
    by one thread only: ``con`` by the reader, ``seen`` and the tally counts by the mapper, except
    ``tally.bad_files`` by the reader)."""

    con: duckdb.DuckDBPyConnection
    export: str
    users: pl.DataFrame
    cutoff: dt.datetime
    split_spaces: set[str]
    #: message ids of conversations split over batches, to find duplicates across batches
    seen: pl.Series = field(default_factory=lambda: pl.Series("event_id", [], dtype=pl.Utf8))
    tally: _Tally = field(default_factory=lambda: _Tally())


class SlackConnector(Connector):
    """Slack workspace exports (official JSON export, zip or directory) -> events and accounts."""

    name: ClassVar[str] = "slack"
    title: ClassVar[str] = "Slack workspace export"
    kind: ClassVar[Literal["platform", "hr"]] = "platform"
    yields: ClassVar[tuple[TableName, ...]] = ("events", "accounts")
    cannot_see: ClassVar[tuple[str, ...]] = ("visit", "read")
    reads: ClassVar[str] = (
        "Slack export .zip or directory: users.json, channels/groups/dms/mpims.json, <channel>/<date>.json day files"
    )

    def __init__(self, files_per_batch: int = 2000, now: dt.datetime | None = None) -> None:
        """``files_per_batch`` bounds memory (day files parsed per query); ``now`` is for tests."""
        if files_per_batch < 1:
            raise ValueError("files_per_batch must be at least 1")
        self.files_per_batch = files_per_batch
        self._now = now

    def recognises(self, path: Path) -> bool:
        """A ``.zip`` file or a directory (an unpacked export) in ``platforms/slack/``."""
        return path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip")

    def read(self, path: Path) -> Iterator[Batch]:
        """Yield ``accounts``, then ``events`` per batch of day files, with ``rejects`` alongside."""
        with export_root(path, prefix="slack", find_root=_find_root, what="a Slack workspace export") as (root, skipped):
            if skipped:
                yield Batch("rejects", _rejects_frame(
                    EVENTS.name, path.name, [m.name for m in skipped], [m.reason for m in skipped]
                ))
            con = duckdb.connect()
            # every file is read once: DuckDB's cache of file contents would only hold memory
            con.execute("SET enable_external_file_cache = false")
            try:
                yield from self._read_root(con, root, path.name)
            finally:
                con.close()

    # -- the export -----------------------------------------------------------------------------

    def _read_root(self, con: duckdb.DuckDBPyConnection, root: Path, export: str) -> Iterator[Batch]:
        rejects: list[pl.DataFrame] = []
        folders = self._conversations(con, root, export, rejects)
        day_files = _day_files(root, folders)
        if not day_files and not any((root / f).is_file() for f in _METADATA_FILES):
            raise ConnectorError(
                "not a Slack export: expected users.json, channels.json and <channel>/<YYYY-MM-DD>.json day files",
                file=export,
            )
        accounts = self._accounts(con, root, export, rejects)
        if accounts.height:
            yield Batch("accounts", accounts)
        if rejects:
            yield Batch("rejects", pl.concat(rejects))

        users = accounts.select("account_id", "account_email", pl.col("is_automated").alias("__user_is_bot"))
        batches = [day_files[i : i + self.files_per_batch] for i in range(0, len(day_files), self.files_per_batch)]
        state = _BatchState(
            con=con.cursor(),
            export=export,
            users=users,
            cutoff=self._cutoff(day_files),
            split_spaces=_spaces_in_several_batches(batches),
        )
        # A two-stage pipeline: one thread parses batch i+2 (DuckDB), another maps batch i+1
        # (Polars) while the caller writes batch i. DuckDB and Polars release the GIL, so the three
        # overlap. At most two batches wait ahead of the caller; each stage handles batches in order
        # (duplicates across batches need it).
        tally = state.tally
        readers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-read")
        mappers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-map")
        try:
            pending: deque[Future[list[Batch]]] = deque()
            for batch in batches:
                parsed = readers.submit(self._read_stage, state, batch)
                pending.append(mappers.submit(self._map_stage, state, parsed))
                if len(pending) > 2:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            mappers.shutdown(wait=True, cancel_futures=True)
            readers.shutdown(wait=True, cancel_futures=True)
            state.con.close()
        log.info(
            "slack %s: %d messages in %d day files -> %d message events + %d reaction events; "
            "%d rejected, %d filtered (tombstones, edits, hidden); %d unreadable file(s)",
            export,
            tally.messages,
            len(day_files),
            tally.message_events,
            tally.reaction_events,
            tally.rejected,
            tally.filtered,
            tally.bad_files,
        )

    def _read_stage(self, state: _BatchState, batch: list[_DayFile]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Parse one batch of day files (on the reading thread, in order)."""
        raw, file_rejects = self._read_messages(state.con, batch, state.export)
        state.tally.bad_files += file_rejects.height
        return raw, file_rejects

    def _map_stage(self, state: _BatchState, parsed: Future[tuple[pl.DataFrame, pl.DataFrame]]) -> list[Batch]:
        """Map and conform one parsed batch (on the mapping thread, in order)."""
        tally = state.tally
        raw, file_rejects = parsed.result()
        out: list[Batch] = [Batch("rejects", file_rejects)] if file_rejects.height else []
        events, row_rejects, kept_ids = _map_messages(
            raw, state.users, state.export, state.cutoff, state.seen, state.split_spaces, tally
        )
        del raw
        if state.split_spaces:
            state.seen = pl.concat([state.seen, kept_ids])
        good, bad = conform(events, EVENTS, file=state.export, locator_column="__locator")
        if bad.height:
            tally.rejected += bad.height
            row_rejects = pl.concat([row_rejects, bad.with_columns(pl.lit(SOURCE).alias("source"))])
        n_react = int((good["action"] == "react").sum())
        tally.reaction_events += n_react
        tally.message_events += good.height - n_react
        out.append(Batch("events", good))
        if row_rejects.height:
            out.append(Batch("rejects", row_rejects))
        return out

    def _cutoff(self, day_files: list[_DayFile]) -> dt.datetime:
        """Latest acceptable time: one day after the newest day file's day, and now + 1 day (UTC)."""
        now = self._now or dt.datetime.now(dt.UTC)
        limit = now.astimezone(dt.UTC) + dt.timedelta(days=1)
        dates = [f.date for f in day_files if f.date is not None]
        if dates:
            newest_end = dt.datetime.combine(max(dates) + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            limit = min(limit, newest_end + dt.timedelta(days=1))
        return limit

    def _conversations(
        self, con: duckdb.DuckDBPyConnection, root: Path, export: str, rejects: list[pl.DataFrame]
    ) -> dict[str, str]:
        """Day-file folder -> conversation id, from the conversation lists present."""
        folders: dict[str, str] = {}
        for file_name, folder_field in CONVERSATION_FILES.items():
            path = root / file_name
            if not path.is_file():
                if file_name == "channels.json" or path.exists():
                    reason = "file missing: channel ids unknown, folder names used as space_id"
                    rejects.append(_file_reject(export, file_name, reason))
                continue
            if path.stat().st_size == 0:
                rejects.append(_file_reject(export, file_name, "file is empty: expected a JSON array of conversations"))
                continue
            try:
                rows = con.execute(
                    f"SELECT {folder_field} AS folder, id FROM read_json(?, format='array', "
                    "columns={'id': 'VARCHAR', 'name': 'VARCHAR'}) WHERE id IS NOT NULL",
                    [str(path)],
                ).fetchall()
            except duckdb.Error as exc:
                reason = f"unreadable, expected a JSON array of conversations with id and name: {first_line(exc)}"
                rejects.append(_file_reject(export, file_name, reason))
                continue
            for folder, conv_id in rows:
                if folder is not None:
                    folders.setdefault(folder, conv_id)
        return folders

    def _accounts(
        self, con: duckdb.DuckDBPyConnection, root: Path, export: str, rejects: list[pl.DataFrame]
    ) -> pl.DataFrame:
        path = root / "users.json"
        if not path.is_file() or path.stat().st_size == 0:
            what = "file is empty" if path.is_file() else "file missing"
            rejects.append(_file_reject(export, "users.json", f"{what}: no accounts, bot users not flagged"))
            return pl.DataFrame(schema=ACCOUNTS.schema)
        try:
            frame = con.execute(_USERS_QUERY, [str(path)]).pl()
        except duckdb.Error as exc:
            rejects.append(
                _file_reject(export, "users.json", f"unreadable, expected a JSON array of users: {first_line(exc)}")
            )
            return pl.DataFrame(schema=ACCOUNTS.schema)
        good, bad = conform(frame, ACCOUNTS, file=export, locator_column="__locator")
        if bad.height:
            rejects.append(bad.with_columns(pl.lit(SOURCE).alias("source")))
        dupes = good.filter(pl.col("account_id").is_duplicated())["account_id"].unique(maintain_order=True)
        if dupes.len():
            rejects.append(
                _rejects_frame(
                    ACCOUNTS.name,
                    export,
                    [f"users.json[id={a}]" for a in dupes],
                    "account_id: duplicate user id in users.json, first kept",
                )
            )
            good = good.unique("account_id", keep="first", maintain_order=True)
        return good

    # -- day files ------------------------------------------------------------------------------

    def _read_messages(
        self, con: duckdb.DuckDBPyConnection, batch: list[_DayFile], export: str
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The batch's messages (the fields of ``MESSAGE_FIELDS`` flattened, plus ``member``,
        ``space_id`` and ``__problem``), and rejects for day files that cannot be read at all.

        Fast path: one typed ``read_json`` over all files. A file DuckDB names in an error is taken
        out: read element by element as raw JSON when the error is a field of the wrong type (its
        bad rows are then quarantined one by one), quarantined whole when it is not UTF-8 JSON.
        """
        empty = [f for f in batch if not f.path.is_file() or f.path.stat().st_size == 0]
        batch = [f for f in batch if f not in empty]
        by_path = {str(f.path): f for f in batch}
        # rows carry a 64-bit hash of their file's path rather than the path: far cheaper to hand over
        files = con.execute("SELECT p AS filename, hash(p) AS file_key FROM unnest($p) t(p)", {"p": list(by_path)}).pl()
        key = "file_key" if files["file_key"].is_unique().all() else "filename"
        files = files.with_columns(
            pl.col("filename").replace_strict({p: f.member for p, f in by_path.items()}).alias("member"),
            pl.col("filename").replace_strict({p: f.space_id for p, f in by_path.items()}).alias("space_id"),
        ).select(key, "member", "space_id")
        fast = list(by_path)
        slow: list[str] = []
        bad: list[tuple[str, str]] = []
        while fast or slow:
            parts = ([_typed_read_sql("fast")] if fast else []) + ([_raw_read_sql("slow")] if slow else [])
            params = ({"fast": fast} if fast else {}) | ({"slow": slow} if slow else {})
            try:
                raw = con.execute(_project_sql(" UNION ALL BY NAME ".join(parts), key), params).pl()
                break
            except duckdb.Error as exc:
                culprit = _file_named_in(exc, fast + slow) or self._find_unreadable(con, fast + slow)
                if culprit is None:  # not a file's fault (e.g. out of memory): nothing can go on
                    raise ConnectorError(f"day files could not be read: {first_line(exc)}", file=export) from exc
                message = first_line(exc)
                if culprit in fast and "transform error" in message.lower():
                    fast.remove(culprit)
                    slow.append(culprit)
                    log.info("slack %s: %s has fields of unexpected types, read row by row", export,
                             by_path[culprit].member)
                else:
                    (fast if culprit in fast else slow).remove(culprit)
                    bad.append((by_path[culprit].member, message))
                    log.warning("slack %s: %s unreadable: %s", export, by_path[culprit].member, message)
        else:
            raw = pl.DataFrame(schema=_RAW_SCHEMA).rename({"filename": key}).cast({key: files.schema[key]})
        raw = raw.join(files, on=key, how="left", maintain_order="left").drop(key)
        bad = [(f.member, "the file is empty (truncated export?)" if f.path.is_file() else "a folder") for f in empty] + bad
        file_rejects = _rejects_frame(
            EVENTS.name,
            export,
            [m for m, _ in bad],
            [f"unreadable day file, expected a UTF-8 JSON array of message objects: {msg}" for _, msg in bad],
        )
        return raw, file_rejects

    def _find_unreadable(self, con: duckdb.DuckDBPyConnection, paths: list[str]) -> str | None:
        """The first file of ``paths`` the typed reader fails on (when an error names no file)."""
        for p in paths:
            try:
                con.execute(f"SELECT count(*) FROM ({_typed_read_sql('one')})", {"one": [p]}).fetchall()
            except duckdb.Error:
                return p
        return None


# -- SQL: reading ------------------------------------------------------------------------------------


def _typed_read_sql(param: str) -> str:
    """The fast reader: typed fields of every message of the files in parameter ``$<param>``."""
    return (
        f"SELECT *, NULL::VARCHAR AS __problem FROM read_json(${param}, format='array', "
        f"columns={MESSAGE_COLUMNS_SQL}, filename=true)"
    )


def _raw_read_sql(param: str) -> str:
    """The tolerant reader: each array element as raw JSON, fields extracted and type-checked one by one."""
    selects = []
    problems = []
    for name, sql_type in MESSAGE_FIELDS.items():
        path = f"'$.\"{name}\"'"
        if sql_type == "VARCHAR":
            selects.append(f'j->>{path} AS "{name}"')
        else:
            selects.append(f'try_cast(j->{path} AS {sql_type}) AS "{name}"')
        if sql_type in _JSON_TYPES_FOR:
            expected = _JSON_TYPES_FOR[sql_type]
        elif sql_type.endswith("[]"):
            expected = ("ARRAY",)
        else:
            expected = ("OBJECT",)
        problems.append(
            f"CASE WHEN json_type(j->{path}) NOT IN {_sql_list((*expected, 'NULL'))} "
            f"THEN '{name}: expected {'/'.join(expected).lower()}, found ' || lower(json_type(j->{path})) END"
        )
    problem = (
        "CASE WHEN json_type(j) <> 'OBJECT' THEN 'message: expected a JSON object, found ' || lower(json_type(j)) "
        f"ELSE nullif(concat_ws('; ', {', '.join(problems)}), '') END"
    )
    return (
        f"SELECT {', '.join(selects)}, {problem} AS __problem, filename "
        f"FROM read_json(${param}, format='array', records=false, columns={{'j': 'JSON'}}, filename=true)"
    )


def _project_sql(raw: str, file_key: str = "file_key") -> str:
    """The flat columns the mapping needs; nested fields are reduced here. ``file_key`` names the
    file of each row: ``file_key`` (a hash of its path) or ``filename`` (the path)."""
    file_col = "hash(filename) AS file_key" if file_key == "file_key" else "filename"
    return f"""
        SELECT {file_col}, ts, "user", bot_id, app_id, username, subtype, text, thread_ts, hidden, upload,
               reactions,
               ("file" IS NOT NULL OR len(files) > 0) AS has_file,
               "comment"."user" AS comment_user,
               "comment".comment AS comment_text,
               "file".initial_comment.comment AS file_comment_text,
               __problem
        FROM ({raw})
    """


_RAW_SCHEMA = pl.Schema(
    {
        "filename": pl.Utf8,
        "ts": pl.Utf8,
        "user": pl.Utf8,
        "bot_id": pl.Utf8,
        "app_id": pl.Utf8,
        "username": pl.Utf8,
        "subtype": pl.Utf8,
        "text": pl.Utf8,
        "thread_ts": pl.Utf8,
        "hidden": pl.Boolean,
        "upload": pl.Boolean,
        "reactions": pl.List(pl.Struct({"name": pl.Utf8, "users": pl.List(pl.Utf8)})),
        "has_file": pl.Boolean,
        "comment_user": pl.Utf8,
        "comment_text": pl.Utf8,
        "file_comment_text": pl.Utf8,
        "__problem": pl.Utf8,
    }
)

_USERS_QUERY = f"""
    SELECT '{SOURCE}' AS source,
           id AS account_id,
           nullif(lower(trim(profile.email)), '') AS account_email,
           name AS username,
           coalesce(nullif(profile.real_name, ''), nullif(real_name, ''), nullif(profile.display_name, ''))
               AS display_name,
           coalesce(is_bot, false) OR id = '{SLACKBOT_ID}' AS is_automated,
           coalesce(deleted, false) AS is_deleted,
           coalesce(is_restricted, false) OR coalesce(is_ultra_restricted, false) AS is_guest,
           'users.json[id=' || coalesce(id, 'missing') || ']' AS __locator
    FROM read_json(?, format='array', columns={struct_literal(USER_FIELDS)})
"""


# -- mapping (Polars) ----------------------------------------------------------------------------------

_TS_REGEX = r"^[0-9]{1,11}(\.[0-9]{1,6})?$"
_BAD_TS = "\x00bad ts"  # placeholders, replaced by a detailed reason on the few rejected rows
_FUTURE = "\x00future"
_EVENT_COLUMNS = [c.name for c in EVENTS.columns] + ["__locator"]


def _occurred_at(ts: pl.Expr) -> pl.Expr:
    """Slack ``ts`` ("<seconds>.<micro>") -> UTC timestamp, exact to the microsecond."""
    parts = ts.str.split_exact(".", 1)
    seconds = parts.struct.field("field_0").cast(pl.Int64, strict=False)
    micros = parts.struct.field("field_1").fill_null("").str.pad_end(6, "0").cast(pl.Int64, strict=False)
    return pl.from_epoch(seconds * 1_000_000 + micros, time_unit="us").dt.replace_time_zone("UTC")


def _map_messages(
    raw: pl.DataFrame,
    users: pl.DataFrame,
    export: str,
    cutoff: dt.datetime,
    seen: pl.Series,
    split_spaces: set[str],
    tally: _Tally,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """Messages -> (events with ``__locator``, rejects, ids of kept messages in split conversations)."""
    subtype = pl.col("subtype")
    is_system = subtype.is_in(SYSTEM_SUBTYPES).fill_null(False)
    is_join = subtype.is_in(JOIN_SUBTYPES).fill_null(False)
    in_thread = pl.col("thread_ts").is_not_null() & (pl.col("thread_ts") != pl.col("ts"))
    ts_ok = pl.col("ts").str.contains(_TS_REGEX).fill_null(False)
    feature_text = (
        pl.when(is_system | is_join)
        .then(None)
        .when(subtype == "file_comment")
        .then(pl.col("comment_text"))
        .when(subtype.is_in(("file_share", "file_mention")) & pl.col("file_comment_text").is_not_null())
        .then(pl.col("file_comment_text"))
        .when(subtype.is_in(("file_share", "file_mention")))
        .then(None)
        .otherwise(pl.col("text"))
    )
    msgs = (
        raw.lazy()
        .with_columns(
            pl.coalesce(
                "user",
                "comment_user",
                "bot_id",
                pl.when((subtype == "bot_message") & pl.col("username").is_not_null())
                .then(pl.lit("bot:") + pl.col("username")),
            ).alias("account_id"),
            (pl.col("space_id") + ":" + pl.col("ts")).alias("event_id"),
            pl.when(ts_ok).then(_occurred_at(pl.col("ts"))).alias("occurred_at"),
            feature_text.alias("__text"),
            (pl.col("hidden").fill_null(False) | subtype.is_in(FILTERED_SUBTYPES).fill_null(False)).alias("__filtered"),
        )
        .join(users.lazy(), on="account_id", how="left", maintain_order="left")
        .with_columns(
            pl.when(is_join)
            .then(pl.lit("join"))
            .when(subtype == "file_comment")
            .then(pl.lit("reply"))
            .when(pl.col("has_file").fill_null(False) | subtype.is_in(("file_share", "file_mention")).fill_null(False))
            .then(
                pl.when((pl.col("upload") == False) | (subtype == "file_mention"))  # noqa: E712
                .then(pl.lit("share"))
                .otherwise(pl.lit("upload"))
            )
            .when(in_thread)
            .then(pl.lit("reply"))
            .otherwise(pl.lit("post"))
            .alias("action"),
            pl.when(subtype == "file_comment")
            .then(None)
            .when(pl.col("thread_ts").is_not_null())
            .then(pl.col("space_id") + ":" + pl.col("thread_ts"))
            .when(is_join)
            .then(None)
            .otherwise(pl.col("event_id"))
            .alias("thread_id"),
            (
                is_system
                | subtype.is_in(BOT_SUBTYPES).fill_null(False)
                | pl.col("bot_id").is_not_null()
                | pl.col("app_id").is_not_null()
                | (pl.col("account_id") == SLACKBOT_ID).fill_null(False)
                | pl.col("__user_is_bot").fill_null(False)
            ).alias("is_automated"),
            *text_features_exprs("__text"),
            (pl.col("member") + "[ts=" + pl.col("ts").fill_null("missing") + "]").alias("__locator"),
            pl.coalesce(
                "__problem",
                pl.when(pl.col("ts").is_null())
                .then(pl.lit("ts: missing, expected a Slack timestamp like 1452837318.000002"))
                .when(~ts_ok)
                .then(pl.lit(_BAD_TS))
                .when(pl.col("occurred_at") > cutoff)
                .then(pl.lit(_FUTURE))
                .when(pl.col("occurred_at") < SLACK_LAUNCH)
                .then(pl.lit("ts: ") + pl.col("ts").str.slice(0, 40)
                      + pl.lit(f" is before {SLACK_LAUNCH:%Y-%m-%d}, before Slack existed: a placeholder"))
                .when(pl.col("account_id").is_null() & ~pl.col("__filtered"))
                .then(pl.lit("user: missing, and no comment.user, bot_id or bot username either")),
            ).alias("__reject"),
        )
        .collect()
    )
    msgs = _reject_duplicates(msgs, seen, split_spaces)
    tally.messages += msgs.height
    rejected = msgs.filter(pl.col("__reject").is_not_null()).with_columns(
        pl.when(pl.col("__reject") == _BAD_TS)
        .then(pl.lit("ts: expected a Slack timestamp like 1452837318.000002, found ") + pl.col("ts").str.slice(0, 40))
        .when(pl.col("__reject") == _FUTURE)
        .then(
            pl.lit("occurred_at: ")
            + pl.col("occurred_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            + pl.lit(f" is after {cutoff:%Y-%m-%dT%H:%M:%SZ}: more than one day after the export's newest day "
                     "file, or after now + 1 day")
        )
        .otherwise(pl.col("__reject"))
        .alias("__reject")
    )
    tally.rejected += rejected.height
    kept = msgs.filter(pl.col("__reject").is_null())
    tally.filtered += int(kept["__filtered"].sum())
    kept = kept.filter(~pl.col("__filtered"))

    message_events = kept.with_columns(
        pl.lit(SOURCE).alias("source"),
        pl.col("event_id").alias("content_id"),
        pl.lit(None, dtype=pl.Utf8).alias("reaction"),
        pl.col("member").alias("source_file"),
    ).select(_EVENT_COLUMNS)
    reaction_events = _reaction_events(kept, users)
    events = pl.concat([message_events, reaction_events], how="vertical_relaxed")
    rejects = rejected.select(
        pl.lit(EVENTS.name).alias("contract"),
        pl.lit(export).alias("file"),
        pl.col("__locator").alias("locator"),
        pl.col("__reject").alias("reason"),
        pl.lit(SOURCE).alias("source"),
        pl.concat_str(
            pl.lit("space=") + pl.col("space_id"),
            pl.lit("user=") + pl.col("account_id"),
            pl.lit("subtype=") + pl.col("subtype"),
            separator=" ",
            ignore_nulls=True,
        ).alias("excerpt"),
    ).cast(REJECTS.schema)  # type: ignore[arg-type]
    kept_ids = (
        kept.filter(pl.col("space_id").is_in(sorted(split_spaces)))["event_id"] if split_spaces else seen.clear()
    )
    return events, rejects, kept_ids


_EARLIER_BATCH = " in this conversation, first seen in an earlier batch"


def _reject_duplicates(msgs: pl.DataFrame, seen: pl.Series, split_spaces: set[str]) -> pl.DataFrame:
    """Quarantine the second and later messages with one ``ts`` in one conversation.

    Within a batch the first is chosen deterministically (by file, author, subtype, length);
    across batches (only conversations split over batches) the one read first is kept.
    """
    candidates = pl.col("__reject").is_null()
    dup_mask = msgs["event_id"].is_duplicated() & msgs["__reject"].is_null()
    if split_spaces and seen.len():
        earlier = msgs["event_id"].is_in(seen.implode()) & msgs["__reject"].is_null()
        msgs = msgs.with_columns(
            pl.when(earlier)
            .then(pl.lit("ts: duplicate ") + pl.col("ts") + pl.lit(_EARLIER_BATCH))
            .otherwise(pl.col("__reject"))
            .alias("__reject")
        )
        dup_mask = dup_mask & ~earlier
    if not dup_mask.any():
        return msgs
    ranked = (
        msgs.with_row_index("__row")
        .filter(dup_mask)
        .sort("member", "account_id", "subtype", "body_chars", "__row", nulls_last=False)
        .with_columns(
            pl.col("member").first().over("event_id").alias("__first"),
            pl.int_range(pl.len()).over("event_id").alias("__rank"),
        )
        .filter(pl.col("__rank") > 0)
        .select(
            "__row",
            (
                pl.lit("ts: duplicate ")
                + pl.col("ts")
                + pl.lit(" in this conversation, first seen in ")
                + pl.col("__first")
            ).alias("__dup_reason"),
        )
    )
    return (
        msgs.with_row_index("__row")
        .join(ranked, on="__row", how="left", maintain_order="left")
        .with_columns(pl.when(candidates).then(pl.col("__dup_reason")).otherwise(pl.col("__reject")).alias("__reject"))
        .drop("__row", "__dup_reason")
    )


def _reaction_events(kept: pl.DataFrame, users: pl.DataFrame) -> pl.DataFrame:
    """One ``react`` event per reacting user and emoji of each kept message."""
    reactions = (
        kept.lazy()
        .filter(pl.col("reactions").list.len() > 0)
        .select("event_id", "occurred_at", "space_id", "thread_id", "member", "ts", "reactions")
        .explode("reactions", empty_as_null=True)
        .with_columns(
            pl.col("reactions").struct.field("name").alias("__emoji"),
            pl.col("reactions").struct.field("users").alias("account_id"),
        )
        .explode("account_id", empty_as_null=True)
        .filter(pl.col("account_id").is_not_null() & pl.col("__emoji").is_not_null())
        .with_columns(
            (pl.col("event_id") + ":react:" + pl.col("__emoji") + ":" + pl.col("account_id")).alias("__reaction_id"),
        )
        .join(users.lazy(), on="account_id", how="left", maintain_order="left")
        .select(
            pl.lit(SOURCE).alias("source"),
            pl.col("__reaction_id").alias("event_id"),
            "occurred_at",
            "account_id",
            "account_email",
            pl.lit("react").alias("action"),
            "space_id",
            "thread_id",
            pl.col("event_id").alias("content_id"),
            ((pl.col("account_id") == SLACKBOT_ID) | pl.col("__user_is_bot").fill_null(False)).alias("is_automated"),
            pl.lit(None, dtype=pl.Int32).alias("body_chars"),
            pl.lit(None, dtype=pl.List(pl.Utf8)).alias("hashtags"),
            pl.lit(None, dtype=pl.Boolean).alias("is_question"),
            pl.lit(None, dtype=pl.Int16).alias("mention_count"),
            pl.col("__emoji").alias("reaction"),
            pl.col("member").alias("source_file"),
            (pl.col("member") + "[ts=" + pl.col("ts") + "].reactions[" + pl.col("__emoji") + "]").alias("__locator"),
        )
    )
    frame = reactions.collect()
    if frame["event_id"].n_unique() < frame.height:  # a user listed twice under one emoji: one reaction
        frame = frame.unique("event_id", keep="first", maintain_order=True)
    return frame


# -- files -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DayFile:
    path: Path
    member: str  # "<folder>/<file>", relative to the export root
    space_id: str
    date: dt.date | None


def _day_files(root: Path, folders: dict[str, str]) -> list[_DayFile]:
    """Every ``<folder>/*.json`` of the export, sorted by folder and name."""
    found: list[_DayFile] = []
    unknown: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))):
        files = sorted(p for p in folder.iterdir() if p.suffix == ".json")  # a folder named *.json is rejected
        if not files:
            continue
        space_id = folders.get(folder.name)
        if space_id is None:
            unknown.append(folder.name)
            space_id = folder.name
        for f in files:
            m = _DAY_FILE.match(f.name)
            day = None
            if m:
                try:
                    day = dt.date.fromisoformat(m.group(1))
                except ValueError:
                    day = None
            found.append(_DayFile(f, f"{folder.name}/{f.name}", space_id, day))
    if unknown:
        log.warning("slack export %s: folder(s) not in any conversation list, folder name used as space_id: %s",
                    root, ", ".join(unknown))
    return found


def _spaces_in_several_batches(batches: list[list[_DayFile]]) -> set[str]:
    seen: dict[str, int] = {}
    split: set[str] = set()
    for i, batch in enumerate(batches):
        for space in {f.space_id for f in batch}:
            if space in seen and seen[space] != i:
                split.add(space)
            seen[space] = i
    return split


def _find_root(path: Path) -> Path:
    """``path`` itself, or its single subdirectory when the export was zipped inside a folder."""
    if any((path / f).is_file() for f in _METADATA_FILES):
        return path
    subdirs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    if len(subdirs) == 1 and any((subdirs[0] / f).is_file() for f in _METADATA_FILES):
        return subdirs[0]
    return path


# -- rejects helpers ---------------------------------------------------------------------------------


def _file_named_in(exc: BaseException, candidates: list[str]) -> str | None:
    m = _ERROR_FILE.search(str(exc))
    if m and m.group(1) in candidates:
        return m.group(1)
    return None


def _rejects_frame(contract: str, file: str, locators: list[str], reason: str | list[str]) -> pl.DataFrame:
    reasons = [reason] * len(locators) if isinstance(reason, str) else reason
    return pl.DataFrame(
        {
            "contract": [contract] * len(locators),
            "file": [file] * len(locators),
            "locator": locators,
            "reason": reasons,
            "source": [SOURCE] * len(locators),
            "excerpt": [None] * len(locators),
        },
        schema=REJECTS.schema,
    )


def _file_reject(export: str, member: str, reason: str) -> pl.DataFrame:
    contract = ACCOUNTS.name if member == "users.json" else EVENTS.name
    return _rejects_frame(contract, export, [member], reason)
