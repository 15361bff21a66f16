"""Observable actions: every active person-week becomes platform events (and Teams counters).

Grain of the event table: one row per platform action (post, reply, react, upload, join, bot post),
with its account, space, UTC time (microseconds), thread parent and text. Rules that keep the
planted truth exact for a correct pipeline:

- an active person-week holds the behaviour's contributions and reactions (its reads are not
  events: only the Viva Engage usage report exports them, as counts); action 0 (``seq`` 0) is the
  week's most engaged action (its first contribution, else its first reaction), goes to the
  person's primary event platform, is never deleted, and falls inside the week in Europe/Paris
  time; the others are split over the person's platforms (Teams chat counters included for
  licensed people, for contributions only), spaces and kinds;
- a reply's parent is an earlier root post of the same space; a reaction's target is a root post of
  the same space and local week, else a person's root post on the same platform and week (Slack
  reactions carry no time of their own); Viva Engage reactions have no target (its export has no
  likes; the usage report counts them);
- deletions (Slack tombstones, Viva Engage ``deleted_at``) only hit actions other than action 0, and
  never a post that was reacted to;
- a few timestamps fall just before Sunday midnight or just after Monday midnight, local time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulator.behaviour import Behaviour
from pipelines.simulator.communities import Space
from pipelines.simulator.identity import EVENT_PLATFORMS, VIVA, IdentityPlan
from pipelines.simulator.organisation import Organisation
from pipelines.simulator.parameters import TIME_ZONE, Timeline
from pipelines.simulator.text import CATEGORIES, FILE_NAMES, compose

KINDS: tuple[str, ...] = ("post", "reply", "react", "upload", "join", "bot")
#: Probabilities of post, reply, react, upload by the role of the space.
KIND_PROBS: dict[str, tuple[float, float, float, float]] = {
    "general": (0.40, 0.25, 0.25, 0.10),
    "qa": (0.40, 0.50, 0.10, 0.0),
    "ideas": (0.50, 0.30, 0.20, 0.0),
    "busy": (0.45, 0.20, 0.35, 0.0),
    "silent": (1.0, 0.0, 0.0, 0.0),
    "bots": (1.0, 0.0, 0.0, 0.0),
}
DAY_WEIGHTS = np.array([0.22, 0.22, 0.21, 0.20, 0.13, 0.01, 0.01])
EMOJIS: tuple[str, ...] = ("+1", "heart", "tada", "clap", "eyes", "white_check_mark", "raised_hands", "joy")
TEAMS_COUNTERS: tuple[str, ...] = ("team_chat", "private_chat", "call", "meeting")
BOT_TEXTS: dict[str, tuple[str, ...]] = {
    "jira": ("[JIRA] NW-{n} 'Label printer offline' moved to Done", "[JIRA] NW-{n} created: 'Update price list'",
             "[JIRA] NW-{n} assigned to the IT Ops queue"),
    "deploybot": ("Deployment of shopfloor-app build {n} to production succeeded",
                  "Deployment of erp-connector build {n} to staging succeeded"),
    "jira-bot": ("RND-{n} moved to In Review", "RND-{n} created: firmware regression on board rev C"),
    "announcements-bot": ("Weekly company update number {n} is out: read it on the intranet.",),
}
#: Bot posts per week: (source, bot username, space name, posts per week).
BOT_SCHEDULE: tuple[tuple[str, str, str, int], ...] = (
    ("slack", "jira", "jira-updates", 5),
    ("slack", "deploybot", "deployments", 2),
    ("mattermost", "jira-bot", "platform", 3),
    ("viva_engage", "announcements-bot", "All Company", 1),
)


@dataclass(frozen=True)
class Events:
    events: pl.DataFrame
    teams_counts: pl.DataFrame  # person, week, counter, count (active weeks only)
    teams_last_day: pl.DataFrame  # person, week, day (0 = Monday) of their last Teams action that week
    viva_counts: pl.DataFrame  # person, week, posted, read, liked: the Viva Engage usage report's counters


def local_to_utc_us(local_us: np.ndarray) -> np.ndarray:
    """Naive Europe/Paris wall-clock microseconds -> UTC epoch microseconds."""
    s = pl.Series("t", local_us, dtype=pl.Int64).cast(pl.Datetime("us"))
    return (s.dt.replace_time_zone(TIME_ZONE, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC").dt.epoch("us").to_numpy())


def utc_us_to_local_date(utc_us: pl.Expr) -> pl.Expr:
    """UTC epoch microseconds -> the calendar date in the organisation's time zone."""
    return utc_us.cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(TIME_ZONE).dt.date()


def _choose(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw: index of the first cumulative weight above ``u * total``."""
    cum = np.cumsum(weights, axis=1)
    return np.minimum((u[:, None] * cum[:, -1:] >= cum).sum(axis=1), weights.shape[1] - 1)


def local_times(rng: np.random.Generator, week: np.ndarray, frontline: np.ndarray, timeline: Timeline) -> np.ndarray:
    """UTC microseconds of actions in the given weeks, at plausible local hours."""
    n = len(week)
    day = rng.choice(7, size=n, p=DAY_WEIGHTS)
    hour = np.where(frontline, rng.uniform(6.0, 21.9, size=n), np.clip(rng.normal(12.5, 2.5, size=n), 7.0, 19.9))
    midnight = rng.random(n) < 0.02
    sunday_late = midnight & (rng.random(n) < 0.5)
    day = np.where(midnight, np.where(sunday_late, 6, 0), day)
    hour = np.where(midnight, np.where(sunday_late, 23.0, 0.0) + rng.random(n) * 0.999, hour)
    start_day = (timeline.start - dt.date(1970, 1, 1)).days
    local_us = ((start_day + 7 * week + day) * 86_400 * 10 ** 6 + (hour * 3600 * 10 ** 6).astype(np.int64)
                + rng.integers(0, 10 ** 6, size=n))
    return local_to_utc_us(local_us.astype(np.int64))


def _employee_actions(org: Organisation, plan: IdentityPlan, behaviour: Behaviour, rng: np.random.Generator
                      ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One row per contribution or reaction (``tier`` 0 / 1) of the factual world, with its platform.

    ``seq`` 0 is the week's most engaged action (its first contribution, else its first reaction) and
    goes to the person's primary platform, where its tier is visible. Teams contributions become
    chat counters; Teams calls and meetings (not actions) are added for licensed people's active weeks.
    """
    parts = []
    for tier, counts in enumerate((behaviour.contributions, behaviour.reactions)):
        pp, tt = np.nonzero(counts)
        n = counts[pp, tt]
        parts.append((np.repeat(pp, n), np.repeat(tt, n), np.full(int(n.sum()), tier)))
    person, week, tier = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((tier, week, person))
    person, week, tier = person[order], week[order], tier[order]
    first = np.r_[True, (person[1:] != person[:-1]) | (week[1:] != week[:-1])]
    start = np.maximum.accumulate(np.where(first, np.arange(len(person)), 0))
    seq = np.arange(len(person)) - start
    # platform: seq 0 -> primary; others by weight (primary 1, secondary 0.5, Teams 0.6 if licensed;
    # reactions never go to Teams, whose reports carry no likes)
    pw = np.zeros((org.n_people, 4))
    pw[:, :3] = plan.uses * 0.5
    pw[np.arange(org.n_people), plan.primary] = 1.0
    pw[:, 3] = plan.m365 * 0.6
    weights = pw[person]
    weights[:, 3] = np.where(tier == 1, 0.0, weights[:, 3])
    platform = _choose(weights, rng.random(len(person)))
    platform = np.where(seq == 0, plan.primary[person], platform)
    teams = platform == 3
    chat = rng.choice(2, size=int(teams.sum()), p=[0.55, 0.45])
    # calls and meetings of licensed people in active weeks (not collaboration actions)
    ap, at = np.nonzero(behaviour.factual.active & plan.m365[:, None])
    n_call, n_meet = rng.poisson(0.3, size=len(ap)), rng.poisson(0.6, size=len(ap))
    cp = np.concatenate([np.repeat(ap, n_call), np.repeat(ap, n_meet)])
    cw = np.concatenate([np.repeat(at, n_call), np.repeat(at, n_meet)])
    cc = np.concatenate([np.full(int(n_call.sum()), 2), np.full(int(n_meet.sum()), 3)])
    tp, tw, tc = np.concatenate([person[teams], cp]), np.concatenate([week[teams], cw]), np.concatenate([chat, cc])
    tday = rng.choice(7, size=len(tp), p=DAY_WEIGHTS)
    tframe = pl.DataFrame({"person": tp, "week": tw, "counter": tc, "day": tday})
    teams_counts = (tframe.group_by("person", "week", "counter").len("count")
                    .with_columns(counter=pl.col("counter").replace_strict(dict(enumerate(TEAMS_COUNTERS)), return_dtype=pl.Utf8))
                    .sort("person", "week", "counter"))
    teams_last = tframe.group_by("person", "week").agg(pl.col("day").max()).sort("person", "week")
    keep = ~teams
    rows = pl.DataFrame({"person": person[keep], "week": week[keep], "seq": seq[keep], "tier": tier[keep],
                         "source": np.asarray(EVENT_PLATFORMS)[platform[keep]]})
    return rows, teams_counts, teams_last


def _assign_spaces_and_kinds(rows: pl.DataFrame, member: np.ndarray, spaces: tuple[Space, ...],
                             rng: np.random.Generator, react: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Space index and kind per row; ``member`` is per row (rows x S). Rows with ``react`` are
    reactions; the others contributions (post, reply or upload by the role of the space)."""
    n = rows.height
    weights = member * np.asarray([s.weight for s in spaces])[None, :]
    source = rows["source"].to_numpy()
    for j, s in enumerate(spaces):
        weights[:, j] = np.where(source == s.source, weights[:, j], 0.0)
    space = _choose(weights, rng.random(n))
    roles = np.asarray([s.role for s in spaces])[space]
    probs = np.asarray([KIND_PROBS[r] for r in roles])
    probs[:, 2] = 0.0  # contributions only
    kind = _choose(probs, rng.random(n))
    return space, np.where(react, 2, kind)


def _unique_times(frame: pl.DataFrame) -> pl.DataFrame:
    """Make ``t_us`` unique within each space (Slack ``ts`` is a message key per channel)."""
    for _ in range(10):
        frame = frame.sort("space", "t_us", "order")
        dup = frame.select((pl.col("t_us") == pl.col("t_us").shift(1)) & (pl.col("space") == pl.col("space").shift(1)))
        if not dup.to_series().fill_null(False).any():
            return frame
        frame = frame.with_columns(t_us=pl.col("t_us") + pl.int_range(pl.len()).over("space", "t_us"))
    raise RuntimeError("could not make message times unique")


def build_events(org: Organisation, plan: IdentityPlan, behaviour: Behaviour, accounts: pl.DataFrame,
                 spaces: tuple[Space, ...], member: np.ndarray, timeline: Timeline,
                 rng: np.random.Generator) -> Events:
    """All platform events of the simulation (see the module docstring for the rules)."""
    emp_rows, teams_counts, teams_last = _employee_actions(org, plan, behaviour, rng)
    person = emp_rows["person"].to_numpy()
    space, kind = _assign_spaces_and_kinds(emp_rows, member[person], spaces, rng, emp_rows["tier"].to_numpy() == 1)
    emp_rows = emp_rows.with_columns(space=pl.Series(space), kind=pl.Series(kind),
                                     t_us=pl.Series(local_times(rng, emp_rows["week"].to_numpy(),
                                                                 org.is_frontline[person], timeline)))
    emp_rows = emp_rows.join(
        accounts.filter(pl.col("kind") == "employee").select("source", "person", "account"),
        on=["source", "person"], how="left", maintain_order="left",
    )
    if emp_rows["account"].null_count():
        raise RuntimeError("an active person has no account on the platform an action was assigned to")

    contractor_rows = _contractor_actions(accounts, spaces, timeline, rng)
    bot_rows = _bot_posts(accounts, spaces, timeline, rng)
    schema = {"source": pl.Utf8, "account": pl.Int64, "person": pl.Int64, "week": pl.Int64, "seq": pl.Int64,
              "space": pl.Int64, "kind": pl.Int64, "t_us": pl.Int64}
    frame = pl.concat([r.select(pl.col(c).cast(t) for c, t in schema.items())
                       for r in (emp_rows, contractor_rows, bot_rows)])
    frame = frame.with_columns(pl.col("kind").cast(pl.Int64), order=pl.int_range(pl.len()))
    frame = _unique_times(frame).with_columns(event=pl.int_range(pl.len()).cast(pl.Int64))
    frame = _link_threads(frame, rng)
    frame = _add_joins(frame, spaces, rng)
    frame = _deletions(frame, rng)
    frame = _texts(frame, accounts, spaces, rng)
    frame = frame.with_columns(kind=pl.col("kind").replace_strict(dict(enumerate(KINDS)), return_dtype=pl.Utf8))
    frame = frame.drop("order").sort("event")
    return Events(events=frame, teams_counts=teams_counts, teams_last_day=teams_last,
                  viva_counts=viva_usage_counts(frame, behaviour, plan))


def viva_usage_counts(events: pl.DataFrame, behaviour: Behaviour, plan: IdentityPlan) -> pl.DataFrame:
    """The Viva Engage usage report's counters per person and week with any: ``posted`` (the
    person's Viva Engage messages, deleted later or not), ``read`` (their reads: Viva Engage is the
    only platform whose reads are exported), ``liked`` (their Viva Engage reactions). Only people
    with a tenant identity (not those known by a personal address only)."""
    viva = events.filter((pl.col("source") == "viva_engage") & (pl.col("person") >= 0))
    key = ["person", "week"]
    posted = viva.filter(pl.col("kind").is_in(["post", "reply", "upload"])).group_by(key).len("posted")
    liked = viva.filter(pl.col("kind") == "react").group_by(key).len("liked")
    reads = np.where((plan.uses[:, VIVA] & plan.visible)[:, None], behaviour.reads, 0)
    pp, tt = np.nonzero(reads)
    read = pl.DataFrame({"person": pp.astype(np.int64), "week": tt.astype(np.int64), "read": reads[pp, tt]})
    counts = (pl.concat([posted.select(key), liked.select(key), read.select(key)]).unique()
              .join(posted, on=key, how="left").join(read, on=key, how="left").join(liked, on=key, how="left")
              .with_columns(pl.col("posted", "read", "liked").fill_null(0).cast(pl.Int64)))
    visible = pl.Series(np.flatnonzero(plan.visible).astype(np.int64))
    return counts.filter(pl.col("person").is_in(visible.implode())).sort(key)


def _contractor_actions(accounts: pl.DataFrame, spaces: tuple[Space, ...], timeline: Timeline,
                        rng: np.random.Generator) -> pl.DataFrame:
    con = accounts.filter(pl.col("kind") == "contractor")
    W = timeline.weeks
    acc = np.repeat(con["account"].to_numpy(), W)
    src = np.repeat(con["source"].to_numpy(), W)
    created = np.repeat(con["created_week"].to_numpy(), W)
    ended = np.repeat(con["deleted"].to_numpy(), W)
    week = np.tile(np.arange(W), con.height)
    active = (week >= created) & ~(ended & (week >= W // 2)) & (rng.random(len(week)) < 0.5)
    n = np.where(active, 1 + rng.poisson(2.0, size=len(week)), 0)
    acc, src, week = np.repeat(acc, n), np.repeat(src, n), np.repeat(week, n)
    names = {"slack": ("general", "team-it", "team-rnd", "it-helpdesk"), "mattermost": ("town-square", "platform", "firmware")}
    member = np.zeros((len(acc), len(spaces)), dtype=bool)
    for j, s in enumerate(spaces):
        member[:, j] = (src == s.source) & np.isin(s.name, names.get(s.source, ()))
    rows = pl.DataFrame({"source": src, "account": acc, "week": week})
    space, kind = _assign_spaces_and_kinds(rows, member, spaces, rng, rng.random(len(acc)) < 0.25)
    return rows.with_columns(
        person=pl.lit(-1, pl.Int64), seq=pl.lit(-1, pl.Int64), space=pl.Series(space), kind=pl.Series(kind),
        t_us=pl.Series(local_times(rng, week, np.zeros(len(acc), dtype=bool), timeline)),
    )


def _bot_posts(accounts: pl.DataFrame, spaces: tuple[Space, ...], timeline: Timeline,
               rng: np.random.Generator) -> pl.DataFrame:
    parts = []
    names = [(s.source, s.name) for s in spaces]
    for source, bot, space_name, per_week in BOT_SCHEDULE:
        acc = accounts.filter((pl.col("source") == source) & (pl.col("username") == bot))["account"].item()
        week = np.repeat(np.arange(timeline.weeks), per_week)
        parts.append(pl.DataFrame({
            "source": source, "account": acc, "week": week, "space": names.index((source, space_name)),
        }))
    rows = pl.concat(parts)
    week = rows["week"].to_numpy()
    return rows.with_columns(
        person=pl.lit(-1, pl.Int64), seq=pl.lit(-1, pl.Int64), kind=pl.lit(KINDS.index("bot"), pl.Int64),
        t_us=pl.Series(local_times(rng, week, np.zeros(len(week), dtype=bool), timeline)),
    )


def _link_threads(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Parents for replies and targets for reactions. ``frame`` sorted by space, time.

    A reply without an earlier root post in its space becomes a post. A reaction targets a root
    post of its space and local week posted before it; without one, a person's root post on the
    same platform and week (the reaction moves to that space, just after it); without any, it
    becomes a post. Viva Engage reactions need no target: its export carries none (the usage
    report counts them as likes).
    """
    post, reply, react, upload = 0, 1, 2, 3
    is_root = pl.col("kind").is_in([post, upload])
    roots_before = (is_root.cast(pl.Int64).cum_sum().over("space") - is_root.cast(pl.Int64))
    linked_react = (pl.col("kind") == react) & (pl.col("source") != "viva_engage")
    frame = frame.with_columns(k=roots_before, k_week=is_root.cast(pl.Int64).cum_sum().over("space", "week")
                               - is_root.cast(pl.Int64))
    frame = frame.with_columns(kind=pl.when((pl.col("kind") == reply) & (pl.col("k") == 0)).then(post)
                               .otherwise(pl.col("kind")))
    frame = frame.with_columns(k=roots_before, k_week=is_root.cast(pl.Int64).cum_sum().over("space", "week")
                               - is_root.cast(pl.Int64))
    frame = _retarget_orphan_reactions(frame, linked_react & (pl.col("k_week") == 0), rng)
    frame = frame.with_columns(k=roots_before, k_week=is_root.cast(pl.Int64).cum_sum().over("space", "week")
                               - is_root.cast(pl.Int64))
    roots = frame.filter(is_root).select("space", "event", "account")
    root_space = roots["space"].to_numpy()
    root_event = roots["event"].to_numpy()
    root_account = roots["account"].to_numpy()
    offsets = np.searchsorted(root_space, frame["space"].to_numpy(), side="left")
    kind = frame["kind"].to_numpy()
    k = frame["k"].to_numpy()
    k_week = frame["k_week"].to_numpy()
    account = frame["account"].to_numpy()
    n = frame.height
    u = rng.random((n, 2))
    parent = frame["parent"].to_numpy().copy()
    # replies: one of the last four root posts before the reply, not one's own when avoidable
    rep = np.flatnonzero(kind == reply)
    j = k[rep] - 1 - np.floor(u[rep, 0] * np.minimum(k[rep], 4)).astype(np.int64)
    own = root_account[offsets[rep] + j] == account[rep]
    j = np.where(own & (j > 0), j - 1, j)
    parent[rep] = root_event[offsets[rep] + j]
    # reactions: a root post of the same space and week, earlier than the reaction
    rea = np.flatnonzero((kind == react) & (parent < 0) & (frame["source"].to_numpy() != "viva_engage"))
    j = k[rea] - k_week[rea] + np.floor(u[rea, 1] * k_week[rea]).astype(np.int64)
    parent[rea] = root_event[offsets[rea] + j]
    frame = frame.with_columns(parent=pl.Series(parent)).drop("k", "k_week")
    # one emoji per (message, account, emoji)
    frame = frame.with_columns(emoji_base=pl.Series(rng.integers(len(EMOJIS), size=n)))
    emoji_idx = ((pl.col("emoji_base").first().over("parent", "account")
                  + pl.int_range(pl.len()).over("parent", "account")) % len(EMOJIS))
    return frame.with_columns(
        emoji=pl.when(pl.col("kind") == react).then(emoji_idx.replace_strict(dict(enumerate(EMOJIS)), return_dtype=pl.Utf8))
        .otherwise(pl.lit(None, pl.Utf8))
    ).drop("emoji_base")


def _retarget_orphan_reactions(frame: pl.DataFrame, orphan: pl.Expr, rng: np.random.Generator) -> pl.DataFrame:
    """Give each orphan reaction a random human root post of the same platform and week (moving it
    to that post's space, 1 ms after it), or make it a post when the platform-week has none.
    Adds ``parent`` (-1 where not set here)."""
    post, react, upload = 0, 2, 3
    frame = frame.with_columns(pl.lit(-1, pl.Int64).alias("parent"), orphan.alias("__orphan"))
    roots = (frame.filter(pl.col("kind").is_in([post, upload]) & (pl.col("person") >= 0))
             .select("source", "week", pl.col("event").alias("__root"), pl.col("space").alias("__space"),
                     pl.col("t_us").alias("__t"))
             .sort("source", "week", "__t", "__root")
             .with_columns(pl.int_range(pl.len()).over("source", "week").alias("__j"),
                           pl.len().over("source", "week").alias("__n")))
    orphans = frame.filter(pl.col("__orphan")).select("event", "source", "week")
    if orphans.height == 0:
        return frame.drop("__orphan")
    counts = roots.group_by("source", "week").agg(pl.col("__n").first())
    picked = (orphans.join(counts, on=["source", "week"], how="left")
              .with_columns((pl.Series(rng.random(orphans.height)) * pl.col("__n").fill_null(0)).floor()
                            .cast(pl.Int64).alias("__j"))
              .join(roots.drop("__n"), on=["source", "week", "__j"], how="left")
              .select("event", "__root", "__space", "__t"))
    frame = frame.join(picked, on="event", how="left", maintain_order="left")
    moved = pl.col("__orphan") & pl.col("__root").is_not_null()
    # 1 ms after the post, one more ms per earlier reaction of the same account to it (distinct times)
    frame = frame.with_columns(
        (pl.col("__t") + 1000 * (1 + pl.int_range(pl.len()).over("__root", "account", order_by="event"))).alias("__t"))
    return frame.with_columns(
        kind=pl.when(pl.col("__orphan") & pl.col("__root").is_null()).then(post).otherwise(pl.col("kind")),
        parent=pl.when(moved).then(pl.col("__root")).otherwise(pl.col("parent")),
        space=pl.when(moved).then(pl.col("__space")).otherwise(pl.col("space")),
        t_us=pl.when(moved).then(pl.col("__t")).otherwise(pl.col("t_us")),
    ).drop("__orphan", "__root", "__space", "__t").sort("space", "t_us", "order")


def _add_joins(frame: pl.DataFrame, spaces: tuple[Space, ...], rng: np.random.Generator) -> pl.DataFrame:
    """Slack ``channel_join`` messages before an account's first message in the community channels."""
    join_spaces = [j for j, s in enumerate(spaces) if s.source == "slack" and s.kind == "community"]
    firsts = (frame.filter(pl.col("space").is_in(join_spaces) & (pl.col("kind") != KINDS.index("bot")))
              .group_by("space", "account").agg(pl.col("t_us").min(), pl.col("week").first(),
                                                 pl.col("person").first(), pl.col("source").first())
              .sort("space", "account"))
    joins = firsts.with_columns(
        t_us=pl.col("t_us") - pl.Series(rng.integers(30, 1800, size=firsts.height) * 10 ** 6 + 123),
        kind=pl.lit(KINDS.index("join"), pl.Int64), seq=pl.lit(-1, pl.Int64), parent=pl.lit(-1, pl.Int64),
        emoji=pl.lit(None, pl.Utf8), order=pl.lit(-1, pl.Int64),
        event=pl.int_range(pl.len()).cast(pl.Int64) + frame.height,
    ).select(frame.columns)
    return _unique_times(pl.concat([frame, joins]))


def _deletions(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Slack tombstones (a deleted thread parent) and Viva Engage deleted messages, never on action 0."""
    replies = frame.filter(pl.col("kind") == 1).group_by("parent").len("n_replies")
    reacts = frame.filter(pl.col("kind") == 2).group_by("parent").len("n_reacts")
    frame = (frame.join(replies, left_on="event", right_on="parent", how="left")
             .join(reacts, left_on="event", right_on="parent", how="left")
             .with_columns(pl.col("n_replies").fill_null(0), pl.col("n_reacts").fill_null(0)))
    u = pl.Series("u", rng.random(frame.height))
    employee_extra = (pl.col("person") >= 0) & (pl.col("seq") > 0)
    can_tombstone = (employee_extra & (pl.col("source") == "slack") & (pl.col("kind") == 0)
                     & (pl.col("n_replies") > 0) & (pl.col("n_reacts") == 0))
    # deleted Viva Engage posts without replies (a deleted reply would still answer a question for the
    # pipeline's output rule, which cannot tell; the truth would not count it)
    can_delete = (employee_extra & (pl.col("source") == "viva_engage") & (pl.col("kind") == 0)
                  & (pl.col("n_replies") == 0))

    def hit(candidate: pl.Expr) -> pl.Expr:  # 8% of candidates, and at least one (the trap is always there)
        return candidate & ((pl.col("u") < 0.08) | (pl.col("u") == pl.col("u").filter(candidate).min()))

    return frame.with_columns(u).with_columns(tombstone=hit(can_tombstone), deleted=hit(can_delete)).drop("u")


def _texts(frame: pl.DataFrame, accounts: pl.DataFrame, spaces: tuple[Space, ...],
           rng: np.random.Generator) -> pl.DataFrame:
    n = frame.height
    roles = np.asarray([s.role for s in spaces])[frame["space"].to_numpy()]
    kind = frame["kind"].to_numpy()
    u = rng.random(n)
    c = {name: i for i, name in enumerate(CATEGORIES)}
    none = -1
    cat = np.full(n, none, dtype=np.int64)
    post, reply, upload = kind == 0, kind == 1, kind == 3
    cat[post & (roles == "general")] = np.where(u[post & (roles == "general")] < 0.2, c["question"], c["statement"])
    cat[post & (roles == "qa")] = c["question"]
    cat[post & (roles == "ideas")] = np.where(u[post & (roles == "ideas")] < 0.65, c["idea"], c["plain"])
    cat[post & (roles == "busy")] = c["busy"]
    cat[post & (roles == "silent")] = c["plain"]
    cat[reply] = np.where(u[reply] < 0.5, c["ack"], c["answer"])
    cat[reply & (roles == "qa")] = c["answer"]
    cat[reply & (roles == "busy")] = np.where(u[reply & (roles == "busy")] < 0.5, c["ack"], c["busy"])
    cat[upload] = c["file"]
    # mentions of a random human account on the same platform
    human = accounts.filter(pl.col("kind") != "bot")
    wants = (cat != none) & (rng.random(n) < 0.10)
    src = frame["source"].to_numpy()
    mention_rows, mention_text = [], []
    for source in EVENT_PLATFORMS:
        rows = np.flatnonzero(wants & (src == source))
        ids = human.filter(pl.col("source") == source)["account_id"]
        if not len(rows) or not len(ids):
            continue
        pick = ids.gather(rng.integers(len(ids), size=len(rows)))
        left, right = {"slack": ("<@", ">"), "mattermost": ("@", ""), "viva_engage": ("[[user:", "]]")}[source]
        mention_rows.append(rows)
        mention_text.append(left + pick + right)
    mention = pl.Series([""] * n, dtype=pl.Utf8)
    if mention_rows:
        mention = mention.scatter(np.concatenate(mention_rows), pl.concat(mention_text))
    has = np.flatnonzero(cat != none)
    text = pl.Series([None] * n, dtype=pl.Utf8).scatter(has, compose(cat[has], mention.gather(has), rng))
    # bot texts
    bots = np.flatnonzero(kind == KINDS.index("bot"))
    if len(bots):
        usernames = accounts["username"].to_numpy()[frame["account"].to_numpy()[bots]]
        numbers = rng.integers(100, 9999, size=len(bots))
        choice = rng.random(len(bots))
        text = text.scatter(bots, [BOT_TEXTS[b][int(x * len(BOT_TEXTS[b]))].format(n=int(k))
                                   for b, x, k in zip(usernames, choice, numbers, strict=True)])
    category = pl.Series(np.where(cat == none, "", np.asarray(CATEGORIES)[np.maximum(cat, 0)]))
    file_idx = rng.integers(len(FILE_NAMES), size=n)
    return frame.with_columns(
        text=text,
        category=category,
        file_index=pl.when(pl.col("kind") == 3).then(pl.Series(file_idx)).otherwise(None),
        broadcast=(pl.col("source") == "slack") & (pl.col("kind") == 1) & pl.Series(rng.random(n) < 0.05),
        edited=(pl.col("source") == "slack") & (pl.col("kind") == 0) & pl.Series(rng.random(n) < 0.03),
    )
