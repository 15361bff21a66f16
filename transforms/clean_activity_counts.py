"""``clean.activity_counts``: counter rows (M365 usage reports, Viva Insights...) screened,
de-duplicated, freed of overlapping periods and allocated to ISO weeks; on a weekly run only the
counter files that are new since the last build are read, when that gives the table a full build
would give.

Dispositions of a counter row, in order of precedence (the rules of :mod:`transforms.clean_events`):
``rejected`` (blank account, negative count, inverted period, a start before 2000), ``duplicate``
(a further copy of the same ``(source, account, period, action)``; the copy from the last
``source_file`` is kept, within one file the largest count), ``automated`` (the account is
automated in ``raw.<source>_accounts``), ``overlap`` (periods of one account and action that
overlap: a largest set of non-overlapping periods is kept, chosen greedily by earliest end), else
``kept``.

Grain of ``clean.activity_counts``: one row per kept counter row and week it is allocated to
(``source, account_id, account_email, action, week_start, iso_week, count, period_start,
period_end, source_file``); allocation rules are in :func:`build_activity_counts`.

State kept between runs (both rebuilt by every full build):

- ``clean.activity_count_files`` [source, source_file]: the rows and a 64-bit-hash sum of each
  counter file as last built, the dispositions of its rows, and ``built_with`` (a hash of the
  sources, their automated accounts and the transforms' code, :mod:`transforms.code_version`);
- ``clean.activity_count_frontier`` [source, account, action]: the latest ``period_end`` of the
  rows not rejected.

When should a weekly run read only the new files? When every file already built is unchanged
(same rows, same hash), ``built_with`` is the same, and every new row not rejected starts after
the frontier of its account and action. Then no new row can repeat an old one (same period) or
overlap one, and the greedy choice over old and new periods makes the same choices for the old
periods and, for the new ones, the choices it makes on the new periods alone (every old period
ends before the first new one starts). Anything else (a file re-delivered with other rows, a
late report for an earlier week, an account newly flagged automated) rebuilds everything.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import duckdb

from transforms.code_version import code_fingerprint
from transforms.contracts import ACTIVITY_COUNTS
from transforms.contracts.vocabulary import EARLIEST_PLAUSIBLE
from transforms.warehouse import relation_exists
from transforms.weeks import date_week_start_sql, iso_week_sql

log = logging.getLogger(__name__)

__all__ = [
    "ACTIVITY_COUNTS_TABLE",
    "COUNT_DISPOSITIONS",
    "FILES_TABLE",
    "FRONTIER_TABLE",
    "build_activity_counts",
]

ACTIVITY_COUNTS_TABLE = "clean.activity_counts"
FILES_TABLE = "clean.activity_count_files"
FRONTIER_TABLE = "clean.activity_count_frontier"

#: Per source, the counter rows of each disposition (every file's, as last built).
COUNT_DISPOSITIONS = f"""
    SELECT source, sum(rejected_here) AS rejected_here, sum(filtered_duplicate) AS filtered_duplicate,
        sum(filtered_automated) AS filtered_automated, sum(filtered_overlap) AS filtered_overlap
    FROM {FILES_TABLE} GROUP BY ALL
"""

_TEMP_TABLES = ("__raw_counts", "__count_files", "__count_new_files", "__counts_screened", "__counts_disposed",
                "__empty_activity_counts")
_CONTENT = 'account_id, account_email, period_start, period_end, action, "count"'


def _union(sources: Sequence[str], *, numbered: bool, only_new: bool = False) -> str:
    """``UNION ALL`` of the raw counter tables, ``source`` forced to the connector's name;
    ``numbered``: with a ``__row`` id; ``only_new``: only the rows of ``__count_new_files``."""
    cols = ", ".join(f'"{c}"' for c in ACTIVITY_COUNTS.names if c != "source")
    row = f", '{{s}}' || ':' || row_number() OVER () AS __row" if numbered else ""
    where = (" WHERE source_file IN (SELECT source_file FROM __count_new_files WHERE source = '{s}')"
             if only_new else "")
    return " UNION ALL ".join(f"SELECT '{s}' AS source, {cols}{row.format(s=s)} FROM raw.{s}_activity_counts"
                              + where.format(s=s) for s in sources)


def _empty(con: duckdb.DuckDBPyConnection, numbered: bool) -> str:
    con.execute(ACTIVITY_COUNTS.duckdb_ddl("__empty_activity_counts").replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    return "SELECT *" + (", NULL::VARCHAR AS __row" if numbered else "") + " FROM __empty_activity_counts"


def _built_with(con: duckdb.DuckDBPyConnection, sources: Sequence[str], automated_sql: str) -> str:
    n, h = con.execute(
        f"SELECT count(*), coalesce(sum(hash(source, account_id)::HUGEINT), 0) FROM ({automated_sql})"
    ).fetchone()
    return hashlib.sha256(f"{','.join(sources)}|{n}|{h}|{code_fingerprint()}".encode()).hexdigest()[:32]


def _stage_files(con: duckdb.DuckDBPyConnection, sources: Sequence[str]) -> None:
    """TEMP ``__count_files``: the counter files as they are now, with their rows and hash."""
    rows = _union(sources, numbered=False) if sources else _empty(con, numbered=False)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __count_files AS
        SELECT source, source_file, count(*) AS rows, sum(hash({_CONTENT})::HUGEINT) AS fingerprint
        FROM ({rows}) GROUP BY ALL
        """
    )


def _new_files(con: duckdb.DuckDBPyConnection, built_with: str) -> list[tuple[str, str]] | None:
    """The files to add to the stored table, or ``None`` when everything must be built again."""
    if not all(relation_exists(con, t) for t in (ACTIVITY_COUNTS_TABLE, FILES_TABLE, FRONTIER_TABLE)):
        return None
    if con.execute(f"SELECT count(*) FROM {FILES_TABLE} WHERE built_with IS DISTINCT FROM ?",
                   [built_with]).fetchone()[0]:
        return None
    changed = con.execute(
        f"""
        SELECT count(*) FROM {FILES_TABLE} o
        LEFT JOIN __count_files n ON n.source = o.source AND n.source_file IS NOT DISTINCT FROM o.source_file
        WHERE n.rows IS DISTINCT FROM o.rows OR n.fingerprint IS DISTINCT FROM o.fingerprint
        """
    ).fetchone()[0]
    if changed:
        return None
    new = con.execute(
        f"""
        SELECT n.source, n.source_file FROM __count_files n
        ANTI JOIN {FILES_TABLE} o ON o.source = n.source AND o.source_file IS NOT DISTINCT FROM n.source_file
        ORDER BY 1, 2
        """
    ).fetchall()
    if any(f is None for _, f in new):  # rows without a file name cannot be told apart: build all
        return None
    return new


def _screen(con: duckdb.DuckDBPyConnection, rows_sql: str, automated_sql: str) -> None:
    """TEMP ``__counts_disposed``: every row of ``rows_sql`` with its disposition."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE __raw_counts AS {rows_sql}")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __counts_screened AS
        WITH screened AS (
            SELECT *,
                CASE
                    WHEN trim(account_id) = '' THEN 'account_id: required, found blank'
                    WHEN "count" < 0 THEN 'count: expected a count >= 0, found ' || "count"
                    WHEN period_end < period_start THEN 'period_end: before period_start'
                    WHEN period_start < DATE '{EARLIEST_PLAUSIBLE}'
                        THEN 'period_start: before {EARLIEST_PLAUSIBLE}, expected a real date'
                END AS reject_reason
            FROM __raw_counts
        ),
        first_copy AS (
            SELECT __row FROM screened
            WHERE reject_reason IS NULL
            QUALIFY row_number() OVER (
                PARTITION BY source, account_id, period_start, period_end, action
                ORDER BY source_file DESC NULLS LAST, "count" DESC, account_email NULLS LAST, __row) = 1
        ),
        automated_accounts AS ({automated_sql})
        SELECT s.*,
            CASE
                WHEN s.reject_reason IS NOT NULL THEN 'rejected'
                WHEN f.__row IS NULL THEN 'duplicate'
                WHEN a.account_id IS NOT NULL THEN 'automated'
            END AS screened_out
        FROM screened s
        LEFT JOIN first_copy f USING (__row)
        LEFT JOIN automated_accounts a ON a.source = s.source AND a.account_id = s.account_id
        """
    )
    # Overlapping periods of one account and action: keep a largest set of non-overlapping periods,
    # greedily by earliest end (finest periods first), recursively, only for the few account-action
    # pairs that have an overlap at all.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __counts_disposed AS
        WITH RECURSIVE candidates AS (
            SELECT *, coalesce(max(period_end) OVER (
                PARTITION BY source, account_id, action ORDER BY period_start, period_end, __row
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= period_start, false) AS overlaps_earlier
            FROM __counts_screened WHERE screened_out IS NULL
        ),
        contested AS (
            SELECT c.* FROM candidates c
            SEMI JOIN (SELECT DISTINCT source, account_id, action FROM candidates WHERE overlaps_earlier) g
                ON g.source = c.source AND g.account_id = c.account_id AND g.action = c.action
        ),
        chosen(source, account_id, action, __row, period_end) AS (
            SELECT source, account_id, action, arg_min(__row, (period_end, period_start, __row)), min(period_end)
            FROM contested GROUP BY ALL
            UNION ALL
            SELECT o.source, o.account_id, o.action, arg_min(o.__row, (o.period_end, o.period_start, o.__row)),
                min(o.period_end)
            FROM chosen c JOIN contested o
              ON o.source = c.source AND o.account_id = c.account_id AND o.action = c.action
             AND o.period_start > c.period_end
            GROUP BY ALL
        )
        SELECT s.* EXCLUDE (screened_out),
            CASE
                WHEN s.screened_out IS NOT NULL THEN s.screened_out
                WHEN x.__row IS NOT NULL AND k.__row IS NULL THEN 'overlap'
                ELSE 'kept'
            END AS disposition
        FROM __counts_screened s
        LEFT JOIN contested x ON x.__row = s.__row
        LEFT JOIN chosen k ON k.__row = s.__row
        """
    )


def _reaches_back(con: duckdb.DuckDBPyConnection) -> int:
    """New rows not rejected that start on or before the frontier of their account and action."""
    return con.execute(
        f"""
        SELECT count(*) FROM __counts_screened s
        JOIN {FRONTIER_TABLE} f ON f.source = s.source AND f.account_id = s.account_id AND f.action = s.action
        WHERE s.reject_reason IS NULL AND s.period_start <= f.last_period_end
        """
    ).fetchone()[0]


# Allocation to weeks. Periods of at most 7 days go whole to the week holding most of their
# days (ties: the later week). Longer periods are spread evenly over their days; the integer
# split per week is floor(count * days_in_week / days) plus one unit for the weeks with the
# largest remainders (ties: the earlier week), so the weekly parts sum to the count exactly.
# A period of at most 7 days spans one or two weeks: its week is computed from the days in the
# first one (Monday = 1: 8 - isodow days to its Sunday), without a row per day; only the longer
# periods are expanded to days.
_ALLOCATED_SQL = f"""
    WITH kept AS (
        SELECT *, date_diff('day', period_start, period_end) + 1 AS n_days
        FROM __counts_disposed WHERE disposition = 'kept'
    ),
    short AS (
        SELECT __row, "count", n_days, {date_week_start_sql('period_start')} AS first_week,
            least(n_days, 8 - isodow(period_start)) AS days_first
        FROM kept WHERE n_days <= 7
    ),
    short_allocated AS (
        SELECT __row, CASE WHEN n_days - days_first >= days_first THEN CAST(first_week + INTERVAL 7 DAY AS DATE)
                           ELSE first_week END AS week_start,
            1 AS majority_rank, "count" AS allocated
        FROM short
    ),
    days AS (
        SELECT __row, CAST(unnest(generate_series(
            CAST(period_start AS TIMESTAMP), CAST(period_end AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS day
        FROM kept WHERE n_days > 7
    ),
    week_days AS (
        SELECT __row, {date_week_start_sql('day')} AS week_start, count(*) AS days_in_week
        FROM days GROUP BY ALL
    ),
    shares AS (
        SELECT k.__row, w.week_start, w.days_in_week, k.n_days, k."count",
            k."count" * w.days_in_week // k.n_days AS base,
            k."count" * w.days_in_week % k.n_days AS remainder,
            row_number() OVER (PARTITION BY k.__row ORDER BY w.days_in_week DESC, w.week_start DESC)
                AS majority_rank,
            row_number() OVER (PARTITION BY k.__row ORDER BY
                k."count" * w.days_in_week % k.n_days DESC, w.week_start) AS remainder_rank
        FROM kept k JOIN week_days w USING (__row)
    ),
    allocated AS (
        SELECT __row, week_start, majority_rank,
            base + CASE WHEN remainder_rank <= "count" - sum(base) OVER (PARTITION BY __row) THEN 1 ELSE 0 END
                AS allocated
        FROM shares
        UNION ALL
        SELECT __row, week_start, majority_rank, allocated FROM short_allocated
    )
    -- a zero count keeps one row (its majority week) so that every kept input row is visible
    SELECT k.source, k.account_id, k.account_email, k.action, a.week_start,
        {iso_week_sql('a.week_start')} AS iso_week, CAST(a.allocated AS BIGINT) AS "count",
        k.period_start, k.period_end, k.source_file
    FROM allocated a JOIN kept k USING (__row)
    WHERE a.allocated > 0 OR (k."count" = 0 AND a.majority_rank = 1)
    ORDER BY k.source, k.account_id, k.action, a.week_start
"""

_REJECTS_SQL = """
    INSERT INTO quality.rejects (contract, file, locator, reason, source, excerpt)
    SELECT 'clean.activity_counts', source_file,
           'period=' || period_start || '..' || period_end || ', action=' || action,
           reject_reason, source, 'account_id=' || account_id
    FROM __counts_disposed WHERE disposition = 'rejected'
"""

_FILE_ROWS_SQL = """
    SELECT f.source, f.source_file, f.rows, f.fingerprint,
        coalesce(d.rejected_here, 0) AS rejected_here, coalesce(d.filtered_duplicate, 0) AS filtered_duplicate,
        coalesce(d.filtered_automated, 0) AS filtered_automated, coalesce(d.filtered_overlap, 0) AS filtered_overlap,
        $built_with AS built_with
    FROM __count_files f
    JOIN (
        SELECT source, source_file,
            count(*) FILTER (disposition = 'rejected') AS rejected_here,
            count(*) FILTER (disposition = 'duplicate') AS filtered_duplicate,
            count(*) FILTER (disposition = 'automated') AS filtered_automated,
            count(*) FILTER (disposition = 'overlap') AS filtered_overlap
        FROM __counts_disposed GROUP BY ALL
    ) d ON d.source = f.source AND d.source_file IS NOT DISTINCT FROM f.source_file
"""

_FRONTIER_ROWS_SQL = """
    SELECT source, account_id, action, max(period_end) AS last_period_end
    FROM __counts_screened WHERE reject_reason IS NULL GROUP BY ALL
"""


def _build_all(con: duckdb.DuckDBPyConnection, sources: Sequence[str], automated_sql: str, built_with: str) -> None:
    con.execute("DELETE FROM quality.rejects WHERE contract = 'clean.activity_counts'")
    _screen(con, _union(sources, numbered=True) if sources else _empty(con, numbered=True), automated_sql)
    con.execute(f"CREATE OR REPLACE TABLE {ACTIVITY_COUNTS_TABLE} AS {_ALLOCATED_SQL}")
    con.execute(_REJECTS_SQL)
    con.execute(f"CREATE OR REPLACE TABLE {FILES_TABLE} AS {_FILE_ROWS_SQL} ORDER BY source, source_file",
                {"built_with": built_with})
    con.execute(f"CREATE OR REPLACE TABLE {FRONTIER_TABLE} AS {_FRONTIER_ROWS_SQL}")


def _add_new(con: duckdb.DuckDBPyConnection, new: list[tuple[str, str]], automated_sql: str,
             built_with: str) -> bool:
    """Add the rows of the new files; ``False`` (nothing written) when a new row reaches back."""
    con.execute("CREATE OR REPLACE TEMP TABLE __count_new_files AS "
                "SELECT * FROM (SELECT unnest($s::VARCHAR[]) AS source, unnest($f::VARCHAR[]) AS source_file)",
                {"s": [s for s, _ in new], "f": [f for _, f in new]})
    sources = sorted({s for s, _ in new})
    _screen(con, _union(sources, numbered=True, only_new=True), automated_sql)
    reaching = _reaches_back(con)
    if reaching:
        log.info("%d new counter row(s) start on or before an earlier period of their account and action: "
                 "every counter row is disposed of again", reaching)
        return False
    con.execute(f"INSERT INTO {ACTIVITY_COUNTS_TABLE} {_ALLOCATED_SQL}")
    con.execute(_REJECTS_SQL)
    # only the new files' rows were disposed of: the join keeps only their files
    con.execute(f"INSERT INTO {FILES_TABLE} {_FILE_ROWS_SQL}", {"built_with": built_with})
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {FRONTIER_TABLE} AS
        SELECT source, account_id, action, max(last_period_end) AS last_period_end
        FROM (SELECT * FROM {FRONTIER_TABLE} UNION ALL {_FRONTIER_ROWS_SQL}) GROUP BY ALL
        """
    )
    return True


def build_activity_counts(con: duckdb.DuckDBPyConnection, sources: Sequence[str], automated_sql: str) -> str:
    """Build ``clean.activity_counts`` (and its state tables) from ``raw.<source>_activity_counts``
    of ``sources`` (connector names that have that table), their rejects into ``quality.rejects``
    (``contract = 'clean.activity_counts'``). ``automated_sql``: a query of the automated
    ``(source, account_id)``. Runs inside the caller's transaction.

    Allocation: a period of at most 7 days (M365 ``D7``) goes whole to the week containing most of
    its days (ties: the later week); a longer period is spread evenly over its days, in whole units
    (largest remainder, ties to the earlier week), so the allocated counts sum exactly to the
    reported count; a zero count keeps one row in its majority week. Counter dates are taken as the
    report's own calendar dates (no time-zone shift).

    Returns how it was built: ``"full"``, ``"new files"`` (only the files new since the last
    build were read; see the module docstring) or ``"unchanged"``.
    """
    try:
        built_with = _built_with(con, sources, automated_sql)
        _stage_files(con, sources)
        new = _new_files(con, built_with)
        if new == []:
            log.info("%s: no counter file changed", ACTIVITY_COUNTS_TABLE)
            return "unchanged"
        if new is not None and _add_new(con, new, automated_sql, built_with):
            log.info("%s: %d new counter file(s) added", ACTIVITY_COUNTS_TABLE, len(new))
            return "new files"
        _build_all(con, sources, automated_sql, built_with)
        return "full"
    finally:
        for t in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")
