"""Pulse-survey answers joined to HR: ``clean.survey_responses``.

Grain: one row per survey response and scaled question, from every survey connector's
``raw.<source>_survey_responses``, with the employee the respondent was matched to
(``clean.survey_identity_map``, :func:`transforms.identity.resolve_respondents`) and the ISO week
of the response. Respondents' e-mails and the export's own ids stay in ``raw``: this table holds
the employee id (for the pseudonymous join of the marts) and the match status, nothing else about
the person. Unmatched respondents' answers are kept with a null ``employee_id`` (counted in the
match report, left out of every mart).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import duckdb

from transforms.clean_events import existing_sources, validate_sources
from transforms.identity import RESPONDENT_KEY_SQL
from transforms.warehouse import ensure_schemas, require_relation

log = logging.getLogger(__name__)

__all__ = ["SURVEY_RESPONSES_TABLE", "build_survey_responses"]

SURVEY_RESPONSES_TABLE = "clean.survey_responses"

_COLUMNS = ("survey_id", "wave", "question_id", "response_id", "responded_on", "scale", "answer")


def build_survey_responses(con: duckdb.DuckDBPyConnection, sources: Sequence[str]) -> int:
    """Replace :data:`SURVEY_RESPONSES_TABLE`; return its rows.

    Columns: ``source, survey_id, wave, question_id, response_id, responded_on, week_start``
    (Monday of ``responded_on``), ``scale, answer, employee_id`` (null when unmatched),
    ``match_status, match_reason``. Needs ``clean.survey_identity_map``.
    """
    sources = existing_sources(con, validate_sources(sources), "survey_responses")
    ensure_schemas(con)
    require_relation(con, "clean.survey_identity_map", "transforms.identity.resolve_respondents")
    cols = ", ".join(_COLUMNS)
    rows = " UNION ALL ".join(
        f"SELECT '{s}' AS source, {cols}, {RESPONDENT_KEY_SQL} AS respondent_key FROM raw.{s}_survey_responses"
        for s in sources
    ) or (
        "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS survey_id, NULL::VARCHAR AS wave, "
        "NULL::VARCHAR AS question_id, NULL::VARCHAR AS response_id, NULL::DATE AS responded_on, "
        "NULL::VARCHAR AS scale, NULL::SMALLINT AS answer, NULL::VARCHAR AS respondent_key WHERE false"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {SURVEY_RESPONSES_TABLE} AS
        SELECT r.source, r.survey_id, r.wave, r.question_id, r.response_id, r.responded_on,
            date_trunc('week', r.responded_on)::DATE AS week_start, r.scale, r.answer,
            m.employee_id, coalesce(m.status, 'unmatched') AS match_status, m.reason AS match_reason
        FROM ({rows}) r
        LEFT JOIN clean.survey_identity_map m ON m.source = r.source AND m.respondent_key = r.respondent_key
        ORDER BY r.source, r.survey_id, r.wave, r.question_id, r.response_id
        """
    )
    n, matched = con.execute(
        f"SELECT count(*), count(employee_id) FROM {SURVEY_RESPONSES_TABLE}").fetchone()
    log.info("survey responses: %d answer(s), %d of a matched respondent", n, matched)
    return int(n)
