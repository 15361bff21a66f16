"""The canonical tables, each defined once. See DESIGN.md, "Canonical contracts"."""

from __future__ import annotations

import polars as pl

from transforms.contracts.actions import ACTIONS
from transforms.contracts.base import Column, Contract
from transforms.contracts.vocabulary import SURVEY_SCALES

UTC = pl.Datetime("us", "UTC")

#: Column names that would carry message text or free text; no contract may hold them.
TEXT_COLUMNS: tuple[str, ...] = ("text", "body", "message", "content", "content_text", "subject", "title")

EVENTS = Contract(
    name="events",
    grain="one row per platform action",
    key=("source", "event_id"),
    doc="Platform actions from event-level exports. Message text never gets here: only its length.",
    forbidden=TEXT_COLUMNS,
    columns=(
        Column("source", pl.Utf8, False, "connector name, e.g. 'slack'"),
        Column("event_id", pl.Utf8, False, "unique within source, stable across re-exports"),
        Column("occurred_at", UTC, False, "when the action happened, UTC"),
        Column("account_id", pl.Utf8, False, "the platform's account id of the actor"),
        Column("account_email", pl.Utf8, True, "lower-cased email if the export carries it"),
        Column("action", pl.Utf8, False, "canonical action", allowed=ACTIONS),
        Column("space_id", pl.Utf8, True, "channel / group / community id"),
        Column("thread_id", pl.Utf8, True, "content_id of the thread's root post"),
        Column("content_id", pl.Utf8, True, "the post/reply/file this action created or targeted"),
        Column("is_automated", pl.Boolean, False, "bot, integration or system action"),
        Column("body_chars", pl.Int32, True, "length of the message text in characters"),
        Column("hashtags", pl.List(pl.Utf8), True, "lower-cased hashtags without '#'"),
        Column("is_question", pl.Boolean, True, "the text asks a question (ends a sentence with '?')"),
        Column("mention_count", pl.Int16, True, "number of @-mentions in the text"),
        Column("reaction", pl.Utf8, True,
               "the emoji or reaction type of a react event (e.g. 'thumbsup'); null for other actions. "
               "Two reactions of one person on one message differ by it"),
        Column("source_file", pl.Utf8, True, "file inside the export the row came from (provenance)"),
    ),
)

ACCOUNTS = Contract(
    name="accounts",
    grain="one row per platform account",
    key=("source", "account_id"),
    doc="Platform accounts (user lists) used to resolve identities. Names stay in raw/clean only.",
    columns=(
        Column("source", pl.Utf8, False),
        Column("account_id", pl.Utf8, False),
        Column("account_email", pl.Utf8, True, "lower-cased"),
        Column("account_upn", pl.Utf8, True, "user principal name, lower-cased"),
        Column("employee_number", pl.Utf8, True, "an employee-id attribute when the platform has one"),
        Column("username", pl.Utf8, True, "handle / login name"),
        Column("display_name", pl.Utf8, True, "raw schema only"),
        Column("is_automated", pl.Boolean, False, "bot / app / integration account"),
        Column("is_deleted", pl.Boolean, False, "deactivated or deleted account (kept)"),
        Column("is_guest", pl.Boolean, True, "guest / external account"),
    ),
)

ACTIVITY_COUNTS = Contract(
    name="activity_counts",
    grain="one row per account, report period and action",
    key=("source", "account_id", "period_start", "period_end", "action"),
    doc="Per-user counters over a period, for sources that give no events (Microsoft 365 usage reports).",
    columns=(
        Column("source", pl.Utf8, False),
        Column("account_id", pl.Utf8, False, "UPN or the platform's id"),
        Column("account_email", pl.Utf8, True),
        Column("period_start", pl.Date, False, "first day covered (inclusive)"),
        Column("period_end", pl.Date, False, "last day covered (inclusive)"),
        Column("action", pl.Utf8, False, allowed=ACTIONS),
        Column("count", pl.Int64, False),
        Column("source_file", pl.Utf8, True),
    ),
)

HR_SNAPSHOTS = Contract(
    name="hr_snapshots",
    grain="one row per employee per directory snapshot, as delivered",
    key=("snapshot_date", "employee_id"),
    doc="HR directory extracts as delivered (one file per extract date).",
    columns=(
        Column("snapshot_date", pl.Date, False, "the extract's as-of date"),
        Column("employee_id", pl.Utf8, False),
        Column("email", pl.Utf8, True, "lower-cased primary email"),
        Column("upn", pl.Utf8, True, "lower-cased user principal name"),
        Column("aliases", pl.List(pl.Utf8), True, "other lower-cased emails"),
        Column("display_name", pl.Utf8, True),
        Column("manager_id", pl.Utf8, True),
        Column("department", pl.Utf8, True),
        Column("org_unit", pl.Utf8, True, "team / cost centre"),
        Column("site", pl.Utf8, True),
        Column("country", pl.Utf8, True, "ISO 3166 alpha-2"),
        Column("job_family", pl.Utf8, True),
        Column("worker_type", pl.Utf8, True, "office / frontline; filled from settings if absent"),
        Column("level", pl.Int16, True, "1 = top of the hierarchy"),
        Column("hire_date", pl.Date, True),
        Column("termination_date", pl.Date, True),
        Column("source_file", pl.Utf8, True),
    ),
)

_HR_ATTRS = tuple(c for c in HR_SNAPSHOTS.columns if c.name not in ("snapshot_date", "source_file"))

HR_DIRECTORY = Contract(
    name="hr_directory",
    grain="one row per employee per validity interval",
    key=("employee_id", "valid_from"),
    doc="HR directory history: snapshots collapsed into [valid_from, valid_to) intervals.",
    columns=(
        *_HR_ATTRS,
        Column("valid_from", pl.Date, False, "inclusive"),
        Column("valid_to", pl.Date, True, "exclusive; null = still valid"),
        Column("backfilled", pl.Boolean, False,
               "an interval before the first HR extract, from hire_date: employment assumed, attributes "
               "assumed to be those of the first extract"),
    ),
)

KPI_VALUES = Contract(
    name="kpi_values",
    grain="one row per KPI, unit and period",
    key=("kpi", "unit_type", "unit_id", "period_start"),
    doc="Outcome KPI feed in long format. Kind: outcome. Registry in config.KpiRegistry.",
    columns=(
        Column("kpi", pl.Utf8, False),
        Column("unit_type", pl.Utf8, False, allowed=("employee", "team", "site")),
        Column("unit_id", pl.Utf8, False, "employee_id, org_unit or site"),
        Column("period_start", pl.Date, False),
        Column("period_end", pl.Date, False, "inclusive"),
        Column("value", pl.Float64, False),
        Column("source_file", pl.Utf8, True),
    ),
)

SURVEY_RESPONSES = Contract(
    name="survey_responses",
    grain="one row per survey response (one respondent's submission) and scaled question",
    key=("source", "response_id", "question_id"),
    doc="Pulse-survey answers on a scale (Likert, NPS), from the survey connectors. Kind: perception. Free-text "
        "answers never get here: the connector drops and counts them (survey_text_dropped). Registry in "
        "config.Surveys (surveys.yaml).",
    forbidden=TEXT_COLUMNS,
    columns=(
        Column("source", pl.Utf8, False, "connector name, e.g. 'pulse_survey'"),
        Column("survey_id", pl.Utf8, False, "survey of surveys.yaml"),
        Column("wave", pl.Utf8, False, "the survey's wave whose dates hold responded_on"),
        Column("question_id", pl.Utf8, False, "question of surveys.yaml"),
        Column("response_id", pl.Utf8, False,
               "one respondent's submission: the export's response id, else the respondent and the day; "
               "stable across re-exports"),
        Column("respondent_id", pl.Utf8, True, "the respondent's employee id as the export gives it"),
        Column("respondent_email", pl.Utf8, True, "the respondent's e-mail or UPN, lower-cased"),
        Column("responded_on", pl.Date, False, "day of the response, in the export's own clock"),
        Column("scale", pl.Utf8, False, "the question's scale", allowed=tuple(SURVEY_SCALES)),
        Column("answer", pl.Int16, False, "the scale point: 1-5, 1-7 or 0-10"),
        Column("source_file", pl.Utf8, True, "file the row came from (provenance)"),
    ),
)

SURVEY_TEXT_DROPPED = Contract(
    name="survey_text_dropped",
    grain="one row per survey file and question (or unnamed column) whose answers were dropped",
    key=("source", "source_file", "question_id"),
    doc="What a survey connector dropped without storing it, counted: free-text answers, and the answers of "
        "forms-export columns that no question of surveys.yaml names.",
    columns=(
        Column("source", pl.Utf8, False),
        Column("survey_id", pl.Utf8, True, "survey of surveys.yaml (null for an unnamed column)"),
        Column("question_id", pl.Utf8, False, "question of surveys.yaml, or 'column <n>' for an unnamed column"),
        Column("reason", pl.Utf8, False, "free_text or not_in_registry", allowed=("free_text", "not_in_registry")),
        Column("answers_dropped", pl.Int64, False, "non-empty answers dropped"),
        Column("source_file", pl.Utf8, False),
    ),
)

REJECTS = Contract(
    name="rejects",
    grain="one row per quarantined input row",
    doc="Rows that could not be used, with why. Never holds message text.",
    columns=(
        Column("contract", pl.Utf8, True, "contract the row failed"),
        Column("file", pl.Utf8, True),
        Column("locator", pl.Utf8, True, "row number, line, ts or id inside the file"),
        Column("reason", pl.Utf8, False),
        Column("source", pl.Utf8, True),
        Column("excerpt", pl.Utf8, True, "identifiers only, never message text"),
    ),
)

PERSON_WEEK = Contract(
    name="person_week",
    grain="one row per eligible employee per ISO week (zero-activity weeks included)",
    key=("person_key", "week_start"),
    doc="marts.person_week: HR attributes that week, activity per tier, pilot status. Pseudonymous.",
    columns=(
        Column("person_key", pl.Utf8, False, "HMAC pseudonym of employee_id"),
        Column("week_start", pl.Date, False, "Monday of the ISO week, organisation time zone"),
        Column("iso_week", pl.Utf8, False, "YYYY-Www"),
        Column("manager_key", pl.Utf8, True, "pseudonym of the manager that week"),
        Column("department", pl.Utf8, True),
        Column("org_unit", pl.Utf8, True),
        Column("site", pl.Utf8, True),
        Column("country", pl.Utf8, True),
        Column("job_family", pl.Utf8, True),
        Column("worker_type", pl.Utf8, True),
        Column("level", pl.Int16, True),
        Column("tenure_band", pl.Utf8, True, "'<1y', '1-3y', '3-5y', '5-10y', '10y+'"),
        Column("is_manager", pl.Boolean, False, "has at least one direct report that week"),
        Column("direct_reports", pl.Int32, False),
        Column("eligible_from", pl.Date, True, "first day the person was eligible (site launch, hire)"),
        Column("has_account", pl.Boolean, False, "a platform account resolved to this person"),
        Column("actions_passive", pl.Int64, False),
        Column("actions_reaction", pl.Int64, False),
        Column("actions_contribution", pl.Int64, False),
        Column("actions_total", pl.Int64, False, "passive + reaction + contribution"),
        Column("is_active", pl.Boolean, False, "any passive, reaction or contribution action"),
        Column("is_engaged", pl.Boolean, False, "any reaction or contribution"),
        Column("is_contributor", pl.Boolean, False, "any contribution"),
        Column("first_active_week", pl.Date, True, "first week ever active (over all data)"),
        Column("pilot_cohort", pl.Utf8, True, "cohort the person is assigned to (intent to treat)"),
        Column("pilot_wave", pl.Int16, True),
        Column("pilot_start_week", pl.Date, True),
        Column("pilot_status", pl.Utf8, True, "pre / during / after, null if not in a pilot",
               allowed=("pre", "during", "after")),
        Column("pilot_support_level", pl.Utf8, True),
    ),
)

CONTRACTS: dict[str, Contract] = {
    c.name: c
    for c in (EVENTS, ACCOUNTS, ACTIVITY_COUNTS, HR_SNAPSHOTS, HR_DIRECTORY, KPI_VALUES, REJECTS, PERSON_WEEK,
              SURVEY_RESPONSES, SURVEY_TEXT_DROPPED)
}
