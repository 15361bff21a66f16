"""The simulated organisation: people, hierarchy, sites, and the weekly HR history.

Grain of the weekly arrays: person x week (``t = 0..W-1``), HR state as of Monday of week ``t``.
A person is *employed* in week ``t`` when hired on or before that Monday and not terminated before
it (hires start on a Monday, leavers' ``termination_date`` is the Friday of their last week).
*Eligible* adds the platform's availability at the person's site (one plant launches late).

The hierarchy is built top-down (CEO level 1, department heads level 2, site managers, team leads
down to about level 6); every manager has 3-12 direct reports at start. An ``org_unit`` is the
team of one manager's direct reports. Weekly dynamics: leavers (a leaving manager is replaced by a
hire the next Monday), hires into existing teams, and transfers between teams of the same
department, site and level.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulator.names import FIRST_NAMES, LAST_NAMES
from pipelines.simulator.parameters import EMAIL_DOMAIN, LEGACY_DOMAIN, TENANT_DOMAIN, SimulationParameters, Timeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    share: float
    head_site: str
    sites: dict[str, float]
    customer_facing: bool
    job_families: tuple[str, ...]


#: site -> (country, worker type). Worker type is derived from the site by settings.worker_type.
SITES: dict[str, tuple[str, str]] = {
    "HQ-PARIS": ("FR", "office"),
    "OFFICE-LYON": ("FR", "office"),
    "OFFICE-MADRID": ("ES", "office"),
    "OFFICE-MUNICH": ("DE", "office"),
    "PLANT-LYON": ("FR", "frontline"),
    "PLANT-SEVILLA": ("ES", "frontline"),
    "PLANT-STUTTGART": ("DE", "frontline"),
    "STORE-PARIS": ("FR", "frontline"),
    "STORE-MADRID": ("ES", "frontline"),
    "STORE-BERLIN": ("DE", "frontline"),
}
SITE_CODES: tuple[str, ...] = tuple(SITES)
#: The frontline site that gets the platform late (``settings.site_launch``).
LATE_SITE = "PLANT-SEVILLA"

EXECUTIVE = Department("EXEC", "Executive", 0.0, "HQ-PARIS", {"HQ-PARIS": 1.0}, False, ("Management",))
DEPARTMENTS: tuple[Department, ...] = (
    EXECUTIVE,
    Department("SALES", "Sales", 0.14, "HQ-PARIS", {"HQ-PARIS": 0.5, "OFFICE-MADRID": 0.3, "OFFICE-MUNICH": 0.2},
               True, ("Sales", "Account Management")),
    Department("CS", "Customer Service", 0.11, "OFFICE-LYON", {"OFFICE-LYON": 0.5, "OFFICE-MADRID": 0.5},
               True, ("Customer Support",)),
    Department("RND", "R&D", 0.11, "HQ-PARIS", {"HQ-PARIS": 0.5, "OFFICE-MUNICH": 0.5},
               False, ("Engineering", "Research")),
    Department("IT", "IT", 0.06, "HQ-PARIS", {"HQ-PARIS": 0.7, "OFFICE-LYON": 0.3}, False, ("IT",)),
    Department("FIN", "Finance & HR", 0.05, "HQ-PARIS", {"HQ-PARIS": 1.0}, False, ("Finance", "Human Resources")),
    Department("MKT", "Marketing", 0.05, "HQ-PARIS", {"HQ-PARIS": 1.0}, False, ("Marketing",)),
    Department("SCM", "Supply Chain", 0.06, "OFFICE-LYON", {"OFFICE-LYON": 0.5, "OFFICE-MUNICH": 0.5},
               False, ("Logistics Planning", "Procurement")),
    Department("MFG", "Manufacturing", 0.27, "HQ-PARIS",
               {"PLANT-LYON": 0.35, "PLANT-SEVILLA": 0.35, "PLANT-STUTTGART": 0.30},
               False, ("Production", "Maintenance", "Quality")),
    Department("RET", "Retail", 0.15, "HQ-PARIS", {"STORE-PARIS": 0.35, "STORE-MADRID": 0.35, "STORE-BERLIN": 0.30},
               True, ("Store Operations", "Store Sales")),
)
DEPARTMENT_CODES: tuple[str, ...] = tuple(d.code for d in DEPARTMENTS)
MANAGEMENT = "Management"


@dataclass
class Organisation:
    """People (static attributes, length P) and their weekly HR state (P x W / U x W arrays)."""

    employee_id: np.ndarray  # str
    first_name: np.ndarray
    last_name: np.ndarray
    display_name: np.ndarray
    email: np.ndarray  # lower-case primary email (ASCII)
    upn: np.ndarray
    alias: np.ndarray  # '' or one alias email
    department: np.ndarray  # index into DEPARTMENTS
    site: np.ndarray  # index into SITE_CODES
    is_frontline: np.ndarray  # bool
    level: np.ndarray  # int, 1 = CEO
    job_family: np.ndarray
    hire_date: np.ndarray  # datetime64[D]
    first_week: np.ndarray  # first employed week (0 for people employed at start)
    last_week: np.ndarray  # last employed week; W for people still employed at the end
    termination_date: np.ndarray  # datetime64[D], NaT if none
    maturity: np.ndarray  # latent digital maturity in [0, 1]
    early_adopter: np.ndarray  # bool (latent)
    # teams
    team_code: np.ndarray  # org_unit code per team (U)
    team_department: np.ndarray
    team_site: np.ndarray
    team_lead: np.ndarray  # int U x W (-1: none)
    # weekly person state
    team_of: np.ndarray  # int P x W, -1 when not employed
    employed: np.ndarray  # bool P x W
    eligible: np.ndarray  # bool P x W
    manager: np.ndarray  # int P x W, -1 for none
    direct_reports: np.ndarray  # int P x W
    in_hr: np.ndarray  # bool P x W: listed in that week's HR extract (employed or recent leaver)

    @property
    def n_people(self) -> int:
        return len(self.employee_id)

    @property
    def worker_type(self) -> np.ndarray:
        return np.where(self.is_frontline, "frontline", "office")

    def department_codes(self) -> np.ndarray:
        return np.asarray(DEPARTMENT_CODES)[self.department]

    def site_codes(self) -> np.ndarray:
        return np.asarray(SITE_CODES)[self.site]

    def country_codes(self) -> np.ndarray:
        return np.asarray([SITES[s][0] for s in SITE_CODES])[self.site]


class _Builder:
    """Accumulates people and teams while the hierarchy is grown (construction only)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.dept: list[int] = []
        self.site: list[int] = []
        self.level: list[int] = []
        self.family: list[str] = []
        self.team_of: list[int] = []
        self.team_code: list[str] = []
        self.team_dept: list[int] = []
        self.team_site: list[int] = []
        self.team_lead: list[int] = []
        self.team_family: list[str] = []
        self._team_counter: dict[tuple[str, str], int] = {}

    def person(self, dept: int, site: int, level: int, team: int, family: str) -> int:
        return self.people(1, dept, site, level, team, family)[0]

    def people(self, n: int, dept, site, level, team, family) -> np.ndarray:  # noqa: ANN001 - scalars or arrays
        """Add ``n`` people at once (scalars or length-``n`` arrays); return their indices."""
        first = len(self.dept)
        for column, value in ((self.dept, dept), (self.site, site), (self.level, level), (self.family, family),
                              (self.team_of, team)):
            column.extend(value.tolist() if isinstance(value, np.ndarray) else [value] * n)
        return np.arange(first, first + n)

    def team(self, dept: int, site: int, lead: int) -> int:
        code, country = DEPARTMENTS[dept].code, SITES[SITE_CODES[site]][0]
        k = self._team_counter.get((code, country), 0) + 1
        self._team_counter[(code, country)] = k
        self.team_code.append(f"{code}-{country}-{k}")
        self.team_dept.append(dept)
        self.team_site.append(site)
        self.team_lead.append(lead)
        families = DEPARTMENTS[dept].job_families
        self.team_family.append(families[int(self.rng.integers(len(families)))])
        return len(self.team_code) - 1

    def grow(self, lead: int, rest: int) -> None:
        """Create ``lead``'s team and ``rest`` people below the lead (recursively)."""
        dept, site, lvl = self.dept[lead], self.site[lead], self.level[lead]
        team = self.team(dept, site, lead)
        family = self.team_family[team]
        if rest <= 12:
            self.people(rest, dept, site, lvl + 1, team, family)
            return
        ic = int(self.rng.integers(0, 3))
        m = min(int(self.rng.integers(3, 9)), (rest - ic) // 4)
        if m + ic < 3:
            ic = 3 - m
        sizes = 4 + self.rng.multinomial(rest - ic - 4 * m, self.rng.dirichlet(np.full(m, 2.0)))
        self.people(ic, dept, site, lvl + 1, team, family)
        for s in sizes:
            sub = self.person(dept, site, lvl + 1, team, MANAGEMENT)
            self.grow(sub, int(s) - 1)


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    short = total - out.sum()
    if short > 0:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def _build_hierarchy(employees: int, rng: np.random.Generator) -> _Builder:
    b = _Builder(rng)
    site_idx = {s: i for i, s in enumerate(SITE_CODES)}
    hq = site_idx["HQ-PARIS"]
    ceo = b.person(0, hq, 1, -1, MANAGEMENT)
    exec_team = b.team(0, hq, ceo)
    b.team_of[ceo] = exec_team
    depts = DEPARTMENTS[1:]
    sizes = _largest_remainder(employees - 1, np.array([d.share for d in depts]))
    for k, (d, n) in enumerate(zip(depts, sizes, strict=True), start=1):
        head = b.person(k, site_idx[d.head_site], 2, exec_team, MANAGEMENT)
        rest = int(n) - 1
        if rest <= 0:
            continue
        if len(d.sites) == 1:
            b.grow(head, rest)
            continue
        head_team = b.team(k, site_idx[d.head_site], head)
        staff = min(2, rest)
        b.people(staff, k, site_idx[d.head_site], 3, head_team, b.team_family[head_team])
        per_site = _largest_remainder(rest - staff, np.array(list(d.sites.values())))
        for site, n_site in zip(d.sites, per_site, strict=True):
            if n_site <= 0:
                continue
            if n_site < 4:
                b.people(int(n_site), k, site_idx[site], 3, head_team, b.team_family[head_team])
                continue
            manager = b.person(k, site_idx[site], 3, head_team, MANAGEMENT)
            b.grow(manager, int(n_site) - 1)
    return b


def fold_ascii(names: pl.Series) -> pl.Series:
    """Names as the ASCII local part of an address: accents stripped, lower case, letters and '-' only."""
    return (
        names.str.replace_all("ß", "ss")
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[^a-z\-]", "")
    )


def _identities(rng: np.random.Generator, countries: np.ndarray) -> dict[str, np.ndarray]:
    """Names, unique primary emails, UPNs and aliases for P people."""
    n = len(countries)
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    for c in ("FR", "ES", "DE"):
        idx = np.flatnonzero(countries == c)
        fn, ln = FIRST_NAMES[c], LAST_NAMES[c]
        first[idx] = np.asarray(fn, dtype=object)[rng.integers(len(fn), size=len(idx))]
        last[idx] = np.asarray(ln, dtype=object)[rng.integers(len(ln), size=len(idx))]
    frame = pl.DataFrame({"first": first.astype(str), "last": last.astype(str)})
    frame = frame.with_columns(
        base=fold_ascii(frame["first"]) + "." + fold_ascii(frame["last"]),
        alias_base=fold_ascii(frame["first"]).str.slice(0, 1) + fold_ascii(frame["last"]),
    ).with_columns(k=pl.int_range(pl.len()).over("base"))
    frame = frame.with_columns(
        email=pl.when(pl.col("k") == 0).then(pl.col("base")).otherwise(pl.col("base") + (pl.col("k") + 1).cast(pl.Utf8))
        + f"@{EMAIL_DOMAIN}"
    )
    # aliases: a short form (j.dupont) at the main domain when it is unique, else the address at the
    # domain of an acquired company; an alias is never anybody's primary email
    draw = rng.random(n)
    frame = frame.with_columns(short=pl.col("alias_base") + f"@{EMAIL_DOMAIN}", u=pl.Series(draw))
    short_ok = ~pl.col("short").is_in(frame["email"].implode()) & ~pl.col("short").is_duplicated()
    frame = frame.with_columns(
        alias=pl.when((pl.col("u") < 0.10) & short_ok).then(pl.col("short"))
        .when(pl.col("u") < 0.25).then(pl.col("email").str.replace(f"@{EMAIL_DOMAIN}", f"@{LEGACY_DOMAIN}", literal=True))
        .otherwise(pl.lit(""))
    )
    tenant_upn = rng.random(n) < 0.10
    upn = np.where(tenant_upn, frame["email"].str.replace(f"@{EMAIL_DOMAIN}", f"@{TENANT_DOMAIN}", literal=True)
                   .to_numpy(), frame["email"].to_numpy())
    return {
        "first_name": frame["first"].to_numpy().astype(object),
        "last_name": frame["last"].to_numpy().astype(object),
        "display_name": (frame["first"] + " " + frame["last"]).to_numpy().astype(object),
        "email": frame["email"].to_numpy().astype(object),
        "upn": upn.astype(object),
        "alias": frame["alias"].to_numpy().astype(object),
    }


def build_organisation(employees: int, timeline: Timeline, params: SimulationParameters,
                       rng: np.random.Generator) -> Organisation:
    """Build the organisation and its weekly HR history (deterministic for a given ``rng`` state)."""
    if employees < 20:
        raise ValueError(f"employees must be at least 20, got {employees}")
    W = timeline.weeks
    b = _build_hierarchy(employees, rng)
    n0 = len(b.dept)
    site_idx = {s: i for i, s in enumerate(SITE_CODES)}
    is_front_site = np.array([SITES[s][1] == "frontline" for s in SITE_CODES])

    # people's current state, grown as hires arrive
    team_lead = np.asarray(b.team_lead, dtype=np.int64)
    team_member_level = np.asarray([b.level[lead] + 1 for lead in b.team_lead])
    cur_team = np.asarray(b.team_of, dtype=np.int64)
    first_week = np.zeros(n0, dtype=np.int64)
    last_week = np.full(n0, W, dtype=np.int64)
    lead_snaps = [team_lead.copy()]
    team_snaps = [cur_team.copy()]
    protected = np.asarray(b.level) <= 2  # the CEO and department heads do not leave in the window
    n_teams = len(b.team_code)
    exec_team = 0

    team_dept, team_site = np.asarray(b.team_dept), np.asarray(b.team_site)
    team_family = np.asarray(b.team_family, dtype=object)
    # teams a person can move to: same department, site and member level (a team id per group, sorted)
    team_group = team_dept * 10 ** 6 + team_site * 10 ** 3 + team_member_level
    by_group = np.argsort(team_group, kind="stable")
    sorted_groups = team_group[by_group]
    position_of_team = np.empty(n_teams, dtype=np.int64)
    position_of_team[by_group] = np.arange(n_teams)

    def add(dept, site, level, team, family, week: int) -> None:  # noqa: ANN001 - arrays of new people
        """New people (replacements, hires) from Monday of ``week``."""
        nonlocal cur_team, first_week, last_week, protected
        n_new = len(team)
        b.people(n_new, dept, site, level, team, family)
        cur_team = np.concatenate([cur_team, np.asarray(team, dtype=np.int64)])
        first_week = np.concatenate([first_week, np.full(n_new, week, dtype=np.int64)])
        last_week = np.concatenate([last_week, np.full(n_new, W, dtype=np.int64)])
        protected = np.concatenate([protected, np.zeros(n_new, dtype=bool)])

    for t in range(1, W):
        employed_prev = (first_week <= t - 1) & (last_week >= t - 1)
        n = len(cur_team)
        # leavers: last week worked is t-1
        leaving = employed_prev & ~protected & (rng.random(n) < params.leave_hazard)
        last_week[leaving] = t - 1
        # a leaving team lead is replaced from Monday of week t
        teams_losing_lead = np.flatnonzero(leaving[np.maximum(team_lead, 0)] & (team_lead >= 0))
        if len(teams_losing_lead):
            old = team_lead[teams_losing_lead]
            dept_, site_, level_ = (np.asarray(b.dept)[old], np.asarray(b.site)[old], np.asarray(b.level)[old])
            first_new = len(cur_team)
            add(dept_, site_, level_, cur_team[old], MANAGEMENT, t)
            team_lead[teams_losing_lead] = np.arange(first_new, first_new + len(old))
        # transfers of individual contributors (not leading a team) between teams of same dept/site/level
        n = len(cur_team)
        employed_now = (first_week <= t) & (last_week >= t)
        is_lead = np.zeros(n, dtype=bool)
        is_lead[team_lead[team_lead >= 0]] = True
        stayers = employed_now & (first_week < t) & ~is_lead & ~protected
        movers = np.flatnonzero(stayers & (rng.random(n) < params.transfer_hazard))
        if len(movers):
            own = cur_team[movers]
            key = np.asarray(b.dept)[movers] * 10 ** 6 + np.asarray(b.site)[movers] * 10 ** 3 \
                + np.asarray(b.level)[movers]
            lo = np.searchsorted(sorted_groups, key, side="left")
            hi = np.searchsorted(sorted_groups, key, side="right")
            own_in_group = team_group[own] == key
            n_options = hi - lo - own_in_group
            can = n_options > 0
            # one draw per mover with somewhere to go, in mover order: the draw-th team of the group
            # (teams in index order), the mover's own team skipped
            draw = rng.integers(n_options[can])
            own_rank = position_of_team[own[can]] - lo[can]
            pick = lo[can] + draw + (own_in_group[can] & (draw >= own_rank))
            cur_team[movers[can]] = by_group[pick]
        # hires into existing teams, proportional to team size
        k = int(rng.poisson(employees * params.hire_rate))
        if k:
            employed_now = (first_week <= t) & (last_week >= t)
            sizes = np.bincount(cur_team[employed_now], minlength=n_teams).astype(float)
            sizes[exec_team] = 0.0
            targets = rng.choice(n_teams, size=k, p=sizes / sizes.sum())
            add(team_dept[targets], team_site[targets], team_member_level[targets], targets, team_family[targets], t)
        lead_snaps.append(team_lead.copy())
        team_snaps.append(cur_team.copy())

    P = len(cur_team)
    weeks = np.arange(W)
    employed = (first_week[:, None] <= weeks[None, :]) & (last_week[:, None] >= weeks[None, :])
    team_of = np.full((P, W), -1, dtype=np.int64)
    for t, snap in enumerate(team_snaps):
        team_of[: len(snap), t] = snap
    team_of[~employed] = -1
    lead_w = np.stack(lead_snaps, axis=1)  # U x W
    # a team lead's manager is the lead of the team they belong to; nobody manages themselves
    manager = np.where(team_of >= 0, lead_w[np.maximum(team_of, 0), weeks[None, :]], -1)
    manager = np.where(manager == np.arange(P)[:, None], -1, manager)
    direct_reports = np.zeros((P, W), dtype=np.int64)
    for t in range(W):
        m = manager[:, t]
        direct_reports[:, t] = np.bincount(m[m >= 0], minlength=P)[:P]

    site = np.asarray(b.site)
    is_frontline = is_front_site[site]
    late = site == site_idx[LATE_SITE]
    launched = np.ones((P, W), dtype=bool)
    launched[late, : timeline.late_site_launch] = False
    eligible = employed & launched
    in_hr = (first_week[:, None] <= weeks[None, :]) & (
        last_week[:, None] + params.hr_leaver_retention_weeks >= weeks[None, :])

    countries = np.asarray([SITES[s][0] for s in SITE_CODES])[site]
    ident = _identities(rng, countries)
    # hire dates: tenure for people employed at start, Monday of the hire week for later hires
    start = np.datetime64(timeline.start, "D")
    tenure_days = np.clip(rng.exponential(6.0, size=P) * 365.25, 20, 35 * 365.25).astype(np.int64)
    tenure_days[np.asarray(b.level) <= 2] += 5 * 365
    hire_date = np.where(first_week > 0, start + 7 * first_week, start - tenure_days).astype("datetime64[D]")
    termination = np.where(last_week < W, start + 7 * last_week + 4, np.datetime64("NaT")).astype("datetime64[D]")

    a_o, b_o = params.maturity_beta_office
    a_f, b_f = params.maturity_beta_frontline
    maturity = np.where(is_frontline, rng.beta(a_f, b_f, size=P), rng.beta(a_o, b_o, size=P))
    score = maturity + rng.normal(0.0, 0.05, size=P)
    office_at_start = ~is_frontline & employed[:, 0]
    n_early = int(round(params.early_adopter_share_office * office_at_start.sum()))
    ranked = np.flatnonzero(office_at_start)[np.argsort(-score[office_at_start], kind="stable")]
    early = np.zeros(P, dtype=bool)
    early[ranked[:n_early]] = True

    width = max(5, len(str(5 * P)))
    numbers = rng.choice(10 ** width - 1, size=P, replace=False) + 1
    employee_id = ("E" + pl.Series(numbers).cast(pl.Utf8).str.zfill(width)).to_numpy().astype(object)

    log.debug("organisation: %d people (%d at start), %d teams", P, n0, n_teams)
    return Organisation(
        employee_id=employee_id,
        first_name=ident["first_name"], last_name=ident["last_name"], display_name=ident["display_name"],
        email=ident["email"], upn=ident["upn"], alias=ident["alias"],
        department=np.asarray(b.dept), site=site, is_frontline=is_frontline, level=np.asarray(b.level),
        job_family=np.asarray(b.family, dtype=object), hire_date=hire_date, first_week=first_week,
        last_week=last_week, termination_date=termination, maturity=maturity, early_adopter=early,
        team_code=np.asarray(b.team_code, dtype=object), team_department=np.asarray(b.team_dept),
        team_site=np.asarray(b.team_site), team_lead=lead_w, team_of=team_of, employed=employed,
        eligible=eligible, manager=manager, direct_reports=direct_reports, in_hr=in_hr,
    )

