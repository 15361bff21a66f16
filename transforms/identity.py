"""Identity resolution: platform accounts to HR employees, by configured rules, never guessed.

``resolve_identities`` writes ``clean.identity_map`` (one row per source and account) and
``quality.identity_match_report`` (one row per source).

Accounts of a source are those of ``raw.<source>_accounts`` plus every account id seen in
``raw.<source>_events`` or ``raw.<source>_activity_counts`` (their ``account_email`` is used when
the accounts table has none; a counter account id that is an address is the account's UPN, as in
Microsoft 365 usage reports). Microsoft's external-guest UPNs (``...#EXT#@tenant``) mark guests. An account is *automated* when the accounts table says so or, for
an account known only from events, when every one of its events is automated.

Matching: identifiers on both sides are normalised (Unicode NFKC, lower case, all whitespace
removed, accents folded, and for e-mail-like fields the plus tag dropped: ``a.b+x@d`` ->
``a.b@d``). Rules (``settings.identity_rules``, in priority order) compare one account field to
one HR field over the whole HR history (every interval, every alias); a rule pairing a handle
(``username``/``employee_number``) with an e-mail-like HR field compares the handle with the
e-mail's local part. The first rule that finds any candidate decides: one distinct employee ->
``matched``; several -> ``ambiguous`` (the candidates are listed, none is chosen). Lower rules
are not consulted once a higher rule found candidates.

Status and reason (``status`` / ``reason``):

- ``automated`` / ``automated``: bot, app or integration account (never matched);
- ``matched`` / null: resolved; leavers' accounts are matched to their employee id;
- ``ambiguous`` / ``ambiguous``: several employees share the identifier;
- ``unmatched`` / ``former_employee``: the only candidate's employment ended before the activity
  data starts (earliest plausible event or counter date of the sources);
- ``unmatched`` / ``contractor``: no HR record, and the account is a guest, or its e-mail/UPN is
  in one of ``settings.email_domains`` (org account without HR record: contractor, service), or
  in a partner domain, i.e. the domain of an account flagged guest in any source (a partner's
  staff on a platform that has no guest flag);
- ``unmatched`` / ``unknown``: anything else.

Match rate = matched human accounts / human accounts (human = not automated), per source.

Survey respondents (``raw.<source>_survey_responses``: an employee id and/or an e-mail) are matched
by the same rules (:func:`resolve_respondents`), into ``clean.survey_identity_map``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from transforms.clean_event_partitions import ACCOUNT_EVENTS
from transforms.clean_events import existing_sources, validate_sources
from transforms.contracts.config import Settings
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE
from transforms.warehouse import MissingInputError, ensure_schemas, relation_exists, require_relation

log = logging.getLogger(__name__)

__all__ = [
    "EMAIL_FIELDS",
    "RESPONDENT_KEY_SQL",
    "normalise_identifiers",
    "resolve_identities",
    "resolve_respondents",
]

#: Fields compared as e-mail addresses (plus tag removed); the others are handles or ids.
EMAIL_FIELDS: frozenset[str] = frozenset({"account_email", "account_upn", "email", "upn", "aliases"})

_NORM_EMAIL = "__uptake_norm_email"
_NORM_ID = "__uptake_norm_id"


def normalise_identifiers(values: pa.Array | pa.ChunkedArray, *, email: bool) -> pa.Array | pa.ChunkedArray:
    """Normalise identifiers for matching, vectorised: NFKC, lower case, whitespace removed,
    accents folded (NFKD minus combining marks), and for e-mails the ``+tag`` of the local part
    dropped. Nulls stay null; empty results become null."""
    x = pc.utf8_normalize(values, form="NFKC")
    x = pc.utf8_lower(x)
    x = pc.replace_substring_regex(x, pattern=r"[\s\p{Z}]+", replacement="")
    x = pc.utf8_normalize(x, form="NFKD")
    x = pc.replace_substring_regex(x, pattern=r"\p{M}+", replacement="")
    x = pc.utf8_normalize(x, form="NFC")
    if email:
        x = pc.replace_substring_regex(x, pattern=r"^([^@+]*)\+[^@]*@", replacement=r"\1@")
    return pc.if_else(pc.equal(x, ""), pa.scalar(None, pa.string()), x)


def _email_normaliser(values: pa.Array) -> pa.Array:
    return normalise_identifiers(values, email=True)


def _id_normaliser(values: pa.Array) -> pa.Array:
    return normalise_identifiers(values, email=False)


@contextlib.contextmanager
def _normalisers(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Register the two normalisation functions on ``con`` for the duration of the block."""
    registered = []
    try:
        for name, email in ((_NORM_EMAIL, True), (_NORM_ID, False)):
            with contextlib.suppress(Exception):
                con.remove_function(name)
            con.create_function(
                name, _email_normaliser if email else _id_normaliser, ["VARCHAR"], "VARCHAR",
                type="arrow", null_handling="special",
            )
            registered.append(name)
        yield
    finally:
        for name in registered:
            with contextlib.suppress(Exception):
                con.remove_function(name)


def _norm(field: str, expr: str) -> str:
    return f"{_NORM_EMAIL if field in EMAIL_FIELDS else _NORM_ID}({expr})"


def _require_account_events(con: duckdb.DuckDBPyConnection, sources: list[str]) -> None:
    if existing_sources(con, sources, "events"):
        require_relation(con, ACCOUNT_EVENTS, "transforms.clean_events.build_clean_events")


def _accounts_sql(con: duckdb.DuckDBPyConnection, sources: list[str]) -> str:
    listed = [
        f"SELECT '{s}' AS source, account_id, account_email, account_upn, employee_number, username, "
        f"is_automated, is_deleted, is_guest FROM raw.{s}_accounts"
        for s in existing_sources(con, sources, "accounts")
    ]
    event_sources = existing_sources(con, sources, "events")
    seen = [
        # every raw event of the account, summed up by the clean layer per week (clean.account_events)
        f"SELECT source, account_id, min(account_email) AS account_email, "
        f"bool_and(all_automated) AS all_automated, NULL::VARCHAR AS counter_upn FROM {ACCOUNT_EVENTS} "
        f"WHERE source IN ({', '.join(repr(x) for x in event_sources)}) GROUP BY ALL"
    ] * bool(event_sources) + [
        f"SELECT '{s}' AS source, account_id, min(account_email) AS account_email, "
        f"false AS all_automated, CASE WHEN account_id LIKE '%@%' THEN account_id END AS counter_upn "
        f"FROM raw.{s}_activity_counts GROUP BY ALL"
        for s in existing_sources(con, sources, "activity_counts")
    ]
    none = "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS account_id WHERE false"
    listed_sql = " UNION ALL ".join(listed) if listed else (
        "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS account_id, NULL::VARCHAR AS account_email, "
        "NULL::VARCHAR AS account_upn, NULL::VARCHAR AS employee_number, NULL::VARCHAR AS username, "
        "NULL::BOOLEAN AS is_automated, NULL::BOOLEAN AS is_deleted, NULL::BOOLEAN AS is_guest WHERE false"
    )
    seen_sql = " UNION ALL ".join(seen) if seen else (
        none.replace(" WHERE false", ", NULL::VARCHAR AS account_email, NULL::BOOLEAN AS all_automated, "
                     "NULL::VARCHAR AS counter_upn WHERE false")
    )
    return f"""
        WITH listed AS (
            SELECT source, account_id,
                min(account_email) AS account_email, min(account_upn) AS account_upn,
                min(employee_number) AS employee_number, min(username) AS username,
                bool_or(is_automated) AS is_automated, bool_and(is_deleted) AS is_deleted,
                bool_or(coalesce(is_guest, false)) AS is_guest
            FROM ({listed_sql}) GROUP BY ALL
        ),
        seen AS (
            SELECT source, account_id, min(account_email) AS account_email,
                bool_and(all_automated) AS all_automated, min(counter_upn) AS counter_upn
            FROM ({seen_sql}) GROUP BY ALL
        )
        SELECT source, account_id,
            coalesce(l.account_email, s.account_email) AS account_email,
            coalesce(l.account_upn, s.counter_upn) AS account_upn, l.employee_number, l.username,
            coalesce(l.is_automated, s.all_automated, false) AS is_automated,
            coalesce(l.is_deleted, false) AS is_deleted,
            coalesce(l.is_guest, false)
                OR contains(lower(concat_ws(' ', account_id, l.account_email, s.account_email, l.account_upn)),
                            '#ext#') AS is_guest,
            l.account_id IS NOT NULL AS in_account_list
        FROM listed l FULL OUTER JOIN seen s USING (source, account_id)
        WHERE trim(account_id) <> ''
    """


def _data_start(con: duckdb.DuckDBPyConnection, sources: list[str]) -> dt.date | None:
    event_sources = existing_sources(con, sources, "events")
    parts = [
        f"SELECT min(CAST(first_at AT TIME ZONE 'UTC' AS DATE)) AS d FROM {ACCOUNT_EVENTS} "
        f"WHERE week_start IS NOT NULL AND source IN ({', '.join(repr(x) for x in event_sources)})"
    ] * bool(event_sources) + [
        f"SELECT min(period_start) AS d FROM raw.{s}_activity_counts WHERE period_start >= DATE '{EARLIEST_PLAUSIBLE}'"
        for s in existing_sources(con, sources, "activity_counts")
    ]
    if not parts:
        return None
    return con.execute(f"SELECT min(d) FROM ({' UNION ALL '.join(parts)})").fetchone()[0]


def resolve_identities(con: duckdb.DuckDBPyConnection, sources: Sequence[str], settings: Settings) -> None:
    """Build ``clean.identity_map`` and ``quality.identity_match_report`` for platform ``sources``.

    ``clean.identity_map``: ``source, account_id, employee_id, matched_rule, status, reason,
    candidates, is_guest, is_deleted, in_account_list`` (grain: one row per source and account).
    ``employee_id`` is set only for ``matched``; ``candidates`` lists every employee of the deciding
    rule (several for ``ambiguous``). ``matched_rule`` reads ``account_field=hr_field``.

    ``quality.identity_match_report`` (grain: one row per source): ``accounts, automated,
    human_accounts, matched, ambiguous, unmatched, unmatched_contractor,
    unmatched_former_employee, unmatched_unknown, match_rate, meets_threshold`` where
    ``match_rate`` = matched / human accounts (null when a source has no human account) and
    ``meets_threshold`` compares it with ``settings.identity_match_threshold``.

    Reads ``clean.hr_directory`` and the raw platform tables; rules and reasons are in the module
    docstring. Runs in one transaction.
    """
    sources = validate_sources(sources)
    _require_account_events(con, sources)
    ensure_schemas(con)
    if not relation_exists(con, "clean.hr_directory"):
        raise MissingInputError(
            "clean.hr_directory does not exist; build it first with transforms.hr_history.build_hr_directory"
        )
    data_start = _data_start(con, sources)
    if data_start is None:
        data_start = con.execute("SELECT min(valid_from) FROM clean.hr_directory").fetchone()[0]
    con.execute("BEGIN TRANSACTION")
    try:
        _match_accounts(con, _accounts_sql(con, sources), settings, data_start, "clean.identity_map")
        con.execute(f"CREATE OR REPLACE TABLE quality.identity_match_report AS {_match_report_sql('clean.identity_map')}",
                    {"threshold": settings.identity_match_threshold})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for source, rate, ambiguous in con.execute(
        "SELECT source, match_rate, ambiguous FROM quality.identity_match_report"
    ).fetchall():
        log.info("identity %s: match rate %s, %d ambiguous", source, rate, ambiguous)


#: SQL: the key of one respondent of a survey row (its employee id and e-mail as the export gives them).
RESPONDENT_KEY_SQL = "coalesce(respondent_id, '') || '|' || coalesce(respondent_email, '')"


def resolve_respondents(con: duckdb.DuckDBPyConnection, sources: Sequence[str], settings: Settings) -> None:
    """Build ``clean.survey_identity_map`` and ``quality.survey_match_report`` for survey ``sources``.

    A respondent (one distinct ``respondent_id`` and ``respondent_email`` pair of
    ``raw.<source>_survey_responses``) is matched exactly as a platform account is
    (:func:`resolve_identities`, the same ``settings.identity_rules``), its employee id standing for
    the account's ``employee_number`` and its e-mail for both ``account_email`` and ``account_upn``
    (a forms export's address is often the UPN); an employment that ended before the first response
    makes ``former_employee``.

    ``clean.survey_identity_map`` (grain: one row per source and respondent): ``source,
    respondent_key`` (:data:`RESPONDENT_KEY_SQL`), ``employee_id, matched_rule, status, reason,
    candidates``. ``quality.survey_match_report``: as ``quality.identity_match_report``, over
    respondents. Reads ``clean.hr_directory``. Runs in one transaction.
    """
    sources = existing_sources(con, validate_sources(sources), "survey_responses")
    ensure_schemas(con)
    require_relation(con, "clean.hr_directory", "transforms.hr_history.build_hr_directory")
    rows = " UNION ALL ".join(
        f"SELECT '{s}' AS source, respondent_id, respondent_email, responded_on FROM raw.{s}_survey_responses"
        for s in sources
    ) or ("SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS respondent_id, NULL::VARCHAR AS respondent_email, "
          "NULL::DATE AS responded_on WHERE false")
    respondents = f"""
        SELECT source, {RESPONDENT_KEY_SQL} AS account_id, min(respondent_email) AS account_email,
            min(respondent_email) AS account_upn, min(respondent_id) AS employee_number, NULL::VARCHAR AS username,
            false AS is_automated, false AS is_deleted, false AS is_guest, true AS in_account_list
        FROM ({rows}) GROUP BY ALL
    """
    data_start = con.execute(f"SELECT min(responded_on) FROM ({rows})").fetchone()[0]
    con.execute("BEGIN TRANSACTION")
    try:
        _match_accounts(con, respondents, settings, data_start, "clean.survey_identity_map")
        con.execute(
            "CREATE OR REPLACE TABLE clean.survey_identity_map AS SELECT source, account_id AS respondent_key, "
            "employee_id, matched_rule, status, reason, candidates FROM clean.survey_identity_map "
            "ORDER BY source, respondent_key"
        )
        con.execute(f"CREATE OR REPLACE TABLE quality.survey_match_report AS "
                    f"{_match_report_sql('clean.survey_identity_map')}",
                    {"threshold": settings.identity_match_threshold})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for source, rate, n in con.execute("SELECT source, match_rate, accounts FROM quality.survey_match_report").fetchall():
        log.info("survey respondents %s: %d, match rate %s", source, n, rate)


def _match_accounts(con: duckdb.DuckDBPyConnection, accounts_sql: str, settings: Settings,
                    data_start: dt.date | None, target: str) -> None:
    """Create ``target`` (the columns of ``clean.identity_map``) from the accounts ``accounts_sql``
    selects (``source, account_id, account_email, account_upn, employee_number, username,
    is_automated, is_deleted, is_guest, in_account_list``), by the rules of the module docstring.
    Runs inside the caller's transaction."""
    domains = sorted({d.strip().lower() for d in settings.email_domains if d.strip()})
    rules = settings.identity_rules
    candidate_sql = " UNION ALL ".join(
        f"""SELECT a.source, a.account_id, {i} AS priority, '{r.account_field}={r.hr_field}' AS rule, h.employee_id
            FROM __account_ids a JOIN __hr_ids h
              ON a.field = '{r.account_field}' AND h.field = '{r.hr_field}'
             AND {_compare(r.account_field, r.hr_field)}"""
        for i, r in enumerate(rules)
    ) or "SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::INT, NULL::VARCHAR, NULL::VARCHAR WHERE false"
    try:
        with _normalisers(con):
            con.execute(f"CREATE OR REPLACE TEMP TABLE __accounts AS {accounts_sql}")
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE __account_ids AS
                SELECT * FROM (
                    SELECT source, account_id, 'employee_number' AS field,
                        {_norm('employee_number', 'employee_number')} AS value FROM __accounts
                    UNION ALL SELECT source, account_id, 'account_email', {_norm('account_email', 'account_email')}
                        FROM __accounts
                    UNION ALL SELECT source, account_id, 'account_upn', {_norm('account_upn', 'account_upn')}
                        FROM __accounts
                    UNION ALL SELECT source, account_id, 'username', {_norm('username', 'username')}
                        FROM __accounts
                ) WHERE value IS NOT NULL
                """
            )
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE __hr_ids AS
                SELECT DISTINCT employee_id, field, value FROM (
                    SELECT employee_id, 'employee_id' AS field, {_norm('employee_id', 'employee_id')} AS value
                        FROM clean.hr_directory
                    UNION ALL SELECT employee_id, 'email', {_norm('email', 'email')} FROM clean.hr_directory
                    UNION ALL SELECT employee_id, 'upn', {_norm('upn', 'upn')} FROM clean.hr_directory
                    UNION ALL SELECT employee_id, 'aliases', {_norm('aliases', 'alias')}
                        FROM (SELECT employee_id, unnest(aliases) AS alias FROM clean.hr_directory)
                ) WHERE value IS NOT NULL
                """
            )
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {target} AS
            WITH candidates AS ({candidate_sql}),
            per_rule AS (
                SELECT source, account_id, priority, rule, list_sort(list(DISTINCT employee_id)) AS candidates
                FROM candidates GROUP BY ALL
            ),
            deciding AS (
                SELECT *, CASE WHEN len(candidates) = 1 THEN candidates[1] END AS sole_candidate FROM per_rule
                QUALIFY row_number() OVER (PARTITION BY source, account_id ORDER BY priority) = 1
            ),
            employment_end AS (
                SELECT employee_id, max(coalesce(valid_to, DATE '9999-12-31')) AS ended
                FROM clean.hr_directory GROUP BY ALL
            ),
            account_domains AS (
                SELECT DISTINCT source, account_id, split_part(value, '@', 2) AS domain
                FROM __account_ids WHERE field IN ('account_email', 'account_upn') AND value LIKE '%@%'
            ),
            partner_domains AS (
                SELECT DISTINCT d.domain FROM account_domains d
                JOIN __accounts a USING (source, account_id)
                WHERE a.is_guest AND NOT contains(d.domain, 'onmicrosoft.')
            ),
            org_domain AS (
                SELECT source, account_id, bool_or(
                    list_contains($domains, domain)
                    OR len(list_filter($domains, x -> ends_with(domain, '.' || x))) > 0
                    OR domain IN (SELECT domain FROM partner_domains)
                ) AS is_org
                FROM account_domains GROUP BY ALL
            ),
            decided AS (
                SELECT a.source, a.account_id, a.is_guest, a.is_deleted, a.in_account_list,
                    d.rule, d.candidates, coalesce(o.is_org, false) AS is_org,
                    CASE
                        WHEN a.is_automated THEN 'automated'
                        WHEN len(d.candidates) > 1 THEN 'ambiguous'
                        WHEN len(d.candidates) = 1 AND e.ended <= $data_start THEN 'former_employee'
                        WHEN len(d.candidates) = 1 THEN 'matched'
                        WHEN a.is_guest OR coalesce(o.is_org, false) THEN 'contractor'
                        ELSE 'unknown'
                    END AS outcome
                FROM __accounts a
                LEFT JOIN deciding d USING (source, account_id)
                -- an equality alone: with the length test in the condition DuckDB joined by nested loops
                LEFT JOIN employment_end e ON e.employee_id = d.sole_candidate
                LEFT JOIN org_domain o USING (source, account_id)
            )
            SELECT source, account_id,
                CASE WHEN outcome = 'matched' THEN candidates[1] END AS employee_id,
                CASE WHEN outcome <> 'automated' THEN rule END AS matched_rule,
                CASE WHEN outcome IN ('former_employee', 'contractor', 'unknown') THEN 'unmatched'
                     ELSE outcome END AS status,
                CASE WHEN outcome <> 'matched' THEN outcome END AS reason,
                CASE WHEN outcome <> 'automated' THEN candidates END AS candidates,
                is_guest, is_deleted, in_account_list
            FROM decided
            ORDER BY source, account_id
            """,
            {"domains": domains, "data_start": data_start},
        )
    finally:
        for t in ("__accounts", "__account_ids", "__hr_ids"):
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")


def _match_report_sql(identity_map: str) -> str:
    """SQL of the match report of an identity map (one row per source; ``$threshold`` bound by the caller)."""
    return f"""
        SELECT source,
            count(*) AS accounts,
            count(*) FILTER (status = 'automated') AS automated,
            count(*) FILTER (status <> 'automated') AS human_accounts,
            count(*) FILTER (status = 'matched') AS matched,
            count(*) FILTER (status = 'ambiguous') AS ambiguous,
            count(*) FILTER (status = 'unmatched') AS unmatched,
            count(*) FILTER (reason = 'contractor') AS unmatched_contractor,
            count(*) FILTER (reason = 'former_employee') AS unmatched_former_employee,
            count(*) FILTER (reason = 'unknown') AS unmatched_unknown,
            count(*) FILTER (status = 'matched') / nullif(count(*) FILTER (status <> 'automated'), 0)
                AS match_rate,
            count(*) FILTER (status = 'matched') / nullif(count(*) FILTER (status <> 'automated'), 0)
                >= $threshold AS meets_threshold
        FROM {identity_map} GROUP BY ALL ORDER BY source
    """


def _compare(account_field: str, hr_field: str) -> str:
    """Join condition of one rule: equality, or handle vs the local part of an e-mail."""
    a_email, h_email = account_field in EMAIL_FIELDS, hr_field in EMAIL_FIELDS
    if a_email == h_email:
        return "a.value = h.value"
    if h_email:
        return "a.value = split_part(h.value, '@', 1)"
    return "split_part(a.value, '@', 1) = h.value"
