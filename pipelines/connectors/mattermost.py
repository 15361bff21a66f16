"""Mattermost bulk export connector (``platforms/mattermost/``: ``*.jsonl``, a zip holding one, or a
directory of them).

What it reads
-------------
A bulk export is JSON Lines, one object per line, ``{"type": ..., "<type>": {...}}``:

- ``user`` -> ``accounts``: ``account_id`` = ``username`` (the export has no user ids; posts
  reference users by username), email lower-cased, deleted (``delete_at`` > 0) kept with
  ``is_deleted``, ``system_guest`` role -> ``is_guest``.
- ``bot`` -> ``accounts`` with ``is_automated``; its posts are flagged ``is_automated``.
- ``user`` lines also give the events their ``account_email``.
- ``channel`` -> which team a channel belongs to (a post naming another team is put in the
  channel's own team when the channel name is unique among the declared channels).
- ``post`` and ``direct_post`` -> ``events``; their ``replies`` (nested, in any order, possibly
  older than the post) and ``reactions`` (on posts and replies; ``null`` allowed) too.
- ``version``, ``team``, ``direct_channel``, ``emoji``, ``scheme``, ``role`` lines are not needed.

The file is read in chunks of lines (bounded memory); DuckDB decodes and parses each chunk's lines
(``try(decode(...))``, ``try_cast(... AS STRUCT)``), Polars maps them. A first pass parses only the ``bot``,
``channel`` and ``user`` lines (recognised by their first bytes), so posts can be resolved while
streaming. Message text is reduced to its features (``text_features``) and dropped here.

Mapping
-------
- time: ``create_at`` (epoch milliseconds, UTC); a reaction's own ``create_at``.
- ``post`` / ``direct_post`` -> ``post``; a nested reply -> ``reply`` (``thread_id`` = its
  post's ``content_id``); a post or reply with ``attachments`` (files) -> ``upload``; each
  reaction -> ``react``, its ``emoji_name`` in ``reaction``.
- post ``type`` ``system_join_channel`` / ``system_join_team`` -> ``join``; any other
  ``system_*`` type -> ``post`` with ``is_automated``. Old exports (Mattermost 5) carry no post
  ``type``: there, a message that is exactly ``"<user> joined the channel."`` / ``"... team."``
  is a ``join``, and ``"<x> added to the channel by <user>."``, ``"<user> left the channel."``
  (and the team forms) are system posts (``is_automated``).
- ``is_automated`` also for bots' posts and posts with ``props.from_bot`` / ``props.from_webhook``
  = ``"true"``.
- ``space_id``: ``<team>/<channel>`` for channel posts; ``dm:<member>,<member>...`` (sorted
  usernames) for direct and group messages.

event_id scheme (the export has no post ids; these keys are what identifies a post in it, stable
across re-exports)
-------------------------------------------------------------------------------------------------
- post or reply: ``<space_id>:<create_at>:<username>`` (also its ``content_id``; ``thread_id`` is
  the post's own id for a post, join and system posts included, as replies can hang on any post)
- reaction: ``<content_id>:react:<emoji_name>:<username>``

Quarantined (``rejects``, ``file`` = the export file, ``locator`` = ``line N``,
``line N replies[i]``, ``line N reactions[j]``): lines that are not UTF-8 or not JSON, posts whose
fields have the wrong JSON type, missing ``user`` or ``create_at``, times before 2000 (epoch 0 placeholders) or after now + 1 day,
duplicate keys. A :class:`~pipelines.connectors.base.ConnectorError` is raised only when the file
cannot be opened or not one of its lines is a JSON object. Zip members with unsafe paths or
links are not read (one reject each, ``archives``); a decompression bomb or a damaged zip raises.
"""

from __future__ import annotations

import datetime as dt
import logging
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ClassVar, Literal

import duckdb
import polars as pl

from pipelines.connectors.archives import READ_ERRORS, SkippedMember, open_archive, safe_members
from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.text_features import text_features_exprs
from transforms.contracts import ACCOUNTS, EVENTS, REJECTS, conform
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE_TIME as EARLIEST_PLAUSIBLE  # epoch 0: a placeholder
from transforms.warehouse import register_frame

log = logging.getLogger(__name__)

SOURCE = "mattermost"
#: Post types that are a person joining a channel or team.
JOIN_TYPES: tuple[str, ...] = ("system_join_channel", "system_join_team")
#: Bytes of lines read per chunk.
CHUNK_BYTES = 32 * 1024 * 1024

_REACTION = 'STRUCT("user" VARCHAR, create_at BIGINT, emoji_name VARCHAR)[]'
_ATTACHMENTS = "STRUCT(path VARCHAR)[]"
_REPLY = (
    f'STRUCT("user" VARCHAR, "type" VARCHAR, message VARCHAR, create_at BIGINT, props JSON, '
    f"attachments {_ATTACHMENTS}, reactions {_REACTION})[]"
)
_POST_FIELDS = (
    f'"user" VARCHAR, "type" VARCHAR, message VARCHAR, create_at BIGINT, props JSON, '
    f"attachments {_ATTACHMENTS}, reactions {_REACTION}, replies {_REPLY}"
)
#: What is read of a ``post`` and of a ``direct_post`` line (everything else is never parsed out).
POST_STRUCT = f"STRUCT(team VARCHAR, channel VARCHAR, {_POST_FIELDS})"
DIRECT_POST_STRUCT = f"STRUCT(channel_members VARCHAR[], {_POST_FIELDS})"
USER_STRUCT = (
    "STRUCT(username VARCHAR, email VARCHAR, first_name VARCHAR, last_name VARCHAR, nickname VARCHAR, "
    "roles VARCHAR, delete_at BIGINT)"
)
BOT_STRUCT = "STRUCT(username VARCHAR, display_name VARCHAR, delete_at BIGINT)"

_LOOKUP_PREFIX = r'^\s*\{\s*"type"\s*:\s*"(bot|channel|user)"'


@dataclass(frozen=True)
class _Lookups:
    bots: pl.DataFrame  # username
    channels: pl.DataFrame  # team, channel (declared pairs)
    emails: pl.DataFrame  # account_id, account_email (lower-cased)


class MattermostConnector(Connector):
    """Mattermost bulk exports (JSON Lines) -> events and accounts."""

    name: ClassVar[str] = "mattermost"
    title: ClassVar[str] = "Mattermost bulk export"
    kind: ClassVar[Literal["platform", "hr"]] = "platform"
    yields: ClassVar[tuple[TableName, ...]] = ("events", "accounts")
    cannot_see: ClassVar[tuple[str, ...]] = ("visit", "read")
    reads: ClassVar[str] = "Mattermost bulk export JSONL (*.jsonl, a .zip holding one, or a directory of them)"

    def __init__(self, chunk_bytes: int = CHUNK_BYTES, now: dt.datetime | None = None) -> None:
        """``chunk_bytes`` bounds memory (bytes of lines per chunk); ``now`` is for tests."""
        self.chunk_bytes = chunk_bytes
        self._now = now

    def recognises(self, path: Path) -> bool:
        """A ``.jsonl`` file, a ``.zip`` holding one, or a directory holding ``*.jsonl``."""
        if path.is_dir() and path.suffix.lower() != ".jsonl":
            return any(path.glob("*.jsonl"))
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            return True  # a folder named like a file is reported by read()
        if suffix == ".zip" and path.is_file():
            try:
                with zipfile.ZipFile(path) as z:
                    return any(n.lower().endswith(".jsonl") for n in z.namelist())
            except (zipfile.BadZipFile, OSError):
                return True  # ours by name; read() reports it as unreadable
        return False

    def read(self, path: Path) -> Iterator[Batch]:
        """Yield ``accounts``, ``events`` and ``rejects`` batches for each chunk of lines."""
        inputs, skipped = _jsonl_inputs(path)
        if skipped:
            yield Batch("rejects", pl.DataFrame(
                {"contract": EVENTS.name, "file": str(path), "locator": [m.name for m in skipped],
                 "reason": [m.reason for m in skipped], "source": SOURCE, "excerpt": None},
                schema=REJECTS.schema,
            ))
        for label, opener in inputs:
            yield from self._read_jsonl(label, opener)

    # -- one JSONL file -----------------------------------------------------------------------

    def _read_jsonl(self, label: str, opener: _Opener) -> Iterator[Batch]:
        now = self._now or dt.datetime.now(dt.UTC)
        cutoff = now.astimezone(dt.UTC) + dt.timedelta(days=1)
        con = duckdb.connect()
        try:
            lookups = self._lookups(con, label, opener)
            seen_ids = pl.Series("event_id", [], dtype=pl.Utf8)
            seen_accounts = pl.Series("account_id", [], dtype=pl.Utf8)
            objects = lines_total = n_events = n_accounts = n_rejects = 0
            for first_line, lines in _chunks(label, opener, self.chunk_bytes):
                lines_total += len(lines)
                parsed = _parse_chunk(con, lines, first_line)
                objects += parsed.filter(pl.col("__problem").is_null()).height
                rejects = [_line_rejects(parsed, label)]
                accounts, acc_rejects, seen_accounts = _accounts(parsed, label, seen_accounts)
                rejects.append(acc_rejects)
                messages = _messages(parsed, lookups)
                events, ev_rejects, seen_ids = _events(messages, lookups, label, cutoff, seen_ids)
                rejects.append(ev_rejects)
                good_acc, bad_acc = conform(accounts, ACCOUNTS, file=label, locator_column="__locator")
                good_ev, bad_ev = conform(events, EVENTS, file=label, locator_column="__locator")
                rejects += [bad_acc.with_columns(pl.lit(SOURCE).alias("source")),
                            bad_ev.with_columns(pl.lit(SOURCE).alias("source"))]
                all_rejects = pl.concat([r.cast(REJECTS.schema) for r in rejects])  # type: ignore[arg-type]
                n_events, n_accounts, n_rejects = (
                    n_events + good_ev.height, n_accounts + good_acc.height, n_rejects + all_rejects.height
                )
                if good_acc.height:
                    yield Batch("accounts", good_acc)
                if good_ev.height:
                    yield Batch("events", good_ev)
                if all_rejects.height:
                    yield Batch("rejects", all_rejects)
            if not lines_total:
                raise ConnectorError("file is empty; expected a Mattermost bulk export (JSON Lines)", file=label)
            if lines_total and not objects:
                raise ConnectorError(
                    "no line is a JSON object: expected a Mattermost bulk export (JSON Lines, "
                    '{"type": "version", ...} first)',
                    file=label,
                )
            log.info(
                "mattermost %s: %d lines -> %d events, %d accounts, %d rejected",
                label, lines_total, n_events, n_accounts, n_rejects,
            )
        finally:
            con.close()

    def _lookups(self, con: duckdb.DuckDBPyConnection, label: str, opener: _Opener) -> _Lookups:
        """Bots, declared channels and users' emails, from the lines that start with their type."""
        bots: list[pl.DataFrame] = []
        channels: list[pl.DataFrame] = []
        emails: list[pl.DataFrame] = []
        for _, lines in _chunks(label, opener, self.chunk_bytes):
            frame = pl.DataFrame({"raw": pl.Series(lines, dtype=pl.Binary)})
            with register_frame(con, "chunk", frame):
                found = con.execute(
                    f"""
                    WITH l AS (SELECT try(decode(raw)) AS txt FROM chunk),
                    typed AS (
                        SELECT txt, regexp_extract(left(txt, 64), '{_LOOKUP_PREFIX}', 1) AS kind FROM l
                        WHERE regexp_matches(left(txt, 64), '{_LOOKUP_PREFIX}') AND try(json_valid(txt))
                    )
                    SELECT kind, coalesce(txt->>'$.bot.username', txt->>'$.user.username') AS username,
                           txt->>'$.channel.team' AS team, txt->>'$.channel.name' AS channel,
                           lower(trim(txt->>'$.user.email')) AS email
                    FROM typed
                    """
                ).pl()
            bots.append(found.filter(pl.col("kind") == "bot").select("username"))
            channels.append(found.filter(pl.col("kind") == "channel").select("team", "channel"))
            emails.append(
                found.filter(pl.col("kind") == "user").select(
                    pl.col("username").alias("account_id"), pl.col("email").alias("account_email")
                )
            )
        bot_frame = pl.concat(bots).drop_nulls().unique() if bots else pl.DataFrame(schema={"username": pl.Utf8})
        channel_frame = (
            pl.concat(channels).drop_nulls().unique()
            if channels
            else pl.DataFrame(schema={"team": pl.Utf8, "channel": pl.Utf8})
        )
        email_frame = (
            pl.concat(emails).drop_nulls().unique("account_id", keep="first", maintain_order=True)
            if emails
            else pl.DataFrame(schema={"account_id": pl.Utf8, "account_email": pl.Utf8})
        )
        return _Lookups(bots=bot_frame, channels=channel_frame, emails=email_frame)


# -- inputs --------------------------------------------------------------------------------------

#: Opens one JSONL input as a binary stream (a file, or a member of a zip).
_Opener = Callable[[], AbstractContextManager[IO[bytes]]]


def _jsonl_inputs(path: Path) -> tuple[list[tuple[str, _Opener]], list[SkippedMember]]:
    """(label, opener) for every JSONL file of the input (label names the file for rejects), and
    the zip members left out as unsafe (``archives``)."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.jsonl") if p.is_file())
        if not files:
            raise ConnectorError("a folder without any .jsonl file; expected a Mattermost bulk export (JSON Lines)",
                                 file=str(path))
        return [(f"{path.name}/{p.name}", _file_opener(p)) for p in files], []
    if path.suffix.lower() == ".zip":
        with open_archive(path, what="a zip holding a Mattermost bulk export (.jsonl)") as z:
            members, skipped = safe_members(z, str(path), lambda name: name.suffix.lower() == ".jsonl")
        if not members:
            raise ConnectorError("no readable .jsonl member: expected a Mattermost bulk export", file=str(path))
        names = sorted(m.filename for m in members)
        return [(f"{path.name}/{m}", _zip_opener(path, m)) for m in names], skipped
    return [(path.name, _file_opener(path))], []


def _file_opener(path: Path) -> _Opener:
    @contextmanager
    def open_() -> Iterator[IO[bytes]]:
        try:
            stream = open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ConnectorError(f"cannot open: {exc}", file=str(path)) from exc
        with stream:
            yield stream

    return open_


def _zip_opener(path: Path, member: str) -> _Opener:
    @contextmanager
    def open_() -> Iterator[IO[bytes]]:
        with open_archive(path, what="a zip holding a Mattermost bulk export") as archive, \
                archive.open(member) as stream:
            yield stream

    return open_


def _chunks(label: str, opener: _Opener, chunk_bytes: int) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the chunk's first line, its lines) for the whole stream."""
    line_no = 1
    try:
        with opener() as stream:
            while True:
                lines = stream.readlines(chunk_bytes)
                if not lines:
                    return
                yield line_no, lines
                line_no += len(lines)
    except READ_ERRORS as exc:
        raise ConnectorError(f"cannot read past line {line_no}: {exc}", file=label) from exc


# -- parsing (DuckDB) ------------------------------------------------------------------------------


def _parse_chunk(con: duckdb.DuckDBPyConnection, lines: list[bytes], first_line: int) -> pl.DataFrame:
    """One row per non-blank line: its number, type, typed post/user/bot, and a problem if any."""
    frame = pl.DataFrame({"raw": pl.Series(lines, dtype=pl.Binary)}).with_row_index("__i")
    with register_frame(con, "chunk", frame):
        return con.execute(
            f"""
            WITH l AS (
                SELECT __i + {first_line} AS line_no, try(decode(raw)) AS txt, raw FROM chunk
            ),
            v AS (
                SELECT line_no, txt,
                       CASE WHEN txt IS NULL THEN 'line: not valid UTF-8'
                            WHEN NOT coalesce(try(json_valid(txt)), false) THEN 'line: not valid JSON'
                            WHEN json_type(txt) <> 'OBJECT' THEN 'line: expected a JSON object, found '
                                 || lower(json_type(txt))
                       END AS __problem
                FROM l WHERE txt IS NULL OR trim(txt) <> ''
            ),
            t AS (
                SELECT line_no, __problem, txt,
                       CASE WHEN __problem IS NULL THEN (txt->>'$.type') END AS type,
                       CASE WHEN __problem IS NULL THEN (txt->('$.' || (txt->>'$.type'))) END AS body
                FROM v
            )
            SELECT line_no, __problem, type,
                   CASE WHEN type = 'post' THEN try_cast(body AS {POST_STRUCT}) END AS post,
                   CASE WHEN type = 'direct_post' THEN try_cast(body AS {DIRECT_POST_STRUCT}) END AS direct_post,
                   CASE WHEN type IN ('post', 'direct_post') THEN concat_ws('; ',
                        CASE WHEN json_type(body->'$.create_at') NOT IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'NULL')
                             THEN 'create_at: expected epoch milliseconds, found '
                                  || lower(json_type(body->'$.create_at')) END,
                        CASE WHEN json_type(body->'$.reactions') NOT IN ('ARRAY', 'NULL')
                             THEN 'reactions: expected an array or null' END,
                        CASE WHEN json_type(body->'$.replies') NOT IN ('ARRAY', 'NULL')
                             THEN 'replies: expected an array or null' END,
                        CASE WHEN json_type(body) <> 'OBJECT' THEN type || ': expected an object' END)
                   END AS __post_problem,
                   CASE WHEN type = 'user' THEN try_cast(body AS {USER_STRUCT}) END AS "user",
                   CASE WHEN type = 'bot' THEN try_cast(body AS {BOT_STRUCT}) END AS bot
            FROM t
            ORDER BY line_no
            """
        ).pl()


def _line_rejects(parsed: pl.DataFrame, label: str) -> pl.DataFrame:
    return parsed.filter(pl.col("__problem").is_not_null()).select(
        pl.lit(EVENTS.name).alias("contract"),
        pl.lit(label).alias("file"),
        pl.format("line {}", "line_no").alias("locator"),
        pl.col("__problem").alias("reason"),
        pl.lit(SOURCE).alias("source"),
        pl.lit(None, dtype=pl.Utf8).alias("excerpt"),
    )


# -- accounts --------------------------------------------------------------------------------------


def _accounts(
    parsed: pl.DataFrame, label: str, seen: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """User and bot lines -> accounts (first line of a username kept), rejects, usernames seen so far."""
    users = parsed.filter(pl.col("type") == "user").select(
        "line_no",
        pl.col("user").struct.field("username").alias("account_id"),
        pl.col("user").struct.field("email").str.strip_chars().str.to_lowercase().alias("account_email"),
        pl.col("user").struct.field("username").alias("username"),
        pl.concat_str(
            pl.col("user").struct.field("first_name"), pl.col("user").struct.field("last_name"),
            separator=" ", ignore_nulls=True,
        ).str.strip_chars().alias("__full_name"),
        pl.col("user").struct.field("nickname").alias("__nickname"),
        pl.lit(False).alias("is_automated"),
        (pl.col("user").struct.field("delete_at").fill_null(0) > 0).alias("is_deleted"),
        pl.col("user").struct.field("roles").fill_null("").str.contains(r"\bsystem_guest\b").alias("is_guest"),
    ).with_columns(
        pl.coalesce(
            pl.when(pl.col("__full_name") != "").then(pl.col("__full_name")),
            pl.when(pl.col("__nickname") != "").then(pl.col("__nickname")),
        ).alias("display_name")
    ).drop("__full_name", "__nickname")
    bots = parsed.filter(pl.col("type") == "bot").select(
        "line_no",
        pl.col("bot").struct.field("username").alias("account_id"),
        pl.lit(None, dtype=pl.Utf8).alias("account_email"),
        pl.col("bot").struct.field("username").alias("username"),
        pl.lit(True).alias("is_automated"),
        (pl.col("bot").struct.field("delete_at").fill_null(0) > 0).alias("is_deleted"),
        pl.lit(False).alias("is_guest"),
        pl.col("bot").struct.field("display_name").alias("display_name"),
    )
    accounts = pl.concat([users, bots], how="diagonal").sort("line_no").with_columns(
        pl.lit(SOURCE).alias("source"), pl.format("line {}", "line_no").alias("__locator")
    )
    account = pl.col("account_id")
    duplicate = (
        account.is_in(seen.implode()) | (account.is_duplicated() & ~account.is_first_distinct())
    ) & account.is_not_null()
    rejects = accounts.filter(duplicate).select(
        pl.lit(ACCOUNTS.name).alias("contract"),
        pl.lit(label).alias("file"),
        "__locator",
        pl.lit("username: duplicate user or bot, first kept").alias("reason"),
        pl.lit(SOURCE).alias("source"),
        (pl.lit("username=") + pl.col("account_id")).alias("excerpt"),
    ).rename({"__locator": "locator"})
    kept = accounts.filter(~duplicate)
    return kept, rejects, pl.concat([seen, kept["account_id"].drop_nulls()])


# -- posts, replies, reactions ----------------------------------------------------------------------


def _messages(parsed: pl.DataFrame, lookups: _Lookups) -> pl.DataFrame:
    """One row per post and per reply (text still present: features are computed in ``_events``)."""
    channel_posts = parsed.filter(pl.col("type") == "post").select(
        "line_no",
        "__post_problem",
        pl.col("post").alias("p"),
        pl.col("post").struct.field("team").alias("__team"),
        pl.col("post").struct.field("channel").alias("__channel"),
        pl.lit(None, dtype=pl.List(pl.Utf8)).alias("__members"),
    )
    direct_posts = parsed.filter(pl.col("type") == "direct_post").select(
        "line_no",
        "__post_problem",
        pl.col("direct_post").alias("p"),
        pl.lit(None, dtype=pl.Utf8).alias("__team"),
        pl.lit(None, dtype=pl.Utf8).alias("__channel"),
        pl.col("direct_post").struct.field("channel_members").alias("__members"),
    )
    # channel -> its team when the channel name is declared in exactly one team
    unique_channels = (
        lookups.channels.group_by("channel").agg(pl.col("team").first(), pl.len().alias("n"))
        .filter(pl.col("n") == 1)
        .select(pl.col("channel").alias("__channel"), pl.col("team").alias("__declared_team"))
    )
    declared = lookups.channels.select(
        pl.col("team").alias("__team"), pl.col("channel").alias("__channel"), pl.lit(True).alias("__declared")
    )
    posts = (
        pl.concat(
            [
                channel_posts.with_columns(pl.col("p").struct.unnest()).drop("p", "team", "channel"),
                direct_posts.with_columns(pl.col("p").struct.unnest()).drop("p", "channel_members"),
            ],
            how="diagonal_relaxed",
        )
        .join(declared, on=["__team", "__channel"], how="left")
        .join(unique_channels, on="__channel", how="left")
        .with_columns(
            pl.when(pl.col("__members").is_not_null())
            .then(pl.lit("dm:") + pl.col("__members").list.sort().list.join(","))
            .when(pl.col("__declared").is_null() & pl.col("__declared_team").is_not_null())
            .then(pl.col("__declared_team") + "/" + pl.col("__channel"))
            .otherwise(pl.col("__team") + "/" + pl.col("__channel"))
            .alias("space_id"),
            pl.format("line {}", "line_no").alias("__locator"),
            pl.lit(False).alias("__is_reply"),
        )
        .sort("line_no")
    )
    posts = posts.with_columns(
        (pl.col("space_id") + ":" + pl.col("create_at").cast(pl.Utf8) + ":" + pl.col("user")).alias("content_id")
    )
    posts = posts.with_columns(pl.col("content_id").alias("thread_id"))
    replies = (
        posts.filter(pl.col("replies").list.len() > 0)
        .select(
            "line_no",
            "space_id",
            "thread_id",
            pl.col("replies"),
            pl.int_ranges(pl.col("replies").list.len()).alias("__k"),
        )
        .explode("replies", "__k", empty_as_null=True)
        .with_columns(pl.col("replies").struct.unnest())
        .drop("replies")
        .with_columns(
            (pl.format("line {} replies[{}]", "line_no", "__k")).alias("__locator"),
            pl.lit(True).alias("__is_reply"),
            (pl.col("space_id") + ":" + pl.col("create_at").cast(pl.Utf8) + ":" + pl.col("user")).alias("content_id"),
        )
    )
    return pl.concat([posts.drop("replies"), replies.drop("__k")], how="diagonal_relaxed")


_DUPLICATE = "duplicate: same channel, user and create_at as an earlier line"


def _events(
    messages: pl.DataFrame, lookups: _Lookups, label: str, cutoff: dt.datetime, seen: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """Messages and their reactions -> events (with ``__locator``), rejects, event ids seen so far."""
    user = pl.col("user")
    message = pl.col("message")
    post_type = pl.col("type")
    legacy = post_type.is_null() | (post_type == "")
    legacy_join = legacy & (
        (message == user + " joined the channel.") | (message == user + " joined the team.")
    ).fill_null(False)
    legacy_system = legacy & (
        message.str.ends_with(pl.lit(" added to the channel by ") + user + ".")
        | message.str.ends_with(pl.lit(" added to the team by ") + user + ".")
        | (message == user + " left the channel.")
        | (message == user + " left the team.")
    ).fill_null(False)
    is_join = post_type.is_in(JOIN_TYPES).fill_null(False) | legacy_join
    is_system = (post_type.str.starts_with("system_").fill_null(False) & ~is_join) | legacy_system
    props_flag = pl.col("props").str.json_path_match("$.from_bot").eq("true").fill_null(False) | pl.col(
        "props"
    ).str.json_path_match("$.from_webhook").eq("true").fill_null(False)
    msgs = messages.with_columns(
        pl.when(is_join)
        .then(pl.lit("join"))
        .when(pl.col("attachments").list.len() > 0)
        .then(pl.lit("upload"))
        .when(pl.col("__is_reply"))
        .then(pl.lit("reply"))
        .otherwise(pl.lit("post"))
        .alias("action"),
        (is_system | user.is_in(lookups.bots["username"].implode()) | props_flag).alias("is_automated"),
        pl.when(is_join | is_system).then(None).otherwise(message).alias("__text"),
        pl.from_epoch(pl.col("create_at"), time_unit="ms").dt.replace_time_zone("UTC").alias("occurred_at"),
    ).with_columns(
        *text_features_exprs("__text"),
        pl.col("content_id").alias("event_id"),
    )
    reactions = (
        msgs.filter(pl.col("reactions").list.len() > 0)
        .select(
            "__locator", "space_id", "thread_id", pl.col("event_id").alias("__target"), "reactions",
            pl.int_ranges(pl.col("reactions").list.len()).alias("__k"),
        )
        .explode("reactions", "__k", empty_as_null=True)
        .with_columns(pl.col("reactions").struct.unnest())
        .select(
            (pl.col("__target") + ":react:" + pl.col("emoji_name") + ":" + pl.col("user")).alias("event_id"),
            pl.from_epoch(pl.col("create_at"), time_unit="ms").dt.replace_time_zone("UTC").alias("occurred_at"),
            pl.col("user"),
            pl.lit("react").alias("action"),
            "space_id",
            "thread_id",
            pl.col("__target").alias("content_id"),
            pl.col("user").is_in(lookups.bots["username"].implode()).alias("is_automated"),
            pl.format("{} reactions[{}]", "__locator", "__k").alias("__locator"),
            pl.lit(None, dtype=pl.Utf8).alias("__post_problem"),
            pl.col("emoji_name").alias("__emoji"),
            pl.col("emoji_name").alias("reaction"),
        )
    )
    combined = pl.concat(
        [msgs.with_columns(pl.lit("").alias("__emoji")), reactions], how="diagonal_relaxed"
    ).with_columns(
        pl.lit(SOURCE).alias("source"),
        user.alias("account_id"),
        pl.lit(label).alias("source_file"),
    ).join(lookups.emails, on="account_id", how="left", maintain_order="left")
    reason = pl.coalesce(
        pl.when(pl.col("__post_problem") != "").then(pl.col("__post_problem")),
        pl.when(pl.col("account_id").is_null()).then(pl.lit("user: missing, expected a username")),
        pl.when(pl.col("occurred_at").is_null()).then(pl.lit("create_at: missing, expected epoch milliseconds")),
        pl.when(pl.col("__emoji").is_null()).then(pl.lit("emoji_name: missing")),
        pl.when(pl.col("occurred_at") < EARLIEST_PLAUSIBLE).then(
            pl.lit("create_at: ")
            + pl.col("occurred_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            + pl.lit(f" is before {EARLIEST_PLAUSIBLE:%Y-%m-%d}: a placeholder (epoch 0), not a real time")
        ),
        pl.when(pl.col("occurred_at") > cutoff).then(
            pl.lit("create_at: ")
            + pl.col("occurred_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            + pl.lit(f" is after now + 1 day ({cutoff:%Y-%m-%dT%H:%M:%SZ})")
        ),
        pl.when(pl.col("event_id").is_in(seen.implode())).then(pl.lit(_DUPLICATE)),
        pl.when(pl.col("event_id").is_duplicated() & ~pl.col("event_id").is_first_distinct()).then(pl.lit(_DUPLICATE)),
    )
    combined = combined.with_columns(reason.alias("__reject"))
    rejects = combined.filter(pl.col("__reject").is_not_null()).select(
        pl.lit(EVENTS.name).alias("contract"),
        pl.lit(label).alias("file"),
        pl.col("__locator").alias("locator"),
        pl.col("__reject").alias("reason"),
        pl.lit(SOURCE).alias("source"),
        pl.concat_str(
            pl.lit("space=") + pl.col("space_id"), pl.lit("user=") + pl.col("account_id"),
            separator=" ", ignore_nulls=True,
        ).alias("excerpt"),
    )
    kept = combined.filter(pl.col("__reject").is_null())
    events = kept.select(
        *[c.name for c in EVENTS.columns if c.name in kept.columns], "__locator"
    )
    return events, rejects, pl.concat([seen, kept["event_id"]])
