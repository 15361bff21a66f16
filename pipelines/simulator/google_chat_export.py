"""Google Chat in a Google Takeout (``uptake simulate --formats slack=google_chat``): one simulated
chat platform written as the Takeout of an administrator who belongs to every space,
``takeout-<time>Z-001.zip`` holding ``Takeout/Google Chat/``:

- ``Groups/Space <space id>/messages.json`` (``{"messages": [...]}``, in time order) and
  ``group_info.json`` (``name``, ``members``: everyone in the general space, the people who wrote
  or reacted elsewhere);
- ``Users/User <id>/user_info.json``: the administrator, with ``membership_info``.

A message carries ``creator`` (``name``, ``email``, ``user_type`` ``Human``/``Bot``),
``created_date`` in Takeout's English long form in the Paris display zone (``Monday, January 5,
2026 at 9:15:00\u202fAM CET``: seconds only, a narrow no-break space before AM/PM, ``CET``/``CEST``),
``text`` (mentions as ``@Full Name``), ``topic_id`` and ``message_id`` (``<space>/<topic>/<message>``;
a thread's first message repeats its topic id), ``reactions`` (``emoji.unicode``, ``reactor_emails``;
no time) and ``attached_files`` for uploads (the files themselves are not written). Google Chat
knows people by e-mail only: an account's id is its address, trimmed and lower-cased; bots get a
``@system.gserviceaccount.com`` address. Channel joins are not in a Takeout.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.simulator.output_files import json_bytes, write_zip
from pipelines.simulator.parameters import TIME_ZONE
from pipelines.simulator.platform_formats import (EMOJI_CHARACTERS, chat_events, format_rng, platform_accounts,
                                                  retarget_mentions)
from pipelines.simulator.text import FILE_NAMES
from pipelines.simulator.world import SimulatedWorld

BOT_DOMAIN = "system.gserviceaccount.com"
ID_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype="S1")
NARROW_NBSP = "\u202f"


def _ids(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """``n`` random ids of ``length`` URL-safe characters (distinct with overwhelming probability)."""
    return ID_ALPHABET[rng.integers(len(ID_ALPHABET), size=(n, length))].view(f"S{length}").ravel().astype(str)


def user_ids(world: SimulatedWorld, platform: str, accounts: pl.DataFrame) -> pl.Series:
    """Google Chat account ids of ``accounts`` (rows of ``world.accounts``): the e-mail address,
    trimmed and lower-cased (bots: ``<username>@system.gserviceaccount.com``)."""
    return accounts.select(
        pl.coalesce(pl.col("email").str.strip_chars(), pl.col("username") + f"@{BOT_DOMAIN}")
        .str.to_lowercase().alias("account_id"))["account_id"]


def space_ids(world: SimulatedWorld, platform: str) -> dict[int, str]:
    """Space id (``AAAA`` and 7 characters) per space index of ``platform``."""
    spaces = [j for j, s in enumerate(world.spaces) if s.source == platform]
    codes = _ids(format_rng(world, "google_chat", 1), len(spaces), 7)
    return {j: f"AAAA{c}" for j, c in zip(spaces, codes, strict=True)}


def _created_date(t_us: pl.Expr) -> pl.Expr:
    local = t_us.cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(TIME_ZONE)
    return (local.dt.strftime("%A, %B %-d, %Y at %-I:%M:%S") + NARROW_NBSP + local.dt.strftime("%p %Z"))


def write_google_chat_takeout(world: SimulatedWorld, out_dir: Path, platform: str) -> Path:
    """Write simulated ``platform`` (``slack`` or ``mattermost``) as a Google Takeout of Google Chat."""
    tl = world.timeline
    rng = format_rng(world, "google_chat", 2)
    accounts = platform_accounts(world, platform)
    person = {a: {"name": n, "email": (e.strip() if e else a), "user_type": "Bot" if b else "Human"}
              for a, n, e, b in accounts.select("account_id", "display_name", "email", "is_bot").iter_rows()}
    mention = {old: f"@{name}" for old, name in accounts.select("world_id", "display_name").iter_rows()}
    spaces = space_ids(world, platform)
    ev = chat_events(world, platform).with_columns(created=_created_date(pl.col("t_us")),
                                                   second=pl.col("t_us") // 1_000_000)
    messages = ev.filter(pl.col("kind").is_in(["post", "reply", "upload", "bot"]))
    # thread roots, tombstoned or not (their replies keep the topic): a topic id each
    roots = world.events.events.filter((pl.col("source") == platform)
                                       & pl.col("kind").is_in(["post", "upload", "bot"])).sort("event")
    topic_of = dict(zip(roots["event"].to_list(), _ids(rng, roots.height, 11).tolist(), strict=True))
    second_of = dict(zip(roots["event"].to_list(), (roots["t_us"] // 1_000_000).to_list(), strict=True))
    replies = messages.filter(pl.col("kind") == "reply")
    reply_part = _ids(rng, replies.height, 11)
    for i, (parent, second) in enumerate(replies.select("parent", "second").iter_rows()):
        # a reply in its root's second must sort after the root (the first message of a topic starts it)
        while second == second_of[parent] and reply_part[i] <= topic_of[parent]:
            reply_part[i] = _ids(rng, 1, 11)[0]
    part_of = dict(zip(replies["event"].to_list(), reply_part.tolist(), strict=True))

    reactions: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for parent, emoji, user in ev.filter(pl.col("kind") == "react").select("parent", "emoji", "account_id").iter_rows():
        reactions[parent].setdefault(emoji, []).append(person[user]["email"])
    by_space: dict[int, list[dict[str, object]]] = defaultdict(list)
    for row in messages.iter_rows(named=True):
        event, kind = row["event"], row["kind"]
        root = row["parent"] if kind == "reply" else event
        topic = topic_of[root]
        space = spaces[row["space"]]
        message: dict[str, object] = {
            "creator": person[row["account_id"]],
            "created_date": row["created"],
            "text": retarget_mentions(row["text"], platform, mention) or "",
            "topic_id": topic,
            "message_id": f"{space}/{topic}/{part_of[event] if kind == 'reply' else topic}",
        }
        if event in reactions:
            message["reactions"] = [{"emoji": {"unicode": EMOJI_CHARACTERS[e]}, "reactor_emails": users}
                                    for e, users in reactions[event].items()]
        if kind == "upload":
            name = FILE_NAMES[int(row["file_index"])][0]
            message["attached_files"] = [{"original_name": name, "export_name": f"File-{name}"}]
        by_space[row["space"]].append(message)

    general = {"slack": "general", "mattermost": "town-square"}[platform]
    acted = ev.select("space", "account_id").unique().sort("space", "account_id")
    members: dict[int, set[str]] = defaultdict(set)
    for space, user in acted.iter_rows():
        members[space].add(user)
    everyone = set(person)
    base = "Takeout/Google Chat"
    files: dict[str, bytes] = {}
    for j, space in spaces.items():
        sp = world.spaces[j]
        people = everyone if sp.name == general else members[j]
        folder = f"{base}/Groups/Space {space}"
        files[f"{folder}/group_info.json"] = json_bytes({"name": sp.name,
                                                     "members": [person[a] for a in sorted(people)]})
        files[f"{folder}/messages.json"] = json_bytes({"messages": by_space[j]})
    # the administrator whose Takeout this is: an active employee (a human at least, in a tiny organisation)
    admin = accounts.sort(pl.col("kind") != "employee", "deleted", "is_bot", "account")["account_id"][0]
    digits = format_rng(world, "google_chat", 3).integers(10, size=21)
    user_number = str(1 + digits[0] % 9) + "".join(str(d) for d in digits[1:])
    files[f"{base}/Users/User {user_number}/user_info.json"] = json_bytes({
        "user": person[admin],
        "membership_info": [{"group_name": world.spaces[j].name, "group_id": f"Space {s}",
                             "membership_state": "MEMBER_JOINED"} for j, s in spaces.items()],
    })
    when = dt.datetime.combine(tl.end + dt.timedelta(days=1), dt.time(3, 15))
    path = out_dir / "platforms" / "google_chat" / f"takeout-{when:%Y%m%dT%H%M%S}Z-001.zip"
    return write_zip(path, files, when)
