"""The drop zone's configuration files (settings, pilots, KPI registry, charters, targets) and the KPI feed,
exactly as docs/drop_zone.md describes them (they validate against transforms.contracts.config)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import yaml

from pipelines.simulator.communities import CHARTERS
from pipelines.simulator.kpis import REGISTRY, SITE_KPI
from pipelines.simulator.organisation import LATE_SITE, SITES
from pipelines.simulator.parameters import EMAIL_DOMAIN, LEGACY_DOMAIN, ORGANISATION, TIME_ZONE
from pipelines.simulator.platform_formats import written_space_ids
from pipelines.simulator.world import SimulatedWorld


def _dump(path: Path, doc: dict[str, object], header: str) -> Path:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)
    path.write_text(f"# {header}\n{text}", encoding="utf-8")
    return path


def settings_document(world: SimulatedWorld) -> dict[str, object]:
    tl = world.timeline
    return {
        "organisation": ORGANISATION,
        "time_zone": TIME_ZONE,
        "min_group_size": 5,
        "platform_launch": tl.start,
        "site_launch": {LATE_SITE: tl.monday(tl.late_site_launch)},
        "general_rollout": tl.monday(tl.general_rollout),
        "scope": {"countries": None, "sites": None, "worker_types": None},
        "worker_type": {
            "field": "site",
            "values": {s: wt for s, (_, wt) in SITES.items() if wt == "frontline"},
            "default": "office",
        },
        "identity_rules": [
            {"account_field": "employee_number", "hr_field": "employee_id"},
            {"account_field": "account_email", "hr_field": "email"},
            {"account_field": "account_upn", "hr_field": "upn"},
            {"account_field": "account_email", "hr_field": "aliases"},
        ],
        "email_domains": [EMAIL_DOMAIN, LEGACY_DOMAIN],
        "hr_csv_columns": {},
        "identity_match_threshold": 0.9,
    }


def pilots_document(world: SimulatedWorld) -> dict[str, object]:
    org, tl = world.org, world.timeline
    cohorts = []
    for c in world.pilots.cohorts:
        cohorts.append({
            "name": c.name,
            "wave": c.wave,
            "start": tl.monday(c.start_week),
            "end": tl.sunday(c.end_week),
            "support_level": c.support_level,
            "selectors": [{"org_unit": code} for code in sorted(org.team_code[list(c.teams)].tolist())],
            "employee_ids": sorted(org.employee_id[list(c.volunteers)].tolist()),
        })
    return {"cohorts": cohorts}


def charters_document(world: SimulatedWorld) -> dict[str, object]:
    names = [(s.source, s.name) for s in world.spaces]
    space_ids = written_space_ids(world)
    communities = []
    for ch in CHARTERS:
        rule: dict[str, object] = {"kind": ch.rule_kind}
        if ch.rule_kind == "answered_question":
            rule["within_hours"] = 48
        else:
            rule["tag"] = ch.tag
        entry: dict[str, object] = {
            "name": ch.name,
            "spaces": [{"source": world.formats.source(ch.source),
                        "space_id": space_ids[names.index((ch.source, ch.space))]}],
            "purpose": ch.purpose,
            "output_type": ch.output_type,
            "rule": rule,
        }
        if ch.target_per_week is not None:
            entry["target_per_week"] = ch.target_per_week
        communities.append(entry)
    return {"communities": communities}


def targets_document(world: SimulatedWorld) -> dict[str, object]:
    """The roadmap: targets of every kind, four on track and one off track by construction at 40 weeks.

    - Adoption (S-shaped, through a milestone at the general roll-out): 70% of the organisation has
      used the platform a month after the data ends. On track: the Bass ceiling (80% of the
      non-pilot population) and the onboarded pilots take the share past 70% before the end.
    - Frontline staff: three quarters have used the platform a quarter after the data ends (linear):
      on track, the Bass diffusion after the roll-out takes frontline staff past 70% by the end; the
      Bass projection dates when 75% is reached (or says the fitted ceiling stays below).
    - Office staff weekly active at 30% by the last week (linear): on track, the planted office
      activity (a_i about 0.6 once adopted) is well above it.
    - Absence kept at or under 5.5% (an outcome guardrail, a level kept): on track, the site
      absence baselines average about 4.5% and no pilot moves them.
    - Sales Excellence answering 5 deal questions a week by the last week: off track by
      construction, the community is planted busy without outputs (never a question).
    """
    tl = world.timeline

    def day(week: int) -> dt.date:  # a new date object each time: YAML writes no anchors and aliases
        return tl.monday(week)

    return {"targets": [
        {"name": "Seven in ten have used the platform",
         "population": {"type": "organisation"},
         "metric": {"kind": "activity", "name": "ever_active_rate"},
         "start": day(0), "due": day(tl.weeks + 4), "value": 0.7, "path": "logistic",
         "milestones": [{"date": day(tl.general_rollout), "value": 0.15}]},
        {"name": "Three quarters of frontline staff have used the platform",
         "population": {"type": "worker_type", "value": "frontline"},
         "metric": {"kind": "activity", "name": "ever_active_rate"},
         "start": day(0), "due": day(tl.weeks + 12), "value": 0.75},
        {"name": "Office staff weekly active at 30%",
         "population": {"type": "worker_type", "value": "office"},
         "metric": {"kind": "activity", "name": "active_rate"},
         "start": day(0), "due": day(tl.weeks - 1), "value": 0.3},
        {"name": "Absence kept at or under 5.5%",
         "population": {"type": "organisation"},
         "metric": {"kind": "outcome", "name": SITE_KPI},
         "start": day(0), "due": day(tl.weeks + 12), "value": 5.5, "baseline": 5.5},
        {"name": "Sales Excellence answers 5 deal questions a week",
         "population": {"type": "community", "value": "Sales Excellence"},
         "metric": {"kind": "output", "name": "community_outputs"},
         "start": day(0), "due": day(tl.weeks - 1), "value": 5},
    ]}


def write_config_files(world: SimulatedWorld, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        _dump(out_dir / "settings.yaml", settings_document(world), "Organisation settings (simulated)"),
        _dump(out_dir / "pilots.yaml", pilots_document(world), "Pilot cohorts: whole teams as of the start, plus volunteers"),
        _dump(out_dir / "kpi_registry.yaml", {"kpis": [dict(k) for k in REGISTRY]}, "Outcome KPI definitions"),
        _dump(out_dir / "charters.yaml", charters_document(world), "Community charters"),
        _dump(out_dir / "targets.yaml", targets_document(world), "Roadmap targets: population, metric, value, due date"),
    ]


def write_kpi_feed(world: SimulatedWorld, out_dir: Path) -> list[Path]:
    """``kpis/<kpi>.csv`` in long format: kpi,unit_type,unit_id,period_start,period_end,value."""
    folder = out_dir / "kpis"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    values = world.kpis.values
    for kpi in sorted(values["kpi"].unique().to_list()):
        path = folder / f"{kpi}.csv"
        (values.filter(pl.col("kpi") == kpi).sort("unit_id", "period_start")
         .write_csv(path, float_precision=2))
        paths.append(path)
    return paths
