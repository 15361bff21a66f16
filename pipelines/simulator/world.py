"""One simulated world: every stage, in order, from one seed. ``simulate`` writes it to files;
``simulate_truth_panel`` returns its person x week panel and truth without writing anything."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulator import truth as truth_mod
from pipelines.simulator.behaviour import Behaviour, simulate_behaviour
from pipelines.simulator.communities import Space, build_spaces, membership
from pipelines.simulator.events import Events, build_events
from pipelines.simulator.identity import (
    IdentityPlan,
    _random_ids,
    build_accounts,
    identity_truth,
    m365_users,
    plan_identity,
)
from pipelines.simulator.kpis import KpiData, build_kpis
from pipelines.simulator.organisation import DEPARTMENTS, LATE_SITE, SITE_CODES, Organisation, build_organisation
from pipelines.simulator.parameters import (
    EMAIL_DOMAIN,
    ORGANISATION,
    TIME_ZONE,
    SimulationParameters,
    Timeline,
    stage_generators,
)
from pipelines.simulator.pilots import PilotPlan, select_pilots
from pipelines.simulator.platform_formats import PlatformFormats, written_accounts, written_space_ids, written_tenant_users

log = logging.getLogger(__name__)

STAGES = ("organisation", "pilots", "identity", "behaviour", "accounts", "spaces", "events", "kpis", "m365",
          "writers")
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SimulatedWorld:
    seed: int
    employees: int
    params: SimulationParameters
    timeline: Timeline
    org: Organisation
    pilots: PilotPlan
    identity: IdentityPlan
    behaviour: Behaviour
    accounts: pl.DataFrame
    m365: pl.DataFrame
    spaces: tuple[Space, ...]
    space_ids: list[str]
    member: np.ndarray  # bool person x space: who belongs to which space
    events: Events | None  # None when built for the canonical scale mode (events streamed by week)
    kpis: KpiData
    writer_rng: np.random.Generator
    #: the export format each substitutable platform is written in (``uptake simulate --formats``)
    formats: PlatformFormats = PlatformFormats()


def _space_ids(spaces: tuple[Space, ...], rng: np.random.Generator) -> list[str]:
    slack = _random_ids(rng, len(spaces), "C", 10)
    viva = rng.choice(9 * 10 ** 7, size=len(spaces), replace=False) + 10 ** 7
    out = []
    for j, s in enumerate(spaces):
        if s.source == "slack":
            out.append(str(slack[j]))
        elif s.source == "viva_engage":
            out.append(str(int(viva[j])))
        else:
            out.append(s.name)  # Mattermost exports reference channels by name
    return out


def build_world(employees: int = 2000, weeks: int = 40, seed: int = 0, start: dt.date = dt.date(2026, 1, 5),
                progress: Progress | None = None, params: SimulationParameters | None = None,
                with_events: bool = True, formats: PlatformFormats | None = None) -> SimulatedWorld:
    """Run every simulation stage (deterministic in ``seed`` and the arguments).

    ``with_events=False`` skips the in-memory event table (``events`` is None): the canonical
    scale mode (:mod:`pipelines.simulator.canonical`) streams events week by week instead.
    ``formats`` only names the export formats the writers use (default: each platform's own); the
    world itself does not depend on it.
    """
    params = params or SimulationParameters()
    say = progress or (lambda step, fraction: None)
    timeline = Timeline.for_weeks(start, weeks, params)
    rngs = stage_generators(seed, STAGES)
    say("organisation", 0.05)
    org = build_organisation(employees, timeline, params, rngs["organisation"])
    pilots = select_pilots(org, timeline, params, rngs["pilots"])
    identity = plan_identity(org, params, rngs["identity"])
    say("behaviour", 0.15)
    behaviour = simulate_behaviour(org, pilots, identity, timeline, params, rngs["behaviour"])
    accounts = build_accounts(org, identity, behaviour, timeline, params, rngs["accounts"])
    spaces = build_spaces()
    member = membership(org, identity, spaces, rngs["spaces"])
    space_ids = _space_ids(spaces, rngs["spaces"])
    say("platform events", 0.25)
    events = build_events(org, identity, behaviour, accounts, spaces, member, timeline, rngs["events"]) \
        if with_events else None
    kpis = build_kpis(org, pilots, timeline, params, rngs["kpis"])
    m365 = m365_users(org, identity, rngs["m365"])
    log.info("simulated %d people, %s events", org.n_people, events.events.height if events else "streamed")
    return SimulatedWorld(seed=seed, employees=employees, params=params, timeline=timeline, org=org, pilots=pilots,
                          identity=identity, behaviour=behaviour, accounts=accounts, m365=m365, spaces=spaces,
                          space_ids=space_ids, member=member, events=events, kpis=kpis, writer_rng=rngs["writers"],
                          formats=formats or PlatformFormats())


def truth_panel(world: SimulatedWorld) -> pl.DataFrame:
    """The person x week panel of observables (rows: weeks in which the person is in the HR extract)."""
    org, tl = world.org, world.timeline
    P, W = org.employed.shape
    pp, tt = np.nonzero(org.in_hr)
    team = org.team_of[pp, tt]
    # leavers in the weeks after they left keep their last team in HR
    last_team = org.team_of[pp, np.clip(org.last_week[pp], 0, W - 1)]
    team = np.where(team >= 0, team, last_team)
    mgr = org.manager[pp, tt]
    mgr_last = org.manager[pp, np.clip(org.last_week[pp], 0, W - 1)]
    mgr = np.where(org.employed[pp, tt], mgr, mgr_last)
    cohort = world.pilots.cohort_of[pp]
    names = np.asarray([c.name for c in world.pilots.cohorts] + [None], dtype=object)
    waves = np.asarray([c.wave for c in world.pilots.cohorts] + [0])
    starts = np.asarray([tl.monday(c.start_week) for c in world.pilots.cohorts] + [dt.date(1970, 1, 1)],
                        dtype="datetime64[D]")
    support = np.asarray([c.support_level for c in world.pilots.cohorts] + [None], dtype=object)
    obs = truth_mod.observable_active(world.behaviour, world.identity) & org.eligible
    observed = observed_counts(world)
    week_start = np.asarray(tl.week_starts, dtype="datetime64[D]")
    kpi = world.kpis.team_value[np.maximum(team, 0), tt]
    in_cohort = cohort >= 0
    frame = pl.DataFrame({
        "employee_id": org.employee_id[pp].astype(str),
        "week": tt,
        "week_start": week_start[tt],
        "employed": org.employed[pp, tt],
        "eligible": org.eligible[pp, tt],
        "worker_type": org.worker_type[pp],
        "department": np.asarray([d.name for d in DEPARTMENTS])[org.department[pp]],
        "org_unit": org.team_code[team].astype(str),
        "site": np.asarray(SITE_CODES)[org.site[pp]],
        "country": org.country_codes()[pp],
        "job_family": org.job_family[pp].astype(str),
        "level": org.level[pp],
        "hire_date": org.hire_date[pp],
        "termination_date": org.termination_date[pp],
        "is_manager": org.direct_reports[pp, tt] > 0,
        "direct_reports": org.direct_reports[pp, tt],
        "manager_id": pl.Series(np.where(mgr >= 0, org.employee_id[np.maximum(mgr, 0)], None).tolist(),
                                dtype=pl.Utf8),
        "pilot_cohort": pl.Series(names[cohort].tolist(), dtype=pl.Utf8),
        "pilot_wave": np.where(in_cohort, waves[cohort], 0),
        "pilot_start": starts[cohort],
        "pilot_support_level": pl.Series(support[cohort].tolist(), dtype=pl.Utf8),
        "adopted": world.behaviour.factual.adopted[pp, tt],
        "active": obs[pp, tt],
        "engaged": (observed.reaction + observed.contribution)[pp, tt] > 0,
        "contributor": observed.contribution[pp, tt] > 0,
        "actions": np.where(org.eligible[pp, tt], world.behaviour.actions[pp, tt], 0),
        "actions_observed": observed.total[pp, tt],
        "kpi_first_response_hours": kpi,
    }, strict=False)
    return frame.with_columns(
        pl.when(pl.col("pilot_cohort").is_null()).then(None).otherwise(pl.col("pilot_wave")).cast(pl.Int16)
        .alias("pilot_wave"),
        pl.when(pl.col("pilot_cohort").is_null()).then(None).otherwise(pl.col("pilot_start")).alias("pilot_start"),
        pl.col("level").cast(pl.Int16),
        pl.col("kpi_first_response_hours").fill_nan(None),
    ).sort("employee_id", "week")


def observed_counts(world: SimulatedWorld) -> truth_mod.ObservedCounts:
    """What a correct pipeline counts per person-week in the files this world writes; without an
    event table (the canonical scale mode), the behaviour's planned counts of the weeks it sees."""
    if world.events is None:
        return truth_mod.planned_counts(world.org, world.behaviour)
    return truth_mod.observed_counts(world.org, world.events.events, world.accounts, world.events.teams_counts,
                                     world.events.viva_counts)


def build_ground_truth(world: SimulatedWorld) -> tuple[dict[str, object], pl.DataFrame]:
    """The ground-truth document and the weekly truth table."""
    org, tl, params = world.org, world.timeline, world.params
    observed = observed_counts(world)
    weekly = truth_mod.weekly_truth(org, world.pilots, world.identity, world.behaviour, tl, params, observed)
    cohorts = truth_mod.pilot_truth(org, world.pilots, world.identity, world.behaviour, tl)
    kpi_cohorts = world.kpis.truth["first_response_hours"]["cohorts"]  # type: ignore[index]
    for name, c in cohorts.items():
        k = kpi_cohorts[name]
        c["kpi"] = k["kpi"]
        c["kpi_treated_units"] = k["treated_units"]
        c["kpi_att_expected"] = k["kpi_att_expected"]
        c["kpi_att_realised"] = k["kpi_att_realised"]
        c["kpi_att_by_event_time"] = k["kpi_att_by_event_time"]
    accounts = written_accounts(world)
    identity = identity_truth(accounts, written_tenant_users(world))
    leavers = accounts.filter(pl.col("deleted") & (pl.col("kind") == "employee"))
    for source, d in identity.items():
        d["deactivated_leaver_accounts"] = int(leavers.filter(pl.col("source") == source).height)
    weekly_json = weekly.with_columns(pl.col("week_start").cast(pl.Utf8), pl.col(pl.Float64).fill_nan(None)).to_dicts()
    truth: dict[str, object] = {
        "organisation": ORGANISATION,
        "time_zone": TIME_ZONE,
        "email_domain": EMAIL_DOMAIN,
        "seed": world.seed,
        "employees": world.employees,
        "people_total": org.n_people,
        "weeks": tl.weeks,
        "start": tl.start.isoformat(),
        "timeline": tl.as_dict(),
        "late_site": {"site": LATE_SITE, "launch": tl.monday(tl.late_site_launch).isoformat()},
        "parameters": params.as_dict(),
        "platform_formats": world.formats.as_dict(),
        "activity_model": {
            "base_activity": ("a_i = base(office 0.55 / frontline 0.30) + 0.40 * (maturity - 0.5), clipped to "
                              "[0.05, 0.8]; power users at least power_user_activity"),
            "weekly_active_given_adopted": ("clip(a_i + tau_c * D_it + rho * MgrSeen_{i,t-1}, 0, 0.97); adoption week "
                                            "forced active with a reaction; early adopters adopted before week 0 "
                                            "(not forced active then)"),
            "D_it": "1 if i is assigned to cohort c and t >= start_c (intent to treat)",
            "MgrSeen": "the manager's week was observable (active and seen by a correct pipeline)",
            "tiers": ("an active week always holds reads; contributes with P = contribute_probability[role], reacts "
                      "with P = react_probability[role]; counts 1 + Poisson(mean[role] * lognormal(0, "
                      "intensity_sigma) per person)"),
            "observable": ("active, matchable identity, and a contribution or reaction (every platform shows them) or "
                           "reads on Viva Engage (only its usage report exports reads)"),
        },
        "identity": identity,
        "bass": truth_mod.bass_truth(world.behaviour, tl, params),
        "manager_relay": {
            "rho": params.rho, "estimand": truth_mod.RELAY_ESTIMAND,
            "observable_effect_pp_expected": truth_mod.relay_observable_truth(org, world.pilots, world.behaviour,
                                                                               params),
            "observable_estimand": ("expected effect of the manager being observably active in week t-1 on the "
                                    "probability that an adopted member is observably active in week t, percentage "
                                    "points (rho x the member's probability that an active week is seen)"),
        },
        "participation": truth_mod.participation_truth(org, world.behaviour, observed, params),
        "pilot": {"outcome": truth_mod.ATT_OUTCOME, "cohorts": cohorts},
        "frontline_gap": truth_mod.frontline_truth(weekly),
        "ever_active": truth_mod.ever_active_truth(org, world.identity, world.behaviour),
        # the community truth counts planted outputs in the event table (not built in the scale mode)
        "communities": truth_mod.community_truth(world.events.events, world.spaces, written_space_ids(world), tl.weeks,
                                                 source_of=world.formats.source)
        if world.events is not None else None,
        "kpis": world.kpis.truth,
        "weekly": weekly_json,
    }
    return truth, weekly
