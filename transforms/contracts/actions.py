"""The canonical action vocabulary and its engagement tiers.

Connectors map every platform-specific action onto one of these and declare which ones their
platform cannot see (a Slack export holds no reads, for example).

Tiers, from least to most engaged:

- ``passive``: ``visit``, ``read``
- ``reaction``: ``react``
- ``contribution``: ``post``, ``reply``, ``share``, ``upload``
- ``membership``: ``join`` (counts toward no activity state)

Person-week states are built on the tiers: *active* = any passive, reaction or contribution
action; *engaged* = any reaction or contribution; *contributor* = any contribution.
"""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    PASSIVE = "passive"
    REACTION = "reaction"
    CONTRIBUTION = "contribution"
    MEMBERSHIP = "membership"


class Action(StrEnum):
    VISIT = "visit"
    READ = "read"
    REACT = "react"
    POST = "post"
    REPLY = "reply"
    SHARE = "share"
    UPLOAD = "upload"
    JOIN = "join"


ACTION_TIERS: dict[Action, Tier] = {
    Action.VISIT: Tier.PASSIVE,
    Action.READ: Tier.PASSIVE,
    Action.REACT: Tier.REACTION,
    Action.POST: Tier.CONTRIBUTION,
    Action.REPLY: Tier.CONTRIBUTION,
    Action.SHARE: Tier.CONTRIBUTION,
    Action.UPLOAD: Tier.CONTRIBUTION,
    Action.JOIN: Tier.MEMBERSHIP,
}

ACTIONS: tuple[str, ...] = tuple(a.value for a in Action)
TIERS: tuple[str, ...] = tuple(t.value for t in Tier)
#: Tiers that make a person-week *active*.
ACTIVE_TIERS: tuple[str, ...] = (Tier.PASSIVE.value, Tier.REACTION.value, Tier.CONTRIBUTION.value)


def actions_of_tier(tier: Tier | str) -> tuple[str, ...]:
    """The canonical actions of one tier, in vocabulary order (e.g. contribution: post, reply, share, upload)."""
    t = Tier(tier)
    return tuple(a.value for a, at in ACTION_TIERS.items() if at == t)


def tier_of(action: str) -> Tier:
    """The tier of a canonical action; ``ValueError`` names the unknown action."""
    try:
        return ACTION_TIERS[Action(action)]
    except ValueError as exc:
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}") from exc


def action_tier_sql_case(column: str = "action") -> str:
    """A SQL ``CASE`` expression mapping an action column to its tier (for DuckDB queries)."""
    whens = " ".join(f"WHEN '{a.value}' THEN '{t.value}'" for a, t in ACTION_TIERS.items())
    return f"CASE {column} {whens} END"


def tier_actions(tier: Tier | str) -> tuple[Action, ...]:
    """The actions of a tier, in vocabulary order; ``ValueError`` names an unknown tier."""
    try:
        wanted = Tier(tier)
    except ValueError as exc:
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}") from exc
    return tuple(a for a, t in ACTION_TIERS.items() if t == wanted)
