"""A small simulated organisation, built straight at the person-week level, and a warehouse holding
the marts the real compute functions make of it (what the pipeline's mart assets do).

It lets the report, the published snapshots and the notebooks be checked against the real
``transforms.metrics`` / ``transforms.pilot`` outputs (so a change of a mart's columns shows up
here) in seconds, without the full drop-zone pipeline. The full pipeline is exercised by the
end-to-end tests on ``simulated_run``.

The organisation: ``teams`` teams of 8 (one manager each) at four sites; HQ teams are office
staff, plant and depot teams frontline. Weekly activity follows a logistic model rising over time,
lower for frontline staff; pilot wave 1 (HQ Sales) starts in week 6 and wave 2 (Plant A, first
two teams) in week 10, each adding ``pilot_logit`` to the members' log-odds of being active. A
team KPI ``resolution_hours`` drops by ``kpi_effect`` hours in piloted teams from their start.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from transforms.contracts import PERSON_WEEK, conform
from transforms.contracts.config import (
    Charters,
    KpiDefinition,
    KpiRegistry,
    PilotCohort,
    Pilots,
    Settings,
)

W0 = dt.date(2026, 1, 5)
KPI = KpiDefinition(name="resolution_hours", description="mean hours to resolve a ticket", unit="hours",
                    unit_type="team", direction="lower_is_better", grain="week", source="service desk")
_SITES = (("HQ", "office", ("Sales", "Sales", "Finance", "IT")), ("Plant A", "frontline", ("Production",) * 3),
          ("Plant B", "frontline", ("Production",) * 2), ("Depot", "frontline", ("Logistics",)))


def person_week(*, weeks: int = 20, seed: int = 1, pilot_logit: float = 1.0) -> pl.DataFrame:
    """The PERSON_WEEK table of the organisation (10 teams of 8 = 80 people per repeat of the sites)."""
    rng = np.random.default_rng(seed)
    teams = [(site, wt, dept) for site, wt, depts in _SITES for dept in depts]
    teams = teams * 3  # 30 teams, 240 people
    n_team, size = len(teams), 8
    people = n_team * size
    team_of = np.repeat(np.arange(n_team), size)
    is_mgr = np.tile(np.arange(size) == 0, n_team)
    site = np.array([teams[t][0] for t in team_of])
    worker = np.array([teams[t][1] for t in team_of])
    dept = np.array([teams[t][2] for t in team_of])
    keys = np.array([f"p{i:04d}" for i in range(people)])
    manager = np.array([keys[t * size] for t in team_of])
    has_account = rng.random(people) > 0.08
    tenure = rng.choice(["<1y", "1-3y", "3-5y", "5-10y", "10y+"], size=people)
    base = np.where(worker == "office", -0.6, -1.9) + rng.normal(0, 1.0, people) + np.where(is_mgr, 0.5, 0.0)
    # pilots: wave 1 = HQ Sales teams from week 6; wave 2 = first two Plant A teams of each repeat from week 10
    sales_teams = [i for i, t in enumerate(teams) if t[2] == "Sales"]
    plant_a = [i for i, t in enumerate(teams) if t[0] == "Plant A"][:2]
    cohort = np.full(people, None, dtype=object)
    wave = np.full(people, None, dtype=object)
    start = np.full(people, None, dtype=object)
    support = np.full(people, None, dtype=object)
    for tids, name, w, s_week, level in ((sales_teams, "wave-1", 1, 6, "high"), (plant_a, "wave-2", 2, 10, "standard")):
        m = np.isin(team_of, tids)
        cohort[m], wave[m], start[m], support[m] = name, w, W0 + dt.timedelta(weeks=s_week), level
    t = np.arange(weeks)
    week_starts = [W0 + dt.timedelta(weeks=int(k)) for k in t]
    started = np.array([[s is not None and week_starts[k] >= s for k in t] for s in start])
    logit = base[:, None] + 0.12 * t[None, :] - 0.5 + pilot_logit * started
    active = (rng.random((people, weeks)) < 1 / (1 + np.exp(-logit))) & has_account[:, None]
    passive = np.where(active, rng.poisson(4, (people, weeks)) + 1, 0)
    reaction = np.where(active & (rng.random((people, weeks)) < 0.5), rng.poisson(2, (people, weeks)) + 1, 0)
    contribution = np.where(active & (rng.random((people, weeks)) < 0.35), rng.poisson(1.5, (people, weeks)) + 1, 0)
    first = [week_starts[int(np.argmax(a))] if a.any() else None for a in active]
    in_pilot = np.array([c is not None for c in cohort])[:, None]
    status = np.where(started, "during", np.where(in_pilot, "pre", None)).astype(object)
    status[~np.broadcast_to(in_pilot, status.shape)] = None
    columns = {
        "person_key": np.repeat(keys, weeks),
        "week_start": week_starts * people,
        "iso_week": [d.strftime("%G-W%V") for d in week_starts] * people,
        "manager_key": np.repeat(np.where(is_mgr, None, manager), weeks),
        "department": np.repeat(dept, weeks), "org_unit": np.repeat([f"T{i:02d}" for i in team_of], weeks),
        "site": np.repeat(site, weeks), "country": "FR", "job_family": np.repeat(np.where(is_mgr, "Manager", "Staff"), weeks),
        "worker_type": np.repeat(worker, weeks), "level": np.repeat(np.where(is_mgr, 3, 4), weeks),
        "tenure_band": np.repeat(tenure, weeks), "is_manager": np.repeat(is_mgr, weeks),
        "direct_reports": np.repeat(np.where(is_mgr, size - 1, 0), weeks), "eligible_from": W0,
        "has_account": np.repeat(has_account, weeks),
        "actions_passive": passive.ravel(), "actions_reaction": reaction.ravel(),
        "actions_contribution": contribution.ravel(),
        "actions_total": (passive + reaction + contribution).ravel(),
        "is_active": active.ravel(), "is_engaged": ((reaction + contribution) > 0).ravel(),
        "is_contributor": (contribution > 0).ravel(), "first_active_week": np.repeat(np.array(first, dtype=object), weeks),
        "pilot_cohort": np.repeat(cohort, weeks), "pilot_wave": np.repeat(wave, weeks),
        "pilot_start_week": np.repeat(start, weeks), "pilot_status": status.ravel(),
        "pilot_support_level": np.repeat(support, weeks),
    }
    frame = pl.DataFrame({k: (v.tolist() if isinstance(v, np.ndarray) and v.dtype == object else v)
                          for k, v in columns.items()}, strict=False)
    good, bad = conform(frame, PERSON_WEEK)
    assert bad.height == 0, bad.head()
    return good


def kpi_values(pw: pl.DataFrame, *, seed: int = 2, kpi_effect: float = 2.0) -> pl.DataFrame:
    """Weekly team KPI: 40 hours + a team level + noise, ``kpi_effect`` hours lower in piloted teams."""
    rng = np.random.default_rng(seed)
    teams = (pw.group_by("org_unit").agg(pl.col("pilot_start_week").drop_nulls().min().alias("start"))
             .sort("org_unit"))
    weeks = sorted(pw["week_start"].unique().to_list())
    level = dict(zip(teams["org_unit"], rng.normal(0, 3, teams.height), strict=True))
    rows = []
    for team, start in teams.iter_rows():
        for w in weeks:
            effect = kpi_effect if start is not None and w >= start else 0.0
            rows.append({"kpi": KPI.name, "unit_type": "team", "unit_id": team, "period_start": w,
                         "period_end": w + dt.timedelta(days=6),
                         "value": 40.0 + level[team] - effect + float(rng.normal(0, 2.0)), "source_file": "kpis.csv"})
    return pl.DataFrame(rows)


def marts(pw: pl.DataFrame, kpis: pl.DataFrame, *, min_group_size: int = 5) -> dict[str, pl.DataFrame]:
    """The marts the report reads, from the real compute functions."""
    from transforms.metrics import (
        adoption_curve,
        diffusion,
        inequality,
        lifecycle,
        manager_relay,
        non_users,
        outcome_kpis,
        retention,
        usage_segments,
    )
    from transforms.pilot.effects_mart import pilot_effects
    from transforms.pilot.power import kpi_power
    from transforms.pilot.representativeness import pilot_representativeness
    from transforms.pilot.units import person_baseline, team_pilot_assignment

    k = min_group_size
    registry = KpiRegistry(kpis=[KPI])
    teams = team_pilot_assignment(pw)
    panel = kpis.select("kpi", "unit_id", pl.col("period_start").alias("week_start"), "value").join(
        teams.select("unit_id", "cohort", "first_treat"), on="unit_id", how="left")
    baseline = person_baseline(pw, attributes=["worker_type", "site", "department", "tenure_band"],
                               activity=["is_active", "is_contributor"], baseline_end=W0 + dt.timedelta(weeks=6),
                               baseline_weeks=6)
    fit = diffusion.fit_bass_diffusion(pw, start_week=W0, bootstrap_reps=20, min_group_size=k)
    out = {
        "marts.person_week": pw,
        "marts.adoption_curve": adoption_curve.adoption_curve(pw, min_group_size=k),
        "marts.usage_segments": usage_segments.usage_segment_shares(pw, min_group_size=k),
        "marts.lifecycle": lifecycle.lifecycle_shares(pw, min_group_size=k),
        "marts.retention": retention.retention_triangle(pw, min_group_size=k),
        "marts.inequality": inequality.participation_inequality(pw, min_group_size=k),
        "marts.non_users": non_users.never_active(pw, populations=("organisation", "worker_type", "site"),
                                                  min_group_size=k),
        "marts.digital_divide": non_users.digital_divide(pw, min_group_size=k),
        "marts.manager_relay": manager_relay.manager_relay_effect(pw, min_group_size=k),
        "marts.team_uptake_by_manager": manager_relay.team_uptake_by_manager_activity(pw, min_group_size=k),
        "marts.diffusion": fit.parameters,
        "marts.diffusion_projection": fit.projection,
        "marts.outcome_kpis": outcome_kpis.outcome_kpis(kpis, registry, pw, min_group_size=k),
        "marts.kpi_activity_link": outcome_kpis.kpi_activity_lead_lag(kpis, registry, pw, kpi=KPI.name, max_lag=4,
                                                                       min_group_size=k),
        "marts.pilot_effects": pilot_effects(pw, panel, activity_metrics={"weekly_active_rate": "is_active"},
                                             estimators=("naive", "ipw", "aipw", "did_cs"), baseline_weeks=6,
                                             pre_weeks=4, by_support_level=False, min_group_size=k),
        "marts.pilot_representativeness": pilot_representativeness(
            baseline, cohort_col="pilot_cohort", attributes=["worker_type", "site", "department", "tenure_band"],
            pre_activity_cols=["pre_is_active", "pre_is_contributor"], min_group_size=k),
        "marts.pilot_power": kpi_power(panel, weeks=8, pre_weeks=4),
    }
    return out


def settings(min_group_size: int = 5) -> Settings:
    return Settings(organisation="Small Org", platform_launch=W0, min_group_size=min_group_size)


def write_warehouse(path: Path, tables: dict[str, pl.DataFrame], *, min_group_size: int = 5) -> Path:
    """A warehouse file with the configuration rows and ``tables`` (``schema.table`` names)."""
    pilots = Pilots(cohorts=[PilotCohort(name="wave-1", wave=1, start=W0 + dt.timedelta(weeks=6),
                                         selectors=[{"department": "Sales"}]),
                             PilotCohort(name="wave-2", wave=2, start=W0 + dt.timedelta(weeks=10),
                                         selectors=[{"site": "Plant A"}])])
    with duckdb.connect(str(path)) as con:
        for schema in ("raw", "marts", "quality"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute("CREATE OR REPLACE TABLE raw.settings (name VARCHAR PRIMARY KEY, body JSON)")
        for name, model in (("settings", settings(min_group_size)), ("pilots", pilots),
                            ("kpi_registry", KpiRegistry(kpis=[KPI])), ("charters", Charters(communities=[]))):
            con.execute("INSERT INTO raw.settings VALUES (?, ?)", [name, model.model_dump_json()])
        for name, frame in tables.items():
            con.register("__t", frame.to_arrow())
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __t")
            con.unregister("__t")
    return path


def build(path: Path, *, weeks: int = 20, seed: int = 1) -> tuple[Path, dict[str, pl.DataFrame]]:
    """Simulate, compute the marts, write the warehouse; return its path and the tables."""
    pw = person_week(weeks=weeks, seed=seed)
    kpis = kpi_values(pw)
    tables = {**marts(pw, kpis), "raw.kpi_values": kpis}
    return write_warehouse(path, tables), tables


@dataclass(frozen=True)
class SmallOrg:
    """A built small organisation: warehouse, published snapshots, the report, and the tables."""

    root: Path
    warehouse: Path
    published: Path
    report: Path
    tables: dict[str, pl.DataFrame] = field(repr=False)


@functools.lru_cache(maxsize=1)
def shared() -> SmallOrg:
    """The small organisation, built once per test process (tests using it share an xdist group).

    Runs what the pipeline's last steps run: the report (``write_report``) and the published
    snapshots (``publish_marts``), both from a read-only connection. Removed at exit.
    """
    from pipelines.publish import publish_marts
    from pipelines.report_file import write_report

    root = Path(tempfile.mkdtemp(prefix="uptake-small-org-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    warehouse, tables = build(root / "warehouse.duckdb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with duckdb.connect(str(warehouse), read_only=True) as con:
            report, _ = write_report(con, root / "reports" / "report.html")
            publish_marts(con, root / "published")
    return SmallOrg(root=root, warehouse=warehouse, published=root / "published", report=report, tables=tables)
