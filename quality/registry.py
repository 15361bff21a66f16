"""The quality registry: every data-quality check of the warehouse, declared once.

A check is a :class:`QualityCheck`: a name, the Dagster asset it guards (an asset key string such
as ``"clean/events"``), a severity (``error`` for a broken contract, ``warn`` for an anomaly),
whether a failure blocks downstream assets, a description, and a function
``(con, context) -> CheckOutcome``. Checks that apply to every connector of a kind are declared
once with ``per_source`` and ``{source}`` in their name and target; :func:`expand` binds them to the
connectors present.

The same list feeds the Dagster asset checks (``pipelines.assets.checks``), the ``uptake check``
command and :func:`quality.runner.run_checks`, so the three cannot drift apart.

Severity policy:

- ``error`` + blocking: broken contracts (schema, required values, vocabularies, uniqueness,
  conservation, referential integrity, privacy floors of published marts).
- ``warn`` + non-blocking: anomalies that need a human look (missing export days, identity match
  rate under its threshold, missing managers, manager cycles, late or mis-scaled KPIs, rejects).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

import duckdb

from quality import anomalies, checked_files, gx_suites, sql_checks
from quality.outcome import CheckContext, CheckOutcome, Severity
from transforms.contracts import ACTIVITY_COUNTS, EVENTS, HR_DIRECTORY, HR_SNAPSHOTS, KPI_VALUES, PERSON_WEEK

log = logging.getLogger(__name__)


#: What a per-source check needs the connector to yield: a canonical table, or ``any`` connector.
SourceKind = Literal["events", "hr_snapshots", "activity_counts", "any"]

#: The ingest asset of every platform connector (expanded by the Dagster binding).
PLATFORM_INGESTS = "raw/{platform}"

CheckFunction = Callable[[duckdb.DuckDBPyConnection, CheckContext], CheckOutcome]


@dataclass(frozen=True)
class QualityCheck:
    """One declared check. ``name`` and ``target`` may hold ``{source}`` when ``per_source`` is set."""

    name: str
    target: str
    severity: Severity
    blocking: bool
    description: str
    fn: CheckFunction
    per_source: SourceKind | None = None
    #: asset keys the check also reads (so Dagster runs it after them); may hold ``raw/{platform}``
    also_reads: tuple[str, ...] = ()
    source: str | None = None
    engine: Literal["sql", "gx"] = "sql"

    def bind(self, source: str) -> QualityCheck:
        """This per-source check for one connector."""
        return replace(
            self,
            name=self.name.format(source=source),
            target=self.target.format(source=source),
            description=self.description.format(source=source),
            source=source,
            per_source=None,
        )


def expand(checks: Sequence[QualityCheck], sources: Mapping[str, Sequence[str]]) -> list[QualityCheck]:
    """Concrete checks: every per-source check bound to each connector yielding its table.

    ``sources`` maps a canonical table (``events``, ``hr_snapshots``, ``activity_counts``) to the
    connectors that yield it; ``any`` is every connector named anywhere in the mapping.
    """
    every = sorted({s for names in sources.values() for s in names})
    out: list[QualityCheck] = []
    for check in checks:
        if check.per_source is None:
            out.append(check)
        else:
            names = every if check.per_source == "any" else sorted(sources.get(check.per_source, ()))
            out.extend(check.bind(s) for s in names)
    return out


E, W = Severity.ERROR, Severity.WARN


def _declare() -> list[QualityCheck]:
    return [
        # ---- ingest: platform events, per connector ------------------------------------------
        QualityCheck(
            name="{source}_events_schema",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="raw.{source}_events has every column of the events contract with its type, and no text column.",
            fn=partial(sql_checks.contract_schema, table="raw.{source}_events", contract=EVENTS),
            per_source="events",
        ),
        QualityCheck(
            name="{source}_events_required_values",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="No null in a required column of raw.{source}_events and every action in the canonical vocabulary "
            "(whole table, SQL; canonical files passed before are not read again).",
            fn=partial(checked_files.by_file, table="raw.{source}_events",
                       check=partial(sql_checks.required_and_vocabulary, contract=EVENTS)),
            per_source="events",
        ),
        QualityCheck(
            name="{source}_events_conflicting_ids",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="An event_id of {source} occurs with one payload only (re-exports may repeat a row, never change it).",
            fn=partial(sql_checks.conflicting_duplicates, table="raw.{source}_events", contract=EVENTS),
            per_source="events",
        ),
        QualityCheck(
            name="{source}_events_suite",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="Great Expectations suite on raw.{source}_events (sampled when large; canonical files passed "
            "before are not sampled again): required ids, action vocabulary, non-negative lengths and mention counts, "
            "plausible timestamps.",
            fn=partial(checked_files.by_file, table="raw.{source}_events",
                       check=partial(gx_suites.run_suite, suite="events")),
            per_source="events",
            engine="gx",
        ),
        # ---- ingest: activity counters, per connector ----------------------------------------
        QualityCheck(
            name="{source}_activity_counts_schema",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="raw.{source}_activity_counts has every column of the activity_counts contract.",
            fn=partial(sql_checks.contract_schema, table="raw.{source}_activity_counts", contract=ACTIVITY_COUNTS),
            per_source="activity_counts",
        ),
        QualityCheck(
            name="{source}_activity_counts_required_values",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="No null in a required column of raw.{source}_activity_counts, actions in the vocabulary, "
            "counts >= 0 and periods that end on or after they start (canonical files passed before are not read "
            "again).",
            fn=partial(checked_files.by_file, table="raw.{source}_activity_counts",
                       check=partial(sql_checks.required_and_vocabulary, contract=ACTIVITY_COUNTS,
                                     extra_rules={"count: negative": '"count" < 0',
                                                  "period_end: before period_start": "period_end < period_start"})),
            per_source="activity_counts",
        ),
        QualityCheck(
            name="{source}_activity_counts_conflicting_rows",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="One count per account, period and action in raw.{source}_activity_counts.",
            fn=partial(sql_checks.conflicting_duplicates, table="raw.{source}_activity_counts",
                    contract=ACTIVITY_COUNTS),
            per_source="activity_counts",
        ),
        # ---- ingest: HR snapshots, per connector ---------------------------------------------
        QualityCheck(
            name="{source}_hr_snapshots_schema",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="raw.{source}_hr_snapshots has every column of the hr_snapshots contract.",
            fn=partial(sql_checks.contract_schema, table="raw.{source}_hr_snapshots", contract=HR_SNAPSHOTS),
            per_source="hr_snapshots",
        ),
        QualityCheck(
            name="{source}_hr_snapshots_conflicting_rows",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="One record per employee and snapshot date in raw.{source}_hr_snapshots.",
            fn=partial(sql_checks.conflicting_duplicates, table="raw.{source}_hr_snapshots", contract=HR_SNAPSHOTS),
            per_source="hr_snapshots",
        ),
        QualityCheck(
            name="{source}_hr_snapshots_suite",
            target="raw/{source}",
            severity=E,
            blocking=True,
            description="Great Expectations suite on raw.{source}_hr_snapshots: ids present, worker types and countries "
            "well formed, levels >= 1, termination on or after hire (canonical files passed before are not sampled "
            "again).",
            fn=partial(checked_files.by_file, table="raw.{source}_hr_snapshots",
                       check=partial(gx_suites.run_suite, suite="hr_snapshots")),
            per_source="hr_snapshots",
            engine="gx",
        ),
        # ---- ingest: quarantine, per connector -----------------------------------------------
        QualityCheck(
            name="{source}_rejects",
            target="raw/{source}",
            severity=W,
            blocking=False,
            description="Rows of {source} quarantined in quality.rejects (by file and reason); each with file, locator "
            "and reason.",
            fn=partial(sql_checks.source_rejects, source="{source}"),
            per_source="any",
        ),
        # ---- ingest: configuration and KPI feed ----------------------------------------------
        QualityCheck(
            name="kpi_values_schema",
            target="raw/drop_zone_config",
            severity=E,
            blocking=True,
            description="raw.kpi_values has every column of the kpi_values contract.",
            fn=partial(sql_checks.contract_schema, table="raw.kpi_values", contract=KPI_VALUES),
        ),
        QualityCheck(
            name="kpi_values_conflicting_rows",
            target="raw/drop_zone_config",
            severity=E,
            blocking=True,
            description="One value per KPI, unit and period in the KPI feed.",
            fn=partial(sql_checks.conflicting_duplicates, table="raw.kpi_values", contract=KPI_VALUES),
        ),
        QualityCheck(
            name="kpi_values_suite",
            target="raw/drop_zone_config",
            severity=E,
            blocking=True,
            description="Great Expectations suite on the KPI feed: required fields, unit types, periods that end on or "
            "after they start.",
            fn=partial(gx_suites.run_suite, suite="kpi_values", table="raw.kpi_values"),
            engine="gx",
        ),
        QualityCheck(
            name="kpi_feed_rejects",
            target="raw/drop_zone_config",
            severity=W,
            blocking=False,
            description="Rows of the KPI feed quarantined in quality.rejects.",
            fn=partial(sql_checks.source_rejects, source="kpi_feed"),
        ),
        QualityCheck(
            name="kpi_unregistered",
            target="raw/drop_zone_config",
            severity=W,
            blocking=False,
            description="Every KPI in the feed is declared in kpi_registry.yaml.",
            fn=anomalies.kpi_unregistered,
        ),
        QualityCheck(
            name="kpi_feed_late",
            target="raw/drop_zone_config",
            severity=W,
            blocking=False,
            description="Each KPI's latest period ends no earlier than the activity data's last week minus the "
            "registry's max_delay_days.",
            fn=anomalies.kpi_feed_late,
            also_reads=(PLATFORM_INGESTS,),
        ),
        QualityCheck(
            name="kpi_scale_jumps",
            target="raw/drop_zone_config",
            severity=W,
            blocking=False,
            description="KPI values inside the registry's expected_range, and no period whose median jumps by a factor "
            ">= 10 from the KPI's usual level (a unit slip such as minutes for hours).",
            fn=anomalies.kpi_scale_jumps,
        ),
        QualityCheck(
            name="rejects_provenance",
            target="quality/run_summary",
            severity=W,
            blocking=False,
            description="Every quarantined row in quality.rejects has its source, file, locator and reason, and no "
            "excerpt long enough to hold message text.",
            fn=sql_checks.rejects_provenance,
        ),
        # ---- clean: events -------------------------------------------------------------------
        QualityCheck(
            name="events_conserved",
            target="clean/events",
            severity=E,
            blocking=True,
            description="Per source, rows in = kept + rejected + filtered (duplicates, automated), and kept = rows of "
            "clean.events.",
            fn=sql_checks.events_conserved,
        ),
        QualityCheck(
            name="clean_events_unique",
            target="clean/events",
            severity=E,
            blocking=True,
            description="One row per (source, event_id) in clean.events, in every week partition.",
            fn=sql_checks.clean_events_unique,
        ),
        QualityCheck(
            name="clean_events_weeks",
            target="clean/events",
            severity=E,
            blocking=True,
            description="week_start is a Monday and iso_week its YYYY-Www label; no automated event left in clean.events.",
            fn=sql_checks.clean_events_weeks,
        ),
        QualityCheck(
            name="missing_export_days",
            target="clean/events",
            severity=W,
            blocking=False,
            description="No working day with no or far fewer events than the same weekday in the neighbouring weeks, "
            "improbably so for that volume and the source's burstiness (negative binomial; an empty day beside "
            "quiet weeks is ordinary; a missing export day).",
            fn=anomalies.missing_export_days,
        ),
        # ---- clean: HR directory -------------------------------------------------------------
        QualityCheck(
            name="hr_directory_schema",
            target="clean/hr_directory",
            severity=E,
            blocking=True,
            description="clean.hr_directory has every column of the hr_directory contract.",
            fn=partial(sql_checks.contract_schema, table="clean.hr_directory", contract=HR_DIRECTORY),
        ),
        QualityCheck(
            name="hr_directory_intervals",
            target="clean/hr_directory",
            severity=E,
            blocking=True,
            description="One row per (employee_id, valid_from); an employee's validity intervals do not overlap.",
            fn=sql_checks.hr_intervals_disjoint,
        ),
        QualityCheck(
            name="managers_missing",
            target="clean/hr_directory",
            severity=W,
            blocking=False,
            description="Every manager_id is an employee in the directory at an overlapping time.",
            fn=anomalies.managers_missing,
        ),
        QualityCheck(
            name="manager_cycles",
            target="clean/hr_directory",
            severity=W,
            blocking=False,
            description="No manager chain loops back on itself (recursive walk up the hierarchy at each snapshot date).",
            fn=anomalies.manager_cycles,
        ),
        QualityCheck(
            name="hr_backfilled_weeks",
            target="marts/person_week",
            severity=W,
            blocking=False,
            description="No eligible person-week rests on employment back-filled before the first HR extract (from "
            "hire_date, with the first extract's attributes); says how many do.",
            fn=anomalies.hr_backfilled_weeks,
        ),
        # ---- identity ------------------------------------------------------------------------
        QualityCheck(
            name="identity_map_unique",
            target="clean/identity_map",
            severity=E,
            blocking=True,
            description="One row per (source, account_id) in clean.identity_map.",
            fn=partial(sql_checks.unique_key, table="clean.identity_map", key=("source", "account_id")),
        ),
        QualityCheck(
            name="identity_map_references_hr",
            target="clean/identity_map",
            severity=E,
            blocking=True,
            description="Every matched employee_id exists in clean.hr_directory.",
            fn=sql_checks.identity_references_hr,
        ),
        QualityCheck(
            name="identity_match_rate",
            target="clean/identity_map",
            severity=W,
            blocking=False,
            description="Each source's identity match rate is at or above settings.identity_match_threshold.",
            fn=anomalies.identity_match_rate,
        ),
        # ---- marts ---------------------------------------------------------------------------
        QualityCheck(
            name="person_week_schema",
            target="marts/person_week",
            severity=E,
            blocking=True,
            description="marts.person_week has every column of the person_week contract.",
            fn=partial(sql_checks.contract_schema, table="marts.person_week", contract=PERSON_WEEK),
        ),
        QualityCheck(
            name="person_week_unique",
            target="marts/person_week",
            severity=E,
            blocking=True,
            description="One row per person and week in marts.person_week.",
            fn=partial(sql_checks.unique_key, table="marts.person_week", key=("person_key", "week_start")),
        ),
        QualityCheck(
            name="person_week_consistent",
            target="marts/person_week",
            severity=E,
            blocking=True,
            description="Tier counts add up to actions_total; active/engaged/contributor follow the tiers; weeks are "
            "Mondays labelled YYYY-Www.",
            fn=sql_checks.person_week_consistent,
        ),
        QualityCheck(
            name="person_week_suite",
            target="marts/person_week",
            severity=E,
            blocking=True,
            description="Great Expectations suite on marts.person_week (sampled when large): keys present, vocabularies "
            "of pilot status, worker type and tenure band, non-negative counts.",
            fn=partial(gx_suites.run_suite, suite="person_week", table="marts.person_week"),
            engine="gx",
        ),
        QualityCheck(
            name="adoption_curve_unique",
            target="marts/adoption_curve",
            severity=E,
            blocking=True,
            description="One row per week, population type and population in marts.adoption_curve.",
            fn=partial(sql_checks.unique_key, table="marts.adoption_curve",
                    key=("week_start", "population_type", "population")),
        ),
        QualityCheck(
            name="adoption_curve_consistent",
            target="marts/adoption_curve",
            severity=E,
            blocking=True,
            description="contributors <= engaged <= active <= eligible, active <= ever_active, rates = count / eligible, "
            "and no published cell under min_group_size people.",
            fn=sql_checks.adoption_curve_consistent,
        ),
        QualityCheck(
            name="adoption_curve_suite",
            target="marts/adoption_curve",
            severity=E,
            blocking=True,
            description="Great Expectations suite on marts.adoption_curve: rates in [0, 1], counts >= 0, keys present.",
            fn=partial(gx_suites.run_suite, suite="adoption_curve", table="marts.adoption_curve"),
            engine="gx",
        ),
        QualityCheck(
            name="pilot_effects_consistent",
            target="marts/pilot_effects",
            severity=E,
            blocking=True,
            description="Intervals contain their estimate, se >= 0, pre-trend p in [0, 1], both arms have at least "
            "min_group_size units.",
            fn=sql_checks.pilot_effects_consistent,
        ),
        QualityCheck(
            name="pilot_effects_suite",
            target="marts/pilot_effects",
            severity=E,
            blocking=True,
            description="Great Expectations suite on marts.pilot_effects: identifiers present, ci_high >= ci_low, se >= 0.",
            fn=partial(gx_suites.run_suite, suite="pilot_effects", table="marts.pilot_effects"),
            engine="gx",
        ),
    ]


#: Every declared check (per-source ones unbound: see :func:`expand`).
REGISTRY: tuple[QualityCheck, ...] = tuple(_declare())

