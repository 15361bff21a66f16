"""Eligibility: who counts in a week's denominator, from the HR directory (never from accounts).

An employee is *eligible* in an ISO week when, on the HR record that holds for that week (the
latest ``clean.hr_directory`` interval overlapping the week, Monday to Sunday):

- their employment covers the week: ``hire_date`` null or on/before the week's Sunday, and
  ``termination_date`` null or on/after its Monday;
- they are in scope: ``country`` / ``site`` / ``worker_type`` in ``settings.scope`` (an unset list
  means no restriction; a null attribute is out of a restricted scope);
- the platform is available at their site: ``settings.site_launch[site]`` (else
  ``settings.platform_launch``) on/before the week's Sunday.

``eligible_from`` (per person) is the first day all three held: over the person's intervals, the
latest of the interval start, the site's launch and the hire date, for the first interval where
that day still falls inside the interval and the employment. For the person's first interval the
interval start is not used (their first known attributes are assumed to have held since hire), so
``eligible_from`` can precede the HR data. ``direct_reports`` counts the employees employed that
week whose record names the person as manager (eligible or not). ``hr_backfilled``: the week's
record is an interval back-filled before the first HR extract (see :mod:`transforms.hr_history`):
employment from ``hire_date``, attributes of the first extract.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import duckdb

from transforms.contracts.config import Settings
from transforms.warehouse import MissingInputError, ensure_schemas, relation_exists
from transforms.weeks import as_week_starts, data_weeks, iso_week_sql

log = logging.getLogger(__name__)

__all__ = ["EMPLOYEE_WEEK_TABLE", "build_employee_weeks", "stage_eligible_from", "stage_employee_weeks"]

EMPLOYEE_WEEK_TABLE = "clean.employee_week"


def _scope_params(settings: Settings) -> dict[str, object]:
    scope = settings.scope
    return {
        "any_country": scope.countries is None,
        "countries": [c.strip().upper() for c in scope.countries or []],
        "any_site": scope.sites is None,
        "sites": list(scope.sites or []),
        "any_worker_type": scope.worker_types is None,
        "worker_types": list(scope.worker_types or []),
        "launch_sites": list(settings.site_launch.keys()),
        "launch_dates": list(settings.site_launch.values()),
        "platform_launch": settings.platform_launch,
    }


_INTERVALS = """
    SELECT *,
        coalesce(($launch_dates::DATE[])[list_position($launch_sites::VARCHAR[], site)], $platform_launch::DATE)
            AS launch,
        ($any_country OR coalesce(list_contains($countries::VARCHAR[], country), false))
        AND ($any_site OR coalesce(list_contains($sites::VARCHAR[], site), false))
        AND ($any_worker_type OR coalesce(list_contains($worker_types::VARCHAR[], worker_type), false)) AS in_scope
    FROM clean.hr_directory
"""


_ELIGIBLE_FROM = f"""
    WITH intervals AS ({_INTERVALS}),
    candidates AS (
        SELECT employee_id, in_scope, valid_to, termination_date,
            CASE WHEN row_number() OVER (PARTITION BY employee_id ORDER BY valid_from) = 1
                 THEN greatest(launch, coalesce(hire_date, valid_from))
                 ELSE greatest(valid_from, launch, hire_date) END AS candidate
        FROM intervals
    )
    SELECT employee_id, min(candidate) AS eligible_from FROM candidates
    WHERE in_scope AND (valid_to IS NULL OR candidate < valid_to)
      AND (termination_date IS NULL OR candidate <= termination_date)
    GROUP BY ALL
"""


def _employee_weeks_sql(weeks_table: str) -> str:
    return f"""
        WITH weeks AS (SELECT week_start, CAST(week_start + 6 AS DATE) AS week_end FROM {weeks_table}),
        intervals AS ({_INTERVALS}),
        week_record AS (
            SELECT w.week_start, w.week_end, i.*
            FROM weeks w JOIN intervals i
              ON i.valid_from <= w.week_end AND (i.valid_to IS NULL OR i.valid_to > w.week_start)
            QUALIFY row_number() OVER (PARTITION BY i.employee_id, w.week_start ORDER BY i.valid_from DESC) = 1
        ),
        employed AS (
            SELECT * FROM week_record
            WHERE (hire_date IS NULL OR hire_date <= week_end)
              AND (termination_date IS NULL OR termination_date >= week_start)
        ),
        reports AS (
            SELECT manager_id AS employee_id, week_start, count(*) AS direct_reports
            FROM employed WHERE manager_id IS NOT NULL GROUP BY ALL
        ),
        first_eligible AS ({_ELIGIBLE_FROM})
        SELECT e.employee_id, e.week_start, {iso_week_sql('e.week_start')} AS iso_week, e.week_end,
            e.manager_id, e.department, e.org_unit, e.site, e.country, e.job_family, e.worker_type,
            e.level, e.hire_date, e.termination_date,
            e.in_scope, e.launch <= e.week_end AS platform_available,
            e.in_scope AND e.launch <= e.week_end AS is_eligible,
            f.eligible_from,
            CAST(coalesce(r.direct_reports, 0) AS INTEGER) AS direct_reports,
            e.backfilled AS hr_backfilled
        FROM employed e
        LEFT JOIN reports r USING (employee_id, week_start)
        LEFT JOIN first_eligible f USING (employee_id)
    """


def stage_eligible_from(con: duckdb.DuckDBPyConnection, settings: Settings, table: str) -> None:
    """Create TEMP table ``table(employee_id, eligible_from)``: every employee who was ever
    eligible and the first day they were (see the module docstring). Reads ``clean.hr_directory``."""
    _require_hr(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {_ELIGIBLE_FROM}", _scope_params(settings))


def _require_hr(con: duckdb.DuckDBPyConnection) -> None:
    if not relation_exists(con, "clean.hr_directory"):
        raise MissingInputError(
            "clean.hr_directory does not exist; build it first with transforms.hr_history.build_hr_directory"
        )


def stage_employee_weeks(
    con: duckdb.DuckDBPyConnection, settings: Settings, weeks: Iterable[dt.date], table: str
) -> None:
    """Create TEMP table ``table``: one row per employee per given week of employment, with the HR
    attributes of that week, ``in_scope``, ``platform_available``, ``is_eligible``,
    ``eligible_from``, ``direct_reports`` and ``hr_backfilled`` (see the module docstring). Reads ``clean.hr_directory``."""
    _require_hr(con)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __eligibility_weeks AS SELECT unnest($weeks::DATE[]) AS week_start",
        {"weeks": list(weeks)},
    )
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS {_employee_weeks_sql('__eligibility_weeks')}",
            _scope_params(settings),
        )
    finally:
        con.execute("DROP TABLE IF EXISTS temp.__eligibility_weeks")


def _same_columns(con: duckdb.DuckDBPyConnection, staged: str, stored: str) -> bool:
    def columns(table: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall()]
    return columns(staged) == columns(stored)


def _changed_weeks(con: duckdb.DuckDBPyConnection, staged: str, stored: str) -> list[dt.date]:
    """Weeks whose rows differ between two tables of the same columns (count and a sum of 64-bit
    row hashes per week), and weeks found in only one of them."""
    per_week = "SELECT week_start, count(*) AS n, sum(hash({t})::HUGEINT) AS h FROM {table} {t} GROUP BY ALL"
    rows = con.execute(
        f"""
        SELECT coalesce(a.week_start, b.week_start) FROM ({per_week.format(table=staged, t='a')}) a
        FULL OUTER JOIN ({per_week.format(table=stored, t='b')}) b USING (week_start)
        WHERE a.n IS DISTINCT FROM b.n OR a.h IS DISTINCT FROM b.h ORDER BY 1
        """
    ).fetchall()
    return [w for (w,) in rows]


def build_employee_weeks(
    con: duckdb.DuckDBPyConnection, settings: Settings, weeks: Iterable[dt.date | str] | None = None
) -> None:
    """Build ``clean.employee_week`` (grain: one row per employee per ISO week of employment;
    eligible headcount of a week = rows with ``is_eligible``).

    ``weeks=None`` computes every week of :func:`transforms.weeks.data_weeks` and writes only the
    weeks whose rows differ from the stored ones (a weekly run: the new week and the few an HR
    extract touched), dropping stored weeks out of the range; a list of Mondays (or ``YYYY-Www``)
    replaces only those weeks.
    """
    ensure_schemas(con)
    every_week = weeks is None
    target = data_weeks(con) if every_week else as_week_starts(weeks)
    full = not relation_exists(con, EMPLOYEE_WEEK_TABLE)
    con.execute("BEGIN TRANSACTION")
    try:
        stage_employee_weeks(con, settings, target, "__employee_week")
        if every_week and not full:
            full = not _same_columns(con, "__employee_week", EMPLOYEE_WEEK_TABLE)
        if every_week and not full:
            changed = _changed_weeks(con, "__employee_week", EMPLOYEE_WEEK_TABLE)
            con.execute(f"DELETE FROM {EMPLOYEE_WEEK_TABLE} WHERE list_contains($w::DATE[], week_start)",
                        {"w": changed})
            con.execute(f"INSERT INTO {EMPLOYEE_WEEK_TABLE} SELECT * FROM __employee_week "
                        "WHERE list_contains($w::DATE[], week_start) ORDER BY week_start, employee_id", {"w": changed})
            log.info("%s: %d of %d week(s) changed", EMPLOYEE_WEEK_TABLE, len(changed), len(target))
        elif full:
            con.execute(
                f"CREATE OR REPLACE TABLE {EMPLOYEE_WEEK_TABLE} AS "
                "SELECT * FROM __employee_week ORDER BY week_start, employee_id"
            )
        else:
            con.execute(
                f"DELETE FROM {EMPLOYEE_WEEK_TABLE} WHERE list_contains($weeks::DATE[], week_start)",
                {"weeks": target},
            )
            con.execute(f"INSERT INTO {EMPLOYEE_WEEK_TABLE} SELECT * FROM __employee_week ORDER BY week_start, employee_id")
            # eligible_from is a property of the whole history: refresh it on the untouched weeks too
            stage_eligible_from(con, settings, "__eligible_from")
            con.execute(
                f"""
                UPDATE {EMPLOYEE_WEEK_TABLE} t SET eligible_from = f.eligible_from
                FROM (SELECT w.employee_id, f.eligible_from FROM (SELECT DISTINCT employee_id FROM {EMPLOYEE_WEEK_TABLE}) w
                      LEFT JOIN __eligible_from f USING (employee_id)) f
                WHERE t.employee_id = f.employee_id AND t.eligible_from IS DISTINCT FROM f.eligible_from
                """
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS temp.__employee_week")
        con.execute("DROP TABLE IF EXISTS temp.__eligible_from")
