"""Non-random pilot selection: whole teams picked for their maturity, office share and early
adopters, plus individual volunteers among early adopters and managers.

Team score at the wave start: ``3 * mean maturity + 1 * office share + 1.5 * has an early adopter
+ Gumbel noise``; teams are taken in score order (the first two customer-facing ones first, so that
the outcome KPI has treated teams) until the wave holds ``pilot_share_per_wave`` of the workforce.
Teams at the late-launch site, the executive team and teams with fewer than 3 members are not
candidates; a team holding a member of an earlier wave is not either, so cohorts never overlap.
Membership is intent to treat, fixed at the wave start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.simulator.organisation import DEPARTMENTS, LATE_SITE, SITE_CODES, Organisation
from pipelines.simulator.parameters import SimulationParameters, Timeline, round_half_up


@dataclass(frozen=True)
class Cohort:
    name: str
    wave: int
    start_week: int
    end_week: int  # last week of the pilot (G - 1)
    support_level: str
    tau: float
    teams: tuple[int, ...]  # team indices selected whole (org_unit selectors)
    volunteers: tuple[int, ...]  # person indices listed individually
    members: tuple[int, ...]  # every member (person indices, sorted)


@dataclass(frozen=True)
class PilotPlan:
    cohorts: tuple[Cohort, ...]
    cohort_of: np.ndarray  # int per person, index into cohorts or -1

    def start_week_of(self) -> np.ndarray:
        """Per person, the start week of their cohort (a large number when not in a pilot)."""
        starts = np.asarray([c.start_week for c in self.cohorts] + [10 ** 6])
        return starts[self.cohort_of]

    def tau_of(self) -> np.ndarray:
        taus = np.asarray([c.tau for c in self.cohorts] + [0.0])
        return taus[self.cohort_of]


def _gumbel_order(score: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.argsort(-(score + rng.gumbel(size=len(score))), kind="stable")


def select_pilots(org: Organisation, timeline: Timeline, params: SimulationParameters,
                  rng: np.random.Generator) -> PilotPlan:
    """Choose the two pilot waves (wave 1: high support, wave 2: standard support)."""
    P = org.n_people
    U = len(org.team_code)
    cohort_of = np.full(P, -1, dtype=np.int64)
    late = SITE_CODES.index(LATE_SITE)
    customer_facing = np.asarray([DEPARTMENTS[d].customer_facing for d in org.team_department])
    cohorts: list[Cohort] = []
    waves = ((1, timeline.w1, "high"), (2, timeline.w2, "standard"))
    for c, (wave, s, support) in enumerate(waves):
        emp = org.employed[:, s]
        team = org.team_of[:, s]
        members_mask = emp & (team >= 0)
        tm = team[members_mask]
        size = np.bincount(tm, minlength=U)
        safe = np.maximum(size, 1)
        mean_mat = np.bincount(tm, weights=org.maturity[members_mask], minlength=U) / safe
        office = np.bincount(tm, weights=(~org.is_frontline[members_mask]).astype(float), minlength=U) / safe
        has_ea = np.bincount(tm, weights=org.early_adopter[members_mask].astype(float), minlength=U) > 0
        taken = np.bincount(tm, weights=(cohort_of[members_mask] >= 0).astype(float), minlength=U) > 0
        candidate = (size >= 3) & (org.team_site != late) & (np.arange(U) != 0) & ~taken
        score = 3.0 * mean_mat + 1.0 * office + 1.5 * has_ea
        order = [u for u in _gumbel_order(score, rng) if candidate[u]]
        target = params.pilot_share_per_wave * emp.sum()
        chosen: list[int] = [u for u in order if customer_facing[u]][:2]
        total = int(size[chosen].sum())
        for u in order:
            if total >= target and len(chosen) >= 2:
                break
            if u not in chosen:
                chosen.append(int(u))
                total += int(size[u])
        in_teams = members_mask & np.isin(team, chosen)
        pool = np.flatnonzero(
            emp & ~in_teams & (cohort_of < 0) & (org.site != late)
            & (org.early_adopter | (org.direct_reports[:, s] > 0))
        )
        n_vol = min(len(pool), max(2, round_half_up(params.volunteer_share_per_wave * emp.sum())))
        volunteers = pool[_gumbel_order(3.0 * org.maturity[pool], rng)[:n_vol]]
        members = np.sort(np.concatenate([np.flatnonzero(in_teams), volunteers]))
        cohort_of[members] = c
        cohorts.append(Cohort(
            name=f"wave-{wave}", wave=wave, start_week=s, end_week=timeline.general_rollout - 1,
            support_level=support, tau=params.tau_by_support[support],
            teams=tuple(sorted(int(u) for u in chosen)), volunteers=tuple(sorted(int(v) for v in volunteers)),
            members=tuple(int(m) for m in members),
        ))
    return PilotPlan(cohorts=tuple(cohorts), cohort_of=cohort_of)
