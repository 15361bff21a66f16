"""HR directory history: extracts collapsed into validity intervals, and events joined to the HR
record valid at their time.

``build_hr_directory`` reads ``raw.<source>_hr_snapshots`` (one row per employee per extract) and
writes ``clean.hr_directory`` (the ``HR_DIRECTORY`` contract: ``[valid_from, valid_to)``
intervals) and ``clean.hr_extracts`` (one row per source and extract date, with the rows it listed).

How intervals are cut, per employee:

- The extracts of every HR source are taken as one sequence of extracts of the same directory
  (a CSV extract on Monday, a SCIM export on Sunday...). When two sources carry the same employee
  on the same date, the source listed first wins. A column a source never fills (a SCIM export
  without ``level`` or ``hire_date``) is not taken as erased: the employee's latest earlier value
  is carried forward; a column the source does fill is taken as delivered, nulls included.
- An *employment spell* is a run of consecutive extracts listing the employee while employed.
  Rows listed after their ``termination_date`` (HR keeps leavers for a while) do not extend the
  spell; a gap (absent from an extract) or a termination starts a new spell if the employee
  comes back.
- Inside a spell, a new interval starts at the first extract whose attributes differ from the
  previous one (a transfer, a new manager...). The change is dated to that extract: what happened
  between two extracts is not known. Consecutive rows are compared by a 64-bit hash of their
  attributes (the windows then sort a few narrow columns, not every attribute); a change whose two
  attribute sets hash alike would be missed, odds of about 3 in 10^13 over 100,000 employees x 52
  extracts.
- ``valid_from`` is the extract date, except for a spell's first interval when ``hire_date`` lies
  after the previous extract and before this one: then the hire date (the new hire's first record
  was true from their first day).
- Before the very first extract (the first HR data received, often a single extract taken today
  while the platform export goes back a year), an employee listed in it as employed whose
  ``hire_date`` is earlier gets one more interval ``[hire_date, first extract)``, ``backfilled``
  true: employed since hire (HR says so) with the first extract's attributes (an assumption: a
  transfer or a new manager before the first extract is not known). Leavers gone before the
  first extract are not in it and are not back-filled; without ``hire_date`` nothing is assumed.
  Every other interval has ``backfilled`` false. The quality check ``hr_backfilled_weeks`` says
  how many eligible person-weeks rest on back-filled intervals.
- A spell ends at the earlier of ``termination_date + 1 day`` (exclusive end) and the first later
  extract that does not list the employee ("absent from later extracts ends there"); a spell
  still listed in the latest extract stays open (``valid_to`` null).
- An employee listed only after their termination (a leaver still carried by the first extract)
  gets a single one-day interval, their last day: ``[termination_date, termination_date + 1)``.
  Their accounts can then be recognised as a former employee's.
- ``hire_date`` and ``termination_date`` are the spell's, taken from its latest rows (the
  termination is often only known from the first extract after the departure), and are carried
  on every interval of the spell.
- ``worker_type``: HR's value when it is ``office`` or ``frontline`` (any case), else derived from
  ``settings.worker_type`` (the mapped field's value, else the default).
- Identifiers are normalised lightly: e-mails, UPNs and aliases lower-cased and trimmed, aliases
  sorted and de-duplicated; ``country`` upper-cased.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence

import duckdb

from transforms.clean_events import existing_sources
from transforms.code_version import code_fingerprint
from transforms.contracts import HR_DIRECTORY, HR_SNAPSHOTS
from transforms.contracts.config import Settings
from transforms.contracts.vocabulary import WORKER_TYPES
from transforms.warehouse import (
    MissingInputError,
    drop_relation,
    ensure_schemas,
    relation_exists,
    sql_literal,
    transaction,
)

log = logging.getLogger(__name__)

__all__ = ["HR_ATTRIBUTE_COLUMNS", "build_events_hr", "build_hr_directory"]

_WORKER_TYPES_SQL = ", ".join(f"'{w}'" for w in WORKER_TYPES)

#: Attributes whose change opens a new interval (hire/termination are spell-level).
HR_ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "email", "upn", "aliases", "display_name", "manager_id", "department", "org_unit", "site",
    "country", "job_family", "worker_type", "level",
)


#: Columns an HR source may not carry at all (e.g. a SCIM directory without level or hire date).
_FILLABLE: tuple[str, ...] = (
    "email", "upn", "aliases", "display_name", "manager_id", "department", "org_unit", "site", "country",
    "job_family", "hr_worker_type", "level", "hire_date", "termination_date",
)
_CARRIED = ", ".join(f"bool_or({c} IS NOT NULL) AS {c}" for c in _FILLABLE)


def _carry_forward(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    """In ``rows`` (one row per employee and extract date), fill each column the row's source never
    fills with the employee's latest earlier value of it (nulls stay where every source fills it).

    Only the columns some source leaves empty are touched, in place, from a window over the narrow
    (employee, date, column) rows: a window over the wide HR rows copied every column through its
    sort (at 100,000 employees x 52 extracts, 8 s for the one column a CSV extract leaves empty).
    """
    flags = con.execute(f"SELECT __source, {_CARRIED} FROM {rows} GROUP BY ALL").fetchall()
    carried = {}
    for i, c in enumerate(_FILLABLE):
        fills = [src for src, *filled in flags if filled[i]]
        if fills and len(fills) < len(flags):  # a column no source fills stays null: nothing to carry
            carried[c] = ", ".join(sql_literal(src) for src in fills)
    if not carried:
        return
    windows = ", ".join(f"last_value({c} IGNORE NULLS) OVER earlier AS {c}" for c in carried)
    sets = ", ".join(f"{c} = CASE WHEN r.__source IN ({by}) THEN r.{c} ELSE k.{c} END" for c, by in carried.items())
    con.execute(
        f"""
        UPDATE {rows} AS r SET {sets}
        FROM (SELECT employee_id, snapshot_date, {windows} FROM {rows}
              WINDOW earlier AS (PARTITION BY employee_id ORDER BY snapshot_date
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) k
        WHERE r.employee_id = k.employee_id AND r.snapshot_date = k.snapshot_date
        """
    )


def _list_literal(values: Iterable[str]) -> str:
    return "[" + ", ".join(sql_literal(v) for v in values) + "]::VARCHAR[]"


#: One row per employee and extract date: the first source listed wins, then the latest file.
_ONE_PER_DAY = """QUALIFY row_number() OVER (
    PARTITION BY snapshot_date, employee_id ORDER BY __ord, source_file DESC NULLS LAST) = 1"""


def _has_same_day_rows(con: duckdb.DuckDBPyConnection, sources: Sequence[str]) -> bool:
    """Whether some employee is listed twice on one extract date (two sources, or two files of one).

    Checked on the two key columns first: the window that keeps one of them sorts every column of
    the HR rows (7 s at 100,000 employees x 52 extracts), for nothing when no row repeats.
    """
    return con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM ({_snapshots_union(sources)}) "
        f"GROUP BY snapshot_date, trim(employee_id) HAVING count(*) > 1 LIMIT 1)"
    ).fetchone()[0] > 0


def _snapshots_union(sources: Sequence[str], where: str = "") -> str:
    """The raw HR rows of every source (those matching the SQL condition ``where``), with the
    source's name and priority."""
    cols = ", ".join(f'"{c}"' for c in HR_SNAPSHOTS.names)
    condition = f" WHERE {where}" if where else ""
    if not sources:
        return (
            "SELECT NULL::VARCHAR AS __source, NULL::INTEGER AS __ord, * FROM __empty_hr_snapshots" + condition
        )
    return " UNION ALL ".join(
        f"SELECT '{s}' AS __source, {i} AS __ord, {cols} FROM raw.{s}_hr_snapshots{condition}"
        for i, s in enumerate(sources)
    )


def _columns(**expressions: str) -> str:
    """The ``HR_DIRECTORY`` contract's columns in order, some of them computed."""
    return ", ".join(f'{expressions[c]} AS "{c}"' if c in expressions else f'"{c}"' for c in HR_DIRECTORY.names)


def _listed_sql(sources: Sequence[str], *, where: str = "", one_per_day: bool = False) -> str:
    """The delivered HR rows of ``sources`` (those matching ``where``), normalised."""
    return f"""
    WITH delivered AS ({_snapshots_union(sources, where)}),
    normalised AS (
        SELECT __source, __ord, snapshot_date, trim(employee_id) AS employee_id,
            nullif(lower(trim(email)), '') AS email,
            nullif(lower(trim(upn)), '') AS upn,
            CASE WHEN aliases IS NOT NULL THEN list_sort(list_distinct(list_filter(
                list_transform(aliases, a -> lower(trim(a))), a -> a IS NOT NULL AND a <> '')))
            END AS aliases,
            display_name, nullif(trim(manager_id), '') AS manager_id, department, org_unit, site,
            upper(trim(country)) AS country, job_family,
            CASE WHEN lower(trim(worker_type)) IN ({_WORKER_TYPES_SQL}) THEN lower(trim(worker_type)) END
                AS hr_worker_type,
            worker_type IS NOT NULL AND trim(worker_type) <> ''
                AND lower(trim(worker_type)) NOT IN ({_WORKER_TYPES_SQL}) AS worker_type_unknown,
            level, hire_date, termination_date, source_file
        FROM delivered
    )
    SELECT * FROM normalised
    {_ONE_PER_DAY if one_per_day else ""}
    """


def _rows_view_sql(settings: Settings) -> str:
    """``__hr_rows``: ``__hr_listed`` with ``worker_type`` derived; a view, which takes no
    parameters: the settings' values are written as literals."""
    wt = settings.worker_type
    mapped_field = wt.field  # a Literal of the Settings model: a safe column name
    return f"""
        CREATE OR REPLACE TEMP VIEW __hr_rows AS
        SELECT * EXCLUDE (hr_worker_type),
            coalesce(hr_worker_type, ({_list_literal(wt.values.values())})[
                list_position({_list_literal(wt.values.keys())}, {mapped_field})], {sql_literal(wt.default)})
                AS worker_type
        FROM __hr_listed
    """


#: The intervals of every employee of ``__hr_rows`` (see the module docstring); the extract dates
#: are those of ``clean.hr_extracts``.
_DIRECTORY_SQL = f"""
    WITH extracts AS (
        SELECT snapshot_date,
            lag(snapshot_date) OVER (ORDER BY snapshot_date) AS prev_extract,
            lead(snapshot_date) OVER (ORDER BY snapshot_date) AS next_extract
        FROM (SELECT DISTINCT snapshot_date FROM clean.hr_extracts)
    ),
    listed AS (
        SELECT r.employee_id, r.snapshot_date, r.hire_date, r.termination_date,
            hash(({', '.join(HR_ATTRIBUTE_COLUMNS)})) AS attrs_hash, e.prev_extract, e.next_extract,
            coalesce(r.termination_date < r.snapshot_date, false) AS after_termination,
            lead(r.snapshot_date) OVER emp AS next_row_date,
            lead(r.termination_date) OVER emp AS next_row_termination,
            coalesce(lead(r.termination_date < r.snapshot_date) OVER emp, false) AS next_row_after_termination
        FROM __hr_rows r JOIN extracts e USING (snapshot_date)
        WINDOW emp AS (PARTITION BY r.employee_id ORDER BY r.snapshot_date)
    ),
    employed AS (
        SELECT *,
            lag(snapshot_date) OVER emp AS prev_date,
            lag(termination_date) OVER emp AS prev_termination,
            lag(attrs_hash) OVER emp AS prev_attrs
        FROM listed WHERE NOT after_termination
        WINDOW emp AS (PARTITION BY employee_id ORDER BY snapshot_date)
    ),
    flagged AS (
        SELECT *,
            prev_date IS NULL
                OR prev_date IS DISTINCT FROM prev_extract
                OR coalesce(prev_termination < snapshot_date, false) AS new_spell,
            attrs_hash IS DISTINCT FROM prev_attrs AS attrs_changed
        FROM employed
    ),
    numbered AS (
        SELECT *,
            sum(new_spell::INT) OVER emp AS spell_no,
            sum((new_spell OR attrs_changed)::INT) OVER emp AS island_no
        FROM flagged
        WINDOW emp AS (PARTITION BY employee_id ORDER BY snapshot_date)
    ),
    spells AS (
        SELECT employee_id, spell_no,
            arg_max(hire_date, snapshot_date) FILTER (hire_date IS NOT NULL) AS spell_hire,
            coalesce(
                arg_max(termination_date, snapshot_date),
                arg_max(CASE WHEN next_row_after_termination THEN next_row_termination END, snapshot_date)
            ) AS spell_termination,
            arg_max(
                CASE WHEN next_extract IS NOT NULL AND next_row_date IS DISTINCT FROM next_extract
                     THEN next_extract END,
                snapshot_date) AS absent_from
        FROM numbered GROUP BY ALL
    ),
    islands AS (
        SELECT n.employee_id, n.spell_no, n.island_no,
            min(n.snapshot_date) AS first_date,
            arg_min(n.prev_extract, n.snapshot_date) AS prev_extract,
            bool_or(n.new_spell) AS opens_spell,
            max(n.island_no) OVER (PARTITION BY n.employee_id, n.spell_no) = n.island_no AS closes_spell
        FROM numbered n GROUP BY n.employee_id, n.spell_no, n.island_no
    ),
    dated AS (
        SELECT i.*, {", ".join(f"a.{c}" for c in HR_ATTRIBUTE_COLUMNS)},
            s.spell_hire AS hire_date, s.spell_termination AS termination_date,
            CASE WHEN i.opens_spell AND s.spell_hire < i.first_date AND s.spell_hire > i.prev_extract
                 THEN s.spell_hire ELSE i.first_date END AS valid_from,
            CASE WHEN i.closes_spell THEN least(s.spell_termination + 1, s.absent_from) END AS spell_end
        FROM islands i JOIN spells s USING (employee_id, spell_no)
        -- an island's attributes are the same on each of its rows: read them from its first
        JOIN __hr_rows a ON a.employee_id = i.employee_id AND a.snapshot_date = i.first_date
    ),
    bounded AS (
        SELECT *, least(spell_end, lead(valid_from) OVER (PARTITION BY employee_id ORDER BY valid_from))
            AS valid_to_raw
        FROM dated
    ),
    only_listed_after_leaving AS (
        SELECT * FROM __hr_rows
        WHERE coalesce(termination_date < snapshot_date, false)
          AND employee_id NOT IN (SELECT employee_id FROM employed)
        QUALIFY row_number() OVER (PARTITION BY employee_id ORDER BY snapshot_date) = 1
    )
    SELECT * REPLACE (
        CASE WHEN valid_to <= valid_from THEN valid_from + 1 ELSE valid_to END AS valid_to)
    FROM (
        SELECT {_columns(valid_to="valid_to_raw", backfilled="false")}
        FROM bounded
        UNION ALL
        SELECT {_columns(valid_from="termination_date", valid_to="CAST(termination_date + 1 AS DATE)",
                        backfilled="false")}
        FROM only_listed_after_leaving
        UNION ALL
        -- employed since before the first extract: back-filled from hire_date
        SELECT {_columns(valid_from="hire_date", valid_to="valid_from", backfilled="true")}
        FROM bounded
        WHERE opens_spell AND hire_date < valid_from
          AND valid_from = (SELECT min(snapshot_date) FROM clean.hr_extracts)
    )
    ORDER BY employee_id, valid_from
"""

EXTRACT_FINGERPRINTS = "clean.hr_extract_fingerprints"
_TEMPS = ("__hr_listed", "__hr_fingerprints", "__hr_edge", "__hr_changed", "__empty_hr_snapshots")


def _stage_fingerprints(con: duckdb.DuckDBPyConnection, sources: Sequence[str]) -> None:
    """TEMP ``__hr_fingerprints``: rows and a sum of 64-bit row hashes per source and extract date."""
    cols = ", ".join(f'"{c}"' for c in HR_SNAPSHOTS.names)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __hr_fingerprints AS
        SELECT __source AS source, snapshot_date, count(*) AS rows, sum(hash({cols})::HUGEINT) AS fingerprint
        FROM ({_snapshots_union(sources)}) GROUP BY ALL
        """
    )


def _new_extract(con: duckdb.DuckDBPyConnection, sources: Sequence[str],
                 built_with: str) -> tuple[dt.date, dt.date] | str | None:
    """``"unchanged"`` when no extract changed since the last build; ``(previous, new)`` extract
    dates when one extract was added after every other one and the employees it leaves as they
    were can keep their intervals; ``None`` (build everything) otherwise: an extract changed, went
    or came in between, rows from several HR sources (their columns are carried across each
    other), or employees listed twice on a date."""
    if not all(relation_exists(con, t) for t in ("clean.hr_directory", "clean.hr_extracts", EXTRACT_FINGERPRINTS)):
        return None
    stale = con.execute(
        f"""
        SELECT count(*) FROM {EXTRACT_FINGERPRINTS} o
        LEFT JOIN __hr_fingerprints n USING (source, snapshot_date)
        WHERE n.rows IS DISTINCT FROM o.rows OR n.fingerprint IS DISTINCT FROM o.fingerprint
           OR o.built_with IS DISTINCT FROM $built_with
        """,
        {"built_with": built_with},
    ).fetchone()[0]
    if stale:
        return None
    new, last, delivering = con.execute(
        f"""
        SELECT list_distinct(list(n.snapshot_date) FILTER (o.source IS NULL)),
               (SELECT max(snapshot_date) FROM {EXTRACT_FINGERPRINTS}), count(DISTINCT n.source)
        FROM __hr_fingerprints n LEFT JOIN {EXTRACT_FINGERPRINTS} o USING (source, snapshot_date)
        """
    ).fetchone()
    if not new:
        return "unchanged"
    if delivering != 1 or len(new) != 1 or last is None or new[0] <= last or _has_same_day_rows(con, sources):
        return None
    return last, new[0]


def _stage_changed(con: duckdb.DuckDBPyConnection, sources: Sequence[str], previous: dt.date, new: dt.date) -> int:
    """TEMP ``__hr_changed(employee_id)``: the employees whose intervals a new extract can move: listed
    in only one of the previous and the new extract, listed differently, or listed with a
    termination date in the new one. Every other employee keeps the same intervals (the same
    open interval continues). Returns how many."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __hr_edge AS {_listed_sql(sources, where=_dates_filter(previous, new))}"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __hr_changed AS
        WITH p AS (SELECT * EXCLUDE (__source, __ord, snapshot_date, source_file) FROM __hr_edge
                   WHERE snapshot_date = DATE '{previous}'),
             n AS (SELECT * EXCLUDE (__source, __ord, snapshot_date, source_file) FROM __hr_edge
                   WHERE snapshot_date = DATE '{new}')
        SELECT employee_id FROM (SELECT * FROM p EXCEPT SELECT * FROM n)
        UNION SELECT employee_id FROM (SELECT * FROM n EXCEPT SELECT * FROM p)
        UNION SELECT employee_id FROM n WHERE termination_date IS NOT NULL
        """
    )
    return con.execute("SELECT count(*) FROM __hr_changed").fetchone()[0]


def _dates_filter(*dates: dt.date) -> str:
    return "snapshot_date IN (" + ", ".join(f"DATE '{d.isoformat()}'" for d in dates) + ")"


def _built_with(sources: Sequence[str], settings: Settings) -> str:
    state = f"{sources}|{settings.worker_type.model_dump_json()}|{code_fingerprint()}"
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def build_hr_directory(con: duckdb.DuckDBPyConnection, sources: Sequence[str], settings: Settings) -> None:
    """Build ``clean.hr_directory`` and ``clean.hr_extracts`` from the HR sources' snapshots.

    ``sources``: HR connector names in priority order; those without ``raw.<source>_hr_snapshots``
    are skipped. Interval rules are in the module docstring. ``clean.hr_directory`` has exactly the
    ``HR_DIRECTORY`` contract columns, one row per employee and ``valid_from``, intervals of an
    employee never overlap. Runs in one transaction.

    A weekly run does less when it can, with the same result: nothing when no extract changed
    since the last build (``clean.hr_extract_fingerprints``); when a single HR source brought one
    extract dated after every other one, only the employees it can move (see
    :func:`_stage_changed`) get their intervals computed again, from their whole history.
    """
    ensure_schemas(con)
    hr_sources = existing_sources(con, sources, "hr_snapshots")
    if not hr_sources:
        log.warning("no raw HR snapshots among %s: clean.hr_directory will be empty", list(sources))
        con.execute(HR_SNAPSHOTS.duckdb_ddl("__empty_hr_snapshots").replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    built_with = _built_with(hr_sources, settings)
    try:
        with transaction(con):
            _stage_fingerprints(con, hr_sources)
            plan = _new_extract(con, hr_sources, built_with)
            if plan == "unchanged":
                log.info("clean.hr_directory: no HR extract changed")
                return
            if plan is None:
                _build_every_employee(con, hr_sources, settings)
            else:
                previous, new = plan
                changed = _stage_changed(con, hr_sources, previous, new)
                _build_changed_employees(con, hr_sources, settings, new)
                log.info("clean.hr_directory: extract of %s added; %d employee(s) whose intervals it can move "
                         "computed again", new, changed)
            con.execute(f"CREATE OR REPLACE TABLE {EXTRACT_FINGERPRINTS} AS "
                        "SELECT *, $b AS built_with FROM __hr_fingerprints ORDER BY source, snapshot_date",
                        {"b": built_with})
    finally:
        con.execute("DROP VIEW IF EXISTS temp.__hr_rows")
        for t in _TEMPS:
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")
    n, people, backfilled = con.execute(
        "SELECT count(*), count(DISTINCT employee_id), count(*) FILTER (backfilled) FROM clean.hr_directory"
    ).fetchone()
    log.info("clean.hr_directory: %d intervals for %d employees", n, people)
    if backfilled:
        log.warning(
            "clean.hr_directory: employment of %d employee(s) back-filled before the first HR extract from "
            "hire_date, with the first extract's attributes (flagged backfilled)", backfilled,
        )


def _warn_unknown_worker_types(con: duckdb.DuckDBPyConnection) -> None:
    unknown = con.execute("SELECT count(*) FROM __hr_rows WHERE worker_type_unknown").fetchone()[0]
    if unknown:
        log.warning("%d HR rows carry a worker_type other than office/frontline; derived from settings", unknown)


def _build_every_employee(con: duckdb.DuckDBPyConnection, sources: Sequence[str], settings: Settings) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE __hr_listed AS "
                f"{_listed_sql(sources, one_per_day=_has_same_day_rows(con, sources))}")
    _carry_forward(con, "__hr_listed")
    con.execute(_rows_view_sql(settings))
    _warn_unknown_worker_types(con)
    con.execute(
        """
        CREATE OR REPLACE TABLE clean.hr_extracts AS
        SELECT __source AS source, snapshot_date, count(*) AS rows_listed
        FROM __hr_rows GROUP BY ALL ORDER BY source, snapshot_date
        """
    )
    con.execute(f"CREATE OR REPLACE TABLE clean.hr_directory AS {_DIRECTORY_SQL}")


def _build_changed_employees(con: duckdb.DuckDBPyConnection, sources: Sequence[str], settings: Settings,
                             new: dt.date) -> None:
    """The intervals of the employees of ``__hr_changed`` from their whole history; the new
    extract's row counts appended to ``clean.hr_extracts`` (one source: nothing to carry forward,
    no employee listed twice on a date)."""
    con.execute(
        """
        INSERT INTO clean.hr_extracts
        SELECT __source AS source, snapshot_date, count(*) AS rows_listed FROM __hr_edge
        WHERE snapshot_date = $new GROUP BY ALL ORDER BY source
        """,
        {"new": new},
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE __hr_listed AS "
                f"{_listed_sql(sources, where='trim(employee_id) IN (SELECT employee_id FROM __hr_changed)')}")
    con.execute(_rows_view_sql(settings))
    _warn_unknown_worker_types(con)
    con.execute("DELETE FROM clean.hr_directory WHERE employee_id IN (SELECT employee_id FROM __hr_changed)")
    con.execute(f"INSERT INTO clean.hr_directory {_DIRECTORY_SQL}")


def build_events_hr(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the view ``clean.events_hr``: every clean event with its resolved ``employee_id``
    and the HR attributes valid on the event's local date (``occurred_on``). A view: the join is made
    when it is read (an analyst's query, usually filtered), never for every event of every run.

    Grain: one row per ``clean.events`` row (left joins: an unresolved account or a date outside
    every HR interval leaves the attributes null). Columns: ``source, event_id, occurred_at,
    occurred_on, week_start, iso_week, account_id, action, space_id, thread_id, content_id,
    body_chars, is_question, mention_count, identity_status, employee_id`` and the HR attributes
    ``manager_id, department, org_unit, site, country, job_family, worker_type, level, hire_date``.
    Reads ``clean.events``, ``clean.identity_map`` and ``clean.hr_directory``.
    """
    drop_relation(con, "clean.events_hr")  # a table in warehouses built before it became a view
    for name, builder in (
        ("clean.events", "transforms.clean_events.build_clean_events"),
        ("clean.identity_map", "transforms.identity.resolve_identities"),
        ("clean.hr_directory", "transforms.hr_history.build_hr_directory"),
    ):
        if not relation_exists(con, name):
            raise MissingInputError(f"{name} does not exist; build it first with {builder}")
    attrs = ("manager_id", "department", "org_unit", "site", "country", "job_family", "worker_type", "level",
             "hire_date")
    covered = ", ".join(
        f"CASE WHEN valid_to IS NULL OR occurred_on < valid_to THEN {a} END AS {a}" for a in attrs
    )
    # ASOF: the latest interval starting on or before the event's date, kept only if it has not
    # ended by then (intervals of an employee never overlap)
    con.execute(
        f"""
        CREATE OR REPLACE VIEW clean.events_hr AS
        WITH resolved AS (
            SELECT e.*, coalesce(m.status, 'unmatched') AS identity_status,
                CASE WHEN m.status = 'matched' THEN m.employee_id END AS employee_id
            FROM clean.events e
            LEFT JOIN clean.identity_map m ON m.source = e.source AND m.account_id = e.account_id
        ),
        latest_start AS (
            SELECT e.source, e.event_id, e.occurred_at, e.occurred_on, e.week_start, e.iso_week,
                e.account_id, e.action, e.space_id, e.thread_id, e.content_id, e.body_chars,
                e.is_question, e.mention_count, e.identity_status, e.employee_id,
                h.valid_to, {", ".join(f"h.{a}" for a in attrs)}
            FROM resolved e
            ASOF LEFT JOIN clean.hr_directory h ON h.employee_id = e.employee_id AND e.occurred_on >= h.valid_from
        )
        SELECT * EXCLUDE (valid_to, {", ".join(attrs)}), {covered}
        FROM latest_start
        """
    )
