"""The scale mode: the simulated organisation written straight into canonical Parquet files
(``uptake simulate --canonical``), events streamed week by week, at any volume.

The world is the one :func:`pipelines.simulator.world.build_world` plants (organisation, pilots,
identity, adoption and weekly activity, accounts, spaces and memberships): who is active in which
week, and so the planted truth, is unchanged. Only the volume differs: an active person-week holds
``1 + Poisson((E - 1) * w)`` actions, ``E`` the ``events_per_active_week`` and ``w`` the person's
weekly intensity relative to the organisation's mean (heavy users stay heavy). The rules of the
export-format simulator hold: action 0 is a contribution on the person's primary platform inside
the week; the others are spread over the platforms the person uses (Teams actions become Microsoft
365 usage counters), over the spaces they belong to (weighted), and over post / reply / reaction /
upload by the space's role; replies and reactions point at earlier root posts of the same space and
week, one emoji per person and message. There is no message text: the features the connectors
derive from text (length, hashtags, questions, mentions) are drawn directly.

Layout written (``docs/drop_zone.md``, "Canonical Parquet")::

    hr/canonical/hr_snapshots/week=YYYY-MM-DD.parquet                 the weekly HR extracts
    platforms/<source>/canonical/accounts/accounts.parquet            slack, mattermost, viva_engage
    platforms/<source>/canonical/events/week=YYYY-MM-DD.parquet       one file per week
    platforms/m365_usage/canonical/activity_counts/week=YYYY-MM-DD.parquet
    settings.yaml, pilots.yaml, kpi_registry.yaml, charters.yaml, kpis/    as in the export mode

With ``--formats`` the sources are named as chosen (``platforms/zulip/canonical/...``, account and
space ids as that format writes them; Teams counters under ``platforms/viva_insights/`` by
``PersonId``, for Teams-licensed employees, each week from its Sunday as the person query's).

Memory is bounded by one week of events, whatever the number of weeks.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.simulator.events import BOT_SCHEDULE, EMOJIS, KIND_PROBS, local_times
from pipelines.simulator.hr_extract import HR_COLUMNS, hr_state
from pipelines.simulator.identity import EVENT_PLATFORMS
from pipelines.simulator.platform_formats import written_accounts, written_space_ids, written_tenant_users
from pipelines.simulator.world import SimulatedWorld
from transforms.contracts import ACCOUNTS, ACTIVITY_COUNTS, EVENTS, HR_SNAPSHOTS

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_EVENTS_PER_ACTIVE_WEEK", "write_canonical_platforms"]

DEFAULT_EVENTS_PER_ACTIVE_WEEK = 3.0
POST, REPLY, REACT, UPLOAD = 0, 1, 2, 3
ACTIONS = np.asarray(["post", "reply", "react", "upload"])
#: Relative weight of a secondary platform, and of Teams (licensed people), against the primary one.
SECONDARY_WEIGHT, TEAMS_WEIGHT = 0.5, 0.6
Progress = Callable[[str, float], None]


def _write(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd", row_group_size=256_000)
    return path


def _space_tables(world: SimulatedWorld) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per platform, every person's member spaces as CSR arrays: offsets (P + 1), space indices, and
    the cumulative weight of the spaces within each person's run (for a weighted draw)."""
    offsets, spaces, cum = [], [], []
    weights = np.asarray([s.weight for s in world.spaces])
    for source in EVENT_PLATFORMS:
        on = np.asarray([s.source == source and s.role != "bots" for s in world.spaces])
        member = world.member & on[None, :]
        counts = member.sum(axis=1)
        _, ss = np.nonzero(member)  # row-major: each person's spaces in a run
        running = np.cumsum(weights[ss])
        starts = np.cumsum(counts) - counts
        before_run = np.concatenate([[0.0], running])[starts]
        offsets.append(np.concatenate([[0], np.cumsum(counts)]))
        spaces.append(ss)
        cum.append(running - np.repeat(before_run, counts))
    return offsets, spaces, cum


def _choose_space(person: np.ndarray, u: np.ndarray, offsets: np.ndarray, spaces: np.ndarray,
                  cum: np.ndarray) -> np.ndarray:
    """A member space per action, weighted; -1 for a person with no space on the platform."""
    lo, hi = offsets[person], offsets[person + 1]
    has = hi > lo
    out = np.full(len(person), -1, dtype=np.int64)
    if not has.any():
        return out
    lo, hi = lo[has], hi[has]
    total = cum[hi - 1]
    target = u[has] * total
    # first position in [lo, hi) whose cumulative weight exceeds the target: a per-row binary search
    left, right = lo.copy(), hi - 1
    while True:
        active = left < right
        if not active.any():
            break
        mid = (left + right) // 2
        go_right = active & (cum[mid] <= target)
        left = np.where(go_right, mid + 1, left)
        right = np.where(active & ~go_right, mid, right)
    out[has] = spaces[left]
    return out


def _kinds(roles: np.ndarray, first: np.ndarray, source: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    probs = np.asarray([KIND_PROBS[r] for r in roles]) if len(roles) else np.zeros((0, 4))
    cum = np.cumsum(probs, axis=1)
    kind = np.minimum((rng.random(len(roles))[:, None] * cum[:, -1:] >= cum).sum(axis=1), 3)
    kind = np.where((source == "viva_engage") & (kind == REACT), REPLY, kind)  # no likes in Viva Engage exports
    return np.where(first & (kind == REACT), POST, kind)


def _link(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Parents for replies (one of the last four root posts of the space) and reaction targets (a root
    post of the space earlier in the week); orphans become posts. Emoji distinct per person and message."""
    frame = frame.sort("space", "t_us", "event")
    is_root = pl.col("kind").is_in([POST, UPLOAD])
    frame = frame.with_columns(k=is_root.cast(pl.Int64).cum_sum().over("space") - is_root.cast(pl.Int64))
    frame = frame.with_columns(kind=pl.when(pl.col("kind").is_in([REPLY, REACT]) & (pl.col("k") == 0))
                               .then(POST).otherwise(pl.col("kind")))
    frame = frame.with_columns(k=is_root.cast(pl.Int64).cum_sum().over("space") - is_root.cast(pl.Int64))
    roots = frame.filter(is_root)
    root_space, root_event = roots["space"].to_numpy(), roots["event"].to_numpy()
    offsets = np.searchsorted(root_space, frame["space"].to_numpy(), side="left")
    kind, k = frame["kind"].to_numpy(), frame["k"].to_numpy()
    parent = np.full(frame.height, -1, dtype=np.int64)
    linked = np.flatnonzero((kind == REPLY) | (kind == REACT))
    back = np.minimum(k[linked], np.where(kind[linked] == REPLY, 4, 50))
    j = k[linked] - 1 - np.floor(rng.random(len(linked)) * back).astype(np.int64)
    parent[linked] = root_event[offsets[linked] + j]
    frame = frame.with_columns(parent=pl.Series(parent), emoji_base=pl.Series(rng.integers(len(EMOJIS),
                                                                                          size=frame.height)))
    emoji = ((pl.col("emoji_base").first().over("parent", "account") + pl.int_range(pl.len()).over("parent", "account"))
             % len(EMOJIS))
    frame = frame.with_columns(emoji=pl.when(pl.col("kind") == REACT).then(emoji).otherwise(None))
    # a person reacting more than len(EMOJIS) times to one message: the extra ones are dropped
    rank = pl.int_range(pl.len()).over("parent", "account")
    return frame.filter((pl.col("kind") != REACT) | (rank < len(EMOJIS))).drop("k", "emoji_base")


def _features(frame: pl.DataFrame, roles: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """What the connectors derive from message text, drawn: length, hashtags, question, mentions
    (null on reactions, which carry no text)."""
    n = frame.height
    kind = frame["kind"].to_numpy()
    question = (kind == POST) & ((roles == "qa") | ((roles == "general") & (rng.random(n) < 0.2)))
    idea = (kind == POST) & (roles == "ideas") & (rng.random(n) < 0.65)
    text = pl.col("kind") != REACT
    return frame.with_columns(
        body_chars=pl.when(text).then(pl.Series(np.clip(rng.lognormal(4.2, 0.8, size=n), 2, 4000).astype(np.int32))),
        is_question=pl.when(text).then(pl.Series(question)),
        mention_count=pl.when(text).then(pl.Series((rng.random(n) < 0.10).astype(np.int16))),
        hashtags=pl.when(pl.Series(idea)).then(pl.lit(["idea"], dtype=pl.List(pl.Utf8)))
        .otherwise(pl.lit(None, dtype=pl.List(pl.Utf8))),
    )


def _week_events(world: SimulatedWorld, t: int, scaled: np.ndarray, csr: tuple, account_of: dict[str, np.ndarray],
                 rng: np.random.Generator, first_event: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The canonical events of week ``t`` (all platforms) and the week's Teams action counts per person."""
    org, plan = world.org, world.identity
    persons = np.flatnonzero(scaled[:, t])
    n = scaled[persons, t]
    person = np.repeat(persons, n)
    seq = np.arange(len(person)) - np.repeat(np.cumsum(n) - n, n)
    weights = np.zeros((len(persons), len(EVENT_PLATFORMS) + 1))
    weights[:, : len(EVENT_PLATFORMS)] = plan.uses[persons] * SECONDARY_WEIGHT
    weights[np.arange(len(persons)), plan.primary[persons]] = 1.0
    weights[:, -1] = plan.m365[persons] * TEAMS_WEIGHT
    cum = np.cumsum(weights, axis=1)
    which = np.repeat(np.arange(len(persons)), n)
    platform = np.minimum((rng.random(len(person))[:, None] * cum[which, -1:] >= cum[which]).sum(axis=1),
                          weights.shape[1] - 1)
    platform = np.where(seq == 0, plan.primary[person], platform)
    teams = platform == len(EVENT_PLATFORMS)
    teams_counts = pl.DataFrame({"person": person[teams]}).group_by("person").len("count")
    person, seq, platform = person[~teams], seq[~teams], platform[~teams]
    offsets, spaces, cums = csr
    space = np.full(len(person), -1, dtype=np.int64)
    u = rng.random(len(person))
    for k in range(len(EVENT_PLATFORMS)):
        on = platform == k
        space[on] = _choose_space(person[on], u[on], offsets[k], spaces[k], cums[k])
    keep = space >= 0
    person, seq, platform, space = person[keep], seq[keep], platform[keep], space[keep]
    source = np.asarray(EVENT_PLATFORMS)[platform]
    roles = np.asarray([s.role for s in world.spaces])[space]
    kind = _kinds(roles, seq == 0, source, rng)
    t_us = local_times(rng, np.full(len(person), t), org.is_frontline[person], world.timeline)
    account = np.empty(len(person), dtype=np.int64)
    for k, src in enumerate(EVENT_PLATFORMS):
        on = platform == k
        account[on] = account_of[src][person[on]]
    bots = _bot_rows(world, t, rng)
    frame = pl.concat([
        pl.DataFrame({"source": source, "account": account, "space": space, "kind": kind, "t_us": t_us,
                      "automated": np.zeros(len(person), dtype=bool)}),
        bots,
    ], how="vertical_relaxed").with_columns(event=pl.int_range(pl.len()).cast(pl.Int64) + first_event)
    frame = _link(frame, rng)
    roles = np.asarray([s.role for s in world.spaces])[frame["space"].to_numpy()]
    frame = _features(frame, roles, rng)
    return frame, teams_counts


def _bot_rows(world: SimulatedWorld, t: int, rng: np.random.Generator) -> pl.DataFrame:
    names = [(s.source, s.name) for s in world.spaces]
    rows = []
    for source, bot, space_name, per_week in BOT_SCHEDULE:
        acc = world.accounts.filter((pl.col("source") == source) & (pl.col("username") == bot))["account"]
        if acc.len():
            rows.append(pl.DataFrame({"source": [source] * per_week, "account": [acc.item()] * per_week,
                                      "space": [names.index((source, space_name))] * per_week}))
    if not rows:
        return pl.DataFrame(schema={"source": pl.Utf8, "account": pl.Int64, "space": pl.Int64, "kind": pl.Int64,
                                    "t_us": pl.Int64, "automated": pl.Boolean})
    frame = pl.concat(rows)
    times = local_times(rng, np.full(frame.height, t), np.zeros(frame.height, dtype=bool), world.timeline)
    return frame.with_columns(kind=pl.lit(POST, pl.Int64), t_us=pl.Series(times), automated=pl.lit(True))


def _canonical_events(frame: pl.DataFrame, platform: str, world: SimulatedWorld, account_ids: pl.Series,
                      space_ids: pl.Series) -> pl.DataFrame:
    """The events of simulated ``platform`` as canonical rows of the source it is written under
    (``account_ids``/``space_ids``: every account's and space's id as written, by index)."""
    source = world.formats.source(platform)
    content = pl.concat_str([pl.lit(f"{source[:2]}-"), pl.col("event").cast(pl.Utf8)])
    parent = pl.concat_str([pl.lit(f"{source[:2]}-"), pl.col("parent").cast(pl.Utf8)])
    action = pl.col("kind").replace_strict(dict(enumerate(ACTIONS.tolist())), return_dtype=pl.Utf8)
    emoji = pl.col("emoji").replace_strict(dict(enumerate(EMOJIS)), return_dtype=pl.Utf8, default=None)
    account = account_ids.gather(frame["account"].to_numpy())
    out = frame.with_columns(account_id=account, space_id=space_ids.gather(frame["space"].to_numpy())).select(
        pl.lit(source).alias("source"),
        pl.when(pl.col("kind") == REACT).then(pl.concat_str([parent, pl.lit(":react:"), pl.col("account_id"),
                                                              pl.lit(":"), emoji]))
        .otherwise(content).alias("event_id"),
        pl.col("t_us").cast(pl.Datetime("us", "UTC")).alias("occurred_at"),
        "account_id",
        pl.lit(None, pl.Utf8).alias("account_email"),
        action.alias("action"),
        "space_id",
        pl.when(pl.col("kind") == REPLY).then(parent).otherwise(None).alias("thread_id"),
        pl.when(pl.col("kind") == REACT).then(parent).otherwise(content).alias("content_id"),
        pl.col("automated").alias("is_automated"),
        "body_chars", "hashtags", "is_question", "mention_count",
        pl.when(pl.col("kind") == REACT).then(emoji).otherwise(None).alias("reaction"),
        pl.lit(None, pl.Utf8).alias("source_file"),
    )
    return out.sort("occurred_at", "event_id").cast(EVENTS.schema)  # type: ignore[arg-type]


def _canonical_accounts(world: SimulatedWorld, platform: str) -> pl.DataFrame:
    source = world.formats.source(platform)
    acc = written_accounts(world).filter((pl.col("source") == source) & (pl.col("account") >= 0))
    return acc.select(
        pl.lit(source).alias("source"),
        "account_id",
        pl.col("email").str.strip_chars().str.to_lowercase().alias("account_email"),
        pl.lit(None, pl.Utf8).alias("account_upn"),
        pl.lit(None, pl.Utf8).alias("employee_number"),
        "username",
        "display_name",
        pl.col("is_bot").alias("is_automated"),
        pl.col("deleted").alias("is_deleted"),
        (pl.col("kind") == "contractor").alias("is_guest"),
        pl.lit(None, pl.Utf8).alias("source_file"),
    ).cast(ACCOUNTS.schema)  # type: ignore[arg-type]


def _hr_snapshots(world: SimulatedWorld) -> pl.DataFrame:
    state = hr_state(world)
    return state.select(
        pl.col("snapshot_date").cast(pl.Date),
        *[pl.col(c).alias(c) for c in HR_COLUMNS if c not in ("aliases", "worker_type", "level")],
        pl.when(pl.col("aliases") == "").then(None).otherwise(pl.concat_list("aliases")).alias("aliases"),
        pl.lit(None, pl.Utf8).alias("worker_type"),
        pl.col("level").cast(pl.Int16),
        pl.lit(None, pl.Utf8).alias("source_file"),
    ).select(HR_SNAPSHOTS.names).cast(HR_SNAPSHOTS.schema)  # type: ignore[arg-type]


def scaled_actions(world: SimulatedWorld, events_per_active_week: float, rng: np.random.Generator) -> np.ndarray:
    """Actions per person-week at the requested mean: ``1 + Poisson((E - 1) * w)`` in the weeks a
    correct pipeline sees (observable active), ``w`` the planted weekly actions relative to their
    mean over those person-weeks; 0 otherwise. The tiers are not planted here: action 0 is always a
    contribution (reads and reaction-only weeks of the export mode become contributions)."""
    actions = world.behaviour.actions
    active = world.behaviour.factual.observable & world.org.eligible
    if not active.any():
        return np.zeros_like(actions)
    relative = actions / actions[active].mean()
    extra = rng.poisson(np.maximum(events_per_active_week - 1.0, 0.0) * relative)
    return np.where(active, 1 + extra, 0)


def write_canonical_platforms(world: SimulatedWorld, out_dir: Path, *, events_per_active_week: float,
                              progress: Progress | None = None) -> tuple[list[Path], dict[str, int]]:
    """Write the HR extracts, accounts, events and Teams counters as canonical Parquet (see the
    module docstring); return the files written and the events per source."""
    say = progress or (lambda step, fraction: None)
    rng = np.random.default_rng([world.seed, 20_26])
    written: list[Path] = []
    hr = _hr_snapshots(world)
    for (week,), part in hr.partition_by("snapshot_date", as_dict=True, maintain_order=True).items():
        written.append(_write(part.sort("employee_id"), out_dir / "hr" / "canonical" / "hr_snapshots"
                              / f"week={week.isoformat()}.parquet"))
    del hr
    account_of: dict[str, np.ndarray] = {}
    for platform in EVENT_PLATFORMS:
        written.append(_write(_canonical_accounts(world, platform), out_dir / "platforms"
                              / world.formats.source(platform) / "canonical" / "accounts" / "accounts.parquet"))
        emp = world.accounts.filter((pl.col("source") == platform) & (pl.col("kind") == "employee"))
        lookup = np.full(world.org.n_people, -1, dtype=np.int64)
        lookup[emp["person"].to_numpy()] = emp["account"].to_numpy()
        account_of[platform] = lookup
    account_ids = written_accounts(world).filter(pl.col("account") >= 0).sort("account")["account_id"]
    space_ids = pl.Series(written_space_ids(world))
    scaled = scaled_actions(world, events_per_active_week, rng)
    csr = _space_tables(world)
    teams_source = world.formats.teams
    if teams_source == "m365_usage":
        upn = world.m365.filter(pl.col("person") >= 0)
        ids = upn["upn"].str.to_lowercase()
    else:  # a Viva Insights person query: licensed employees, by PersonId, weeks from the Sunday
        upn = written_tenant_users(world).filter(pl.col("source") == teams_source)
        ids = upn["account_id"]
    upn_of = np.full(world.org.n_people, None, dtype=object)
    upn_of[upn["person"].to_numpy()] = ids.to_numpy()
    licensed = np.zeros(world.org.n_people, dtype=bool)
    licensed[upn["person"].to_numpy()] = True
    period_shift = dt.timedelta(days=0 if teams_source == "m365_usage" else -1)
    totals: dict[str, int] = {world.formats.source(p): 0 for p in EVENT_PLATFORMS}
    first_event = 0
    for t in range(world.timeline.weeks):
        monday = world.timeline.monday(t)
        frame, teams = _week_events(world, t, scaled, csr, account_of, rng, first_event)
        first_event += frame.height
        for platform in EVENT_PLATFORMS:
            source = world.formats.source(platform)
            part = _canonical_events(frame.filter(pl.col("source") == platform), platform, world, account_ids,
                                     space_ids)
            totals[source] += part.height
            written.append(_write(part, out_dir / "platforms" / source / "canonical" / "events"
                                  / f"week={monday.isoformat()}.parquet"))
        # Teams: every licensed person employed that week is reported (zeros kept), as the D7 reports do
        listed = np.flatnonzero(licensed & world.org.employed[:, t])
        counts = np.zeros(world.org.n_people, dtype=np.int64)
        counts[teams["person"].to_numpy()] = teams["count"].to_numpy()
        period_start = monday + period_shift
        written.append(_write(pl.DataFrame({
            "source": teams_source, "account_id": upn_of[listed].astype(str), "account_email": None,
            "period_start": period_start, "period_end": period_start + dt.timedelta(days=6), "action": "post",
            "count": counts[listed], "source_file": None,
        }, schema_overrides={"account_email": pl.Utf8, "source_file": pl.Utf8}).cast(ACTIVITY_COUNTS.schema),
            out_dir / "platforms" / teams_source / "canonical" / "activity_counts" / f"week={monday.isoformat()}.parquet"))
        say(f"events, week {t + 1} of {world.timeline.weeks}", 0.5 + 0.45 * (t + 1) / world.timeline.weeks)
        log.debug("week %d: %d events", t, frame.height)
    return written, totals

