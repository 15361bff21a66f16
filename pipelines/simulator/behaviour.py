"""The activity model: adoption (early adopters, pilot onboarding, Bass diffusion after general
roll-out), weekly activity with pilot and manager-relay effects, and what each active week holds
(reads, reactions, contributions) by the person's participation role.

Both worlds (with pilots, and the counterfactual without) are simulated from the same uniforms
(common random numbers), so that the realised effect of the pilots on their own members is known
exactly. See docs/simulator.md for the equations.

*Observable* (what a correct pipeline can see) is decided here, week by week, because the manager
relay acts on it: an active week is observable when the person has a matchable identity and the
week holds a contribution or a reaction (every platform shows those) or reads on a platform whose
reads are exported (Viva Engage, through the Microsoft 365 usage report).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.simulator.identity import VIVA, IdentityPlan
from pipelines.simulator.organisation import Organisation
from pipelines.simulator.parameters import SimulationParameters, Timeline, round_half_up
from pipelines.simulator.pilots import PilotPlan

#: Participation roles, in the order of the per-role parameter tuples.
ROLES: tuple[str, ...] = ("lurker", "contributor", "power")
LURKER, CONTRIBUTOR, POWER = 0, 1, 2
#: Sweeps of the first week's state before week 0, so that week 0 starts from a steady state.
BURN_IN_SWEEPS = 4


@dataclass(frozen=True)
class Participation:
    """Per person: participation role and what a correct pipeline can see of their activity."""

    role: np.ndarray  # int index into ROLES
    contribute: np.ndarray  # float: P(contributes | active week)
    react: np.ndarray  # float: P(reacts | active week)
    visible: np.ndarray  # bool: has a matchable identity
    reads_visible: np.ndarray  # bool: reads are exported (a Viva Engage user with a tenant identity)

    def visibility(self) -> np.ndarray:
        """P(an active week other than the adoption week is observable)."""
        unseen = (1 - self.contribute) * (1 - self.react) * (~self.reads_visible)
        return np.where(self.visible, 1 - unseen, 0.0)


@dataclass(frozen=True)
class World:
    """One simulated world. Arrays are person x week unless noted."""

    adopted: np.ndarray  # bool: adopted by the end of week t
    active: np.ndarray  # bool: weekly active (latent: reads count, whether exported or not)
    contributes: np.ndarray  # bool: active and contributed
    reacts: np.ndarray  # bool: active and reacted (the adoption week always holds a reaction)
    observable: np.ndarray  # bool: active and seen by a correct pipeline
    probability: np.ndarray  # float: P(active in t | state at the start of week t)
    observable_probability: np.ndarray  # float: P(observable in t | state at the start of week t)
    adoption_week: np.ndarray  # int per person, -1 if never (early adopters: 0, adopted before the data)
    bass_population: np.ndarray  # bool per person (defined at G)
    bass_adoptable: np.ndarray  # bool per person (the M people who can adopt in the Bass process)
    bass_m: int
    bass_new_adopters: np.ndarray  # int per week: new adopters among the Bass population


@dataclass(frozen=True)
class Behaviour:
    base_activity: np.ndarray  # a_i
    participation: Participation
    factual: World
    counterfactual: World
    contributions: np.ndarray  # int person x week (factual)
    reactions: np.ndarray  # int person x week (factual)
    reads: np.ndarray  # int person x week (factual; exported only for Viva Engage users)

    @property
    def actions(self) -> np.ndarray:
        """Latent actions per person-week (reads, reactions and contributions), factual world."""
        return self.contributions + self.reactions + self.reads


def base_activity(org: Organisation, params: SimulationParameters, role: np.ndarray | None = None) -> np.ndarray:
    """``a_i = base(worker type) + slope * (maturity - 0.5)``, clipped; power users at least ``power_user_activity``."""
    base = np.where(org.is_frontline, params.base_activity_frontline, params.base_activity_office)
    lo, hi = params.base_activity_clip
    a = np.clip(base + params.maturity_slope * (org.maturity - 0.5), lo, hi)
    if role is not None:
        a = np.where(role == POWER, np.maximum(a, params.power_user_activity), a)
    return a


def assign_roles(org: Organisation, params: SimulationParameters, rng: np.random.Generator) -> np.ndarray:
    """Participation role per person, within each worker type (so that frontline communities have
    their contributors too): rank of ``maturity + N(0, role_noise)``; the top ``power_user_share``
    are power users, the next ``contributor_share`` contributors, the rest lurkers."""
    P = org.n_people
    score = org.maturity + rng.normal(0.0, params.role_noise, size=P)
    role = np.full(P, LURKER)
    for group in (org.is_frontline, ~org.is_frontline):
        idx = np.flatnonzero(group)
        ranked = idx[np.argsort(-score[idx], kind="stable")]
        n_power = round_half_up(params.power_user_share * len(idx))
        n_contrib = round_half_up(params.contributor_share * len(idx))
        role[ranked[:n_power]] = POWER
        role[ranked[n_power:n_power + n_contrib]] = CONTRIBUTOR
    return role


def participation(role: np.ndarray, identity: IdentityPlan, params: SimulationParameters) -> Participation:
    visible = identity.visible
    return Participation(
        role=role,
        contribute=np.asarray(params.contribute_probability)[role],
        react=np.asarray(params.react_probability)[role],
        visible=visible,
        reads_visible=identity.uses[:, VIVA] & visible,
    )


@dataclass(frozen=True)
class _Uniforms:
    adopt: np.ndarray  # P x W
    act: np.ndarray  # P x W
    contribute: np.ndarray  # P x W
    react: np.ndarray  # P x W
    bass: np.ndarray  # P
    burn: np.ndarray  # BURN_IN_SWEEPS x P x 3


def _observable(y: np.ndarray, contrib: np.ndarray, react: np.ndarray, part: Participation) -> np.ndarray:
    return y & part.visible & (contrib | react | part.reads_visible)


def _run_world(org: Organisation, plan: PilotPlan | None, trend_members: np.ndarray, a: np.ndarray,
               part: Participation, timeline: Timeline, params: SimulationParameters, u: _Uniforms) -> World:
    P, W = org.employed.shape
    G = timeline.general_rollout
    in_pilot = plan.cohort_of >= 0 if plan is not None else np.zeros(P, dtype=bool)
    start_i = plan.start_week_of() if plan is not None else np.full(P, 10 ** 6)
    tau_i = plan.tau_of() if plan is not None else np.zeros(P)
    v_i = part.visibility()
    # early adopters adopted before the data starts: adopted at week 0, not forced active then
    adopted = org.early_adopter & org.eligible[:, 0]
    A = np.zeros((P, W), dtype=bool)
    Y = np.zeros((P, W), dtype=bool)
    C = np.zeros((P, W), dtype=bool)
    R = np.zeros((P, W), dtype=bool)
    O = np.zeros((P, W), dtype=bool)
    prob = np.zeros((P, W))
    prob_obs = np.zeros((P, W))
    adoption_week = np.where(adopted, 0, -1).astype(np.int64)
    # the relay of week 0 acts on a manager's observable activity in the week before the data
    m0 = org.manager[:, 0]
    obs_prev = np.zeros(P, dtype=bool)
    for k in range(BURN_IN_SWEEPS):
        mgr = (m0 >= 0) & obs_prev[np.maximum(m0, 0)]
        p = np.clip(a + params.rho * mgr, 0.0, params.activity_cap)
        y = adopted & (u.burn[k, :, 0] < p)
        obs_prev = _observable(y, u.burn[k, :, 1] < part.contribute, u.burn[k, :, 2] < part.react, part)
    pop = np.zeros(P, dtype=bool)
    adoptable = np.zeros(P, dtype=bool)
    M, n_cum = 0, 0
    bass_new = np.zeros(W, dtype=np.int64)
    for t in range(W):
        el = org.eligible[:, t]
        hazard = np.zeros(P)
        if t < G and params.pilot_trend_adoption_hazard > 0:
            hazard[trend_members] = params.pilot_trend_adoption_hazard
        onboard = in_pilot & (start_i == t)
        hazard[onboard] = np.maximum(hazard[onboard], params.onboarding_probability)
        if t >= G:
            if t == G:
                pop = el & ~adopted & ~in_pilot
                M = round_half_up(params.bass_m_share * pop.sum())
                members = np.flatnonzero(pop)
                adoptable[members[np.argsort(u.bass[members], kind="stable")[:M]]] = True
            hazard[adoptable] = params.bass_p + params.bass_q * n_cum / M if M else 0.0
            hazard[~pop] = np.maximum(hazard[~pop], params.bass_p)
        candidate = el & ~adopted
        newly = candidate & (u.adopt[:, t] < hazard)
        if t >= G:
            n_cum += int((newly & adoptable).sum())
            bass_new[t] = int((newly & pop).sum())
        was = adopted & el
        treated = in_pilot & (t >= start_i)
        m = org.manager[:, t]
        mgr_prev = (m >= 0) & (O[np.maximum(m, 0), t - 1] if t > 0 else obs_prev[np.maximum(m, 0)])
        p_act = np.clip(a + tau_i * treated + params.rho * mgr_prev, 0.0, params.activity_cap)
        Y[:, t] = newly | (was & (u.act[:, t] < p_act))
        C[:, t] = Y[:, t] & (u.contribute[:, t] < part.contribute)
        R[:, t] = Y[:, t] & ((u.react[:, t] < part.react) | newly)  # a first week holds a reaction
        O[:, t] = _observable(Y[:, t], C[:, t], R[:, t], part)
        prob[:, t] = np.where(candidate, hazard, np.where(was, p_act, 0.0))
        prob_obs[:, t] = np.where(candidate, hazard * part.visible, np.where(was, p_act * v_i, 0.0))
        adopted |= newly
        adoption_week[newly] = t
        A[:, t] = adopted
    return World(adopted=A, active=Y, contributes=C, reacts=R, observable=O, probability=prob,
                 observable_probability=prob_obs, adoption_week=adoption_week, bass_population=pop,
                 bass_adoptable=adoptable, bass_m=M, bass_new_adopters=bass_new)


def _counts(mask: np.ndarray, mean: np.ndarray, factor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``1 + Poisson(mean_i * factor_i)`` where ``mask``, else 0."""
    lam = (mean * factor)[:, None]
    return np.where(mask, 1 + rng.poisson(np.broadcast_to(lam, mask.shape)), 0)


def simulate_behaviour(org: Organisation, plan: PilotPlan, identity: IdentityPlan, timeline: Timeline,
                       params: SimulationParameters, rng: np.random.Generator) -> Behaviour:
    """Simulate the factual and the no-pilot world with common random numbers, then the counts of
    the factual world's reads, reactions and contributions."""
    P, W = org.employed.shape
    u = _Uniforms(adopt=rng.random((P, W)), act=rng.random((P, W)), contribute=rng.random((P, W)),
                  react=rng.random((P, W)), bass=rng.random(P), burn=rng.random((BURN_IN_SWEEPS, P, 3)))
    role = assign_roles(org, params, rng)
    part = participation(role, identity, params)
    a = base_activity(org, params, role)
    trend_members = plan.cohort_of >= 0
    factual = _run_world(org, plan, trend_members, a, part, timeline, params, u)
    counterfactual = _run_world(org, None, trend_members, a, part, timeline, params, u)
    factor = rng.lognormal(0.0, params.intensity_sigma, size=(3, P))
    mean = {k: np.asarray(getattr(params, f"{k}_mean"))[role] for k in ("contributions", "reactions", "reads")}
    contributions = _counts(factual.contributes, mean["contributions"], factor[0], rng)
    reactions = _counts(factual.reacts, mean["reactions"], factor[1], rng)
    reads = _counts(factual.active, mean["reads"], factor[2], rng)
    return Behaviour(base_activity=a, participation=part, factual=factual, counterfactual=counterfactual,
                     contributions=contributions, reactions=reactions, reads=reads)


def expected_bass_curve(m: int, p: float, q: float, weeks: int) -> np.ndarray:
    """Expected new adopters per week of the discrete Bass process (no attrition), for k = 0..weeks-1."""
    out = np.zeros(weeks)
    n_cum = 0.0
    for k in range(weeks):
        new = (m - n_cum) * (p + q * n_cum / m) if m else 0.0
        out[k] = new
        n_cum += new
    return out
