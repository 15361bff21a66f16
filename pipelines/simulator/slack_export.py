"""Slack workspace export (ZIP): users.json, channels.json, integration_logs.json and one folder per
channel of day files ``YYYY-MM-DD.json`` (one per channel per *local* day of the workspace time
zone, Europe/Paris), each an indented JSON array of messages sorted by ``ts``.

Realistic traps planted: bot messages without ``user`` (``bot_message`` + ``bot_id``), deleted users
without ``is_bot``, guests (``is_restricted``), ``channel_join`` messages, thread parents with
``replies``/``reply_count``, replies with ``parent_user_id``, ``thread_broadcast`` replies carrying
their ``root``, ``tombstone`` parents (deleted, ``hidden``), ``files[]`` uploads, ``edited`` marks,
reactions without timestamps, escaped slashes, messages near local midnight.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import polars as pl

from pipelines.simulator.output_files import write_zip
from pipelines.simulator.events import utc_us_to_local_date
from pipelines.simulator.identity import _random_ids, _uuid_like
from pipelines.simulator.parameters import ORGANISATION, TIME_ZONE
from pipelines.simulator.text import FILE_NAMES
from pipelines.simulator.world import SimulatedWorld


def _ts(t_us: pl.Expr) -> pl.Expr:
    return (t_us // 1_000_000).cast(pl.Utf8) + "." + (t_us % 1_000_000).cast(pl.Utf8).str.zfill(6)


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, indent=4, ensure_ascii=False).replace("/", "\\/").encode("utf-8")


def slack_messages(world: SimulatedWorld) -> pl.DataFrame:
    """The Slack events with their ts strings, local dates and author ids."""
    acc = world.accounts.select("account", "account_id", "username")
    ev = world.events.events.filter(pl.col("source") == "slack")
    return ev.join(acc, on="account", how="left").with_columns(
        ts=_ts(pl.col("t_us")),
        local_date=utc_us_to_local_date(pl.col("t_us")),
    )


def _users(world: SimulatedWorld, team_id: str, bot_ids: dict[str, str]) -> list[dict[str, object]]:
    acc = world.accounts.filter(pl.col("source") == "slack").sort("account_id")
    colors = ["9f69e7", "4bbe2e", "e7392d", "3c989f", "674b1b", "e96699", "5b89d5", "e0a729"]
    users = []
    for i, row in enumerate(acc.iter_rows(named=True)):
        if row["is_bot"]:
            users.append({
                "id": row["account_id"], "team_id": team_id, "name": row["username"], "deleted": False,
                "color": colors[i % len(colors)], "real_name": row["display_name"],
                "tz": TIME_ZONE, "tz_label": "Central European Time", "tz_offset": 3600,
                "profile": {"real_name": row["display_name"], "display_name": "", "bot_id": bot_ids[row["username"]],
                            "api_app_id": "A" + bot_ids[row["username"]][1:], "always_active": True,
                            "first_name": row["display_name"], "last_name": "", "team": team_id},
                "is_admin": False, "is_owner": False, "is_primary_owner": False, "is_restricted": False,
                "is_ultra_restricted": False, "is_bot": True, "is_app_user": False, "updated": 1767225600,
            })
            continue
        guest = row["kind"] == "contractor"
        user: dict[str, object] = {
            "id": row["account_id"], "team_id": team_id, "name": row["username"], "deleted": bool(row["deleted"]),
            "color": colors[i % len(colors)], "real_name": row["display_name"],
            "tz": TIME_ZONE, "tz_label": "Central European Time", "tz_offset": 3600,
            "profile": {
                "title": "", "phone": "", "skype": "", "real_name": row["display_name"],
                "real_name_normalized": row["display_name"], "display_name": row["username"],
                "display_name_normalized": row["username"], "fields": None, "status_text": "", "status_emoji": "",
                "avatar_hash": f"g{row['account_id'][-10:].lower()}", "email": row["email"],
                "first_name": row["first_name"], "last_name": row["last_name"], "team": team_id,
            },
            "is_admin": False, "is_owner": False, "is_primary_owner": False, "is_restricted": guest,
            "is_ultra_restricted": False, "is_bot": False, "is_app_user": False, "updated": 1767225600,
        }
        if row["deleted"]:
            del user["is_bot"]  # deactivated users in real exports may lack is_bot
        users.append(user)
    return users


def write_slack_export(world: SimulatedWorld, out_dir: Path) -> Path:
    tl, rng = world.timeline, world.writer_rng
    msgs = slack_messages(world)
    team_id = str(_random_ids(rng, 1, "T", 8)[0])
    bots = world.accounts.filter((pl.col("source") == "slack") & pl.col("is_bot")).sort("username")
    bot_ids = dict(zip(bots["username"].to_list(), _random_ids(rng, bots.height, "B", 10).tolist(), strict=True))
    by_event = {e: (ts, uid) for e, ts, uid in msgs.select("event", "ts", "account_id").iter_rows()}
    text_of = dict(zip(msgs["event"].to_list(), msgs["text"].to_list(), strict=True))

    reacts = (msgs.filter(pl.col("kind") == "react").sort("t_us")
              .group_by("parent", "emoji", maintain_order=True).agg(pl.col("account_id").alias("users")))
    reactions: dict[int, list[dict[str, object]]] = defaultdict(list)
    for parent, emoji, users in reacts.iter_rows():
        reactions[parent].append({"name": emoji, "users": users, "count": len(users)})
    replies = msgs.filter(pl.col("kind") == "reply").sort("t_us")
    thread: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for parent, uid, ts in replies.select("parent", "account_id", "ts").iter_rows():
        thread[parent].append((uid, ts))

    visible = msgs.filter(pl.col("kind") != "react").sort("space", "t_us")
    client_ids = _uuid_like(rng, visible.height)
    files_ids = _random_ids(rng, visible.height, "F", 10)
    days: dict[tuple[int, dt.date], list[dict[str, object]]] = defaultdict(list)
    for i, row in enumerate(visible.iter_rows(named=True)):
        kind, ts, uid, event = row["kind"], row["ts"], row["account_id"], row["event"]
        if kind == "join":
            m: dict[str, object] = {"user": uid, "type": "message", "subtype": "channel_join", "ts": ts,
                                    "text": f"<@{uid}> has joined the channel"}
        elif kind == "bot":
            m = {"type": "message", "subtype": "bot_message", "text": row["text"], "ts": ts,
                 "username": row["username"], "bot_id": bot_ids[row["username"]]}
        elif row["tombstone"]:
            m = {"type": "message", "subtype": "tombstone", "text": "This message was deleted.", "user": "USLACKBOT",
                 "hidden": True, "ts": ts}
        else:
            m = {"client_msg_id": str(client_ids[i]), "type": "message", "text": row["text"], "user": uid, "ts": ts,
                 "team": team_id}
            if kind == "upload":
                name, mime, ftype = FILE_NAMES[int(row["file_index"])]
                m["files"] = [{"id": str(files_ids[i]), "created": int(ts.split(".")[0]),
                               "timestamp": int(ts.split(".")[0]), "name": name, "title": name, "mimetype": mime,
                               "filetype": ftype, "pretty_type": ftype.upper(), "user": uid, "user_team": team_id,
                               "mode": "hosted", "editable": False, "is_external": False, "external_type": "",
                               "size": 20_000 + (i * 7919) % 900_000,
                               "url_private": f"https://files.slack.com/files-pri/{team_id}-{files_ids[i]}/{name}"}]
                m["upload"] = True
                m["display_as_bot"] = False
            if kind == "reply":
                parent_ts, parent_uid = by_event[row["parent"]]
                m["thread_ts"] = parent_ts
                m["parent_user_id"] = parent_uid
                if row["broadcast"]:
                    m["subtype"] = "thread_broadcast"
                    m["root"] = {"type": "message", "text": text_of[row["parent"]], "user": parent_uid,
                                 "ts": parent_ts, "thread_ts": parent_ts,
                                 "reply_count": len(thread[row["parent"]])}
            if row["edited"]:
                m["edited"] = {"user": uid, "ts": f"{int(ts.split('.')[0]) + 120}.000000"}
            if event in reactions:
                m["reactions"] = reactions[event]
        if kind in ("post", "upload") and event in thread:
            replies_of = thread[event]
            reply_users = list(dict.fromkeys(u for u, _ in replies_of))
            m.update({"thread_ts": ts, "reply_count": len(replies_of), "reply_users_count": len(reply_users),
                      "latest_reply": replies_of[-1][1], "reply_users": reply_users,
                      "replies": [{"user": u, "ts": t} for u, t in replies_of], "is_locked": False,
                      "subscribed": False})
        days[(row["space"], row["local_date"])].append(m)

    files: dict[str, bytes] = {}
    names = {j: s.name for j, s in enumerate(world.spaces) if s.source == "slack"}
    for (space, day), messages in sorted(days.items(), key=lambda kv: (names[kv[0][0]], kv[0][1])):
        files[f"{names[space]}/{day.isoformat()}.json"] = _dumps(messages)
    files["users.json"] = _dumps(_users(world, team_id, bot_ids))
    files["channels.json"] = _dumps(_channels(world, msgs, names))
    admin = world.accounts.filter((pl.col("source") == "slack") & (pl.col("kind") == "employee")).sort("account")
    files["integration_logs.json"] = _dumps([
        {"service_id": bot_ids[b], "service_type": "Jira Cloud" if b == "jira" else "Deploy Bot",
         "user_id": admin["account_id"][0], "user_name": admin["username"][0],
         "date": str(_epoch(tl.start) - 86_400 * 30), "change_type": "added",
         "channel": "jira-updates" if b == "jira" else "deployments"} for b in sorted(bot_ids)
    ])
    start, end = tl.start, tl.end
    name = f"{ORGANISATION} Slack export {start:%b} {start.day} {start.year} - {end:%b} {end.day} {end.year}.zip"
    return write_zip(out_dir / "platforms" / "slack" / name, files,
                     dt.datetime.combine(end + dt.timedelta(days=1), dt.time(9, 0)))


def _epoch(day: dt.date) -> int:
    return int((day - dt.date(1970, 1, 1)).total_seconds())


def _channels(world: SimulatedWorld, msgs: pl.DataFrame, names: dict[int, str]) -> list[dict[str, object]]:
    tl = world.timeline
    acc = world.accounts.filter(pl.col("source") == "slack")
    humans = sorted(acc.filter(~pl.col("is_bot") & ~pl.col("deleted"))["account_id"].to_list())
    posters = msgs.group_by("space").agg(pl.col("account_id").unique().sort())
    members = dict(zip(posters["space"].to_list(), posters["account_id"].to_list(), strict=True))
    creator = humans[0] if humans else ""
    out = []
    for j in sorted(names, key=lambda k: names[k]):
        sp = world.spaces[j]
        general = sp.kind == "general"
        mem = humans if general else sorted(set(members.get(j, [])))
        created = _epoch(tl.start) - 86_400 * (60 + 7 * j)
        out.append({
            "id": world.space_ids[j], "name": sp.name, "created": created, "creator": creator,
            "is_archived": False, "is_general": general, "members": mem,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": sp.purpose, "creator": creator, "last_set": created},
        })
    return out

