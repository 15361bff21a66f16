"""Google Chat connector (``platforms/google_chat/``: one Google Takeout per input, a directory or a
``.zip``/``.tgz``/``.tar.gz``, holding ``Google Chat/Groups/<Space|DM ...>/`` folders). Archives are
read through ``archives`` (``chat_export.export_root``): JSON members only, unsafe members (``..``,
absolute paths, links) and damaged zip members quarantined (``locator`` = the member), decompression
bombs and damaged tarballs refused.

What it reads
-------------
- ``Google Chat/Groups/<group>/messages.json`` (``{"messages": [...]}``) -> events, one group per
  DuckDB query (reading only the fields below).
- ``Google Chat/Groups/<group>/group_info.json`` (``members``) and
  ``Google Chat/Users/<user>/user_info.json`` (``user``) -> ``accounts``, with the message
  creators and reactors. Google Chat identifies people by e-mail address only.
- Attachments themselves and ``membership_info`` are not read.

Mapping
-------
- time: ``created_date``, Takeout's English long form ``Monday, March 4, 2024 at 9:15:00 AM UTC``
  (a narrow no-break space before ``AM``/``PM`` as in recent Takeouts is accepted). The zone is
  the account's display zone: ``UTC``/``GMT``, ``GMT+2``/``UTC-05:30`` offsets, or one of the
  abbreviations of :data:`ZONE_OFFSETS` (fixed offsets; ambiguous abbreviations such as ``IST``
  are not guessed and the row is quarantined).
- ``space_id``: the group folder's id (``Space AAAAbcdE12`` -> ``AAAAbcdE12``; ``DM x`` ->
  ``dm:x``; ``Group x`` -> ``group:x``).
- threads: every message carries a ``topic_id``; the earliest message of a topic in its group is a
  ``post``, the later ones ``reply`` (``thread_id`` = the topic's first ``message_id``). In an
  unthreaded space or a DM each message has its own topic, so each is a post.
- ``attached_files`` -> ``upload``.
- ``reactions[].reactor_emails`` -> one ``react`` event per reactor and emoji (``emoji.unicode``,
  else the custom emoji's name or uid). Takeout carries no reaction time: the reaction takes its
  message's time (a lower bound).
- ``creator.user_type`` = ``Bot`` -> ``is_automated`` (the bot's messages and account).
- ``account_id`` = ``account_email`` = the lower-cased e-mail address.
- a message with ``deleted_date`` is kept as the action it was, without text features.

event_id scheme (``message_id`` is Google's own ``<space>/<topic>/<message>`` id)
--------------------------------------------------------------------------------
- message: ``<message_id>`` (also its ``content_id``)
- reaction: ``<message_id>:react:<emoji>:<email>``; ``content_id`` = the message's
  ``message_id``, ``reaction`` = the emoji (two emoji of one person on one message stay two
  reactions after cleaning).

Quarantined (``rejects``, ``file`` = the Takeout, ``locator`` =
``<group>/messages.json[message_id=...]``): a missing ``message_id`` or creator e-mail, a
``created_date`` that cannot be read or whose zone is unknown, a time after now + 1 day, a repeated
``message_id``; a ``messages.json`` that is not valid JSON or is a folder (the whole file; the other
groups go on); a ``group_info.json`` or ``user_info.json`` that cannot be read (``accounts``; those
people are then known from the messages only); an archive member not read (above). A
:class:`~pipelines.connectors.base.ConnectorError` is raised when the archive cannot be opened, is a
bomb or a damaged tarball, or holds no ``Google Chat/Groups`` folder (so is a folder named like an
archive that holds no Takeout).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal

import duckdb
import polars as pl

from pipelines.connectors.base import Batch, Connector, ConnectorError, TableName
from pipelines.connectors.chat_export import (error_text, export_root, future_cutoff, future_reason, is_archive,
                                              reject_rows, skipped_rejects, split_events)
from pipelines.connectors.text_features import text_features_exprs
from transforms.contracts import ACCOUNTS, EVENTS, conform

log = logging.getLogger(__name__)

SOURCE = "google_chat"
CHAT_FOLDER = "Google Chat"
#: Fixed offsets (hours) of the zone abbreviations Takeout writes; others are quarantined.
ZONE_OFFSETS: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2, "MET": 1, "MEST": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11,
    "ACST": 9.5, "ACDT": 10.5, "AWST": 8, "NZST": 12, "NZDT": 13, "SGT": 8, "HKT": 8,
}
_DATE_PATTERN = (
    r"^\s*(?:[^\s,]+,\s*)?([A-Za-z]+ \d{1,2}, \d{4}) at (\d{1,2}:\d{2}:\d{2})[\s\x{202F}\x{00A0}]*([AaPp][Mm])"
    r"[\s\x{202F}\x{00A0}]+(\S+)\s*$"
)
_OFFSET_PATTERN = r"^(?:UTC|GMT)([+-])(\d{1,2})(?::?(\d{2}))?$"
_MESSAGE = (
    "STRUCT(creator STRUCT(name VARCHAR, email VARCHAR, user_type VARCHAR), created_date VARCHAR, "
    "deleted_date VARCHAR, \"text\" VARCHAR, topic_id VARCHAR, message_id VARCHAR, "
    "reactions STRUCT(emoji STRUCT(\"unicode\" VARCHAR, custom_emoji STRUCT(uid VARCHAR, name VARCHAR)), "
    "reactor_emails VARCHAR[])[], attached_files STRUCT(original_name VARCHAR, export_name VARCHAR)[])[]"
)
_PERSON = "STRUCT(name VARCHAR, email VARCHAR, user_type VARCHAR)"


def parse_created_date(column: str) -> pl.Expr:
    """Polars: Takeout's ``created_date`` text -> ``Datetime("us", "UTC")`` (null if unreadable or
    the zone is unknown; see the module docstring)."""
    parts = pl.col(column).str.extract_groups(_DATE_PATTERN)
    local = pl.concat_str(
        parts.struct.field("1"), pl.lit(" "), parts.struct.field("2"), pl.lit(" "),
        parts.struct.field("3").str.to_uppercase(),
    ).str.to_datetime("%B %d, %Y %I:%M:%S %p", strict=False, time_unit="us")
    zone = parts.struct.field("4").str.to_uppercase()
    named = zone.replace_strict(list(ZONE_OFFSETS), [float(v) for v in ZONE_OFFSETS.values()], default=None,
                                 return_dtype=pl.Float64)
    offset = zone.str.extract_groups(_OFFSET_PATTERN)
    explicit = (
        pl.when(offset.struct.field("1") == "-").then(-1.0).otherwise(1.0)
        * (offset.struct.field("2").cast(pl.Float64, strict=False)
           + offset.struct.field("3").cast(pl.Float64, strict=False).fill_null(0) / 60)
    )
    hours = pl.coalesce(named, explicit)
    return (local - pl.duration(microseconds=(hours * 3_600_000_000).round().cast(pl.Int64))).dt.replace_time_zone(
        "UTC"
    )


class GoogleChatConnector(Connector):
    """Google Chat in a Google Takeout (directory or archive) -> events and accounts."""

    name: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Google Chat (Google Takeout)"
    kind: ClassVar[Literal["platform", "hr"]] = "platform"
    yields: ClassVar[tuple[TableName, ...]] = ("events", "accounts")
    cannot_see: ClassVar[tuple[str, ...]] = ("visit", "read", "share", "join")
    reads: ClassVar[str] = (
        "Google Takeout, directory or .zip/.tgz: Google Chat/Groups/*/messages.json and group_info.json, "
        "Google Chat/Users/*/user_info.json (people by e-mail)"
    )

    def __init__(self, now: dt.datetime | None = None) -> None:
        """``now`` is for tests (the future-time cutoff)."""
        self._now = now

    def recognises(self, path: Path) -> bool:
        """A directory holding a ``Google Chat`` folder (at any depth up to three), or anything named
        like an archive (a folder so named without a Takeout in it is reported by ``read``)."""
        if path.is_dir() and _chat_folder(path) is not None:
            return True
        return is_archive(path)

    def read(self, path: Path) -> Iterator[Batch]:
        with export_root(path, prefix="gchat", find_root=lambda p: _chat_folder(p) or p,
                         what="a Google Takeout holding Google Chat") as (root, skipped):
            if skipped:
                yield Batch("rejects", skipped_rejects(skipped, file=path.name, source=SOURCE, contract_of=_contract_of))
            if not (root / "Groups").is_dir():
                raise ConnectorError(f"not a Google Chat Takeout: no '{CHAT_FOLDER}/Groups' folder", file=path.name)
            con = duckdb.connect()
            try:
                yield from self._read_root(con, root, path.name)
            finally:
                con.close()

    def _read_root(self, con: duckdb.DuckDBPyConnection, root: Path, export: str) -> Iterator[Batch]:
        cutoff = future_cutoff(self._now)
        members, unreadable = self._people(con, root, export)
        people: list[pl.DataFrame] = [members]
        n_events, n_rejects = 0, unreadable.height
        if unreadable.height:
            yield Batch("rejects", unreadable)
        for group in sorted(p for p in (root / "Groups").iterdir() if p.is_dir()):
            messages = group / "messages.json"
            member = f"{group.name}/messages.json"
            if not messages.exists():
                continue  # a group without messages
            if not messages.is_file():
                n_rejects += 1
                yield Batch("rejects", reject_rows(
                    contract=EVENTS.name, file=export, locators=[member], source=SOURCE,
                    reason="a folder (or not a regular file); expected Google Chat's messages.json",
                ))
                continue
            try:
                raw = con.execute(
                    f"SELECT unnest(messages) AS m FROM read_json(?, columns={{'messages': '{_MESSAGE}'}}, "
                    "format='auto', maximum_object_size=2147483647)",
                    [str(messages)],
                ).pl().unnest("m")
            except duckdb.Error as exc:
                n_rejects += 1
                yield Batch("rejects", reject_rows(
                    contract=EVENTS.name, file=export, locators=[member], source=SOURCE,
                    reason="not a readable Google Chat messages.json (expected a JSON object with a messages "
                           f"array): {error_text(exc, root)}",
                ))
                continue
            events, rejects = _map_group(raw, _space_id(group.name), member, export, cutoff)
            people.append(raw.select(
                pl.col("creator").struct.field("email").alias("email"),
                pl.col("creator").struct.field("name").alias("name"),
                pl.col("creator").struct.field("user_type").alias("user_type"),
            ))
            reactors = raw.select(pl.col("reactions").explode(empty_as_null=True).struct.field("reactor_emails")
                                  .explode(empty_as_null=True).alias("email"))
            people.append(reactors.with_columns(pl.lit(None, pl.Utf8).alias("name"), pl.lit(None, pl.Utf8).alias("user_type")))
            n_events += events.height
            n_rejects += rejects.height
            yield Batch("events", events)
            if rejects.height:
                yield Batch("rejects", rejects)
        accounts = _accounts(people)
        good, bad = conform(accounts, ACCOUNTS, file=export, locator_column="__locator")
        if good.height:
            yield Batch("accounts", good)
        if bad.height:
            yield Batch("rejects", bad.with_columns(pl.lit(SOURCE).alias("source")))
        log.info("google_chat %s: %d events, %d accounts, %d rejected", export, n_events, good.height, n_rejects)

    def _people(self, con: duckdb.DuckDBPyConnection, root: Path, export: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Members of every group and the users of ``Users/*/user_info.json``, and a reject for each of
        these files that cannot be read (its people are then known from the messages only)."""
        sources = [(p, f"{p.parent.name}/group_info.json", "unnest(members) AS p", f"{{'members': '{_PERSON}[]'}}")
                   for p in sorted((root / "Groups").glob("*/group_info.json"))]
        if (root / "Users").is_dir():
            sources += [(p, f"Users/{p.parent.name}/user_info.json", "\"user\" AS p", f"{{'user': '{_PERSON}'}}")
                        for p in sorted((root / "Users").glob("*/user_info.json"))]
        frames = [pl.DataFrame(schema={"email": pl.Utf8, "name": pl.Utf8, "user_type": pl.Utf8})]
        bad: list[tuple[str, str]] = []
        for path, locator, select, columns in sources:
            if not path.is_file():
                bad.append((locator, "a folder (or not a regular file); expected a JSON file of people"))
                continue
            try:
                frame = con.execute(f"SELECT {select} FROM read_json(?, columns={columns}, format='auto')",
                                    [str(path)]).pl()
            except duckdb.Error as exc:
                bad.append((locator, f"not readable (its people are taken from the messages only): "
                                     f"{error_text(exc, root)}"))
                continue
            frames.append(frame.unnest("p").select("email", "name", "user_type"))
        for locator, reason in bad:
            log.warning("google_chat %s: %s quarantined: %s", export, locator, reason)
        rejects = reject_rows(contract=ACCOUNTS.name, file=export, locators=[b[0] for b in bad],
                              reason=[b[1] for b in bad], source=SOURCE)
        return pl.concat(frames), rejects


def _map_group(
    raw: pl.DataFrame, space_id: str, member: str, export: str, cutoff: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Messages of one group -> (events, rejects)."""
    email = pl.col("creator").struct.field("email").str.strip_chars().str.to_lowercase()
    frame = raw.with_row_index("__row").with_columns(
        email.alias("account_id"),
        email.alias("account_email"),
        parse_created_date("created_date").alias("occurred_at"),
        (pl.col("creator").struct.field("user_type").str.to_lowercase() == "bot").fill_null(False).alias("is_automated"),
    )
    zone = pl.col("created_date").str.extract(_DATE_PATTERN, 4)
    reason = (
        pl.when(pl.col("message_id").is_null()).then(pl.lit("message_id: missing"))
        .when(pl.col("account_id").is_null() | (pl.col("account_id") == "")).then(
            pl.lit("creator.email: missing, expected the author's e-mail address"))
        .when(pl.col("created_date").is_null()).then(pl.lit("created_date: missing"))
        .when(zone.is_null()).then(
            pl.lit("created_date: expected e.g. 'Monday, March 4, 2024 at 9:15:00 AM UTC', found '")
            + pl.col("created_date").str.slice(0, 60) + pl.lit("'"))
        .when(pl.col("occurred_at").is_null()).then(
            pl.lit("created_date: unknown or ambiguous time zone '") + zone + pl.lit("' (expected UTC, GMT+h or one of ")
            + pl.lit(", ".join(sorted(ZONE_OFFSETS)[:6])) + pl.lit("...)"))
        .when(pl.col("occurred_at") > cutoff).then(pl.lit(future_reason("created_date")))
        .when(pl.col("message_id").is_duplicated() & ~pl.col("message_id").is_first_distinct()).then(
            pl.lit("message_id: duplicate, first seen earlier in this file"))
    )
    frame = frame.with_columns(reason.alias("__reject"))
    ok = pl.col("__reject").is_null()
    roots = (
        frame.filter(ok).sort("occurred_at", "message_id")
        .group_by("topic_id", maintain_order=True).agg(pl.col("message_id").first().alias("__root"))
    )
    frame = frame.join(roots, on="topic_id", how="left", maintain_order="left")
    is_post = pl.col("__root").is_null() | (pl.col("__root") == pl.col("message_id"))
    has_file = pl.col("attached_files").list.len().fill_null(0) > 0
    locator = pl.lit(f"{member}[message_id=") + pl.col("message_id").fill_null("missing") + pl.lit("]")
    messages = frame.with_columns(
        pl.lit(SOURCE).alias("source"),
        pl.col("message_id").alias("event_id"),
        pl.when(has_file).then(pl.lit("upload")).when(is_post).then(pl.lit("post")).otherwise(pl.lit("reply"))
        .alias("action"),
        pl.lit(space_id).alias("space_id"),
        pl.coalesce("__root", "message_id").alias("thread_id"),
        pl.col("message_id").alias("content_id"),
        pl.when(pl.col("deleted_date").is_null()).then(pl.col("text")).alias("__text"),
        pl.lit(member).alias("source_file"),
        locator.alias("__locator"),
        (pl.lit("message_id=") + pl.col("message_id").fill_null("missing")).alias("__excerpt"),
    ).with_columns(*text_features_exprs("__text"))
    good, rejects = split_events(messages.drop("text", "__text"), file=export, source=SOURCE)
    reactions = _reactions(messages.filter(ok), member)
    good_r, rejects_r = split_events(reactions, file=export, source=SOURCE)
    return pl.concat([good, good_r]), pl.concat([rejects, rejects_r])


def _reactions(messages: pl.DataFrame, member: str) -> pl.DataFrame:
    """One ``react`` event per reactor and emoji of each kept message (none from the same reactor
    twice under one emoji)."""
    exploded = (
        messages.select("message_id", "occurred_at", "space_id", "thread_id", "reactions")
        .explode("reactions", empty_as_null=True)
        .filter(pl.col("reactions").is_not_null())
        .with_columns(
            pl.coalesce(
                pl.col("reactions").struct.field("emoji").struct.field("unicode"),
                pl.col("reactions").struct.field("emoji").struct.field("custom_emoji").struct.field("name"),
                pl.col("reactions").struct.field("emoji").struct.field("custom_emoji").struct.field("uid"),
            ).alias("__emoji"),
            pl.col("reactions").struct.field("reactor_emails").alias("account_id"),
        )
        .explode("account_id", empty_as_null=True)
        .filter(pl.col("account_id").is_not_null() & pl.col("__emoji").is_not_null())
        .with_columns(pl.col("account_id").str.strip_chars().str.to_lowercase())
    )
    reaction_id = pl.col("message_id") + ":react:" + pl.col("__emoji") + ":" + pl.col("account_id")
    return exploded.select(
        pl.lit(SOURCE).alias("source"),
        reaction_id.alias("event_id"),
        "occurred_at",
        "account_id",
        pl.col("account_id").alias("account_email"),
        pl.lit("react").alias("action"),
        "space_id",
        "thread_id",
        pl.col("message_id").alias("content_id"),
        pl.col("__emoji").alias("reaction"),
        pl.lit(False).alias("is_automated"),
        pl.lit(member).alias("source_file"),
        (pl.lit(f"{member}[message_id=") + pl.col("message_id") + "].reactions[" + pl.col("__emoji") + "]").alias("__locator"),
        (pl.lit("message_id=") + pl.col("message_id")).alias("__excerpt"),
        pl.when(reaction_id.is_duplicated() & ~reaction_id.is_first_distinct())
        .then(pl.lit("reaction: the same reactor listed twice under one emoji")).otherwise(None).alias("__reject"),
    )


def _accounts(people: list[pl.DataFrame]) -> pl.DataFrame:
    """One account per e-mail address: a known name and bot flag win over reactor-only mentions."""
    frame = pl.concat(people).with_columns(pl.col("email").str.strip_chars().str.to_lowercase())
    frame = frame.filter(pl.col("email").is_not_null() & (pl.col("email") != ""))
    return (
        frame.sort("email", pl.col("name").is_null(), "name")
        .group_by("email", maintain_order=True)
        .agg(pl.col("name").first(), (pl.col("user_type").str.to_lowercase() == "bot").any().alias("is_automated"))
        .select(
            pl.lit(SOURCE).alias("source"),
            pl.col("email").alias("account_id"),
            pl.col("email").alias("account_email"),
            pl.lit(None, pl.Utf8).alias("account_upn"),
            pl.lit(None, pl.Utf8).alias("employee_number"),
            pl.col("email").str.split("@").list.first().alias("username"),
            pl.col("name").alias("display_name"),
            pl.col("is_automated").fill_null(False),
            pl.lit(False).alias("is_deleted"),
            pl.lit(None, pl.Boolean).alias("is_guest"),
            (pl.lit("account[") + pl.col("email") + "]").alias("__locator"),
        )
        .sort("account_id")
    )


def _space_id(folder: str) -> str:
    kind, _, ident = folder.partition(" ")
    if not ident:
        return folder
    if kind == "Space":
        return ident
    return f"{kind.lower()}:{ident}"


def _contract_of(member: str) -> str:
    """The contract of the rows an archive member holds (people files hold accounts)."""
    return ACCOUNTS.name if member in ("group_info.json", "user_info.json") else EVENTS.name


def _chat_folder(path: Path) -> Path | None:
    """The ``Google Chat`` folder at ``path`` or up to three levels below it."""
    for depth in range(4):
        pattern = "/".join(["*"] * depth + [CHAT_FOLDER]) if depth else CHAT_FOLDER
        found = sorted(p for p in path.glob(pattern) if p.is_dir())
        if found:
            return found[0]
    return None


__all__ = ["GoogleChatConnector", "ZONE_OFFSETS", "parse_created_date"]
