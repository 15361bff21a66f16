"""Mattermost bulk export (JSONL) of the R&D team: a version line, the team, its channels, users
(referenced by username everywhere), a bot, then root posts with nested ``replies`` and
``reactions`` (``null`` when there are none); times are epoch milliseconds."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import orjson
import polars as pl

from pipelines.simulator.communities import MM_TEAM
from pipelines.simulator.text import FILE_NAMES
from pipelines.simulator.world import SimulatedWorld


def write_mattermost_export(world: SimulatedWorld, out_dir: Path) -> Path:
    tl = world.timeline
    acc = world.accounts.filter(pl.col("source") == "mattermost").sort("username")
    ev = (world.events.events.filter(pl.col("source") == "mattermost")
          .join(world.accounts.select("account", "username"), on="account", how="left")
          .with_columns(create_at=pl.col("t_us") // 1000))
    spaces = [(j, s) for j, s in enumerate(world.spaces) if s.source == "mattermost"]
    channel_of = {j: s.name for j, s in spaces}
    lines: list[dict[str, object]] = [
        {"type": "version", "version": 1},
        {"type": "team", "team": {"name": MM_TEAM, "display_name": "Northwind R&D", "type": "O",
                                  "description": "", "allow_open_invite": True}},
    ]
    for _, s in sorted(spaces, key=lambda js: js[1].name):
        lines.append({"type": "channel", "channel": {
            "team": MM_TEAM, "name": s.name, "display_name": s.name.replace("-", " ").title(), "type": "O",
            "header": "", "purpose": s.purpose}})
    used = (ev.filter(pl.col("kind") != "bot").group_by("username")
            .agg(pl.col("space").unique().sort()))
    channels_of = dict(zip(used["username"].to_list(), used["space"].to_list(), strict=True))
    admin = None
    for row in acc.iter_rows(named=True):
        if row["is_bot"]:
            continue
        admin = admin or row["username"]
        chans = sorted({channel_of[j] for j in channels_of.get(row["username"], [])} | {"town-square"})
        user: dict[str, object] = {
            "username": row["username"], "email": row["email"], "auth_service": "", "nickname": "",
            "first_name": row["first_name"], "last_name": row["last_name"], "position": "",
            "roles": "system_user", "locale": "en",
            "teams": [{"name": MM_TEAM, "roles": "team_user",
                       "channels": [{"name": c, "roles": "channel_user",
                                     "notify_props": {"desktop": "default", "mobile": "default",
                                                      "mark_unread": "all"}, "favorite": False} for c in chans]}],
        }
        if row["deleted"]:
            user["delete_at"] = _ms(tl.sunday(tl.weeks - 1))
        lines.append({"type": "user", "user": user})
    for row in acc.filter(pl.col("is_bot")).iter_rows(named=True):
        lines.append({"type": "bot", "bot": {"username": row["username"], "owner": admin or "admin",
                                             "display_name": row["display_name"], "description": "", "delete_at": 0}})
    replies: dict[int, list[dict[str, object]]] = defaultdict(list)
    for parent, user, text, at in (ev.filter(pl.col("kind") == "reply").sort("t_us")
                                   .select("parent", "username", "text", "create_at").iter_rows()):
        replies[parent].append({"user": user, "message": text, "props": {}, "create_at": at})
    reactions: dict[int, list[dict[str, object]]] = defaultdict(list)
    for parent, user, emoji, at in (ev.filter(pl.col("kind") == "react").sort("t_us")
                                    .select("parent", "username", "emoji", "create_at").iter_rows()):
        reactions[parent].append({"user": user, "create_at": at, "emoji_name": emoji})
    roots = ev.filter(pl.col("kind").is_in(["post", "upload", "bot"])).sort("space", "t_us")
    for row in roots.iter_rows(named=True):
        post: dict[str, object] = {
            "team": MM_TEAM, "channel": channel_of[row["space"]], "user": row["username"], "message": row["text"],
            "props": {}, "create_at": row["create_at"], "reactions": reactions.get(row["event"]),
            "replies": replies.get(row["event"]),
        }
        if row["kind"] == "upload":
            name = FILE_NAMES[int(row["file_index"])][0]
            post["attachments"] = [{"path": f"data/{row['create_at']}/{name}"}]
        lines.append({"type": "post", "post": post})
    path = out_dir / "platforms" / "mattermost" / f"{MM_TEAM}_bulk_export.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def _ms(day: dt.date) -> int:
    return int((day - dt.date(1970, 1, 1)).total_seconds()) * 1000
