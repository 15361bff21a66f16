"""The planted parameters of a simulation and its timeline (weeks, waves, roll-out).

Everything a later estimator is validated against is a field here, written verbatim into
``ground_truth.json``; nothing else in the simulator hides a behavioural constant.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field

import numpy as np

#: The organisation's time zone: weeks are Monday 00:00 to Sunday 24:00 in this zone.
TIME_ZONE = "Europe/Paris"
ORGANISATION = "Northwind Manufacturing"
EMAIL_DOMAIN = "northwind.example"
#: Domain of an acquired company: some HR aliases (and some accounts) still use it.
LEGACY_DOMAIN = "northwind-mfg.example"
TENANT_DOMAIN = "northwind.onmicrosoft.com"


def round_half_up(x: float) -> int:
    """Rounding used for every scaled week index (Python's ``round`` rounds half to even)."""
    return int(math.floor(x + 0.5))


@dataclass(frozen=True)
class SimulationParameters:
    """Behavioural constants of the simulated organisation (see docs/simulator.md)."""

    # workforce dynamics (weekly hazards)
    leave_hazard: float = 0.0025
    transfer_hazard: float = 0.003
    hire_rate: float = 0.0025
    hr_leaver_retention_weeks: int = 4
    # digital maturity ~ Beta(a, b) by worker type
    maturity_beta_office: tuple[float, float] = (5.0, 3.0)
    maturity_beta_frontline: tuple[float, float] = (2.5, 4.0)
    # base weekly activity probability given adoption: base + slope * (maturity - 0.5), clipped
    base_activity_office: float = 0.55
    base_activity_frontline: float = 0.30
    maturity_slope: float = 0.40
    base_activity_clip: tuple[float, float] = (0.05, 0.80)
    activity_cap: float = 0.97
    # adoption
    early_adopter_share_office: float = 0.08
    onboarding_probability: float = 0.90
    bass_p: float = 0.025
    bass_q: float = 0.30
    bass_m_share: float = 0.80
    # pilot
    tau_by_support: dict[str, float] = field(default_factory=lambda: {"high": 0.15, "standard": 0.08})
    pilot_share_per_wave: float = 0.06
    volunteer_share_per_wave: float = 0.005
    # manager relay
    rho: float = 0.08
    # participation roles (persistent per person, by rank of maturity + N(0, role_noise)): the top
    # power_user_share are power users, the next contributor_share light contributors, the rest lurkers
    power_user_share: float = 0.012
    contributor_share: float = 0.11
    role_noise: float = 0.15
    # per active week, by role (lurker, contributor, power): P(contributes), P(reacts)
    contribute_probability: tuple[float, float, float] = (0.0, 0.55, 0.97)
    react_probability: tuple[float, float, float] = (0.30, 0.60, 0.95)
    # counts in a week with that tier: 1 + Poisson(mean * person's lognormal(0, intensity_sigma) factor)
    contributions_mean: tuple[float, float, float] = (0.0, 2.0, 17.0)
    reactions_mean: tuple[float, float, float] = (0.5, 1.0, 5.0)
    reads_mean: tuple[float, float, float] = (3.0, 4.0, 10.0)
    intensity_sigma: float = 0.4
    #: power users' weekly activity probability given adoption is at least this
    power_user_activity: float = 0.92
    # planted parallel-trends violations (0 = none): "selection on trend"
    #: members of pilot teams (in both worlds) adopt on their own at this weekly hazard from week 0
    pilot_trend_adoption_hazard: float = 0.0
    #: pilot teams' team KPI drifts by this many hours per week (in both worlds)
    pilot_trend_kpi_hours: float = 0.0
    # outcome KPI
    kpi_effect_hours: float = -3.0
    kpi_lag_share: float = 0.10
    # identity
    unknown_email_share_frontline: float = 0.02
    contractor_share: float = 0.02
    m365_share_frontline: float = 0.30
    # pulse survey (perceived value): who answers a wave (by worker type: office, frontline; pilot members
    # more often), and each scaled question's planted model of the expected answer (docs/simulator.md):
    # base + activity * (observed active share of the 8 weeks before) + frontline * is_frontline
    # + tau_<support> * D_it
    survey_response_rate: tuple[float, float] = (0.55, 0.35)
    survey_pilot_response_boost: float = 0.15
    survey_activity_weeks: int = 8
    survey_comment_share: float = 0.3
    perception_model: dict[str, dict[str, float]] = field(default_factory=lambda: {
        "saves_time": {"base": 2.6, "activity": 1.0, "frontline": -0.2, "tau_high": 0.4, "tau_standard": 0.2},
        "find_expertise": {"base": 2.8, "activity": 0.6, "frontline": -0.1, "tau_high": 0.3, "tau_standard": 0.15},
        "recommend": {"base": 5.0, "activity": 2.0, "frontline": -0.5, "tau_high": 1.0, "tau_standard": 0.5},
    })

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


@dataclass(frozen=True)
class Timeline:
    """Week indices t = 0..W-1 from ``start`` (a Monday) and the dated milestones."""

    start: dt.date
    weeks: int
    w1: int
    w2: int
    general_rollout: int
    late_site_launch: int
    kpi_lag_weeks: int

    @classmethod
    def for_weeks(cls, start: dt.date, weeks: int, params: SimulationParameters) -> Timeline:
        if start.weekday() != 0:
            raise ValueError(f"start must be a Monday, got {start.isoformat()} ({start:%A})")
        if weeks < 8:
            raise ValueError(f"weeks must be at least 8 (waves and roll-out need room), got {weeks}")
        w1, w2, g = round_half_up(0.2 * weeks), round_half_up(0.35 * weeks), round_half_up(0.55 * weeks)
        late = min(max(1, round_half_up(0.3 * weeks)), g - 1)
        lag = max(1, round_half_up(params.kpi_lag_share * weeks))
        return cls(start=start, weeks=weeks, w1=w1, w2=w2, general_rollout=g, late_site_launch=late,
                   kpi_lag_weeks=lag)

    def monday(self, t: int) -> dt.date:
        return self.start + dt.timedelta(weeks=int(t))

    def sunday(self, t: int) -> dt.date:
        return self.monday(t) + dt.timedelta(days=6)

    @property
    def week_starts(self) -> list[dt.date]:
        return [self.monday(t) for t in range(self.weeks)]

    @property
    def end(self) -> dt.date:
        """Last day covered (the Sunday of the last week)."""
        return self.sunday(self.weeks - 1)

    def as_dict(self) -> dict[str, object]:
        g = self.general_rollout
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "weeks": self.weeks,
            "week_boundary": f"Monday 00:00 {TIME_ZONE}",
            "w1": self.w1,
            "w1_date": self.monday(self.w1).isoformat(),
            "w2": self.w2,
            "w2_date": self.monday(self.w2).isoformat(),
            "G": g,
            "G_date": self.monday(g).isoformat(),
            "pilot_end_date": (self.monday(g) - dt.timedelta(days=1)).isoformat(),
            "late_site_launch_week": self.late_site_launch,
            "late_site_launch_date": self.monday(self.late_site_launch).isoformat(),
        }


def stage_generators(seed: int, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """One independent PCG64 stream per simulation stage, so that stages do not perturb each other."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.Generator(np.random.PCG64(c)) for n, c in zip(names, children, strict=True)}
