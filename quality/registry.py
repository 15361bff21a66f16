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

from quality import anomalies, gx_suites, sql_checks
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
    c = QualityCheck
    return [
        # ---- ingest: platform events, per connector ------------------------------------------
        c("{source}_events_schema", "raw/{source}", E, True,
          "raw.{source}_events has every column of the events contract with its type, and no text column.",
          partial(sql_checks.contract_schema, table="raw.{source}_events", contract=EVENTS), "events"),
        c("{source}_events_required_values", "raw/{source}", E, True,
          "No null in a required column of raw.{source}_events and every action in the canonical vocabulary "
          "(whole table, SQL).",
          partial(sql_checks.required_and_vocabulary, table="raw.{source}_events", contract=EVENTS), "events"),
        c("{source}_events_conflicting_ids", "raw/{source}", E, True,
          "An event_id of {source} occurs with one payload only (re-exports may repeat a row, never change it).",
          partial(sql_checks.conflicting_duplicates, table="raw.{source}_events", contract=EVENTS), "events"),
        c("{source}_events_suite", "raw/{source}", E, True,
          "Great Expectations suite on raw.{source}_events (sampled when large): required ids, action "
          "vocabulary, non-negative lengths and mention counts, plausible timestamps.",
          partial(gx_suites.run_suite, suite="events", table="raw.{source}_events"), "events", engine="gx"),
        # ---- ingest: activity counters, per connector ----------------------------------------
        c("{source}_activity_counts_schema", "raw/{source}", E, True,
          "raw.{source}_activity_counts has every column of the activity_counts contract.",
          partial(sql_checks.contract_schema, table="raw.{source}_activity_counts", contract=ACTIVITY_COUNTS),
          "activity_counts"),
        c("{source}_activity_counts_required_values", "raw/{source}", E, True,
          "No null in a required column of raw.{source}_activity_counts, actions in the vocabulary, "
          "counts >= 0 and periods that end on or after they start.",
          partial(sql_checks.required_and_vocabulary, table="raw.{source}_activity_counts",
                  contract=ACTIVITY_COUNTS,
                  extra_rules={"count: negative": '"count" < 0',
                               "period_end: before period_start": "period_end < period_start"}),
          "activity_counts"),
        c("{source}_activity_counts_conflicting_rows", "raw/{source}", E, True,
          "One count per account, period and action in raw.{source}_activity_counts.",
          partial(sql_checks.conflicting_duplicates, table="raw.{source}_activity_counts",
                  contract=ACTIVITY_COUNTS), "activity_counts"),
        # ---- ingest: HR snapshots, per connector ---------------------------------------------
        c("{source}_hr_snapshots_schema", "raw/{source}", E, True,
          "raw.{source}_hr_snapshots has every column of the hr_snapshots contract.",
          partial(sql_checks.contract_schema, table="raw.{source}_hr_snapshots", contract=HR_SNAPSHOTS),
          "hr_snapshots"),
        c("{source}_hr_snapshots_conflicting_rows", "raw/{source}", E, True,
          "One record per employee and snapshot date in raw.{source}_hr_snapshots.",
          partial(sql_checks.conflicting_duplicates, table="raw.{source}_hr_snapshots", contract=HR_SNAPSHOTS),
          "hr_snapshots"),
        c("{source}_hr_snapshots_suite", "raw/{source}", E, True,
          "Great Expectations suite on raw.{source}_hr_snapshots: ids present, worker types and countries "
          "well formed, levels >= 1, termination on or after hire.",
          partial(gx_suites.run_suite, suite="hr_snapshots", table="raw.{source}_hr_snapshots"),
          "hr_snapshots", engine="gx"),
        # ---- ingest: quarantine, per connector -----------------------------------------------
        c("{source}_rejects", "raw/{source}", W, False,
          "Rows of {source} quarantined in quality.rejects (by file and reason); each with file, locator "
          "and reason.",
          partial(sql_checks.source_rejects, source="{source}"), "any"),
        # ---- ingest: configuration and KPI feed ----------------------------------------------
        c("kpi_values_schema", "raw/drop_zone_config", E, True,
          "raw.kpi_values has every column of the kpi_values contract.",
          partial(sql_checks.contract_schema, table="raw.kpi_values", contract=KPI_VALUES)),
        c("kpi_values_conflicting_rows", "raw/drop_zone_config", E, True,
          "One value per KPI, unit and period in the KPI feed.",
          partial(sql_checks.conflicting_duplicates, table="raw.kpi_values", contract=KPI_VALUES)),
        c("kpi_values_suite", "raw/drop_zone_config", E, True,
          "Great Expectations suite on the KPI feed: required fields, unit types, periods that end on or "
          "after they start.",
          partial(gx_suites.run_suite, suite="kpi_values", table="raw.kpi_values"), engine="gx"),
        c("kpi_feed_rejects", "raw/drop_zone_config", W, False,
          "Rows of the KPI feed quarantined in quality.rejects.",
          partial(sql_checks.source_rejects, source="kpi_feed")),
        c("kpi_unregistered", "raw/drop_zone_config", W, False,
          "Every KPI in the feed is declared in kpi_registry.yaml.",
          anomalies.kpi_unregistered),
        c("kpi_feed_late", "raw/drop_zone_config", W, False,
          "Each KPI's latest period ends no earlier than the activity data's last week minus the "
          "registry's max_delay_days.",
          anomalies.kpi_feed_late, also_reads=(PLATFORM_INGESTS,)),
        c("kpi_scale_jumps", "raw/drop_zone_config", W, False,
          "KPI values inside the registry's expected_range, and no period whose median jumps by a factor "
          ">= 10 from the KPI's usual level (a unit slip such as minutes for hours).",
          anomalies.kpi_scale_jumps),
        c("rejects_provenance", "quality/run_summary", W, False,
          "Every quarantined row in quality.rejects has its source, file, locator and reason, and no "
          "excerpt long enough to hold message text.",
          sql_checks.rejects_provenance),
        # ---- clean: events -------------------------------------------------------------------
        c("events_conserved", "clean/events", E, True,
          "Per source, rows in = kept + rejected + filtered (duplicates, automated), and kept = rows of "
          "clean.events.",
          sql_checks.events_conserved),
        c("clean_events_unique", "clean/events", E, True,
          "One row per (source, event_id) in clean.events.",
          partial(sql_checks.unique_key, table="clean.events", key=("source", "event_id"))),
        c("clean_events_weeks", "clean/events", E, True,
          "week_start is a Monday and iso_week its YYYY-Www label; no automated event left in clean.events.",
          sql_checks.clean_events_weeks),
        c("missing_export_days", "clean/events", W, False,
          "No working day with no or far fewer events than the same weekday in the neighbouring weeks, "
          "improbably so for that volume and the source's burstiness (negative binomial; a missing export "
          "day).",
          anomalies.missing_export_days),
        # ---- clean: HR directory -------------------------------------------------------------
        c("hr_directory_schema", "clean/hr_directory", E, True,
          "clean.hr_directory has every column of the hr_directory contract.",
          partial(sql_checks.contract_schema, table="clean.hr_directory", contract=HR_DIRECTORY)),
        c("hr_directory_intervals", "clean/hr_directory", E, True,
          "One row per (employee_id, valid_from); an employee's validity intervals do not overlap.",
          sql_checks.hr_intervals_disjoint),
        c("managers_missing", "clean/hr_directory", W, False,
          "Every manager_id is an employee in the directory at an overlapping time.",
          anomalies.managers_missing),
        c("manager_cycles", "clean/hr_directory", W, False,
          "No manager chain loops back on itself (recursive walk up the hierarchy at each snapshot date).",
          anomalies.manager_cycles),
        c("hr_backfilled_weeks", "marts/person_week", W, False,
          "No eligible person-week rests on employment back-filled before the first HR extract (from "
          "hire_date, with the first extract's attributes); says how many do.",
          anomalies.hr_backfilled_weeks),
        # ---- identity ------------------------------------------------------------------------
        c("identity_map_unique", "clean/identity_map", E, True,
          "One row per (source, account_id) in clean.identity_map.",
          partial(sql_checks.unique_key, table="clean.identity_map", key=("source", "account_id"))),
        c("identity_map_references_hr", "clean/identity_map", E, True,
          "Every matched employee_id exists in clean.hr_directory.",
          sql_checks.identity_references_hr),
        c("identity_match_rate", "clean/identity_map", W, False,
          "Each source's identity match rate is at or above settings.identity_match_threshold.",
          anomalies.identity_match_rate),
        # ---- marts ---------------------------------------------------------------------------
        c("person_week_schema", "marts/person_week", E, True,
          "marts.person_week has every column of the person_week contract.",
          partial(sql_checks.contract_schema, table="marts.person_week", contract=PERSON_WEEK)),
        c("person_week_unique", "marts/person_week", E, True,
          "One row per person and week in marts.person_week.",
          partial(sql_checks.unique_key, table="marts.person_week", key=("person_key", "week_start"))),
        c("person_week_consistent", "marts/person_week", E, True,
          "Tier counts add up to actions_total; active/engaged/contributor follow the tiers; weeks are "
          "Mondays labelled YYYY-Www.",
          sql_checks.person_week_consistent),
        c("person_week_suite", "marts/person_week", E, True,
          "Great Expectations suite on marts.person_week (sampled when large): keys present, vocabularies "
          "of pilot status, worker type and tenure band, non-negative counts.",
          partial(gx_suites.run_suite, suite="person_week", table="marts.person_week"), engine="gx"),
        c("adoption_curve_unique", "marts/adoption_curve", E, True,
          "One row per week, population type and population in marts.adoption_curve.",
          partial(sql_checks.unique_key, table="marts.adoption_curve",
                  key=("week_start", "population_type", "population"))),
        c("adoption_curve_consistent", "marts/adoption_curve", E, True,
          "contributors <= engaged <= active <= eligible, active <= ever_active, rates = count / eligible, "
          "and no published cell under min_group_size people.",
          sql_checks.adoption_curve_consistent),
        c("adoption_curve_suite", "marts/adoption_curve", E, True,
          "Great Expectations suite on marts.adoption_curve: rates in [0, 1], counts >= 0, keys present.",
          partial(gx_suites.run_suite, suite="adoption_curve", table="marts.adoption_curve"), engine="gx"),
        c("pilot_effects_consistent", "marts/pilot_effects", E, True,
          "Intervals contain their estimate, se >= 0, pre-trend p in [0, 1], both arms have at least "
          "min_group_size units.",
          sql_checks.pilot_effects_consistent),
        c("pilot_effects_suite", "marts/pilot_effects", E, True,
          "Great Expectations suite on marts.pilot_effects: identifiers present, ci_high >= ci_low, se >= 0.",
          partial(gx_suites.run_suite, suite="pilot_effects", table="marts.pilot_effects"), engine="gx"),
    ]


#: Every declared check (per-source ones unbound: see :func:`expand`).
REGISTRY: tuple[QualityCheck, ...] = tuple(_declare())

