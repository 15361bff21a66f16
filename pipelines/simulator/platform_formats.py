"""Which export format each simulated platform is written in (``uptake simulate --formats``).

The simulated organisation uses an office chat platform (Slack by default), the R&D team's chat
platform (Mattermost), an enterprise social network (Viva Engage) and Microsoft Teams (its usage
counters, in the Microsoft 365 usage reports). The chat platforms and the Teams counters can be
written in another real export format instead, from the same world and the same events:

========== ======================================================= ===================================
platform   formats (the default first)                              written as
========== ======================================================= ===================================
slack      ``slack``, ``zulip``, ``google_chat``, ``rocket_chat``   the export of that platform
mattermost ``mattermost``, ``zulip``, ``google_chat``, ``rocket_chat``
teams      ``m365_usage``, ``viva_insights``                        Teams usage report / person query
========== ======================================================= ===================================

Each format is used at most once (two platforms in one format would be one source with colliding
ids). Viva Engage is not substitutable: its reads and likes exist only in its Microsoft 365 usage
report, which the chat formats have no place for.

Under a substitution the drop zone names the platform, its accounts and its spaces as the chosen
format does (``platforms/zulip/``, Zulip user and stream ids...); the ground truth, the charters
and ``truth_accounts.csv`` use the same names (:func:`written_accounts`, :func:`written_space_ids`,
:func:`written_tenant_users`). Who does what, when, is unchanged: the planted truth holds for every
choice.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from pipelines.simulator.world import SimulatedWorld

__all__ = ["CHOICES", "PlatformFormats", "format_rng", "platform_accounts", "written_accounts",
           "written_space_ids", "written_tenant_users"]

#: Per substitutable platform, the formats it can be written in (its own first).
CHOICES: dict[str, tuple[str, ...]] = {
    "slack": ("slack", "zulip", "google_chat", "rocket_chat"),
    "mattermost": ("mattermost", "zulip", "google_chat", "rocket_chat"),
    "teams": ("m365_usage", "viva_insights"),
}
#: One random stream per format for its ids, independent of the other writers (and of their order).
_FORMAT_STREAMS: dict[str, int] = {"zulip": 71, "google_chat": 72, "rocket_chat": 73, "viva_insights": 74}


@dataclass(frozen=True)
class PlatformFormats:
    """The export format of each substitutable simulated platform (see the module docstring)."""

    slack: str = "slack"
    mattermost: str = "mattermost"
    teams: str = "m365_usage"

    def __post_init__(self) -> None:
        chosen = asdict(self)
        for platform, fmt in chosen.items():
            if fmt not in CHOICES[platform]:
                raise ValueError(f"{platform}={fmt}: {platform} can be written as one of "
                                 f"{', '.join(CHOICES[platform])}")
        used = list(chosen.values())
        twice = sorted({f for f in used if used.count(f) > 1})
        if twice:
            raise ValueError(f"format {', '.join(twice)} chosen for more than one platform; each format holds "
                             "one platform")

    @classmethod
    def parse(cls, text: str | None) -> PlatformFormats:
        """``"slack=zulip,teams=viva_insights"`` (platforms not named keep their own format); an
        empty or ``None`` text gives the defaults."""
        chosen: dict[str, str] = {}
        for item in (text or "").split(","):
            item = item.strip()
            if not item:
                continue
            platform, sep, fmt = (part.strip() for part in item.partition("="))
            if not sep or not platform or not fmt:
                raise ValueError(f"{item!r}: expected PLATFORM=FORMAT, e.g. slack=zulip")
            if platform not in CHOICES:
                raise ValueError(f"{platform!r}: the platforms whose format can be chosen are "
                                 f"{', '.join(CHOICES)}")
            if platform in chosen:
                raise ValueError(f"{platform} is given twice")
            chosen[platform] = fmt
        return cls(**chosen)

    @property
    def is_default(self) -> bool:
        return self == PlatformFormats()

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))

    def source(self, platform: str) -> str:
        """The source name (``platforms/<name>/``) that a simulated platform is written under:
        ``slack``, ``mattermost``, ``viva_engage`` (event platforms) or ``teams``."""
        if platform in ("slack", "mattermost", "teams"):
            return str(getattr(self, platform))
        return platform


def format_rng(world: SimulatedWorld, fmt: str, stream: int) -> np.random.Generator:
    """A generator for the random ids of ``fmt``, from the world's seed only: the ids a format
    writes do not depend on which other formats were written, or in which order."""
    return np.random.default_rng([world.seed, _FORMAT_STREAMS[fmt], stream])


def _format_ids(world: SimulatedWorld, platform: str, fmt: str, accounts: pl.DataFrame) -> pl.Series:
    """Account ids of ``platform``'s accounts (rows of ``accounts``, in order) as ``fmt`` writes them."""
    if fmt == "zulip":
        from pipelines.simulator.zulip_export import user_ids
    elif fmt == "google_chat":
        from pipelines.simulator.google_chat_export import user_ids
    elif fmt == "rocket_chat":
        from pipelines.simulator.rocket_chat_export import user_ids
    else:
        return accounts["account_id"]
    return user_ids(world, platform, accounts)


def _system_accounts(fmt: str) -> pl.DataFrame | None:
    """Automated accounts a format's export holds by itself (Zulip's cross-realm bots, Rocket.Chat's
    ``rocket.cat``): ``account_id``, ``username``, ``display_name``."""
    if fmt == "zulip":
        from pipelines.simulator.zulip_export import system_accounts
    elif fmt == "rocket_chat":
        from pipelines.simulator.rocket_chat_export import system_accounts
    else:
        return None
    return system_accounts()


def written_accounts(world: SimulatedWorld) -> pl.DataFrame:
    """``world.accounts`` as the drop zone holds them: ``source`` is the name the platform is written
    under and ``account_id`` the id its format gives the account (``account`` and every other column
    unchanged), followed by the formats' own automated accounts (``account`` -1)."""
    parts = []
    for platform in world.accounts["source"].unique(maintain_order=True).to_list():
        fmt = world.formats.source(platform)
        acc = world.accounts.filter(pl.col("source") == platform)
        acc = acc.with_columns(source=pl.lit(fmt), account_id=_format_ids(world, platform, fmt, acc))
        parts.append(acc)
        system = _system_accounts(fmt)
        if system is not None:
            parts.append(system.select(
                pl.lit(-1, pl.Int64).alias("account"), pl.lit(fmt).alias("source"), pl.lit(-1, pl.Int64).alias("person"),
                pl.lit(0, pl.Int64).alias("created_week"), pl.lit("bot").alias("variant"),
                pl.lit(None, pl.Utf8).alias("email"), "username", pl.lit("bot").alias("kind"),
                pl.lit(False).alias("matchable"), pl.lit(None, pl.Utf8).alias("reason"), "display_name",
                pl.lit(None, pl.Utf8).alias("first_name"), pl.lit(None, pl.Utf8).alias("last_name"),
                pl.lit(False).alias("deleted"), pl.lit(True).alias("is_bot"), "account_id",
            ).select(world.accounts.columns))
    return pl.concat(parts, how="vertical")


def platform_accounts(world: SimulatedWorld, platform: str) -> pl.DataFrame:
    """The accounts of simulated ``platform`` as its format writes them (``written_accounts`` rows,
    in account order, without the format's own system accounts), with ``world_id``: the id the
    simulator gave the account on ``platform`` itself (the one its message texts mention)."""
    fmt = world.formats.source(platform)
    world_ids = world.accounts.select("account", pl.col("account_id").alias("world_id"))
    return (written_accounts(world).filter((pl.col("account") >= 0) & (pl.col("source") == fmt))
            .join(world_ids, on="account").sort("account"))


def written_tenant_users(world: SimulatedWorld) -> pl.DataFrame:
    """Microsoft 365 tenant users (``world.m365``) as the drop zone lists them, with ``source`` and
    ``account_id``: all under ``m365_usage`` by UPN by default; when Teams is written as a Viva
    Insights person query, its licensed employees under ``viva_insights`` (``PersonId`` = the UPN;
    the query measures employees only, not guests) and the Viva Engage report's users under
    ``m365_usage``."""
    m365 = world.m365.with_columns(account_id=pl.col("upn"))
    if world.formats.teams == "m365_usage":
        return m365.with_columns(source=pl.lit("m365_usage"))
    from pipelines.simulator.viva_insights_person_query import person_ids

    teams = m365.filter(pl.col("teams") & (pl.col("person") >= 0))
    return pl.concat([
        teams.with_columns(source=pl.lit("viva_insights"), account_id=person_ids(teams)),
        m365.filter(pl.col("viva")).with_columns(source=pl.lit("m365_usage")),
    ])


def written_space_ids(world: SimulatedWorld) -> list[str]:
    """Each space's id as its platform's export writes it (the order of ``world.spaces``)."""
    ids = list(world.space_ids)
    for platform in ("slack", "mattermost"):
        fmt = world.formats.source(platform)
        if fmt == platform:
            continue
        if fmt == "zulip":
            from pipelines.simulator.zulip_export import space_ids
        elif fmt == "google_chat":
            from pipelines.simulator.google_chat_export import space_ids
        else:
            from pipelines.simulator.rocket_chat_export import space_ids
        for j, space_id in space_ids(world, platform).items():
            ids[j] = space_id
    return ids


_SLACK_MENTION = re.compile(r"<@([A-Z0-9]+)>")
_MATTERMOST_MENTION = re.compile(r"(?<![\w.@])@([a-z0-9][a-z0-9.\-_]*[a-z0-9])")


def retarget_mentions(text: str | None, platform: str, render: dict[str, str]) -> str | None:
    """``text`` with the mentions the simulator wrote in ``platform``'s syntax (Slack ``<@U123>``,
    Mattermost ``@username``: the account id) rewritten by ``render`` (account id -> the new
    format's mention); unknown ids are left as they are."""
    if not text or "@" not in text or platform not in ("slack", "mattermost"):
        return text
    pattern = _SLACK_MENTION if platform == "slack" else _MATTERMOST_MENTION
    return pattern.sub(lambda m: render.get(m.group(1), m.group(0)), text)


def chat_events(world: SimulatedWorld, platform: str) -> pl.DataFrame:
    """The events of the simulated chat ``platform`` (``slack`` or ``mattermost``) that another chat
    format writes, sorted by time: posts, replies, uploads, bot posts, reactions and joins, with the
    author's written ``account_id``, ``username``, ``display_name``, ``email`` and ``is_bot``.

    Tombstoned messages (Slack keeps a ``tombstone`` of a deleted thread parent) are left out: the
    other formats export no deleted message, and a correct pipeline counts none (their replies stay
    in their thread, whose first remaining message then starts it).
    """
    if world.events is None:
        raise ValueError("the export formats need the in-memory event table (build_world(with_events=True))")
    acc = written_accounts(world).filter(pl.col("account") >= 0).select(
        "account", "account_id", "username", "display_name", "email", "is_bot")
    return (world.events.events.filter((pl.col("source") == platform) & ~pl.col("tombstone"))
            .join(acc, on="account", how="left").sort("t_us", "event"))


#: The simulator's emoji names (``events.EMOJIS``) as Unicode characters.
EMOJI_CHARACTERS: dict[str, str] = {
    "+1": "\N{THUMBS UP SIGN}", "heart": "\N{HEAVY BLACK HEART}\ufe0f", "tada": "\N{PARTY POPPER}",
    "clap": "\N{CLAPPING HANDS SIGN}", "eyes": "\N{EYES}", "white_check_mark": "\N{WHITE HEAVY CHECK MARK}",
    "raised_hands": "\N{PERSON RAISING BOTH HANDS IN CELEBRATION}", "joy": "\N{FACE WITH TEARS OF JOY}",
}


def thread_topics(roots: pl.DataFrame) -> dict[int, str]:
    """A topic name per thread root (``event``, ``space``, ``text``, in time order): the first words
    of its text (mentions left out), at most 50 characters, made unique within the space, case
    folded, with `` (2)``, `` (3)``...: formats that group a thread by its topic name (Zulip) must
    not merge two threads."""
    used: set[tuple[int, str]] = set()
    out: dict[int, str] = {}
    for event, space, text in roots.select("event", "space", "text").iter_rows():
        line = re.sub(r"<@[A-Z0-9]+>|@\S+|\[\[user:\d+\]\]", "", (text or "").split("\n", 1)[0])
        words = line.split()
        title = ""
        for w in words:
            if len(title) + len(w) + 1 > 50:
                break
            title = f"{title} {w}".strip()
        title = title.rstrip(".,:;!") or "(no topic)"
        name, n = title, 1
        while (space, name.casefold()) in used:
            n += 1
            name = f"{title} ({n})"
        used.add((space, name.casefold()))
        out[event] = name
    return out
