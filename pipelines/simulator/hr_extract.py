"""HR directory files: weekly ``hr/hr_YYYY-MM-DD.csv`` extracts (default hr_csv headers, worker_type
left empty so that it comes from settings) and one SCIM 2.0 ``ListResponse`` of the latest state.

An extract dated Monday of week t lists everyone employed that week, plus leavers during the
``hr_leaver_retention_weeks`` weeks after their last week, with ``termination_date`` set (it is
already set in the extract of their last week: notice was given).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import polars as pl

from pipelines.simulator.identity import _uuid_like
from pipelines.simulator.organisation import DEPARTMENTS, SITE_CODES
from pipelines.simulator.output_files import csv_bytes
from pipelines.simulator.parameters import ORGANISATION
from pipelines.simulator.world import SimulatedWorld

HR_COLUMNS: tuple[str, ...] = (
    "employee_id", "display_name", "email", "upn", "aliases", "manager_id", "department", "org_unit", "site",
    "country", "job_family", "worker_type", "level", "hire_date", "termination_date",
)
DEPARTMENT_NAMES = np.asarray([d.name for d in DEPARTMENTS])


def hr_state(world: SimulatedWorld) -> pl.DataFrame:
    """Every (person, week) listed in an HR extract, with the attributes shown that week."""
    org, W = world.org, world.timeline.weeks
    pp, tt = np.nonzero(org.in_hr)
    last = np.clip(org.last_week[pp], 0, W - 1)
    employed = org.employed[pp, tt]
    team = np.where(employed, org.team_of[pp, tt], org.team_of[pp, last])
    mgr = np.where(employed, org.manager[pp, tt], org.manager[pp, last])
    shows_termination = (org.last_week[pp] < W) & (tt >= org.last_week[pp])
    week_start = np.asarray(world.timeline.week_starts, dtype="datetime64[D]")
    return pl.DataFrame({
        "week": tt,
        "snapshot_date": week_start[tt],
        "person": pp,
        "employee_id": org.employee_id[pp].astype(str),
        "display_name": org.display_name[pp].astype(str),
        "email": org.email[pp].astype(str),
        "upn": org.upn[pp].astype(str),
        "aliases": org.alias[pp].astype(str),
        "manager_id": pl.Series(np.where(mgr >= 0, org.employee_id[np.maximum(mgr, 0)], None).tolist(), dtype=pl.Utf8),
        "manager": mgr,
        "department": DEPARTMENT_NAMES[org.department[pp]],
        "org_unit": org.team_code[team].astype(str),
        "site": np.asarray(SITE_CODES)[org.site[pp]],
        "country": org.country_codes()[pp],
        "job_family": org.job_family[pp].astype(str),
        "worker_type": "",
        "level": org.level[pp],
        "hire_date": org.hire_date[pp],
        "termination_date": np.where(shows_termination, org.termination_date[pp], np.datetime64("NaT")),
        "employed": employed,
    })


def write_hr_extracts(world: SimulatedWorld, out_dir: Path) -> list[Path]:
    """One CSV per week (the Monday's extract)."""
    folder = out_dir / "hr"
    folder.mkdir(parents=True, exist_ok=True)
    state = hr_state(world)
    paths = []
    for (week,), part in state.partition_by("week", as_dict=True, maintain_order=True).items():
        path = folder / f"hr_{world.timeline.monday(int(week)).isoformat()}.csv"
        path.write_bytes(csv_bytes(part.sort("employee_id").select(HR_COLUMNS)))
        paths.append(path)
    return paths


def write_scim(world: SimulatedWorld, out_dir: Path) -> Path:
    """``hr/directory_scim.json``: the latest directory state as a SCIM 2.0 ListResponse.

    ``manager.value`` is the manager's SCIM ``id`` (not the employee number), as RFC 7643 says.
    Enterprise extension: ``employeeNumber``, ``department``, ``costCenter`` = org_unit,
    ``division`` = site; the work address carries the country.
    """
    state = hr_state(world)
    last = state.filter(pl.col("week") == world.timeline.weeks - 1).sort("employee_id")
    n_people = world.org.n_people
    scim_ids = _uuid_like(world.writer_rng, n_people)
    latest_change = world.timeline.end.isoformat() + "T02:00:00Z"
    resources = []
    for row in last.iter_rows(named=True):
        p = row["person"]
        emails = [{"value": row["email"], "type": "work", "primary": True}]
        if row["aliases"]:
            emails.append({"value": row["aliases"], "type": "other", "primary": False})
        enterprise: dict[str, object] = {
            "employeeNumber": row["employee_id"],
            "department": row["department"],
            "costCenter": row["org_unit"],
            "division": row["site"],
            "organization": ORGANISATION,
        }
        if row["manager"] >= 0:
            enterprise["manager"] = {"value": str(scim_ids[row["manager"]]), "displayName": str(
                world.org.display_name[row["manager"]])}
        resources.append({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": str(scim_ids[p]),
            "externalId": row["employee_id"],
            "userName": row["upn"],
            "name": {"givenName": str(world.org.first_name[p]), "familyName": str(world.org.last_name[p]),
                     "formatted": row["display_name"]},
            "displayName": row["display_name"],
            "title": row["job_family"],
            "userType": "Employee",
            "active": bool(row["employed"]),
            "emails": emails,
            "addresses": [{"type": "work", "country": row["country"], "primary": True}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": enterprise,
            "meta": {"resourceType": "User", "created": f"{row['hire_date'].isoformat()}T08:00:00Z",
                     "lastModified": latest_change, "location": f"/scim/v2/Users/{scim_ids[p]}"},
        })
    doc = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(resources),
        "itemsPerPage": len(resources),
        "startIndex": 1,
        "Resources": resources,
    }
    path = out_dir / "hr" / "directory_scim.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return path
