"""Reactions survive the whole pipeline: every (person, message, emoji) of the simulated Slack and
Mattermost exports, counted with plain ``json`` from the files, is one react event of clean.events,
including a person's second and third emoji on one message (which carry the same message time and
id as the first)."""

from __future__ import annotations

import json
import zipfile
from collections import Counter

import pytest

from tests.conftest import SimulatedRun

pytestmark = pytest.mark.xdist_group("e2e")

#: Slack messages that are not actions (the connector drops them, and their reactions with them).
_NOT_ACTIONS = {"tombstone", "message_changed", "message_deleted", "message_replied"}


def _slack_reactions(run: SimulatedRun) -> Counter:
    """(user, emoji) -> reactions, from every day file of every Slack export zip."""
    counts: Counter = Counter()
    for path in sorted((run.raw / "platforms" / "slack").glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            bots = {u["id"] for u in json.loads(zf.read("users.json")) if u.get("is_bot")}
            for name in zf.namelist():
                if name.count("/") != 1 or not name.endswith(".json"):
                    continue
                for message in json.loads(zf.read(name)):
                    if message.get("hidden") or message.get("subtype") in _NOT_ACTIONS:
                        continue
                    for reaction in message.get("reactions") or []:
                        for user in set(reaction["users"]) - bots:
                            counts[(user, reaction["name"])] += 1
    return counts


def _mattermost_reactions(run: SimulatedRun) -> Counter:
    counts: Counter = Counter()
    for path in sorted((run.raw / "platforms" / "mattermost").glob("*.jsonl")):
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        bots = {o["bot"]["username"] for o in lines if o.get("type") == "bot"}
        for line in lines:
            post = line.get("post") or line.get("direct_post")
            if not post:
                continue
            for message in [post, *(post.get("replies") or [])]:
                # one reaction per person and emoji on a message, however often the export lists it
                pairs = {(r["user"], r["emoji_name"]) for r in message.get("reactions") or [] if r["user"] not in bots}
                counts.update(pairs)
    return counts


def _multi_emoji_pairs(run: SimulatedRun) -> int:
    """Slack (person, message) pairs with more than one emoji: what the clean layer used to drop."""
    pairs = 0
    for path in sorted((run.raw / "platforms" / "slack").glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.count("/") != 1 or not name.endswith(".json"):
                    continue
                for message in json.loads(zf.read(name)):
                    per_user = Counter(u for r in message.get("reactions") or [] for u in set(r["users"]))
                    pairs += sum(1 for n in per_user.values() if n > 1)
    return pairs


def test_every_person_and_emoji_is_one_react_event(simulated_run: SimulatedRun) -> None:
    expected = {"slack": _slack_reactions(simulated_run), "mattermost": _mattermost_reactions(simulated_run)}
    assert _multi_emoji_pairs(simulated_run) > 0, "the simulated export must hold multi-emoji reactions"
    with simulated_run.connect() as con:
        rows = con.execute(
            "SELECT source, account_id, reaction, count(*) FROM clean.events WHERE action = 'react' "
            "GROUP BY ALL"
        ).fetchall()
        dropped = con.execute(
            "SELECT count(*) FROM clean.events WHERE action = 'react' AND reaction IS NULL"
        ).fetchone()[0]
    got: dict[str, Counter] = {"slack": Counter(), "mattermost": Counter()}
    for source, account, emoji, n in rows:
        if source in got:
            got[source][(account, emoji)] = n
    assert dropped == 0
    for source in ("slack", "mattermost"):
        assert sum(expected[source].values()) > 0, source
        assert got[source] == expected[source], source
