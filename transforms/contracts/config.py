"""The drop zone's YAML files as validated models: organisation settings, pilots, KPI registry,
community charters, targets. Readers with file-naming errors live in ``pipelines.connectors.config_files``.

Example files are written by the simulator (``uptake simulate``) and shown in the README.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, field_validator, model_validator

from transforms.contracts.vocabulary import FREE_TEXT, LIKERT_LABELS, SURVEY_SCALES, WorkerType


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _refuse_duplicates(names: list[str], what: str) -> None:
    """``ValueError`` naming every name given twice (``what``: e.g. ``cohort``)."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate {what} name(s): {', '.join(dupes)}")


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


class EngineSettings(_Strict):
    """``settings.yaml``'s ``engine:``: what runs the events layers (see docs/engines.md)."""

    name: Literal["duckdb", "spark"] = Field("duckdb", description="duckdb (one machine) or spark (a cluster)")
    spark_master: str = Field("local[2]", description="local[N], sc://host:port (Spark Connect) or a cluster URL")
    lake: str | None = Field(None, description="the Parquet lake's root; default: lake/ next to the warehouse")


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
    engine: EngineSettings = Field(default_factory=EngineSettings)
    warehouse_memory_limit: str = Field(
        "4GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
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
        _refuse_duplicates([c.name for c in self.cohorts], "cohort")
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


#: Population types a target can name: those the marts already cut by (``transforms.metrics.populations``)
#: and, for community outputs, the community of a charter.
TargetPopulationType = Literal["organisation", "department", "site", "worker_type", "pilot_cohort", "community"]


class TargetPopulation(_Strict):
    """Whom a target is about: ``type`` and, unless it is the whole organisation, the population's ``value``
    (a department, a site, ``office`` / ``frontline``, a cohort's name or ``non_pilot``, a charter's name)."""

    type: TargetPopulationType = "organisation"
    value: str | None = None

    @model_validator(mode="after")
    def _value_needed(self) -> TargetPopulation:
        if self.type == "organisation" and self.value not in (None, "organisation"):
            raise ValueError(f"population type organisation takes no value (found {self.value!r})")
        if self.type != "organisation" and not (self.value or "").strip():
            raise ValueError(f"population type {self.type} needs a value (which {self.type.replace('_', ' ')})")
        return self

    @property
    def label(self) -> str:
        """``organisation`` or the population's value."""
        return "organisation" if self.type == "organisation" else str(self.value)


class TargetMetric(_Strict):
    """Which metric a target is on: its ``kind`` (activity, output, outcome, or any kind a metric source
    is registered for, see ``transforms.targets.sources``) and its ``name`` within that kind."""

    kind: str = Field(min_length=1)
    name: str = Field(min_length=1)


class TargetMilestone(_Strict):
    """An intermediate value the path to a target goes through (a knot of the expected path)."""

    date: dt.date
    value: FiniteFloat


class Target(_Strict):
    """One target of ``targets.yaml``: a population's metric should go from its baseline at ``start`` to
    ``value`` by ``due``, along a straight or S-shaped path through the milestones."""

    name: str = Field(min_length=1)
    population: TargetPopulation = Field(default_factory=TargetPopulation)
    metric: TargetMetric
    start: dt.date = Field(description="the baseline is the metric's value in this date's week")
    due: dt.date
    value: FiniteFloat
    baseline: FiniteFloat | None = Field(None, description="overrides the value observed in the week of start")
    path: Literal["linear", "logistic"] = "linear"
    milestones: list[TargetMilestone] = Field(default_factory=list)
    tolerance: float = Field(0.05, ge=0, le=1, description="share of the distance baseline -> target that an "
                             "on-track actual may lag the expected value by")
    at_risk_band: float = Field(0.10, ge=0, le=1, description="further share of that distance that is at risk "
                                "(beyond: off track)")

    @model_validator(mode="after")
    def _dates(self) -> Target:
        if self.due <= self.start:
            raise ValueError(f"target {self.name!r}: due ({self.due}) must be after start ({self.start})")
        dates = [m.date for m in self.milestones]
        outside = [d for d in dates if not self.start < d < self.due]
        if outside:
            raise ValueError(f"target {self.name!r}: milestone {outside[0]} is not between start ({self.start}) "
                             f"and due ({self.due})")
        if len(set(dates)) != len(dates):
            raise ValueError(f"target {self.name!r}: two milestones on the same date")
        return self


class Targets(_Strict):
    """``targets.yaml``: the programme's roadmap."""

    targets: list[Target]

    @model_validator(mode="after")
    def _unique(self) -> Targets:
        _refuse_duplicates([t.name for t in self.targets], "target")
        return self


def fold_header(text: str) -> str:
    """A survey header or answer label as compared: no case, blanks collapsed, a trailing colon dropped."""
    return re.sub(r"\s+", " ", text.replace("\ufeff", "")).strip().rstrip(":").strip().lower()


def _repeated(values: list[str]) -> list[str]:
    """The values listed more than once, sorted."""
    return sorted({v for v in values if values.count(v) > 1})


class SurveyQuestion(_Strict):
    """One question of a pulse survey.

    ``scale``: ``likert_5``, ``likert_7``, ``nps_0_10`` or ``free_text`` (answers dropped by the
    connector, counted, never stored). ``labels``: the Likert answers as a forms export writes them,
    lowest point first (default: the English defaults of Microsoft Forms / Google Forms).
    ``headers``: column headers of a forms export that hold this question besides ``text`` itself.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    text: str = Field(min_length=1, description="the question as asked (a forms export's column header)")
    scale: Literal["likert_5", "likert_7", "nps_0_10", "free_text"]
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"
    labels: list[str] | None = None
    headers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _labels_fit(self) -> SurveyQuestion:
        if self.labels is not None:
            if self.scale not in LIKERT_LABELS:
                raise ValueError(f"question {self.id!r}: labels are for Likert scales, not {self.scale}")
            low, high = SURVEY_SCALES[self.scale]
            if len(self.labels) != high - low + 1:
                raise ValueError(f"question {self.id!r}: {self.scale} needs {high - low + 1} labels, "
                                 f"found {len(self.labels)}")
            folded = [fold_header(label) for label in self.labels]
            if len(set(folded)) != len(folded) or "" in folded:
                raise ValueError(f"question {self.id!r}: labels must be distinct and not empty")
        return self

    @property
    def is_scaled(self) -> bool:
        """Whether answers are scale points (kept) rather than free text (dropped)."""
        return self.scale != FREE_TEXT

    def answer_labels(self) -> tuple[str, ...]:
        """The Likert labels, lowest point first (empty for NPS and free text)."""
        if self.labels is not None:
            return tuple(self.labels)
        return LIKERT_LABELS.get(self.scale, ())


class SurveyWave(_Strict):
    """One wave of a survey: responses dated ``opens`` to ``closes`` (both inclusive) belong to it."""

    name: str
    opens: dt.date
    closes: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> SurveyWave:
        if self.closes < self.opens:
            raise ValueError(f"wave {self.name!r} closes ({self.closes}) before it opens ({self.opens})")
        return self


class Survey(_Strict):
    """One pulse survey: its waves and questions. ``date_order`` reads slashed dates of forms exports
    (``3/4/2026``): ``month_first`` (the US default of Microsoft Forms and Google Forms) or ``day_first``."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str
    waves: list[SurveyWave] = Field(min_length=1)
    questions: list[SurveyQuestion] = Field(min_length=1)
    date_order: Literal["month_first", "day_first"] = "month_first"

    @model_validator(mode="after")
    def _consistent(self) -> Survey:
        dupes = _repeated([w.name for w in self.waves])
        if dupes:
            raise ValueError(f"survey {self.id!r}: duplicate wave name(s) {', '.join(dupes)}")
        waves = sorted(self.waves, key=lambda w: w.opens)
        for a, b in zip(waves, waves[1:], strict=False):
            if b.opens <= a.closes:
                raise ValueError(f"survey {self.id!r}: waves {a.name!r} and {b.name!r} overlap")
        dupes = _repeated([fold_header(h) for q in self.questions for h in (q.text, *q.headers)])
        if dupes:
            raise ValueError(f"survey {self.id!r}: the same header names two questions: {', '.join(dupes)}")
        return self

    def wave_of(self, day: dt.date) -> str | None:
        """The wave whose dates hold ``day``, if any."""
        return next((w.name for w in self.waves if w.opens <= day <= w.closes), None)


class Surveys(_Strict):
    """``surveys.yaml``: the pulse surveys and their questions (the survey registry)."""

    surveys: list[Survey]

    @model_validator(mode="after")
    def _unique(self) -> Surveys:
        dupes = _repeated([s.id for s in self.surveys])
        if dupes:
            raise ValueError(f"duplicate survey id(s): {', '.join(dupes)}")
        dupes = _repeated([q.id for s in self.surveys for q in s.questions])
        if dupes:
            raise ValueError(f"question id(s) used twice: {', '.join(dupes)} (question ids are unique across surveys)")
        return self

    def question(self, question_id: str) -> tuple[Survey, SurveyQuestion] | None:
        """The survey and question of ``question_id``, if registered."""
        for s in self.surveys:
            for q in s.questions:
                if q.id == question_id:
                    return s, q
        return None
