"""The drop zone's configuration files (settings, pilots, KPI registry, charters) and the KPI feed,
exactly as docs/drop_zone.md describes them (they validate against transforms.contracts.config)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml

from pipelines.simulator.communities import CHARTERS
from pipelines.simulator.kpis import REGISTRY
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


def write_config_files(world: SimulatedWorld, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        _dump(out_dir / "settings.yaml", settings_document(world), "Organisation settings (simulated)"),
        _dump(out_dir / "pilots.yaml", pilots_document(world), "Pilot cohorts: whole teams as of the start, plus volunteers"),
        _dump(out_dir / "kpi_registry.yaml", {"kpis": [dict(k) for k in REGISTRY]}, "Outcome KPI definitions"),
        _dump(out_dir / "charters.yaml", charters_document(world), "Community charters"),
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
