"""``marts.person_week``: one row per eligible employee per ISO week, on HR denominators.

Grain: one row per employee eligible that week (see :mod:`transforms.eligibility`) and ISO week
of :func:`transforms.weeks.data_weeks` (first week with HR data to the last week with events,
counters or HR data). Zero-activity people and people without any platform account are present;
the eligible headcount of a week is exactly its row count. Columns: exactly the ``PERSON_WEEK``
contract. Pseudonymous: ``person_key`` / ``manager_key`` are HMACs (:mod:`transforms.pseudonym`);
no employee id, name, e-mail or text reaches ``marts``.

- Actions: kept events of accounts ``matched`` in ``clean.identity_map``, in the week of their
  local date, plus ``clean.activity_counts`` allocated to weeks, summed over every account and
  source of the person, per tier (``join`` counts toward no tier). Sources that report the same
  platform twice (an event export and M365 counters of the same network) are added, not merged:
  per-source counts are in ``marts.person_week_source``.
- ``is_active`` / ``is_engaged`` / ``is_contributor``: any passive+reaction+contribution /
  reaction+contribution / contribution action that week.
- ``first_active_week``: first week with any active-tier action, over all data (eligible or not).
- ``has_account``: at least one platform account resolved to the person (any time, any source).
- ``tenure_band`` from ``hire_date`` to the week's Monday: ``<1y``, ``1-3y``, ``3-5y``,
  ``5-10y``, ``10y+`` (null without hire date).
- ``is_manager`` / ``direct_reports``: employees employed that week whose record names the person.
- Pilots (``Pilots`` model, intent-to-treat): a person belongs to a cohort when listed in its
  ``employee_ids`` or matched by one of its selectors on their HR record valid on the wave's start
  date; a person assigned to several cohorts keeps the earliest (start, wave, name).
  ``pilot_status``: ``pre`` before the week of the start, ``during`` up to the week of the end
  (open-ended if no end), ``after`` later.

``marts.person_week_source`` (grain: person, week, source, activity tier with actions > 0):
``person_key, week_start, source, tier, actions``, for the rows of ``marts.person_week``; its sum
over sources and tiers equals ``actions_total``.

Incremental builds: ``build_person_week(..., weeks=[...])`` deletes and re-inserts only those
weeks and refreshes the person-level columns (``eligible_from``, ``has_account``,
``first_active_week``, pilot columns) on every other row, so it gives the same table as a full
build. :func:`weeks_to_rebuild` compares per-week fingerprints of the inputs with those stored in
``clean.person_week_fingerprints`` at the last build; the person-level columns are refreshed only on
the rows of the people whose columns differ from those stored in ``clean.person_week_people``.
:func:`refresh_person_week` does both in one pass (the pipeline's weekly path).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence

import duckdb
import pyarrow as pa

from transforms.contracts import PERSON_WEEK
from transforms.contracts.actions import ACTIVE_TIERS, action_tier_sql_case
from transforms.contracts.config import Pilots, Settings
from transforms.contracts.vocabulary import tenure_band_sql
from transforms.eligibility import stage_eligible_from, stage_employee_weeks
from transforms.pseudonym import build_key_map, person_key
from transforms.warehouse import MissingInputError, ensure_schemas, register_frame, relation_exists, transaction
from transforms.weeks import as_week_starts, data_weeks, date_week_start_sql

log = logging.getLogger(__name__)

__all__ = [
    "FINGERPRINT_TABLE",
    "PEOPLE_TABLE",
    "PersonWeekRecompute",
    "PERSON_WEEK_SOURCE_TABLE",
    "PERSON_WEEK_TABLE",
    "build_person_week",
    "refresh_person_week",
    "weeks_to_rebuild",
]

PERSON_WEEK_TABLE = "marts.person_week"
PERSON_WEEK_SOURCE_TABLE = "marts.person_week_source"
FINGERPRINT_TABLE = "clean.person_week_fingerprints"
#: The person-level columns as last written: an incremental build updates the rows of the people
#: whose columns changed, not every row.
PEOPLE_TABLE = "clean.person_week_people"

_INPUTS = {
    "clean.event_counts": "transforms.clean_events.build_clean_events",
    "clean.activity_counts": "transforms.clean_events.build_clean_events",
    "clean.hr_directory": "transforms.hr_history.build_hr_directory",
    "clean.hr_extracts": "transforms.hr_history.build_hr_directory",
    "clean.identity_map": "transforms.identity.resolve_identities",
}
_PERSON_LEVEL = (
    "eligible_from", "has_account", "first_active_week", "pilot_cohort", "pilot_wave", "pilot_start_week",
    "pilot_support_level",
)
_PEOPLE_COLUMNS = ", ".join(("person_key", *_PERSON_LEVEL, "pilot_end_week"))
_TEMP_TABLES = (
    "__pw_weeks", "__pw_employee_week", "__pw_activity", "__pw_eligible_from", "__pw_cohorts",
    "__pw_pilot_ids", "__pw_pilot_selectors", "__pw_person", "__person_keys", "__pw_fingerprints",
)


def _require_inputs(con: duckdb.DuckDBPyConnection) -> None:
    for name, builder in _INPUTS.items():
        if not relation_exists(con, name):
            raise MissingInputError(f"{name} does not exist; build it first with {builder}")


def _register(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    with register_frame(con, "__pw_arrow", table) as view:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")


def _stage_pilots(con: duckdb.DuckDBPyConnection, pilots: Pilots) -> None:
    cohorts = pilots.cohorts
    _register(con, "__pw_cohorts", pa.table({
        "cohort": pa.array([c.name for c in cohorts], pa.string()),
        "wave": pa.array([c.wave for c in cohorts], pa.int16()),
        "start_date": pa.array([c.start for c in cohorts], pa.date32()),
        "end_date": pa.array([c.end for c in cohorts], pa.date32()),
        "support_level": pa.array([c.support_level for c in cohorts], pa.string()),
    }))
    ids = [(c.name, e.strip()) for c in cohorts for e in c.employee_ids]
    _register(con, "__pw_pilot_ids", pa.table({
        "cohort": pa.array([i[0] for i in ids], pa.string()),
        "employee_id": pa.array([i[1] for i in ids], pa.string()),
    }))
    sel = [(c.name, s) for c in cohorts for s in c.selectors]
    _register(con, "__pw_pilot_selectors", pa.table({
        "cohort": pa.array([x[0] for x in sel], pa.string()),
        "department": pa.array([x[1].department for x in sel], pa.string()),
        "org_unit": pa.array([x[1].org_unit for x in sel], pa.string()),
        "site": pa.array([x[1].site for x in sel], pa.string()),
    }))


def _stage_weekly(con: duckdb.DuckDBPyConnection, settings: Settings, weeks: list[dt.date],
                  employee_weeks: str | None) -> None:
    """Temp tables of the weeks: ``__pw_weeks``, their employee-weeks and every week's actions
    (all weeks: the first active week is a property of the whole history). ``employee_weeks``: a
    table holding the current employee-weeks of every week (``clean.employee_week`` just built),
    read instead of computing them again."""
    con.execute("CREATE OR REPLACE TEMP TABLE __pw_weeks AS SELECT unnest($w::DATE[]) AS week_start", {"w": weeks})
    if employee_weeks is None:
        stage_employee_weeks(con, settings, weeks, "__pw_employee_week")
    else:
        # a view: narrowing __pw_weeks narrows it, and every employee-week is not copied once more
        con.execute(f"CREATE OR REPLACE TEMP VIEW __pw_employee_week AS SELECT * FROM {employee_weeks} "
                    "WHERE week_start IN (SELECT week_start FROM __pw_weeks)")
    tier = action_tier_sql_case("action")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __pw_activity AS
        SELECT employee_id, week_start, source, tier, sum(actions) AS actions FROM (
            SELECT m.employee_id, e.week_start, e.source, {tier} AS tier, sum(e.events) AS actions
            FROM clean.event_counts e
            JOIN clean.identity_map m ON m.source = e.source AND m.account_id = e.account_id
            WHERE m.status = 'matched'
            GROUP BY ALL
            UNION ALL
            SELECT m.employee_id, c.week_start, c.source, {tier} AS tier, sum(c."count") AS actions
            FROM clean.activity_counts c
            JOIN clean.identity_map m ON m.source = c.source AND m.account_id = c.account_id
            WHERE m.status = 'matched'
            GROUP BY ALL
        ) GROUP BY ALL
        """
    )


def _narrow_to(con: duckdb.DuckDBPyConnection, weeks: list[dt.date]) -> None:
    """Keep only ``weeks`` in the staged weeks, employee-weeks and fingerprints (actions stay whole)."""
    con.execute("CREATE OR REPLACE TEMP TABLE __pw_weeks AS SELECT unnest($w::DATE[]) AS week_start", {"w": weeks})
    staged = ["__pw_fingerprints"]
    if not _employee_weeks_viewed(con):  # a view follows __pw_weeks
        staged.append("__pw_employee_week")
    for t in staged:
        con.execute(f"DELETE FROM {t} WHERE week_start NOT IN (SELECT week_start FROM __pw_weeks)")


def _stage_people(con: duckdb.DuckDBPyConnection, settings: Settings, pilots: Pilots, key: bytes) -> None:
    """Temp ``__pw_person``: the person-level columns of every employee, with their key."""
    stage_eligible_from(con, settings, "__pw_eligible_from")
    _stage_pilots(con, pilots)
    build_key_map(
        con, key,
        "SELECT employee_id FROM clean.hr_directory UNION SELECT manager_id FROM clean.hr_directory",
        "__person_keys",
    )
    active = ", ".join(f"'{t}'" for t in ACTIVE_TIERS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __pw_person AS
        WITH people AS (SELECT DISTINCT employee_id FROM clean.hr_directory),
        hr_at_start AS (
            SELECT c.cohort, h.employee_id, h.department, h.org_unit, h.site
            FROM __pw_cohorts c JOIN clean.hr_directory h
              ON h.valid_from <= c.start_date AND (h.valid_to IS NULL OR h.valid_to > c.start_date)
        ),
        assigned AS (
            SELECT cohort, employee_id FROM __pw_pilot_ids
            UNION
            SELECT s.cohort, h.employee_id
            FROM __pw_pilot_selectors s JOIN hr_at_start h ON h.cohort = s.cohort
             AND (s.department IS NULL OR s.department = h.department)
             AND (s.org_unit IS NULL OR s.org_unit = h.org_unit)
             AND (s.site IS NULL OR s.site = h.site)
        ),
        assignment AS (
            SELECT a.employee_id, c.cohort, c.wave, c.start_date, c.end_date, c.support_level
            FROM assigned a JOIN __pw_cohorts c USING (cohort)
            QUALIFY row_number() OVER (PARTITION BY a.employee_id ORDER BY c.start_date, c.wave, c.cohort) = 1
        ),
        first_active AS (
            SELECT employee_id, min(week_start) AS first_active_week FROM __pw_activity
            WHERE tier IN ({active}) AND actions > 0 GROUP BY ALL
        ),
        with_account AS (
            SELECT DISTINCT employee_id FROM clean.identity_map WHERE status = 'matched'
        )
        SELECT p.employee_id, k.person_key, f.eligible_from,
            w.employee_id IS NOT NULL AS has_account,
            fa.first_active_week,
            a.cohort AS pilot_cohort, CAST(a.wave AS SMALLINT) AS pilot_wave,
            {date_week_start_sql('a.start_date')} AS pilot_start_week,
            {date_week_start_sql('a.end_date')} AS pilot_end_week,
            a.support_level AS pilot_support_level
        FROM people p
        JOIN __person_keys k USING (employee_id)
        LEFT JOIN __pw_eligible_from f USING (employee_id)
        LEFT JOIN with_account w USING (employee_id)
        LEFT JOIN first_active fa USING (employee_id)
        LEFT JOIN assignment a USING (employee_id)
        """
    )
    unknown = con.execute(
        "SELECT count(*) FROM __pw_pilot_ids WHERE employee_id NOT IN (SELECT employee_id FROM __pw_person)"
    ).fetchone()[0]
    if unknown:
        log.warning("%d pilot employee_ids are not in the HR directory", unknown)


def _stage(
    con: duckdb.DuckDBPyConnection, settings: Settings, pilots: Pilots, key: bytes, weeks: list[dt.date],
    *, person_level: bool = True, employee_weeks: str | None = None,
) -> None:
    """Temp tables every build step reads: weeks, employee-weeks, weekly actions and, unless
    ``person_level`` is false (what the weekly fingerprints need), person-level columns with keys."""
    _stage_weekly(con, settings, weeks, employee_weeks)
    if person_level:
        _stage_people(con, settings, pilots, key)


def _pilot_status_sql(week: str) -> str:
    return (
        f"CASE WHEN p.pilot_cohort IS NULL THEN NULL WHEN {week} < p.pilot_start_week THEN 'pre' "
        f"WHEN p.pilot_end_week IS NULL OR {week} <= p.pilot_end_week THEN 'during' ELSE 'after' END"
    )


_ROWS_SQL = f"""
    WITH eligible AS (SELECT * FROM __pw_employee_week WHERE is_eligible),
    tiers AS (
        SELECT employee_id, week_start,
            sum(actions) FILTER (tier = 'passive') AS passive,
            sum(actions) FILTER (tier = 'reaction') AS reaction,
            sum(actions) FILTER (tier = 'contribution') AS contribution
        FROM __pw_activity WHERE week_start IN (SELECT week_start FROM __pw_weeks) GROUP BY ALL
    ),
    counted AS (
        SELECT e.*, coalesce(t.passive, 0) AS passive, coalesce(t.reaction, 0) AS reaction,
            coalesce(t.contribution, 0) AS contribution
        FROM eligible e LEFT JOIN tiers t USING (employee_id, week_start)
    )
    SELECT p.person_key, c.week_start, c.iso_week, mk.person_key AS manager_key,
        c.department, c.org_unit, c.site, c.country, c.job_family, c.worker_type, c.level,
        {tenure_band_sql('c.hire_date', 'c.week_start')} AS tenure_band,
        c.direct_reports > 0 AS is_manager, c.direct_reports,
        p.eligible_from, p.has_account,
        c.passive AS actions_passive, c.reaction AS actions_reaction, c.contribution AS actions_contribution,
        c.passive + c.reaction + c.contribution AS actions_total,
        c.passive + c.reaction + c.contribution > 0 AS is_active,
        c.reaction + c.contribution > 0 AS is_engaged,
        c.contribution > 0 AS is_contributor,
        p.first_active_week, p.pilot_cohort, p.pilot_wave, p.pilot_start_week,
        {_pilot_status_sql('c.week_start')} AS pilot_status,
        p.pilot_support_level
    FROM counted c
    JOIN __pw_person p USING (employee_id)
    LEFT JOIN __person_keys mk ON mk.employee_id = c.manager_id
    ORDER BY c.week_start, p.person_key
"""

_SOURCE_ROWS_SQL = f"""
    SELECT p.person_key, a.week_start, a.source, a.tier, CAST(a.actions AS BIGINT) AS actions
    FROM __pw_activity a
    JOIN __pw_employee_week e USING (employee_id, week_start)
    JOIN __pw_person p USING (employee_id)
    WHERE e.is_eligible AND a.actions > 0 AND a.tier IN ({", ".join(f"'{t}'" for t in ACTIVE_TIERS)})
      AND a.week_start IN (SELECT week_start FROM __pw_weeks)
    ORDER BY a.week_start, p.person_key, a.source, a.tier
"""

_SOURCE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PERSON_WEEK_SOURCE_TABLE} "
    "(person_key VARCHAR, week_start DATE, source VARCHAR, tier VARCHAR, actions BIGINT)"
)
_FINGERPRINT_DDL = f"CREATE TABLE IF NOT EXISTS {FINGERPRINT_TABLE} (week_start DATE, fingerprint UBIGINT)"


def _global_fingerprint(pilots: Pilots, key: bytes) -> str:
    """What changes every week's rows at once: the pilots and the secret (never the secret itself)."""
    return pilots.model_dump_json() + "|" + person_key("__uptake_fingerprint__", key)


def _stage_fingerprints(con: duckdb.DuckDBPyConnection, pilots: Pilots, key: bytes) -> None:
    """TEMP ``__pw_fingerprints(week_start, fingerprint)`` for the staged weeks: a hash of the
    week's eligible employee records and of every employee's weekly actions per source and tier
    (the eligible ones' would do; hashing all of them spares a join of every action)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __pw_fingerprints AS
        WITH eligible AS (SELECT * FROM __pw_employee_week WHERE is_eligible),
        records AS (
            SELECT week_start, count(*) AS n,
                sum(hash(employee_id, manager_id, department, org_unit, site, country, job_family,
                         worker_type, level, hire_date, direct_reports)::HUGEINT) AS h
            FROM eligible GROUP BY ALL
        ),
        actions AS (
            SELECT a.week_start, count(*) AS n, sum(hash(a.employee_id, a.source, a.tier, a.actions)::HUGEINT) AS h
            FROM __pw_activity a GROUP BY ALL
        )
        SELECT w.week_start,
            hash(coalesce(r.n, 0), coalesce(r.h, 0), coalesce(a.n, 0), coalesce(a.h, 0), $global) AS fingerprint
        FROM __pw_weeks w LEFT JOIN records r USING (week_start) LEFT JOIN actions a USING (week_start)
        """,
        {"global": _global_fingerprint(pilots, key)},
    )


def _employee_weeks_viewed(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the staged employee-weeks are a view over a stored table (else a temp table)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_views() "
                            "WHERE temporary AND view_name = '__pw_employee_week'").fetchone()[0])


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    if _employee_weeks_viewed(con):
        con.execute("DROP VIEW temp.__pw_employee_week")
    for t in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.{t}")


#: Runs the person-week queries on another engine: called with the connection and the
#: (table, query) pairs, reading the staged temporary tables; inserts each query's rows into its table.
PersonWeekRecompute = Callable[[duckdb.DuckDBPyConnection, Sequence[tuple[str, str]]], None]


def build_person_week(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    pilots: Pilots,
    key: bytes,
    weeks: Iterable[dt.date | str] | None = None,
    recompute: PersonWeekRecompute | None = None,
    employee_weeks: str | None = None,
) -> None:
    """Build ``marts.person_week`` and ``marts.person_week_source`` (see the module docstring).

    ``weeks=None``: full rebuild over :func:`transforms.weeks.data_weeks`. A list of Mondays or
    ``YYYY-Www`` labels: those weeks are deleted and recomputed (weeks outside the data range are
    only deleted), person-level columns are refreshed everywhere, fingerprints of the rebuilt
    weeks are stored. An empty list only refreshes person-level columns. Reads ``clean.events``,
    ``clean.activity_counts``, ``clean.hr_directory``, ``clean.hr_extracts``,
    ``clean.identity_map``; ``key`` is the pseudonym secret. Runs in one transaction.
    ``recompute``: the rows computed by another engine (e.g. Spark), from the same queries, as a
    full build. ``employee_weeks``: the table of the current employee-weeks of every week
    (``clean.employee_week``, built by :func:`transforms.eligibility.build_employee_weeks` with the
    same settings), read instead of computed again.
    """
    _require_inputs(con)
    ensure_schemas(con)
    all_weeks = data_weeks(con)
    full = weeks is None or recompute is not None or not relation_exists(con, PERSON_WEEK_TABLE)
    requested = all_weeks if weeks is None else as_week_starts(weeks)
    if full:
        requested = all_weeks
    in_range = sorted(set(requested) & set(all_weeks))
    try:
        with transaction(con):
            _stage(con, settings, pilots, key, in_range, employee_weeks=employee_weeks)
            _stage_fingerprints(con, pilots, key)
            _write(con, requested, full=full, recompute=recompute)
    finally:
        _drop_temps(con)
    _log_built(con, full, requested)


def _write(con: duckdb.DuckDBPyConnection, requested: list[dt.date], *, full: bool,
           recompute: PersonWeekRecompute | None = None) -> None:
    """Replace the ``requested`` weeks (every week when ``full``) from the staged tables, refresh the
    person-level columns of the other rows, store the staged weeks' fingerprints."""
    cols = ", ".join(f'"{c}"' for c in PERSON_WEEK.names)
    if full:
        for t in (PERSON_WEEK_TABLE, PERSON_WEEK_SOURCE_TABLE, FINGERPRINT_TABLE):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    con.execute(PERSON_WEEK.duckdb_ddl(PERSON_WEEK_TABLE))
    con.execute(_SOURCE_DDL)
    con.execute(_FINGERPRINT_DDL)
    if not full:
        for t in (PERSON_WEEK_TABLE, PERSON_WEEK_SOURCE_TABLE, FINGERPRINT_TABLE):
            con.execute(f"DELETE FROM {t} WHERE list_contains($w::DATE[], week_start)", {"w": requested})
    if recompute is not None:
        recompute(con, [(PERSON_WEEK_TABLE, _ROWS_SQL), (PERSON_WEEK_SOURCE_TABLE, _SOURCE_ROWS_SQL)])
    else:
        con.execute(f"INSERT INTO {PERSON_WEEK_TABLE} ({cols}) {_ROWS_SQL}")
        con.execute(f"INSERT INTO {PERSON_WEEK_SOURCE_TABLE} {_SOURCE_ROWS_SQL}")
    if not full:
        sets = ", ".join(f"{c} = p.{c}" for c in _PERSON_LEVEL)
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM p.{c}" for c in (*_PERSON_LEVEL, "pilot_status"))
        con.execute(
            f"""
            UPDATE {PERSON_WEEK_TABLE} t SET {sets}, pilot_status = p.pilot_status
            FROM (
                SELECT w.week_start, p.*, {_pilot_status_sql('w.week_start')} AS pilot_status
                FROM (SELECT DISTINCT person_key, week_start FROM {PERSON_WEEK_TABLE}
                      WHERE {_people_changed(con)}) w
                JOIN __pw_person p USING (person_key)
            ) p
            WHERE t.person_key = p.person_key AND t.week_start = p.week_start AND ({differs})
            """
        )
    con.execute(f"CREATE OR REPLACE TABLE {PEOPLE_TABLE} AS SELECT {_PEOPLE_COLUMNS} FROM __pw_person "
                "ORDER BY person_key")
    con.execute(f"INSERT INTO {FINGERPRINT_TABLE} SELECT * FROM __pw_fingerprints "
                "WHERE week_start IN (SELECT week_start FROM __pw_weeks) ORDER BY week_start")


def _people_changed(con: duckdb.DuckDBPyConnection) -> str:
    """A condition on ``person_key``: the people whose person-level columns differ from those stored
    at the last build (``clean.person_week_people``), or every person when none were stored."""
    if not relation_exists(con, PEOPLE_TABLE):
        return "true"
    stored = [r[0] for r in con.execute(f"DESCRIBE {PEOPLE_TABLE}").fetchall()]
    if stored != _PEOPLE_COLUMNS.split(", "):
        return "true"
    return (f"person_key IN (SELECT person_key FROM (SELECT {_PEOPLE_COLUMNS} FROM __pw_person "
            f"EXCEPT SELECT {_PEOPLE_COLUMNS} FROM {PEOPLE_TABLE}))")


def _log_built(con: duckdb.DuckDBPyConnection, full: bool, requested: list[dt.date]) -> None:
    n, people = con.execute(f"SELECT count(*), count(DISTINCT person_key) FROM {PERSON_WEEK_TABLE}").fetchone()
    log.info("%s: %d rows, %d people (%s)", PERSON_WEEK_TABLE, n, people,
             "full build" if full else f"{len(requested)} week(s) rebuilt")


_CHANGED_WEEKS_SQL = f"""
    SELECT coalesce(n.week_start, o.week_start) AS week_start
    FROM __pw_fingerprints n FULL OUTER JOIN {FINGERPRINT_TABLE} o USING (week_start)
    WHERE n.fingerprint IS DISTINCT FROM o.fingerprint
    ORDER BY 1
"""


def refresh_person_week(con: duckdb.DuckDBPyConnection, settings: Settings, pilots: Pilots, key: bytes, *,
                        employee_weeks: str | None = None) -> list[dt.date]:
    """:func:`weeks_to_rebuild` then :func:`build_person_week` of those weeks, in one transaction
    that stages the inputs once (the weekly run's path). Returns the weeks rebuilt (every week on
    the first build). ``employee_weeks``: as for :func:`build_person_week`."""
    _require_inputs(con)
    ensure_schemas(con)
    all_weeks = data_weeks(con)
    full = not relation_exists(con, PERSON_WEEK_TABLE) or not relation_exists(con, FINGERPRINT_TABLE)
    try:
        with transaction(con):
            _stage_weekly(con, settings, all_weeks, employee_weeks)
            _stage_fingerprints(con, pilots, key)
            requested = all_weeks if full else [w for (w,) in con.execute(_CHANGED_WEEKS_SQL).fetchall()]
            if not full:
                _narrow_to(con, sorted(set(requested) & set(all_weeks)))
            _stage_people(con, settings, pilots, key)
            _write(con, requested, full=full)
    finally:
        _drop_temps(con)
    _log_built(con, full, requested)
    return requested


def weeks_to_rebuild(con: duckdb.DuckDBPyConnection, settings: Settings, pilots: Pilots, key: bytes, *,
                     employee_weeks: str | None = None) -> list[dt.date]:
    """The weeks whose inputs changed since the last build of ``marts.person_week``: weeks whose
    fingerprint differs from or is missing in ``clean.person_week_fingerprints``, and stored weeks
    no longer in the data range. Every week when nothing was built yet. Pass the result to
    ``build_person_week(..., weeks=...)`` (even when empty: person-level columns are refreshed).
    ``employee_weeks``: as for :func:`build_person_week`."""
    _require_inputs(con)
    all_weeks = data_weeks(con)
    if not relation_exists(con, PERSON_WEEK_TABLE) or not relation_exists(con, FINGERPRINT_TABLE):
        return all_weeks
    try:
        _stage(con, settings, pilots, key, all_weeks, person_level=False, employee_weeks=employee_weeks)
        _stage_fingerprints(con, pilots, key)
        changed = con.execute(_CHANGED_WEEKS_SQL).fetchall()
    finally:
        _drop_temps(con)
    return [w for (w,) in changed]
