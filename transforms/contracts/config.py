"""The drop zone's YAML files as validated models: organisation settings, pilots, KPI registry,
community charters. Readers with file-naming errors live in ``pipelines.connectors.config_files``.

Example files are written by the simulator (``uptake simulate``) and shown in the README.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from transforms.contracts.vocabulary import WorkerType


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkerTypeMapping(_Strict):
    """How ``worker_type`` (office / frontline) is derived when HR does not carry it."""

    field: Literal["site", "job_family", "department"] = "site"
    values: dict[str, WorkerType] = Field(default_factory=dict)
    default: WorkerType = "office"


class Scope(_Strict):
    """Who is eligible. ``None`` means no restriction on that attribute."""

    countries: list[str] | None = None
    sites: list[str] | None = None
    worker_types: list[WorkerType] | None = None


class IdentityRule(_Strict):
    """One identity-resolution rule: a platform account field matched to an HR field."""

    account_field: Literal["employee_number", "account_email", "account_upn", "username"]
    hr_field: Literal["employee_id", "email", "upn", "aliases"]


class Settings(_Strict):
    """``settings.yaml``: the organisation's settings."""

    organisation: str
    time_zone: str = "UTC"
    min_group_size: int = Field(5, ge=2)
    platform_launch: dt.date = Field(description="general roll-out date for every site")
    site_launch: dict[str, dt.date] = Field(default_factory=dict, description="per-site overrides")
    general_rollout: dt.date | None = Field(
        None,
        description="when the platform was rolled out to everyone after the pilots (start of organic "
        "diffusion; the Bass model starts here). Default: platform_launch.",
    )
    scope: Scope = Field(default_factory=Scope)
    worker_type: WorkerTypeMapping = Field(default_factory=WorkerTypeMapping)
    identity_rules: list[IdentityRule] = Field(
        default_factory=lambda: [
            IdentityRule(account_field="employee_number", hr_field="employee_id"),
            IdentityRule(account_field="account_email", hr_field="email"),
            IdentityRule(account_field="account_upn", hr_field="upn"),
            IdentityRule(account_field="account_email", hr_field="aliases"),
        ]
    )
    hr_csv_columns: dict[str, str] = Field(
        default_factory=dict,
        description="HR CSV column mapping: canonical hr_snapshots column -> header in the file",
    )
    viva_insights_metrics: dict[str, str] | None = Field(
        None,
        description="Viva Insights person query: metric column -> canonical action (replaces the connector's "
        "default mapping; see pipelines/connectors/viva_insights.py)",
    )
    viva_insights_hr_columns: dict[str, str] = Field(
        default_factory=dict,
        description="Viva Insights person query as HR source: hr_snapshots column -> HR attribute column "
        "(added to / overriding the connector's defaults)",
    )
    email_domains: list[str] = Field(default_factory=list, description="the organisation's own domains")
    identity_match_threshold: float = Field(0.9, ge=0, le=1)
    report_weekday: Literal["monday"] = "monday"
    report_hour: int = Field(6, ge=0, le=23)
    warehouse_memory_limit: str = Field(
        "6GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's memory_limit for uptake run: past it, joins, sorts and aggregates spill to "
        "warehouse_temp_directory instead of failing. $UPTAKE_DUCKDB_MEMORY_LIMIT overrides it.",
    )
    warehouse_temp_directory: str | None = Field(
        None, description="where DuckDB spills (default: <warehouse>.tmp next to the warehouse file). "
        "$UPTAKE_DUCKDB_TEMP_DIRECTORY overrides it.",
    )
    warehouse_threads: int | None = Field(
        None, ge=1, description="DuckDB threads (default: one per core). $UPTAKE_DUCKDB_THREADS overrides it.")
    language: Literal["en", "fr"] = Field(
        "en",
        description="the language the weekly report is written in: en (English) or fr (French); a region "
        "such as fr_FR or fr-CA is accepted and read as its language. `uptake report --lang` overrides it.",
    )

    @field_validator("language", mode="before")
    @classmethod
    def _language_code(cls, v: object) -> object:
        if isinstance(v, str):
            return v.strip().replace("-", "_").split("_", 1)[0].lower()
        return v

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r}") from exc
        return v


class MemberSelector(_Strict):
    """Org-unit selector: everyone whose HR attributes match all given fields at the wave start."""

    department: str | None = None
    org_unit: str | None = None
    site: str | None = None


class PilotCohort(_Strict):
    """One pilot cohort (a wave). Membership is intent-to-treat: assignment, not use."""

    name: str
    wave: int = Field(ge=1)
    start: dt.date
    end: dt.date | None = None
    support_level: str | None = None
    employee_ids: list[str] = Field(default_factory=list)
    selectors: list[MemberSelector] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_members(self) -> PilotCohort:
        if not self.employee_ids and not self.selectors:
            raise ValueError(f"cohort {self.name!r} has neither employee_ids nor selectors")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"cohort {self.name!r} ends ({self.end}) before it starts ({self.start})")
        return self


class Pilots(_Strict):
    """``pilots.yaml``."""

    cohorts: list[PilotCohort]

    @model_validator(mode="after")
    def _unique(self) -> Pilots:
        names = [c.name for c in self.cohorts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate cohort name(s): {', '.join(dupes)}")
        return self


class KpiDefinition(_Strict):
    """One outcome KPI in the registry."""

    name: str
    description: str
    unit: str = Field(description="e.g. hours, percent, count, EUR")
    unit_type: Literal["employee", "team", "site"]
    direction: Literal["higher_is_better", "lower_is_better"]
    grain: Literal["week", "month"] = "week"
    source: str = Field(description="the business system it comes from")
    expected_range: tuple[float, float] | None = Field(None, description="plausible values, for checks")
    max_delay_days: int = Field(14, description="how late the feed may be before a warning")


class KpiRegistry(_Strict):
    """``kpi_registry.yaml``."""

    kpis: list[KpiDefinition]

    def get(self, name: str) -> KpiDefinition:
        for k in self.kpis:
            if k.name == name:
                return k
        raise KeyError(f"KPI {name!r} is not in the registry")


class SpaceRef(_Strict):
    source: str
    space_id: str


class OutputRule(_Strict):
    """How a community output is recognised.

    - ``answered_question``: a post with ``is_question`` whose thread gets a reply by someone else
      within ``within_hours``.
    - ``hashtag``: a post or reply carrying ``#<tag>``.
    """

    kind: Literal["answered_question", "hashtag"]
    within_hours: int | None = 48
    tag: str | None = None

    @model_validator(mode="after")
    def _tag_needed(self) -> OutputRule:
        if self.kind == "hashtag" and not self.tag:
            raise ValueError("a hashtag rule needs 'tag'")
        return self


class CommunityCharter(_Strict):
    name: str
    spaces: list[SpaceRef]
    purpose: str
    output_type: str = Field(description="e.g. answered question, idea, shared practice")
    rule: OutputRule
    target_per_week: float | None = None


class Charters(_Strict):
    """``charters.yaml``."""

    communities: list[CommunityCharter]
