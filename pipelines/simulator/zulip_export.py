"""Zulip realm export (``uptake simulate --formats slack=zulip``): one simulated chat platform written
as the tarball ``./manage.py export`` produces, ``zulip-export-<id>.tar.gz`` holding
``zulip-export-<id>/``:

- ``realm.json``: ``zerver_realm``, ``zerver_userprofile`` (every account: ``delivery_email`` the
  account's address as planted, ``email`` Zulip's placeholder ``user<id>@<realm host>`` as when
  e-mail visibility is restricted; guests with role 600, deactivated leavers ``is_active`` false,
  bots ``is_bot`` with an owner), ``zerver_userprofile_crossrealm`` (Zulip's own system bots),
  ``zerver_stream`` and ``zerver_recipient`` (a stream per channel; a personal recipient per user),
  ``zerver_subscription``, ``zerver_reaction`` (one row per person, message and emoji; no time),
  ``zerver_realmauditlog`` (a 301 ``subscription_created`` per channel join);
- ``messages-000001.json``... (``zerver_message`` in chunks of 1000 by id, and the sender's
  ``zerver_usermessage``): ids in time order, ``date_sent`` epoch seconds with microseconds, a
  thread is a topic (``subject``, unique per stream) whose first message is the root post,
  uploads with ``has_attachment`` and a ``/user_uploads/`` link, edits with ``last_edit_time``,
  mentions as ``@**Full Name**``;
- ``attachment.json`` (``zerver_attachment``).

Ids are Zulip's: sequential users (after the system bots), streams, recipients, messages.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import orjson
import polars as pl

from pipelines.simulator.communities import MM_TEAM
from pipelines.simulator.output_files import json_bytes, write_tar_gz
from pipelines.simulator.parameters import ORGANISATION, TIME_ZONE
from pipelines.simulator.platform_formats import (chat_events, format_rng, platform_accounts, retarget_mentions,
                                                  thread_topics)
from pipelines.simulator.text import FILE_NAMES
from pipelines.simulator.world import SimulatedWorld

REALM_ID = 2
REALM_HOST = "northwind.zulipchat.com"
#: Zulip's system bots (the internal realm's cross-realm bots): id, e-mail, name.
SYSTEM_BOTS: tuple[tuple[int, str, str], ...] = (
    (1, "notification-bot@zulip.com", "Notification Bot"),
    (2, "welcome-bot@zulip.com", "Welcome Bot"),
    (3, "emailgateway@zulip.com", "Email Gateway"),
)
FIRST_USER_ID = 8
FIRST_STREAM_ID = 3
FIRST_RECIPIENT_ID = 20
FIRST_MESSAGE_ID = 1001
MESSAGES_PER_FILE = 1000
ROLE_OWNER, ROLE_MEMBER, ROLE_GUEST = 100, 400, 600
SUBSCRIPTION_CREATED = 301
#: Zulip's names and code points of the simulator's emoji.
EMOJI: dict[str, tuple[str, str]] = {
    "+1": ("+1", "1f44d"), "heart": ("heart", "2764"), "tada": ("tada", "1f389"), "clap": ("clap", "1f44f"),
    "eyes": ("eyes", "1f440"), "white_check_mark": ("check", "2705"), "raised_hands": ("raised_hands", "1f64c"),
    "joy": ("joy", "1f602"),
}


def user_ids(world: SimulatedWorld, platform: str, accounts: pl.DataFrame) -> pl.Series:
    """Zulip user ids of ``platform``'s accounts (its rows of ``world.accounts``, in order): sequential
    from :data:`FIRST_USER_ID`, as a server creates them."""
    return pl.Series("account_id", [str(FIRST_USER_ID + i) for i in range(accounts.height)], dtype=pl.Utf8)


def space_ids(world: SimulatedWorld, platform: str) -> dict[int, str]:
    """Stream id per space index of ``platform``: sequential in the simulator's space order."""
    spaces = [j for j, s in enumerate(world.spaces) if s.source == platform]
    return {j: str(FIRST_STREAM_ID + k) for k, j in enumerate(spaces)}


def system_accounts() -> pl.DataFrame:
    """Zulip's cross-realm system bots, as accounts (``account_id``, ``username``, ``display_name``)."""
    return pl.DataFrame({"account_id": [str(i) for i, _, _ in SYSTEM_BOTS],
                         "username": [e.split("@")[0] for _, e, _ in SYSTEM_BOTS],
                         "display_name": [n for _, _, n in SYSTEM_BOTS]})


def _epoch(day: dt.date) -> float:
    return float((day - dt.date(1970, 1, 1)).days * 86_400)


def write_zulip_export(world: SimulatedWorld, out_dir: Path, platform: str) -> Path:
    """Write simulated ``platform`` (``slack`` or ``mattermost``) as a Zulip realm export tarball."""
    tl = world.timeline
    rng = format_rng(world, "zulip", 1)
    accounts = platform_accounts(world, platform)
    mention = {old: f"@**{name}**" for old, name in accounts.select("world_id", "display_name").iter_rows()}
    streams = space_ids(world, platform)
    recipient_of = {j: FIRST_RECIPIENT_ID + k for k, j in enumerate(streams)}
    ev = chat_events(world, platform)

    messages = ev.filter(pl.col("kind").is_in(["post", "reply", "upload", "bot"]))
    message_id = {e: FIRST_MESSAGE_ID + i for i, e in enumerate(messages["event"].to_list())}
    roots = world.events.events.filter(  # every thread root, tombstoned or not: its replies keep its topic
        (pl.col("source") == platform) & pl.col("kind").is_in(["post", "upload", "bot"])).sort("t_us", "event")
    topic = thread_topics(roots)
    # the organisation's owner: its first employee (a human at least, in a tiny organisation)
    owner = accounts.sort(pl.col("kind") != "employee", "is_bot", "account")["account_id"][0]

    zulip_messages: list[dict[str, object]] = []
    usermessages: list[dict[str, object]] = []
    attachments: list[dict[str, object]] = []
    for row in messages.iter_rows(named=True):
        mid = message_id[row["event"]]
        sender = int(row["account_id"])
        content = retarget_mentions(row["text"], platform, mention) or ""
        sent = row["t_us"] / 1e6
        has_attachment = row["kind"] == "upload"
        name = ""
        if has_attachment:
            name = FILE_NAMES[int(row["file_index"])][0]
            path_id = f"{REALM_ID}/{mid % 256:02x}/{rng.integers(16 ** 12):012x}/{name}"
            content = f"{content}\n[{name}](/user_uploads/{path_id})"
            attachments.append({"id": len(attachments) + 1, "file_name": name, "path_id": path_id, "owner": sender,
                                "realm": REALM_ID, "size": int(20_000 + rng.integers(900_000)), "create_time": sent,
                                "messages": [mid], "is_realm_public": True, "is_web_public": False})
        edited = bool(row["edited"])
        zulip_messages.append({
            "id": mid, "sender": sender, "recipient": recipient_of[row["space"]], "realm": REALM_ID,
            "subject": topic[row["parent"] if row["kind"] == "reply" else row["event"]],
            "content": content, "rendered_content": "<p>" + html.escape(content).replace("\n", "<br>\n") + "</p>",
            "rendered_content_version": 1, "date_sent": sent,
            "last_edit_time": sent + 120 if edited else None,
            "edit_history": orjson.dumps([{"user_id": sender, "timestamp": int(sent) + 120}]).decode()
            if edited else None,
            "has_attachment": has_attachment, "has_image": name.endswith(".jpg"),
            "has_link": has_attachment, "sending_client": 2 if row["is_bot"] else 1, "type": 1,
        })
        usermessages.append({"id": len(usermessages) + 1, "user_profile": sender, "message": mid, "flags_mask": 1})

    reactions = [
        {"id": i + 1, "user_profile": int(user), "message": message_id[parent], "emoji_name": EMOJI[emoji][0],
         "emoji_code": EMOJI[emoji][1], "reaction_type": "unicode_emoji"}
        for i, (parent, user, emoji) in enumerate(
            ev.filter(pl.col("kind") == "react").select("parent", "account_id", "emoji").iter_rows())
    ]
    joins = ev.filter(pl.col("kind") == "join")
    audit = [
        {"id": 5001 + i, "realm": REALM_ID, "acting_user": int(user), "modified_user": int(user),
         "modified_stream": int(streams[space]), "event_type": SUBSCRIPTION_CREATED, "event_time": t / 1e6,
         "extra_data": "{}", "backfilled": False}
        for i, (user, space, t) in enumerate(joins.select("account_id", "space", "t_us").iter_rows())
    ]
    realm = _realm(world, platform, accounts, streams, recipient_of, ev, owner, reactions, audit)

    files: dict[str, bytes] = {"realm.json": json_bytes(realm)}
    for k in range(0, max(len(zulip_messages), 1), MESSAGES_PER_FILE):
        files[f"messages-{k // MESSAGES_PER_FILE + 1:06d}.json"] = json_bytes({
            "zerver_message": zulip_messages[k:k + MESSAGES_PER_FILE],
            "zerver_usermessage": [u for u in usermessages[k:k + MESSAGES_PER_FILE]],
        })
    files["attachment.json"] = json_bytes({"zerver_attachment": attachments})
    suffix = "".join(chr(ord("a") + int(x)) for x in rng.integers(26, size=8))
    root = f"zulip-export-{suffix}"
    return write_tar_gz(out_dir / "platforms" / "zulip" / f"{root}.tar.gz", files,
                        dt.datetime.combine(tl.end + dt.timedelta(days=1), dt.time(3, 0)), root=root)


def _realm(world: SimulatedWorld, platform: str, accounts: pl.DataFrame, streams: dict[int, str],
           recipient_of: dict[int, int], ev: pl.DataFrame, owner: str, reactions: list[dict[str, object]],
           audit: list[dict[str, object]]) -> dict[str, object]:
    tl = world.timeline
    start = _epoch(tl.start)
    users = []
    for row in accounts.iter_rows(named=True):
        uid = int(row["account_id"])
        role = ROLE_GUEST if row["kind"] == "contractor" else ROLE_OWNER if row["account_id"] == owner else ROLE_MEMBER
        users.append({
            "id": uid, "email": f"user{uid}@{REALM_HOST}",
            "delivery_email": row["email"] if row["email"] is not None else f"{row['username']}-bot@{REALM_HOST}",
            "full_name": row["display_name"], "is_bot": bool(row["is_bot"]),
            "bot_type": 2 if row["is_bot"] else None, "bot_owner": int(owner) if row["is_bot"] else None,
            "is_active": not row["deleted"], "role": role,
            "date_joined": _epoch(tl.monday(max(int(row["created_week"]), 0))) + 9 * 3600.0,
            "realm": REALM_ID, "timezone": TIME_ZONE,
        })
    spaces = {j: world.spaces[j] for j in streams}
    general = {"slack": "general", "mattermost": "town-square"}[platform]
    zerver_stream = [
        {"id": int(streams[j]), "name": s.name, "description": s.purpose, "invite_only": s.private,
         "recipient": recipient_of[j], "date_created": start - 86_400.0 * (60 + k), "realm": REALM_ID,
         "deactivated": False, "is_web_public": False, "history_public_to_subscribers": True}
        for k, (j, s) in enumerate(spaces.items())
    ]
    recipients = [{"id": recipient_of[j], "type": 2, "type_id": int(streams[j])} for j in streams]
    first_personal = FIRST_RECIPIENT_ID + 100
    recipients += [{"id": first_personal + i, "type": 1, "type_id": u["id"]} for i, u in enumerate(users)]
    acted = ev.select("account_id", "space").unique().sort("space", "account_id")
    members = {j: set() for j in streams}
    for uid, space in acted.iter_rows():
        members[space].add(uid)
    humans = accounts.filter(~pl.col("is_bot"))["account_id"].to_list()
    for j, s in spaces.items():
        if s.name == general:
            members[j] |= set(humans)
    subscriptions = []
    for j in streams:
        for uid in sorted(members[j], key=int):
            subscriptions.append({"id": len(subscriptions) + 1, "user_profile": int(uid),
                                  "recipient": recipient_of[j], "active": True, "is_muted": False})
    return {
        "zerver_realm": [{"id": REALM_ID, "string_id": MM_TEAM if platform == "mattermost" else "northwind",
                          "name": ORGANISATION, "date_created": start - 86_400.0 * 90, "org_type": 10}],
        "zerver_userprofile": users,
        "zerver_userprofile_mirrordummy": [],
        "zerver_userprofile_crossrealm": [{"id": i, "email": e, "recipient": None} for i, e, _ in SYSTEM_BOTS],
        "zerver_stream": zerver_stream,
        "zerver_recipient": recipients,
        "zerver_subscription": subscriptions,
        "zerver_reaction": reactions,
        "zerver_realmauditlog": audit,
    }
