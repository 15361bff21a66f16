"""Rocket.Chat ``mongoexport`` dumps (``uptake simulate --formats mattermost=rocket_chat``): one
simulated chat platform written as the JSON lines that ``mongoexport --collection=...`` writes, in a
directory ``platforms/rocket_chat/rocketchat-<last day>/``:

- ``users.json``: one document per account (``_id`` a 17-character Meteor id, ``username``,
  ``name``, ``emails[{address}]`` as planted, ``type`` ``user``/``bot``, ``roles`` (``guest`` for
  contractors, ``bot`` for bots), ``active`` false for deactivated leavers), and ``rocket.cat``;
- ``rocketchat_room.json``: a room per channel (``GENERAL`` for the general one; ``t`` ``c`` or
  ``p``);
- ``rocketchat_message.json``: in time order, ``ts`` and ``_updatedAt`` as relaxed Extended JSON
  (``{"$date": "...Z"}``, milliseconds); replies with ``tmid`` (their root carries ``tcount``,
  ``tlm``, ``replies``), uploads with ``file``/``files``/``attachments``, reactions as
  ``{":emoji:": {"usernames": [...]}}`` (no time), bot messages with ``bot``, channel joins as
  ``t: "uj"`` system messages, mentions as ``@username`` with ``mentions[]``, and for an edited
  message its edit-history copy (``_hidden: true``, ``parent``) as Rocket.Chat keeps it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import orjson
import polars as pl

from pipelines.simulator.platform_formats import chat_events, format_rng, platform_accounts, retarget_mentions
from pipelines.simulator.text import FILE_NAMES
from pipelines.simulator.world import SimulatedWorld

METEOR_ALPHABET = np.frombuffer(b"23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz", dtype="S1")
GENERAL_ROOM = "GENERAL"
_MENTION = re.compile(r"@([\w.\-]*\w)")
ROCKET_CAT = "rocket.cat"
#: Rocket.Chat's (emojione) names of the simulator's emoji.
EMOJI: dict[str, str] = {"+1": ":thumbsup:", "heart": ":heart:", "tada": ":tada:", "clap": ":clap:", "eyes": ":eyes:",
                         "white_check_mark": ":white_check_mark:", "raised_hands": ":raised_hands:", "joy": ":joy:"}


def _meteor_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` Meteor ``Random.id()``-style ids: 17 characters of an unambiguous alphabet."""
    chars = METEOR_ALPHABET[rng.integers(len(METEOR_ALPHABET), size=(n, 17))]
    return chars.view("S17").ravel().astype(str)


def user_ids(world: SimulatedWorld, platform: str, accounts: pl.DataFrame) -> pl.Series:
    """Rocket.Chat user ids of ``accounts`` (``platform``'s rows of ``world.accounts``, in order)."""
    return pl.Series("account_id", _meteor_ids(format_rng(world, "rocket_chat", 1), accounts.height), dtype=pl.Utf8)


def space_ids(world: SimulatedWorld, platform: str) -> dict[int, str]:
    """Room id per space index of ``platform``: ``GENERAL`` for the general channel."""
    spaces = [j for j, s in enumerate(world.spaces) if s.source == platform]
    ids = _meteor_ids(format_rng(world, "rocket_chat", 2), len(spaces))
    return {j: GENERAL_ROOM if world.spaces[j].kind == "general" and world.spaces[j].name in ("general", "town-square")
            else str(i) for j, i in zip(spaces, ids, strict=True)}


def system_accounts() -> pl.DataFrame:
    """``rocket.cat``, the bot every Rocket.Chat server has."""
    return pl.DataFrame({"account_id": [ROCKET_CAT], "username": [ROCKET_CAT], "display_name": ["Rocket.Cat"]})


def _date(t_ms: int) -> dict[str, str]:
    seconds, ms = divmod(int(t_ms), 1000)
    text = np.datetime_as_string(np.datetime64(seconds, "s"), unit="s")
    return {"$date": f"{text}.{ms:03d}Z"}


def _line(doc: dict[str, object]) -> bytes:
    return orjson.dumps(doc) + b"\n"


def write_rocket_chat_export(world: SimulatedWorld, out_dir: Path, platform: str) -> Path:
    """Write simulated ``platform`` (``slack`` or ``mattermost``) as Rocket.Chat mongoexport dumps."""
    tl = world.timeline
    rng = format_rng(world, "rocket_chat", 3)
    accounts = platform_accounts(world, platform)
    user = {a: {"_id": a, "username": u, "name": n} for a, u, n in
            accounts.select("account_id", "username", "display_name").iter_rows()}
    mention = {old: f"@{name}" for old, name in accounts.select("world_id", "username").iter_rows()}
    by_username = {u["username"]: a for a, u in user.items()}
    rooms = space_ids(world, platform)
    ev = chat_events(world, platform).with_columns(t_ms=pl.col("t_us") // 1000)
    messages = ev.filter(pl.col("kind") != "react")
    ids = _meteor_ids(rng, messages.height)
    id_of = dict(zip(messages["event"].to_list(), ids.tolist(), strict=True))
    history_ids = _meteor_ids(rng, messages.height)
    file_ids = _meteor_ids(rng, messages.height)

    reactions: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for parent, emoji, author in ev.filter(pl.col("kind") == "react").select("parent", "emoji", "account_id").iter_rows():
        reactions[parent].setdefault(EMOJI[emoji], []).append(user[author]["username"])
    thread: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for parent, author, t_ms in messages.filter(pl.col("kind") == "reply").select("parent", "account_id", "t_ms").iter_rows():
        thread[parent].append((author, t_ms))
    bot_ids = {a: str(i) for a, i in zip(sorted(accounts.filter(pl.col("is_bot"))["account_id"].to_list()),
                                          _meteor_ids(rng, int(accounts["is_bot"].sum())), strict=True)}

    lines: list[bytes] = []
    last_update: dict[str, int] = defaultdict(int)
    for i, row in enumerate(messages.iter_rows(named=True)):
        event, kind, author, t_ms = row["event"], row["kind"], row["account_id"], row["t_ms"]
        room = rooms[row["space"]]
        last_update[room] = max(last_update[room], t_ms)
        doc: dict[str, object] = {"_id": id_of[event], "rid": room}
        if kind == "join":
            doc.update({"msg": user[author]["username"], "t": "uj", "ts": _date(t_ms), "u": user[author],
                        "groupable": False, "_updatedAt": _date(t_ms)})
            lines.append(_line(doc))
            continue
        text = retarget_mentions(row["text"], platform, mention) or ""
        doc.update({"msg": text, "ts": _date(t_ms), "u": user[author]})
        if kind == "bot":
            doc.update({"bot": {"i": bot_ids[author]}, "alias": user[author]["name"], "groupable": False})
        else:
            named = sorted({by_username[u] for u in _MENTION.findall(text) if u in by_username}) if "@" in text else []
            doc.update({"mentions": [{**user[a], "type": "user"} for a in named], "channels": []})
        if kind == "reply":
            doc["tmid"] = id_of.get(row["parent"]) or _meteor_ids(rng, 1)[0]  # a deleted root's id is gone
        if kind == "upload":
            name, mime, _ = FILE_NAMES[int(row["file_index"])]
            meta = {"_id": str(file_ids[i]), "name": name, "type": mime, "size": int(20_000 + (i * 7919) % 900_000)}
            doc.update({"file": meta, "files": [meta], "attachments": [
                {"type": "file", "title": name, "title_link": f"/file-upload/{file_ids[i]}/{name}",
                 "title_link_download": True, "description": text}]})
        if event in reactions:
            doc["reactions"] = {e: {"usernames": names} for e, names in reactions[event].items()}
        if event in thread:
            doc.update({"tcount": len(thread[event]), "tlm": _date(thread[event][-1][1]),
                        "replies": list(dict.fromkeys(a for a, _ in thread[event]))})
        updated = t_ms
        if row["edited"]:
            updated = t_ms + 120_000
            doc["editedAt"] = _date(updated)
            doc["editedBy"] = {"_id": author, "username": user[author]["username"]}
        doc["_updatedAt"] = _date(updated)
        if row["edited"]:  # the copy of the first version Rocket.Chat keeps (not an action)
            lines.append(_line({"_id": str(history_ids[i]), "rid": room, "msg": text.split("\n")[0], "ts": _date(t_ms),
                                "u": user[author], "_hidden": True, "parent": id_of[event],
                                "_updatedAt": _date(updated)}))
        lines.append(_line(doc))

    folder = out_dir / "platforms" / "rocket_chat" / f"rocketchat-{tl.end.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rocketchat_message.json").write_bytes(b"".join(lines))
    (folder / "users.json").write_bytes(b"".join(_line(d) for d in _users(world, accounts)))
    (folder / "rocketchat_room.json").write_bytes(b"".join(_line(d) for d in _rooms(world, rooms, messages,
                                                                                      last_update)))
    return folder


def _users(world: SimulatedWorld, accounts: pl.DataFrame) -> list[dict[str, object]]:
    tl = world.timeline
    start_ms = int((np.datetime64(tl.start, "ms") - np.datetime64(0, "ms")).astype(np.int64))
    docs: list[dict[str, object]] = [{
        "_id": ROCKET_CAT, "createdAt": _date(start_ms - 120 * 86_400_000), "username": ROCKET_CAT,
        "name": "Rocket.Cat", "type": "bot", "active": True, "roles": ["bot"], "status": "online",
        "_updatedAt": _date(start_ms - 120 * 86_400_000)}]
    for row in accounts.iter_rows(named=True):
        created = start_ms + 7 * 86_400_000 * max(int(row["created_week"]), 0) + 8 * 3_600_000
        roles = ["bot"] if row["is_bot"] else ["guest"] if row["kind"] == "contractor" else ["user"]
        doc: dict[str, object] = {"_id": row["account_id"], "createdAt": _date(created), "username": row["username"],
                                  "name": row["display_name"]}
        if row["email"] is not None:
            doc["emails"] = [{"address": row["email"], "verified": True}]
        doc.update({"type": "bot" if row["is_bot"] else "user", "active": not row["deleted"], "roles": roles,
                    "status": "offline", "utcOffset": 1, "_updatedAt": _date(created)})
        docs.append(doc)
    return docs


def _rooms(world: SimulatedWorld, rooms: dict[int, str], messages: pl.DataFrame,
           last_update: dict[str, int]) -> list[dict[str, object]]:
    start_ms = int((np.datetime64(world.timeline.start, "ms") - np.datetime64(0, "ms")).astype(np.int64))
    counts = dict(messages.group_by("space").len().iter_rows())
    docs = []
    for k, (j, rid) in enumerate(rooms.items()):
        sp = world.spaces[j]
        created = start_ms - (60 + k) * 86_400_000
        doc: dict[str, object] = {"_id": rid, "t": "p" if sp.private else "c", "name": sp.name, "fname": sp.name,
                                  "msgs": int(counts.get(j, 0)), "ts": _date(created), "topic": sp.purpose,
                                  "_updatedAt": _date(last_update.get(rid, created))}
        if rid == GENERAL_ROOM:
            doc["default"] = True
        docs.append(doc)
    return docs
