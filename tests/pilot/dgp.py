"""A tiny person-week data-generating process with a known pilot effect, for the pilot tests.

- Teams of ``team_size`` people; each team sits at one site: HQ and REGION are office sites,
  PLANT and STORE frontline. The first person of each team is its manager.
- Each person has a baseline weekly activity probability ``p_i`` (higher for office staff and
  managers, plus a personal level); every week everybody gets the same small trend ``delta * week``.
- **Non-random selection**: the probability of joining the pilot rises with office work, being a
  manager and the person's *observed* active rate over weeks ``[0, baseline_weeks)`` (already-active
  people are picked); the waves start a few weeks later (the lead time between picking people and
  launching), so the estimators are told ``baseline_end = week(baseline_weeks)``. With
  ``select_teams`` whole teams are picked on whether the team sits at an office site and on its
  observed mean rate, and every member of a picked team joins (as ``pilots.yaml`` selectors do).
- Pilot members are split at random across ``len(wave_starts)`` staggered waves; from its wave's
  start a member's weekly active probability rises by ``tau`` (additive intent-to-treat effect;
  ``tau_by_support`` overrides it per support level, ``tau_by_worker_type`` per worker type).
- At ``rollout_week`` everybody gets the platform: non-members also gain ``tau`` from then on, so an
  estimation window that overran the roll-out would be biased toward zero.
- No trend difference between groups before the pilot (parallel trends hold by construction).
- ``team_week_sd`` adds a weekly shock shared by each team (outcomes correlated within teams).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

FIRST_WEEK = dt.date(2026, 1, 5)  # a Monday
SITES = {"HQ": "office", "REGION": "office", "PLANT": "frontline", "STORE": "frontline"}


@dataclass(frozen=True)
class Truth:
    tau: float
    tau_by_cohort: dict[str, float]
    rollout_week: dt.date
    wave_starts: dict[str, dt.date]
    support: dict[str, str]
    att_simple: float  # truth of the Callaway-Sant'Anna simple aggregation
    extra: dict[str, float] = field(default_factory=dict)


def _text(values: np.ndarray) -> pl.Series:
    return pl.Series(values.tolist(), dtype=pl.Utf8)


def week(i: int) -> dt.date:
    return FIRST_WEEK + dt.timedelta(weeks=i)


def simulate_pilot_panel(
    *,
    n_people: int = 1500,
    n_weeks: int = 24,
    team_size: int = 10,
    baseline_weeks: int = 8,
    wave_starts: tuple[int, ...] = (10, 13, 16),
    rollout_week: int = 22,
    tau: float = 0.10,
    tau_by_support: dict[str, float] | None = None,
    tau_by_worker_type: dict[str, float] | None = None,
    support_levels: tuple[str, ...] = ("high", "standard", "standard"),
    selection_strength: float = 3.0,
    pilot_base: float = -2.4,
    delta: float = 0.002,
    select_teams: bool = False,
    team_week_sd: float = 0.0,
    seed: int = 0,
) -> tuple[pl.DataFrame, Truth]:
    """Return ``(person_week, truth)``; ``person_week`` follows the PERSON_WEEK contract."""
    rng = np.random.default_rng(seed)
    n = n_people
    team = np.arange(n) // team_size
    n_teams = int(team.max()) + 1
    team_site = rng.choice(list(SITES), size=n_teams, p=[0.3, 0.2, 0.3, 0.2])
    site = team_site[team]
    office = np.array([SITES[s] == "office" for s in site])
    manager = (np.arange(n) % team_size) == 0
    level = rng.integers(1, 6, size=n)
    tenure = rng.choice(["<1y", "1-3y", "3-5y", "5-10y", "10y+"], size=n)
    p = np.clip(0.22 + 0.15 * office + 0.10 * manager + 0.08 * rng.normal(size=n), 0.03, 0.75)

    weeks = np.arange(n_weeks)
    trend = delta * weeks
    base_prob = p[:, None] + trend[None, :]
    if team_week_sd:  # a shock shared by a team each week: outcomes correlate within teams
        base_prob = base_prob + rng.normal(0, team_week_sd, (n_teams, n_weeks))[team]
    uniform = rng.random((n, n_weeks))
    active_untreated = uniform < base_prob

    # selection on what a sponsor can see before the first wave
    if baseline_weeks > wave_starts[0]:
        raise ValueError("the selection window must end before the first wave starts")
    observed_rate = active_untreated[:, :baseline_weeks].mean(axis=1)
    if select_teams:
        team_rate = np.bincount(team, weights=observed_rate) / np.bincount(team)
        team_office = np.array([SITES[s] == "office" for s in team_site])
        lin_team = pilot_base + 1.0 * team_office + selection_strength * 2 * (team_rate - 0.3)
        picked = rng.random(n_teams) < 1 / (1 + np.exp(-lin_team))
        team_wave = np.where(picked, rng.integers(0, len(wave_starts), size=n_teams), -1)
        wave = team_wave[team]
        in_pilot = wave >= 0
    else:
        lin = pilot_base + 1.0 * office + 0.8 * manager + selection_strength * (observed_rate - 0.3)
        in_pilot = rng.random(n) < 1 / (1 + np.exp(-lin))
        wave = np.where(in_pilot, rng.integers(0, len(wave_starts), size=n), -1)
    starts = np.array(wave_starts)
    start_idx = np.where(in_pilot, starts[np.maximum(wave, 0)], 10**6)

    cohort_names = [f"wave-{i + 1}" for i in range(len(wave_starts))]
    support = {c: support_levels[i] for i, c in enumerate(cohort_names)}
    person_tau = np.full(n, tau)
    if tau_by_support:
        levels = np.array([support_levels[w] if w >= 0 else "" for w in wave])
        for lvl, value in tau_by_support.items():
            person_tau[levels == lvl] = value
    if tau_by_worker_type:
        for wt, value in tau_by_worker_type.items():
            person_tau[np.array([SITES[s] == wt for s in site])] = value
    treated_now = weeks[None, :] >= start_idx[:, None]
    rolled_out = weeks[None, :] >= rollout_week
    boost = np.where(treated_now | rolled_out, person_tau[:, None], 0.0)
    active = uniform < base_prob + boost

    engaged = active & (rng.random((n, n_weeks)) < 0.5)
    contributor = engaged & (rng.random((n, n_weeks)) < 0.4)
    passive = np.where(active, rng.poisson(3, (n, n_weeks)) + 1, 0)
    reaction = np.where(engaged, rng.poisson(2, (n, n_weeks)) + 1, 0)
    contribution = np.where(contributor, rng.poisson(1, (n, n_weeks)) + 1, 0)

    week_dates = [week(int(i)) for i in weeks]
    status = np.where(
        ~in_pilot[:, None], None,
        np.where(weeks[None, :] < start_idx[:, None], "pre", np.where(weeks[None, :] < rollout_week, "during", "after")),
    )  # fmt: skip
    first_active = np.where(active.any(axis=1), active.argmax(axis=1), -1)
    frame = pl.DataFrame(
        {
            "person_key": np.repeat([f"P{i:05d}" for i in range(n)], n_weeks),
            "week_start": np.tile(np.array(week_dates, dtype="datetime64[D]"), n),
            "manager_key": np.repeat([f"P{(t * team_size):05d}" for t in team], n_weeks),
            "department": np.repeat([f"D{t % 5}" for t in team], n_weeks),
            "org_unit": np.repeat([f"T{t:03d}" for t in team], n_weeks),
            "site": np.repeat(site, n_weeks),
            "country": "FR",
            "job_family": np.repeat(np.where(office, "Office", "Operations"), n_weeks),
            "worker_type": np.repeat([SITES[s] for s in site], n_weeks),
            "level": np.repeat(level, n_weeks).astype(np.int16),
            "tenure_band": np.repeat(tenure, n_weeks),
            "is_manager": np.repeat(manager, n_weeks),
            "direct_reports": np.repeat(np.where(manager, team_size - 1, 0), n_weeks).astype(np.int32),
            "eligible_from": FIRST_WEEK,
            "has_account": True,
            "actions_passive": passive.ravel().astype(np.int64),
            "actions_reaction": reaction.ravel().astype(np.int64),
            "actions_contribution": contribution.ravel().astype(np.int64),
            "is_active": active.ravel(),
            "is_engaged": engaged.ravel(),
            "is_contributor": contributor.ravel(),
            "pilot_cohort": _text(np.repeat(np.array([cohort_names[w] if w >= 0 else None for w in wave], dtype=object), n_weeks)),
            "pilot_wave": np.repeat(np.where(wave >= 0, wave + 1, 0), n_weeks).astype(np.int16),
            "pilot_start_week": np.repeat(
                np.array([week(int(s)) if s < 10**6 else None for s in start_idx], dtype="datetime64[D]"), n_weeks
            ),
            "pilot_status": _text(status.ravel()),
            "pilot_support_level": _text(
                np.repeat(np.array([support[cohort_names[w]] if w >= 0 else None for w in wave], dtype=object), n_weeks)
            ),
        }
    )
    frame = frame.with_columns(
        pl.col("week_start").dt.strftime("%G-W%V").alias("iso_week"),
        (pl.col("actions_passive") + pl.col("actions_reaction") + pl.col("actions_contribution")).alias("actions_total"),
        pl.when(pl.col("pilot_cohort").is_null()).then(None).otherwise(pl.col("pilot_wave")).alias("pilot_wave"),
        pl.Series("first_active_week", np.repeat(
            np.array([week(int(f)) if f >= 0 else None for f in first_active], dtype="datetime64[D]"), n_weeks
        )),
    )  # fmt: skip

    tau_by_cohort = {c: float(person_tau[wave == i].mean()) if (wave == i).any() else float("nan") for i, c in enumerate(cohort_names)}
    sizes = np.array([(wave == i).sum() for i in range(len(wave_starts))])
    post = np.array([max(rollout_week - s, 0) for s in wave_starts])
    att_simple = float(sum(sizes[i] * post[i] * tau_by_cohort[c] for i, c in enumerate(cohort_names)) / (sizes * post).sum())
    truth = Truth(
        tau=tau,
        tau_by_cohort=tau_by_cohort,
        rollout_week=week(rollout_week),
        wave_starts={c: week(s) for c, s in zip(cohort_names, wave_starts)},
        support=support,
        att_simple=att_simple,
    )
    return frame, truth


def simulate_team_kpi(
    person_week: pl.DataFrame,
    *,
    kpi: str = "first_response_hours",
    tau: float = -2.0,
    sigma_team: float = 3.0,
    sigma_week: float = 1.5,
    rho: float = 0.5,
    base: float = 24.0,
    rollout_week: dt.date | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """A weekly team KPI: team level + AR(1) weekly noise + ``tau`` from the team's pilot start.

    A team is piloted when most of its people are in one cohort (majority rule, as in
    ``team_pilot_assignment``). Team levels are higher where more people were already active, so
    the naive comparison is biased; trends are parallel.
    """
    rng = np.random.default_rng(seed)
    starts = person_week.group_by("pilot_cohort").agg(pl.col("pilot_start_week").min().alias("first_treat"))
    teams = (
        person_week.group_by("org_unit")
        .agg(
            pl.col("pilot_cohort").drop_nulls().mode().sort().first().alias("cohort"),
            (pl.col("pilot_cohort").is_not_null().mean()).alias("share"),
        )
        .join(starts, left_on="cohort", right_on="pilot_cohort", how="left")
        .with_columns(
            pl.when(pl.col("share") >= 0.5).then(pl.col("cohort")).otherwise(None).alias("cohort"),
            pl.when(pl.col("share") >= 0.5).then(pl.col("first_treat")).otherwise(None).alias("first_treat"),
        )
        .sort("org_unit")
    )
    weeks = person_week["week_start"].unique().sort()
    n_t, n_w = teams.height, weeks.len()
    e = np.zeros((n_t, n_w))
    e[:, 0] = rng.normal(0, sigma_week, n_t)
    for j in range(1, n_w):  # AR(1) over a few dozen weeks, vectorised across teams
        e[:, j] = rho * e[:, j - 1] + rng.normal(0, sigma_week * np.sqrt(1 - rho**2), n_t)
    level = base + rng.normal(0, sigma_team, n_t) - 2.0 * teams["share"].to_numpy()
    week_list = weeks.to_list()
    ft = teams["first_treat"].to_numpy().astype("datetime64[D]")
    wk = np.array(week_list, dtype="datetime64[D]")
    treated = ~np.isnat(ft)[:, None] & (wk[None, :] >= ft[:, None])
    if rollout_week is not None:
        treated = treated | (wk >= np.datetime64(rollout_week))[None, :]
    value = level[:, None] + e + tau * treated
    return pl.DataFrame(
        {
            "kpi": kpi,
            "unit_id": np.repeat(teams["org_unit"].to_numpy(), n_w),
            "week_start": np.tile(np.array(week_list, dtype="datetime64[D]"), n_t),
            "value": value.ravel(),
            "cohort": _text(np.repeat(np.array(teams["cohort"].to_list(), dtype=object), n_w)),
            "first_treat": np.repeat(ft, n_w),
        }
    )
