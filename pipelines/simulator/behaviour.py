"""The activity model: adoption (early adopters, pilot onboarding, Bass diffusion after general
roll-out) and weekly activity with pilot and manager-relay effects.

Both worlds (with pilots, and the counterfactual without) are simulated from the same uniforms
(common random numbers), so that the realised effect of the pilots on their own members is known
exactly. See docs/simulator.md for the equations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.simulator.organisation import Organisation
from pipelines.simulator.parameters import SimulationParameters, Timeline, round_half_up
from pipelines.simulator.pilots import PilotPlan


@dataclass(frozen=True)
class World:
    """One simulated world. Arrays are person x week unless noted."""

    adopted: np.ndarray  # bool: adopted by the end of week t
    active: np.ndarray  # bool: weekly active (latent; visibility applied in the truth)
    probability: np.ndarray  # float: P(active in t | state at the start of week t)
    adoption_week: np.ndarray  # int per person, -1 if never
    bass_population: np.ndarray  # bool per person (defined at G)
    bass_adoptable: np.ndarray  # bool per person (the M people who can adopt in the Bass process)
    bass_m: int
    bass_new_adopters: np.ndarray  # int per week: new adopters among the Bass population


@dataclass(frozen=True)
class Behaviour:
    base_activity: np.ndarray  # a_i
    factual: World
    counterfactual: World
    actions: np.ndarray  # int person x week: actions in the factual world (0 when not active)


def base_activity(org: Organisation, params: SimulationParameters) -> np.ndarray:
    """``a_i = base(worker type) + slope * (maturity - 0.5)``, clipped."""
    base = np.where(org.is_frontline, params.base_activity_frontline, params.base_activity_office)
    lo, hi = params.base_activity_clip
    return np.clip(base + params.maturity_slope * (org.maturity - 0.5), lo, hi)


def _run_world(org: Organisation, plan: PilotPlan | None, a: np.ndarray, timeline: Timeline,
               params: SimulationParameters, u_adopt: np.ndarray, u_act: np.ndarray,
               u_m: np.ndarray) -> World:
    P, W = org.employed.shape
    G = timeline.general_rollout
    in_pilot = plan.cohort_of >= 0 if plan is not None else np.zeros(P, dtype=bool)
    start_i = plan.start_week_of() if plan is not None else np.full(P, 10 ** 6)
    tau_i = plan.tau_of() if plan is not None else np.zeros(P)
    adopted = np.zeros(P, dtype=bool)
    A = np.zeros((P, W), dtype=bool)
    Y = np.zeros((P, W), dtype=bool)
    prob = np.zeros((P, W))
    adoption_week = np.full(P, -1, dtype=np.int64)
    pop = np.zeros(P, dtype=bool)
    adoptable = np.zeros(P, dtype=bool)
    M, n_cum = 0, 0
    bass_new = np.zeros(W, dtype=np.int64)
    for t in range(W):
        el = org.eligible[:, t]
        hazard = np.zeros(P)
        if t == 0:
            hazard[org.early_adopter] = 1.0
        onboard = in_pilot & (start_i == t)
        hazard[onboard] = np.maximum(hazard[onboard], params.onboarding_probability)
        if t >= G:
            if t == G:
                pop = el & ~adopted & ~in_pilot
                M = round_half_up(params.bass_m_share * pop.sum())
                members = np.flatnonzero(pop)
                adoptable[members[np.argsort(u_m[members], kind="stable")[:M]]] = True
            hazard[adoptable] = params.bass_p + params.bass_q * n_cum / M if M else 0.0
            hazard[~pop] = np.maximum(hazard[~pop], params.bass_p)
        candidate = el & ~adopted
        newly = candidate & (u_adopt[:, t] < hazard)
        if t >= G:
            n_cum += int((newly & adoptable).sum())
            bass_new[t] = int((newly & pop).sum())
        was = adopted & el
        treated = in_pilot & (t >= start_i)
        m = org.manager[:, t]
        mgr_prev = (m >= 0) & Y[np.maximum(m, 0), t - 1] if t > 0 else np.zeros(P, dtype=bool)
        p_act = np.clip(a + tau_i * treated + params.rho * mgr_prev, 0.0, params.activity_cap)
        Y[:, t] = newly | (was & (u_act[:, t] < p_act))
        prob[:, t] = np.where(candidate, hazard, np.where(was, p_act, 0.0))
        adopted |= newly
        adoption_week[newly] = t
        A[:, t] = adopted
    return World(adopted=A, active=Y, probability=prob, adoption_week=adoption_week, bass_population=pop,
                 bass_adoptable=adoptable, bass_m=M, bass_new_adopters=bass_new)


def simulate_behaviour(org: Organisation, plan: PilotPlan, timeline: Timeline, params: SimulationParameters,
                       rng: np.random.Generator) -> Behaviour:
    """Simulate the factual and the no-pilot world with common random numbers."""
    P, W = org.employed.shape
    u_adopt = rng.random((P, W))
    u_act = rng.random((P, W))
    u_m = rng.random(P)
    a = base_activity(org, params)
    factual = _run_world(org, plan, a, timeline, params, u_adopt, u_act, u_m)
    counterfactual = _run_world(org, None, a, timeline, params, u_adopt, u_act, u_m)
    base_int = np.where(org.is_frontline, params.intensity_frontline, params.intensity_office)
    intensity = base_int * (0.5 + org.maturity) * rng.lognormal(0.0, 0.3, size=P)
    extra = rng.poisson(intensity[:, None], size=(P, W))
    actions = np.where(factual.active, 1 + extra, 0)
    return Behaviour(base_activity=a, factual=factual, counterfactual=counterfactual, actions=actions)


def expected_bass_curve(m: int, p: float, q: float, weeks: int) -> np.ndarray:
    """Expected new adopters per week of the discrete Bass process (no attrition), for k = 0..weeks-1."""
    out = np.zeros(weeks)
    n_cum = 0.0
    for k in range(weeks):
        new = (m - n_cum) * (p + q * n_cum / m) if m else 0.0
        out[k] = new
        n_cum += new
    return out
