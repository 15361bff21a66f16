"""The metric registry: every metric declared once, with its kind, unit, direction, grain and denominator.

Four kinds of metric are kept apart everywhere (DESIGN.md, "Metric kinds"):

- ``activity``: what people do on the platform (active, engaged, contributors, segments...).
- ``output``: what communities produce according to their charter (answered questions, ideas...).
- ``outcome``: business KPIs from business systems.
- ``perception``: what people say the platform brings them, from pulse surveys.

Two further table kinds are not metrics of their own but are declared so that nothing is blended:

- ``link``: an explicit analysis relating two kinds (activity ahead of an outcome, activity versus
  outputs of a community). It is labelled as such (association, not effect) and carries its caveat.
- ``prerequisite``: enablement facts that condition every other number (identity match rate,
  profile completeness).

Every table function of :mod:`transforms.metrics` is declared with :func:`table_function` (the kind
it emits and the metrics it carries) and returns a tidy Polars frame with a constant ``kind`` column;
:func:`assert_single_kind` fails on any table that mixes kinds. ``docs/metrics.md`` is generated from
this registry by :func:`render_metrics_markdown`; a test checks the committed file is up to date::

    .venv/bin/python -m transforms.metrics > docs/metrics.md
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import polars as pl

__all__ = [
    "KIND_COLUMN",
    "METRICS",
    "TABLES",
    "Direction",
    "Metric",
    "MetricKind",
    "MixedKindError",
    "TableSpec",
    "assert_single_kind",
    "get_metric",
    "metrics_of_kind",
    "render_metrics_markdown",
    "table_function",
    "tables_of_kind",
    "with_kind",
]

#: Name of the column every produced table carries, holding its one kind.
KIND_COLUMN = "kind"


class MetricKind(StrEnum):
    ACTIVITY = "activity"
    OUTPUT = "output"
    OUTCOME = "outcome"
    PERCEPTION = "perception"
    LINK = "link"
    PREREQUISITE = "prerequisite"


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    NEUTRAL = "neutral"


class MixedKindError(ValueError):
    """A table carries metrics of more than one kind (or no declared kind)."""


@dataclass(frozen=True)
class Metric:
    """One metric, declared once."""

    name: str
    kind: MetricKind
    unit: str
    direction: Direction
    grain: str
    denominator: str
    description: str


@dataclass(frozen=True)
class TableSpec:
    """A table function: the one kind it emits, the metrics it carries, its grain."""

    name: str
    function: str
    kind: MetricKind
    metrics: tuple[str, ...]
    grain: str
    summary: str


_A = MetricKind.ACTIVITY
_O = MetricKind.OUTPUT
_C = MetricKind.OUTCOME
_V = MetricKind.PERCEPTION
_L = MetricKind.LINK
_P = MetricKind.PREREQUISITE
_UP = Direction.HIGHER_IS_BETTER
_DOWN = Direction.LOWER_IS_BETTER
_NEUTRAL = Direction.NEUTRAL
_PW = "population x week"
_ELIG = "eligible headcount of the population that week (HR directory, never platform accounts)"

METRICS: tuple[Metric, ...] = (
    # --- activity: adoption curve ---
    Metric("eligible", _A, "people", _NEUTRAL, _PW, "none (a count)",
           "Eligible employees: employed and in scope that week per the HR directory (person_week rows)."),
    Metric("active_rate", _A, "share", _UP, _PW, _ELIG,
           "Share of eligible people with at least one passive, reaction or contribution action in the week."),
    Metric("engaged_rate", _A, "share", _UP, _PW, _ELIG,
           "Share of eligible people with at least one reaction or contribution in the week."),
    Metric("contributor_rate", _A, "share", _UP, _PW, _ELIG,
           "Share of eligible people with at least one contribution (post, reply, share, upload) in the week."),
    Metric("ever_active_rate", _A, "share", _UP, _PW, _ELIG,
           "Share of eligible people whose first active week (over all data) is on or before the week."),
    # --- activity: usage segments ---
    Metric("usage_segment", _A, "category", _NEUTRAL, "person x week", "none (a label per person-week)",
           "Viva Insights segment on a chosen activity count over the last 12 calendar weeks (a missing "
           "week counts as zero; the window starts at the person's first eligible week): habit = at least "
           "1 action in at least 9 of the 12 weeks (in a shorter window of n weeks: ceil(9n/12) weeks); "
           "Power = habit and mean >= 15; Habitual = habit; Novice = mean >= 1; Low = mean > 0; "
           "Non-user = mean 0. Thresholds configurable (SegmentRules). How this default differs from "
           "Microsoft's vivainsights.identify_usage_segments, and why: a short window at the start of a "
           "person's history needs ceil(9n/12) active weeks instead of the full 9, so that recent joiners "
           "(or a site that got the platform late) can be habitual before their ninth week instead of "
           "being held below it by construction; and windows are calendar weeks (a gap counts as zero) "
           "where vivainsights rolls over the person's last 12 rows (a gap is skipped, so an absence "
           "never breaks a habit). SegmentRules.vivainsights() gives the exact vivainsights behaviour "
           "(strict 9 of the last 12 rows, no scaling at the start, mean over the available rows)."),
    Metric("usage_segment_share", _A, "share", _NEUTRAL, "population x week x segment", _ELIG,
           "Share of eligible people in each usage segment."),
    # --- activity: lifecycle ---
    Metric("lifecycle_state", _A, "category", _NEUTRAL, "person x week", "none (a label per person-week)",
           "Per eligible person and calendar week t (a week without a row counts as inactive): new = active "
           "in t and t is the first active week EVER (not the first in the window); returning = active in t "
           "and t-1; resurrecting = active in t, not in t-1, active some week before t-1; dormant = not "
           "active in t, active in t-1; lapsed = not active in t nor t-1 but active before; never_active = "
           "never active up to t. Leavers have no state after their last eligible week (they leave the "
           "denominator, they are not dormant); late joiners start in never_active or, if active before "
           "eligibility, in resurrecting/returning."),
    Metric("lifecycle_share", _A, "share", _NEUTRAL, "population x week x state", _ELIG,
           "Share of eligible people in each lifecycle state."),
    # --- activity: retention ---
    Metric("retention_on", _A, "share", _UP, "cohort x weeks since cohort start",
           "cohort members still eligible in week cohort_start + k",
           "Share of a cohort (first-active week, or pilot wave) active IN week cohort_start + k."),
    Metric("retention_on_or_after", _A, "share", _UP, "cohort x weeks since cohort start",
           "cohort members eligible in week cohort_start + k or later",
           "Share of a cohort active in week cohort_start + k OR ANY LATER week of the data."),
    # --- activity: stickiness ---
    Metric("stickiness", _A, "ratio", _UP, _PW,
           "people eligible in week t who were active in at least one of weeks t-3..t",
           "Mean weekly active count over weeks t-3..t divided by the distinct people active in that "
           "4-week window (WAU / 4-week active), both among the people eligible in week t."),
    # --- activity: inequality ---
    Metric("lurker_share", _A, "share", _NEUTRAL, "population x period",
           "people eligible at any time in the period",
           "Share of eligible people with no contribution in the period (the '90' of 90-9-1)."),
    Metric("light_contributor_share", _A, "share", _NEUTRAL, "population x period",
           "people eligible at any time in the period",
           "Share of eligible people who contributed but are not heavy contributors (the '9')."),
    Metric("heavy_contributor_share", _A, "share", _NEUTRAL, "population x period",
           "people eligible at any time in the period",
           "Share of eligible people in the heavy group (the '1'): the fewest top contributors who together "
           "made at least heavy_volume_share (default 50%) of all contributions."),
    Metric("top1pct_contribution_share", _A, "share", _NEUTRAL, "population x period",
           "all contributions of the population in the period",
           "Share of contributions made by the top 1% of eligible people (ceil(1% of eligible) people); "
           "null when that group is smaller than min_group_size."),
    Metric("gini_eligible", _A, "index 0-1", _DOWN, "population x period", "people eligible in the period",
           "Gini coefficient of contribution counts among all eligible people (zeros included)."),
    Metric("gini_contributors", _A, "index 0-1", _DOWN, "population x period",
           "people with at least one contribution in the period",
           "Gini coefficient of contribution counts among contributors only."),
    # --- activity: non-users and digital divide ---
    Metric("never_active_rate", _A, "share", _DOWN, "population x as-of week", _ELIG,
           "Share of the people eligible in the as-of week who have never been active up to that week."),
    Metric("frontline_gap_points", _A, "percentage points", _DOWN, "week",
           "eligible headcount of each arm that week",
           "Office active rate minus frontline active rate, in percentage points (positive = frontline behind)."),
    Metric("weeks_to_first_activity", _A, "weeks", _DOWN, "population",
           "people eligible in the data (censored if never active: Kaplan-Meier)",
           "Whole weeks from the week of eligible_from (or the first eligible week) to the first active week; "
           "quantiles by Kaplan-Meier so that people not yet active count as censored, not dropped."),
    # --- activity: managers as relays ---
    Metric("manager_relay_effect_pp", _A, "percentage points", _UP, "organisation (pooled member-weeks)",
           "adopted team members (first_active_week < t) whose manager has a row in week t-1",
           "Linear probability model of a member's weekly active on the manager being active in week t-1, "
           "with week fixed effects and controls (team size, department, worker type, pilot status), SEs "
           "clustered by manager; 95% interval."),
    Metric("team_active_rate_by_manager", _A, "share", _UP, "week x manager active in t-1",
           "adopted team members in the arm that week",
           "Active rate of adopted team members whose manager was (not) active the previous week."),
    Metric("leader_active_rate", _A, "share", _UP, "week", "eligible people with level <= max_level",
           "Share of the top levels (level <= 2 by default) active in the week."),
    Metric("leader_content_reach", _A, "people", _UP, "week",
           "reach rate: eligible headcount of the week",
           "Distinct people (other than the author) who read, reacted to or replied to content posted by "
           "the top levels, counted in the week of the interaction."),
    # --- outputs ---
    Metric("community_actions", _A, "actions", _NEUTRAL, "community x week", "none (a count)",
           "Non-automated actions (excluding join) in a community's spaces."),
    Metric("community_active_people", _A, "people", _UP, "community x week", "none (a count)",
           "Distinct people (or unresolved accounts) acting in a community's spaces."),
    Metric("community_outputs", _O, "outputs", _UP, "community x week", "none (a count)",
           "Outputs recognised by the community's charter rule. answered_question: a post with is_question "
           "whose thread (thread_id = the post's content_id) gets a reply by another account within "
           "within_hours, counted in the week of the question; hashtag: a post or reply carrying the tag."),
    Metric("community_output_vs_target", _O, "share", _UP, "community x week", "the charter's target_per_week",
           "Outputs in the week divided by the charter's target (null when the charter sets none)."),
    Metric("busy_without_outputs", _L, "flag", _DOWN, "community x period", "none (a flag)",
           "Busy: mean weekly actions at least busy_multiple (default 1.0) x the median chartered community's "
           "and not silent; without outputs: outputs per week below near_zero_outputs_per_week (0.25, under "
           "one a month). Relates two kinds: a flag, never a blended score."),
    Metric("silent_community", _L, "flag", _DOWN, "community x period", "none (a flag)",
           "Mean weekly actions at most silent_share_of_median (10%) of the median community's, or fewer "
           "than silent_actions_per_week (1) in absolute terms."),
    # --- outcomes ---
    Metric("kpi_value", _C, "as in the KPI registry", _NEUTRAL, "KPI x unit x period",
           "as in the KPI registry",
           "Value of an outcome KPI from a business system, with its unit's HR context (headcount, "
           "frontline share, pilot shares). Direction and unit come from the KPI registry."),
    Metric("kpi_activity_lead_lag", _L, "correlation / KPI units per active-rate point", _NEUTRAL,
           "KPI x lag k (0..8 weeks)", "team-weeks with both values (teams of at least min_group_size)",
           "Association, not effect: correlation and OLS slope (team-clustered 95% interval) of a team KPI at "
           "week t+k on the team's active rate at week t."),
    # --- diffusion ---
    Metric("bass_p", _A, "per week", _NEUTRAL, "population", "remaining adoptable people each week",
           "Bass coefficient of innovation, fitted on weekly new adopters (first active weeks) of the "
           "non-pilot people eligible at the start week and not active before it."),
    Metric("bass_q", _A, "per week", _NEUTRAL, "population", "remaining adoptable people each week",
           "Bass coefficient of imitation."),
    Metric("bass_m", _A, "people", _NEUTRAL, "population", "none (a count)",
           "Bass market potential: people who will eventually adopt (m_share = m / Bass population)."),
    Metric("weeks_to_adoption_share", _A, "weeks", _DOWN, "population x target share",
           "non-pilot eligible headcount at the start week",
           "Weeks after the start week until (adopted before start + fitted cumulative adopters) reaches "
           "50% / 80% of the non-pilot eligible headcount; null if the fitted ceiling never reaches it."),
    Metric("projected_adoption_share", _A, "share", _UP, "population x week",
           "non-pilot eligible headcount at the start week",
           "Observed and Bass-projected cumulative adoption share, with parametric-bootstrap bands."),
    # --- activity: where to roll out next ---
    Metric("expected_uptake", _A, "share", _UP, "candidate population (org unit, site) or wave option",
           "the candidate's people still waiting for a wave (eligible, in no started cohort)",
           "Expected share of weeks active in the first 8 weeks of a wave: the mean over the candidate's people "
           "of a logistic model of past waves' members' weekly activity on HR attributes, pre-period activity "
           "and the manager's pre-period activity (transforms.pilot.uptake_model); out-of-fold AUC stated."),
    Metric("wave_mean_abs_smd", _A, "index (0 = like the people waiting)", _DOWN,
           "candidate population or wave option", "the people still waiting for a wave",
           "The pilot section's representativeness index of a group against the people still waiting: mean "
           "|standardized mean difference| over HR attributes and pre-period activity (above 0.1: not "
           "representative)."),
    # --- perception (pulse surveys) ---
    Metric("perception_response_rate", _V, "share", _UP, "survey wave x question x population",
           "eligible headcount of the population in the week the wave opens (HR directory, never the survey's list)",
           "Share of eligible people who answered the question in the survey wave (respondents matched to HR)."),
    Metric("perception_mean_answer", _V, "scale points", _NEUTRAL, "survey wave x question x population",
           "respondents: each person's last answer in the wave",
           "Mean answer on the question's scale (Likert 1-5 or 1-7, NPS 0-10); better is higher or lower as the "
           "question's direction in surveys.yaml says."),
    Metric("perception_top2_share", _V, "share", _UP, "survey wave x question x population",
           "respondents: each person's last answer in the wave",
           "Top-2-box: share of respondents choosing one of the two most favourable points of a Likert scale (the "
           "two highest, or the two lowest when the question's direction is lower_is_better)."),
    Metric("perception_nps", _V, "points (-100 to 100)", _UP, "survey wave x question x population",
           "respondents: each person's last answer in the wave",
           "Net Promoter Score of a 0-10 question: percentage of promoters (9-10) minus percentage of detractors (0-6)."),
    Metric("perception_activity_slope", _L, "answer points per unit of active share", _NEUTRAL, "question",
           "respondents eligible in at least one of the 8 weeks before their answer",
           "Association, not effect: OLS slope of a person's answer on their share of active weeks among their "
           "eligible weeks in the 8 weeks before the answer's week, with controls (worker type, department, pilot "
           "assignment at the time, survey wave) and a 95% interval clustered by person; beside it the mean answer "
           "by activity band."),
    # --- prerequisites ---
    Metric("identity_match_rate", _P, "share", _UP, "platform source", "platform accounts (non-automated)",
           "Share of a platform's accounts resolved to an HR employee."),
    Metric("profile_completeness", _P, "share", _UP, "HR field", "employees in the HR directory",
           "Share of employees whose directory profile has the field filled."),
)

_METRICS_BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
if len(_METRICS_BY_NAME) != len(METRICS):  # pragma: no cover - a declaration error, caught at import
    raise RuntimeError("duplicate metric names in the registry")

#: Table functions, filled by :func:`table_function` when the modules of the package are imported.
TABLES: dict[str, TableSpec] = {}

F = TypeVar("F", bound=Callable[..., Any])


def get_metric(name: str) -> Metric:
    """The registered metric called ``name``; ``KeyError`` names it if it is not registered."""
    try:
        return _METRICS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"metric {name!r} is not in the registry") from None


def metrics_of_kind(kind: MetricKind | str) -> list[Metric]:
    """The registered metrics of one kind, in declaration order."""
    k = MetricKind(kind)
    return [m for m in METRICS if m.kind == k]


def table_function(*, kind: MetricKind | str, metrics: Sequence[str], grain: str) -> Callable[[F], F]:
    """Declare a function as producing a table of one ``kind`` carrying ``metrics``.

    The metrics must be registered and of that kind (a table never mixes kinds); the declaration
    is recorded in :data:`TABLES` and on the function as ``__table_spec__``.
    """
    k = MetricKind(kind)
    for name in metrics:
        m = get_metric(name)
        if m.kind != k:
            raise MixedKindError(f"metric {name!r} is {m.kind.value}, cannot appear in a {k.value} table")

    def decorate(fn: F) -> F:
        first_paragraph = (fn.__doc__ or "").strip().split("\n\n")[0]
        spec = TableSpec(
            name=fn.__name__,
            function=f"{fn.__module__}.{fn.__qualname__}",
            kind=k,
            metrics=tuple(metrics),
            grain=grain,
            summary=" ".join(line.strip() for line in first_paragraph.splitlines()),
        )
        TABLES[spec.function] = spec
        fn.__table_spec__ = spec  # type: ignore[attr-defined]
        return fn

    return decorate


def tables_of_kind(kind: MetricKind | str) -> list[TableSpec]:
    """Declared table functions of one kind (after importing :mod:`transforms.metrics`)."""
    _load_all()
    k = MetricKind(kind)
    return [t for t in TABLES.values() if t.kind == k]


def with_kind(table: pl.DataFrame, kind: MetricKind | str) -> pl.DataFrame:
    """``table`` with a constant ``kind`` column (a new frame; the input is not modified)."""
    return table.with_columns(pl.lit(MetricKind(kind).value).alias(KIND_COLUMN))


def assert_single_kind(table: pl.DataFrame, *, expected: MetricKind | str | None = None) -> MetricKind:
    """Check that ``table`` declares exactly one metric kind in its ``kind`` column; return it.

    Raises :class:`MixedKindError` if the column is missing, holds nulls or unknown kinds, holds
    more than one kind, or differs from ``expected``. An empty table passes if the column exists
    and ``expected`` is given (there is nothing to mix); otherwise its kind cannot be known.
    """
    if KIND_COLUMN not in table.columns:
        raise MixedKindError(f"table has no {KIND_COLUMN!r} column; columns are {', '.join(table.columns)}")
    values = table.get_column(KIND_COLUMN)
    if values.null_count():
        raise MixedKindError(f"{values.null_count()} row(s) have no kind")
    kinds = sorted(set(values.cast(pl.Utf8).to_list()))
    if not kinds:
        if expected is None:
            raise MixedKindError("empty table: its kind cannot be checked without 'expected'")
        return MetricKind(expected)
    unknown = [k for k in kinds if k not in {m.value for m in MetricKind}]
    if unknown:
        raise MixedKindError(f"unknown kind(s) {', '.join(unknown)}; expected one of "
                             f"{', '.join(m.value for m in MetricKind)}")
    if len(kinds) > 1:
        raise MixedKindError(f"table mixes kinds {', '.join(kinds)}; activity, outputs and outcomes "
                             "are never mixed in one table")
    kind = MetricKind(kinds[0])
    if expected is not None and kind != MetricKind(expected):
        raise MixedKindError(f"table is of kind {kind.value}, expected {MetricKind(expected).value}")
    return kind


def _load_all() -> None:
    importlib.import_module("transforms.metrics")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_metrics_markdown() -> str:
    """The text of ``docs/metrics.md``, generated from :data:`METRICS` and :data:`TABLES`."""
    _load_all()
    lines = [
        "# Metrics",
        "",
        "<!-- GENERATED by transforms.metrics.registry.render_metrics_markdown; do not edit by hand. -->",
        "<!-- Regenerate: .venv/bin/python -m transforms.metrics > docs/metrics.md -->",
        "",
        "Every metric is declared once in `transforms/metrics/registry.py`. Metrics of different kinds",
        "(activity, output, outcome, perception) are never mixed in one table or one number; analyses that relate",
        "two kinds are their own kind, `link`, and are labelled as associations. Every rate's",
        "denominator is eligible headcount from the HR directory, never platform accounts. Published",
        "aggregates describing fewer than `min_group_size` people are suppressed, with complementary",
        "suppression so that they cannot be recovered from totals (`transforms/privacy.py`).",
        "",
    ]
    for kind in MetricKind:
        metrics = metrics_of_kind(kind)
        if not metrics:
            continue
        lines += [f"## {kind.value.capitalize()} metrics", ""]
        lines += ["| metric | unit | direction | grain | denominator | definition |",
                  "|---|---|---|---|---|---|"]
        for m in metrics:
            lines.append(f"| `{m.name}` | {_cell(m.unit)} | {m.direction.value.replace('_', ' ')} | "
                         f"{_cell(m.grain)} | {_cell(m.denominator)} | {_cell(m.description)} |")
        lines.append("")
    lines += _marts_markdown()
    lines += ["## Tables, by kind", "",
              "Each function returns a tidy table with a constant `kind` column.", ""]
    for kind in MetricKind:
        specs = sorted((t for t in TABLES.values() if t.kind == kind), key=lambda t: t.function)
        if not specs:
            continue
        lines += [f"### {kind.value.capitalize()}", "", "| function | grain | metrics | what it is |",
                  "|---|---|---|---|"]
        for t in specs:
            lines.append(f"| `{t.function}` | {_cell(t.grain)} | {', '.join(f'`{m}`' for m in t.metrics)} | "
                         f"{_cell(t.summary)} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _marts_markdown() -> list[str]:
    """The warehouse's marts, from the marts registry (``transforms.marts``): table, kind, grain,
    what it reads and who reads it."""
    from transforms.marts import load_registry  # the marts registry builds on this module: load on use

    lines = ["## Marts in the warehouse", "",
             "Every `marts.*` table is declared once in `transforms/marts/` (one function each); the Dagster",
             "assets, the report's inputs and the published snapshots are generated from these declarations.",
             "`marts.person_week` (and `marts.person_week_source`) is built in DuckDB by `transforms/person_week.py`.",
             "", "| table | kind | grain | reads | read by | what it is |", "|---|---|---|---|---|---|"]
    for spec in sorted(load_registry().values(), key=lambda s: s.tables):
        kind = spec.kind.value if spec.kind else "per row (`metric_kind`)"
        for table in spec.tables:
            lines.append(f"| `{table}` | {kind} | {_cell(spec.grain)} | {', '.join(f'`{t}`' for t in spec.reads)} | "
                         f"{', '.join(sorted(spec.read_by))} | {_cell(spec.description)} |")
    return [*lines, ""]

