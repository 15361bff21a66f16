"""Fast, set-based DuckDB checks of contracts: schema, required values and vocabularies, key
uniqueness (strict, or "no conflicting payloads" for raw re-exports), conservation of rows through
the clean layer, referential integrity, and the consistency and privacy floors of the marts.

Every function has the check signature ``(con, context, **parameters) -> CheckOutcome``; the
registry binds the parameters. Table names may hold ``{source}`` (bound from the context). Each
query is one pass over the table (or two, for duplicates): no rows travel to Python except the
few offending ones shown in the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import duckdb
import polars as pl

from quality.outcome import CheckContext, CheckOutcome
from quality.warehouse import (
    discover_sources,
    examples,
    head,
    missing_table,
    quote,
    sql_literal,
    table_exists,
    table_schema,
)
from transforms.contracts import Contract
from transforms.warehouse import register_frame

log = logging.getLogger(__name__)

#: Longest excerpt accepted in quality.rejects: longer ones may carry message text.
MAX_EXCERPT_CHARS = 200


# ---------------------------------------------------------------------------------------------
# schema
# ---------------------------------------------------------------------------------------------


def _compatible(actual: pl.DataType, expected: pl.DataType) -> bool:
    """Same type family: integer widths and time zones may differ, string vs number may not."""
    if actual == expected:
        return True
    if actual.is_integer() and expected.is_integer():
        return True
    if isinstance(actual, pl.Datetime) and isinstance(expected, pl.Datetime):
        return (actual.time_zone is None) == (expected.time_zone is None)
    if isinstance(actual, pl.List) and isinstance(expected, pl.List):
        return _compatible(actual.inner, expected.inner)
    if isinstance(actual, pl.Null):  # an all-null column built by Polars
        return True
    return False


def contract_schema(con: duckdb.DuckDBPyConnection, ctx: CheckContext, *, table: str, contract: Contract) -> CheckOutcome:
    """``table`` exists and carries every column of ``contract`` with a compatible type, and none of
    the contract's forbidden (text) columns. Extra columns are allowed (clean tables add some)."""
    table = ctx.fmt(table)
    if not table_exists(con, table):
        return CheckOutcome(
            False,
            f"{table} does not exist; expected the {contract.name} contract's columns {', '.join(contract.names)}",
            {"table": table},
        )
    schema = table_schema(con, table)
    problems: list[dict[str, str]] = []
    for col in contract.columns:
        expected = col.dtype if isinstance(col.dtype, pl.DataType) else col.dtype()
        if col.name not in schema:
            problems.append({"column": col.name, "problem": "missing", "expected": str(expected), "found": ""})
        elif not _compatible(schema[col.name], expected):
            problems.append({"column": col.name, "problem": "wrong type", "expected": str(expected),
                             "found": str(schema[col.name])})
    for name in schema:
        if name in contract.forbidden:
            problems.append({"column": name, "problem": "forbidden (message text)", "expected": "absent",
                             "found": str(schema[name])})
    meta = {"table": table, "columns": len(schema), "problems": len(problems)}
    if not problems:
        return CheckOutcome(True, f"{table} matches the {contract.name} contract", meta)
    frame = pl.DataFrame(problems)
    described = "; ".join(
        f"{p['column']}: {p['problem']}" + (f" (expected {p['expected']}, found {p['found']})" if p["found"] else
                                            f" (expected {p['expected']})")
        for p in problems[:6]
    )
    return CheckOutcome(False, f"{table} breaks the {contract.name} contract: {described}", meta, frame)


# ---------------------------------------------------------------------------------------------
# required values and closed vocabularies
# ---------------------------------------------------------------------------------------------


def required_and_vocabulary(
    con: duckdb.DuckDBPyConnection,
    ctx: CheckContext,
    *,
    table: str,
    contract: Contract,
    extra_rules: Mapping[str, str] | None = None,
    rows: str | None = None,
) -> CheckOutcome:
    """No null where ``contract`` requires a value, every closed-vocabulary value allowed, and no row
    matching any of ``extra_rules`` (``{"what is wrong": "SQL condition that flags a bad row"}``).
    One aggregate pass over the whole table, or over ``rows`` (a relation with its columns: the part
    not checked before, :mod:`quality.checked_files`)."""
    table = ctx.fmt(table)
    if not table_exists(con, table):
        return missing_table(table, required=False)
    present = set(table_schema(con, table).names())
    rules: dict[str, str] = {}
    for col in contract.columns:
        if col.name not in present:
            continue
        q = quote(col.name)
        if not col.nullable:
            rules[f"{col.name}: required, found empty"] = f"{q} IS NULL"
        if col.allowed is not None:
            values = ", ".join(sql_literal(v) for v in col.allowed)
            rules[f"{col.name}: expected one of {', '.join(col.allowed)}"] = f"{q} IS NOT NULL AND {q} NOT IN ({values})"
    rules.update(extra_rules or {})
    if not rules:
        return CheckOutcome(True, f"{table}: nothing to check", {"table": table})
    counts = _count_rules(con, rows or table, rules)
    return _rules_outcome(con, table, rules, counts, key=contract.key, rows=rows)


def _count_rules(con: duckdb.DuckDBPyConnection, table: str, rules: Mapping[str, str]) -> dict[str, int]:
    selects = ", ".join(f"coalesce(count_if({cond}), 0) AS r{i}" for i, cond in enumerate(rules.values()))
    row = con.execute(f"SELECT count(*), {selects} FROM {table}").fetchone()
    return {"__rows": int(row[0]), **{name: int(n) for name, n in zip(rules, row[1:], strict=True)}}


def _rules_outcome(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rules: Mapping[str, str],
    counts: Mapping[str, int],
    *,
    key: Sequence[str] = (),
    what: str = "row(s)",
    rows: str | None = None,
) -> CheckOutcome:
    relation = rows or table
    rows = counts["__rows"]
    broken = {name: n for name, n in counts.items() if name != "__rows" and n}
    meta: dict[str, object] = {"table": table, "rows": rows, **{f"violations: {k}": v for k, v in broken.items()}}
    if not broken:
        return CheckOutcome(True, f"{table}: {rows} {what}, every rule holds", meta)
    frame = pl.DataFrame({"rule": list(broken), "violations": list(broken.values())})
    first = next(iter(broken))
    sample = ""
    present = set(table_schema(con, relation).names())
    shown = [k for k in key if k in present]
    if shown:
        bad = con.execute(
            f"SELECT {', '.join(quote(k) for k in shown)} FROM {relation} WHERE {rules[first]} LIMIT 3"
        ).pl()
        if bad.height:
            sample = f" (e.g. {examples(bad, shown)})"
    described = "; ".join(f"{n} {what} with {name}" for name, n in broken.items())
    return CheckOutcome(False, f"{table}: {described}{sample}", meta, frame)


# ---------------------------------------------------------------------------------------------
# uniqueness
# ---------------------------------------------------------------------------------------------

#: First pass of the uniqueness checks: the hashes of keys that occur more than once, found by
#: sorting one integer per row (about half the CPU of a hash aggregate over string keys on 10M
#: rows); the exact keys are then compared only for rows with those hashes.
_REPEATED_HASHES = """
    key_hashes AS (SELECT hash({key}) AS key_hash FROM {table}),
    repeated_hashes AS (
        SELECT DISTINCT key_hash FROM (
            SELECT key_hash, lead(key_hash) OVER (ORDER BY key_hash) AS next_hash FROM key_hashes
        ) WHERE key_hash = next_hash
    )"""


def unique_key(
    con: duckdb.DuckDBPyConnection, ctx: CheckContext, *, table: str, key: Sequence[str]
) -> CheckOutcome:
    """Exactly one row per ``key`` in ``table`` (clean and mart tables)."""
    table = ctx.fmt(table)
    if not table_exists(con, table):
        return missing_table(table, required=False)
    cols = ", ".join(quote(k) for k in key)
    dupes = con.execute(
        f"""
        WITH {_REPEATED_HASHES.format(key=cols, table=table)}
        SELECT {cols}, count(*) AS copies
        FROM {table} WHERE hash({cols}) IN (SELECT key_hash FROM repeated_hashes)
        GROUP BY ALL HAVING count(*) > 1
        ORDER BY copies DESC, {cols}
        """
    ).pl()
    meta = {"table": table, "key": ", ".join(key), "duplicate_keys": dupes.height}
    if dupes.height == 0:
        return CheckOutcome(True, f"{table}: one row per ({', '.join(key)})", meta)
    extra = int(dupes["copies"].sum()) - dupes.height
    return CheckOutcome(
        False,
        f"{table}: {dupes.height} duplicate ({', '.join(key)}) key(s), {extra} surplus row(s) "
        f"(e.g. {examples(dupes, [*key, 'copies'])})",
        meta,
        head(dupes),
    )


def conflicting_duplicates(
    con: duckdb.DuckDBPyConnection, ctx: CheckContext, *, table: str, contract: Contract
) -> CheckOutcome:
    """A raw table's key occurs with one payload only.

    Re-exports and overlapping extracts legitimately repeat a row (the clean layer removes the
    copies); a key whose copies differ in any contract column (``source_file`` aside) is a broken
    contract: ids are meant to be stable. Two passes: keys with copies, then their distinct payloads.
    """
    table = ctx.fmt(table)
    if not table_exists(con, table):
        return missing_table(table, required=False)
    present = set(table_schema(con, table).names())
    key = [k for k in contract.key if k in present]
    payload = [c.name for c in contract.columns if c.name not in contract.key and c.name != "source_file"
               and c.name in present]
    if not key or not payload:
        return CheckOutcome(True, f"{table}: no key or payload to compare", {"table": table})
    kcols = ", ".join(quote(k) for k in key)
    conflicts = con.execute(
        f"""
        WITH {_REPEATED_HASHES.format(key=kcols, table=table)}
        SELECT {kcols}, count(DISTINCT hash({', '.join(quote(p) for p in payload)})) AS versions,
               count(*) AS copies
        FROM {table} WHERE hash({kcols}) IN (SELECT key_hash FROM repeated_hashes)
        GROUP BY ALL
        HAVING versions > 1
        ORDER BY versions DESC, {kcols}
        """
    ).pl()
    meta = {"table": table, "key": ", ".join(key), "conflicting_keys": conflicts.height}
    if conflicts.height == 0:
        return CheckOutcome(True, f"{table}: every ({', '.join(key)}) has one payload", meta)
    differing = _differing_columns(con, table, key, payload, conflicts.head(50).select(key))
    meta["differing_columns"] = ", ".join(differing)
    return CheckOutcome(
        False,
        f"{table}: {conflicts.height} duplicate ({', '.join(key)}) id(s) with different payloads"
        + (f" in {', '.join(differing)}" if differing else "")
        + f" (e.g. {examples(conflicts, [*key, 'versions'])})",
        meta,
        head(conflicts),
    )


def _differing_columns(
    con: duckdb.DuckDBPyConnection, table: str, key: Sequence[str], payload: Sequence[str], keys: pl.DataFrame
) -> list[str]:
    """Which payload columns differ between copies of the given keys."""
    kcols = ", ".join(quote(k) for k in key)
    with register_frame(con, "__conflict_keys", keys) as view:
        row = con.execute(
            f"SELECT {', '.join(f'max(n{i})' for i in range(len(payload)))} FROM ("
            f" SELECT {', '.join(f'count(DISTINCT hash({quote(p)})) AS n{i}' for i, p in enumerate(payload))}"
            f" FROM {table} SEMI JOIN {view} USING ({kcols}) GROUP BY {kcols})"
        ).fetchone()
    return [p for p, n in zip(payload, row, strict=True) if n and n > 1]


# ---------------------------------------------------------------------------------------------
# conservation and the clean layer
# ---------------------------------------------------------------------------------------------


def events_conserved(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """Per source and input (events, activity counters): rows in = kept + rejected + every
    ``filtered_*`` column of ``quality.event_conservation``; kept = rows of the clean table (events:
    the kept events counted per account and week in ``clean.event_counts``; counters: distinct (account, period, action) of
    ``clean.activity_counts``); every connector with a raw events or counters table has its row.
    Recomputed here, not read from the table's ``balanced``."""
    table = "quality.event_conservation"
    if not table_exists(con, table):
        return missing_table(table, required=table_exists(con, "clean.events"))
    cols = table_schema(con, table).names()
    needed = {"source", "rows_in", "kept", "rejected"}
    if not needed <= set(cols):
        return CheckOutcome(False, f"{table} lacks column(s) {', '.join(sorted(needed - set(cols)))}", {})
    filtered = [c for c in cols if c.startswith("filtered_")]
    filtered_sum = " + ".join(f"coalesce({quote(c)}, 0)" for c in filtered) or "0"
    input_col = "c.input" if "input" in cols else "'events'"
    clean_counts = []
    if table_exists(con, "clean.event_counts"):
        clean_counts.append(
            "SELECT source, 'events' AS input, sum(events)::BIGINT AS clean_rows FROM clean.event_counts GROUP BY source")
    if table_exists(con, "clean.activity_counts"):
        clean_counts.append(
            "SELECT source, 'activity_counts' AS input, "
            "count(DISTINCT (account_id, period_start, period_end, action)) AS clean_rows "
            "FROM clean.activity_counts GROUP BY source"
        )
    clean_sql = " UNION ALL ".join(clean_counts) or (
        "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS input, 0::BIGINT AS clean_rows LIMIT 0")
    rows = con.execute(
        f"""
        SELECT c.source, {input_col} AS input, c.rows_in, c.kept, c.rejected, {filtered_sum} AS filtered,
               c.rows_in - (c.kept + c.rejected + {filtered_sum}) AS imbalance,
               coalesce(e.clean_rows, 0) AS clean_rows
        FROM {table} c LEFT JOIN ({clean_sql}) e ON e.source = c.source AND e.input = {input_col}
        ORDER BY c.source, input
        """
    ).pl()
    broken = rows.filter((pl.col("imbalance") != 0) | (pl.col("kept") != pl.col("clean_rows")))
    found = discover_sources(con)
    expected = {(s, "events") for s in found["events"]} | {(s, "activity_counts") for s in found["activity_counts"]}
    missing = sorted(expected - set(rows.select("source", "input").iter_rows()))
    meta = {"sources": rows["source"].n_unique(), "rows_in": int(rows["rows_in"].sum()),
            "kept": int(rows["kept"].sum())}
    if broken.height == 0 and not missing:
        return CheckOutcome(True, f"{rows.height} source input(s) balance: rows in = kept + rejected + filtered",
                            meta, rows)
    clean_name = {"events": "clean.events", "activity_counts": "clean.activity_counts"}
    parts = [
        f"{r['source']} {r['input']}: {r['rows_in']} in vs {r['kept']} kept + {r['rejected']} rejected + "
        f"{r['filtered']} filtered"
        + (f", but {clean_name.get(r['input'], r['input'])} holds {r['clean_rows']}"
           if r["kept"] != r["clean_rows"] else "")
        for r in broken.iter_rows(named=True)
    ]
    if missing:
        parts.append("no conservation row for " + ", ".join(f"{s} {i}" for s, i in missing))
    return CheckOutcome(False, "rows not conserved: " + "; ".join(parts), meta, rows)


def clean_events_unique(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """One kept event per (source, event_id) in every week partition of ``clean.events``: the kept
    rows of each partition, counted once more by their distinct ids (``clean.event_partitions``:
    ``kept`` against ``kept_ids``), so the check costs nothing at 100 million events."""
    table = "clean.event_partitions"
    if not table_exists(con, table):
        return missing_table(table, required=False)
    bad = con.execute(
        f"SELECT source, week_start, kept, kept_ids FROM {table} WHERE kept <> kept_ids ORDER BY source, week_start"
    ).pl()
    total = con.execute(f"SELECT coalesce(sum(kept), 0)::BIGINT, count(*) FROM {table}").fetchone()
    meta = {"table": "clean.events", "kept": int(total[0]), "partitions": int(total[1]),
            "partitions_with_duplicates": bad.height}
    if bad.height == 0:
        return CheckOutcome(True, f"clean.events: one row per (source, event_id) in each of {total[1]} "
                            f"week partition(s), {total[0]} event(s)", meta)
    extra = int((bad["kept"] - bad["kept_ids"]).sum())
    return CheckOutcome(False, f"clean.events: {extra} surplus row(s) with a repeated (source, event_id) in "
                        f"{bad.height} week partition(s) (e.g. {examples(bad, ['source', 'week_start'])})",
                        meta, head(bad))


def clean_events_weeks(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """clean.events: ``week_start`` is the Monday of the event's ISO week in the organisation's time
    zone and ``iso_week`` its ``YYYY-Www`` label (checked on ``clean.local_quarters``, which gives
    every event its week: each UTC quarter-hour of the data once, time zone offsets being whole
    quarter-hours); the counts per week are on Mondays; and no event of an automated account is
    counted (``clean.event_counts`` against the accounts tables)."""
    table = "clean.local_quarters"
    if not table_exists(con, table) or not table_exists(con, "clean.event_counts"):
        return missing_table(table, required=False)
    tz = sql_literal(ctx.time_zone)
    checks = {
        "week_start: not a Monday": "isodow(week_start) <> 1",
        "week_start: not the week of the quarter-hour in the organisation's time zone":
            f"date_trunc('week', timezone({tz}, to_timestamp(quarter * 900)))::DATE <> week_start",
        "occurred_on: not the local date of the quarter-hour":
            f"timezone({tz}, to_timestamp(quarter * 900))::DATE <> occurred_on",
        "iso_week: not the YYYY-Www label of week_start": "iso_week <> strftime(week_start, '%G-W%V')",
    }
    sums = ", ".join(f"coalesce(count(*) FILTER ({cond}), 0)::BIGINT" for cond in checks.values())
    row = con.execute(f"SELECT count(*)::BIGINT, {sums} FROM {table}").fetchone()
    counts = {"__rows": int(row[0]), **{name: int(n) for name, n in zip(checks, row[1:], strict=True)}}
    found = discover_sources(con)
    automated = " UNION ".join(f"SELECT '{s}' AS source, account_id FROM raw.{s}_accounts WHERE is_automated"
                               for s in found["accounts"]) or "SELECT NULL AS source, NULL AS account_id WHERE false"
    counts["week_start of the counts: not a Monday"] = int(con.execute(
        "SELECT count(*) FROM clean.event_counts WHERE isodow(week_start) <> 1").fetchone()[0])
    counts["is_automated: automated account's events counted"] = int(con.execute(
        f"SELECT coalesce(sum(c.events), 0) FROM clean.event_counts c JOIN ({automated}) a "
        f"ON a.source = c.source AND a.account_id = c.account_id").fetchone()[0])
    rules = {**checks, "week_start of the counts: not a Monday": "false",
             "is_automated: automated account's events counted": "false"}
    return _rules_outcome(con, table, rules, counts, key=("quarter",))


def hr_intervals_disjoint(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """clean.hr_directory: one row per (employee_id, valid_from), valid_to after valid_from, and an
    employee's validity intervals never overlap."""
    table = "clean.hr_directory"
    if not table_exists(con, table):
        return missing_table(table, required=False)
    bad = con.execute(
        f"""
        WITH ordered AS (
            SELECT employee_id, valid_from, valid_to,
                   lead(valid_from) OVER (PARTITION BY employee_id ORDER BY valid_from, valid_to) AS next_from
            FROM {table}
        )
        SELECT employee_id, valid_from, valid_to, next_from,
               CASE WHEN valid_to IS NOT NULL AND valid_to <= valid_from THEN 'ends before it starts'
                    WHEN next_from = valid_from THEN 'duplicate (employee_id, valid_from)'
                    ELSE 'overlaps the next interval' END AS problem
        FROM ordered
        WHERE (valid_to IS NOT NULL AND valid_to <= valid_from)
           OR (next_from IS NOT NULL AND (valid_to IS NULL OR valid_to > next_from))
        ORDER BY employee_id, valid_from
        """
    ).pl()
    meta = {"table": table, "bad_intervals": bad.height}
    if bad.height == 0:
        return CheckOutcome(True, f"{table}: intervals are disjoint, one row per (employee_id, valid_from)", meta)
    people = bad["employee_id"].n_unique()
    return CheckOutcome(
        False,
        f"{table}: {bad.height} bad interval(s) for {people} employee(s) "
        f"(e.g. {examples(bad, ['employee_id', 'valid_from', 'problem'])})",
        meta,
        head(bad),
    )


def identity_references_hr(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """Every ``employee_id`` that clean.identity_map matched exists in clean.hr_directory."""
    table = "clean.identity_map"
    if not table_exists(con, table):
        return missing_table(table, required=False)
    if not table_exists(con, "clean.hr_directory"):
        return CheckOutcome(False, f"{table} is built but clean.hr_directory does not exist", {})
    orphans = con.execute(
        f"""
        SELECT source, employee_id, count(*) AS accounts
        FROM {table} ANTI JOIN (SELECT DISTINCT employee_id FROM clean.hr_directory) USING (employee_id)
        WHERE employee_id IS NOT NULL
        GROUP BY ALL ORDER BY source, employee_id
        """
    ).pl()
    meta = {"orphan_employee_ids": orphans.height}
    if orphans.height == 0:
        return CheckOutcome(True, "every matched account points at an employee of clean.hr_directory", meta)
    return CheckOutcome(
        False,
        f"{table}: {orphans.height} matched employee_id(s) not in clean.hr_directory "
        f"(e.g. {examples(orphans, ['source', 'employee_id'])})",
        meta,
        head(orphans),
    )


# ---------------------------------------------------------------------------------------------
# marts
# ---------------------------------------------------------------------------------------------


def person_week_consistent(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """marts.person_week: tier counts add up, activity states follow the tiers, weeks are Mondays
    with their ISO label, nobody is counted before they were eligible."""
    table = "marts.person_week"
    if not table_exists(con, table):
        return missing_table(table, required=False)
    present = set(table_schema(con, table).names())
    candidate = {
        "actions_total: not passive + reaction + contribution":
            ("actions_total <> actions_passive + actions_reaction + actions_contribution",
             {"actions_total", "actions_passive", "actions_reaction", "actions_contribution"}),
        "actions: negative": ("least(actions_passive, actions_reaction, actions_contribution) < 0",
                              {"actions_passive", "actions_reaction", "actions_contribution"}),
        "is_active: not actions_total > 0": ("is_active <> (actions_total > 0)", {"is_active", "actions_total"}),
        "is_engaged: not reaction + contribution > 0":
            ("is_engaged <> (actions_reaction + actions_contribution > 0)",
             {"is_engaged", "actions_reaction", "actions_contribution"}),
        "is_contributor: not contribution > 0":
            ("is_contributor <> (actions_contribution > 0)", {"is_contributor", "actions_contribution"}),
        "week_start: not a Monday": ("isodow(week_start) <> 1", {"week_start"}),
        "iso_week: not the YYYY-Www label of week_start":
            ("iso_week <> strftime(week_start, '%G-W%V')", {"iso_week", "week_start"}),
        "first_active_week: after an active week":
            ("is_active AND (first_active_week IS NULL OR first_active_week > week_start)",
             {"is_active", "first_active_week", "week_start"}),
    }
    rules = {name: cond for name, (cond, needs) in candidate.items() if needs <= present}
    return _rules_outcome(con, table, rules, _count_rules(con, table, rules), key=("person_key", "week_start"),
                          what="person-week(s)")


def adoption_curve_consistent(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """marts.adoption_curve: contributors <= engaged <= active <= eligible, active <= ever_active,
    every rate = its count / eligible, suppressed cells show no figure, and no published cell
    describes fewer than ``min_group_size`` people (the privacy floor)."""
    table = "marts.adoption_curve"
    if not table_exists(con, table):
        return missing_table(table, required=False)
    present = set(table_schema(con, table).names())
    k = ctx.min_group_size
    candidate: dict[str, tuple[str, set[str]]] = {
        "contributors > engaged": ("contributors > engaged", {"contributors", "engaged"}),
        "engaged > active": ("engaged > active", {"engaged", "active"}),
        "active > eligible": ("active > eligible", {"active", "eligible"}),
        "active > ever_active": ("active > ever_active", {"active", "ever_active"}),
        "ever_active > eligible": ("ever_active > eligible", {"ever_active", "eligible"}),
        f"published cell under min_group_size={k}":
            (f"NOT coalesce(suppressed, false) AND eligible < {k}", {"suppressed", "eligible"}),
        "suppressed cell shows a figure":
            ("suppressed AND (eligible IS NOT NULL OR active IS NOT NULL OR active_rate IS NOT NULL)",
             {"suppressed", "eligible", "active", "active_rate"}),
    }
    for count, rate in (("active", "active_rate"), ("engaged", "engaged_rate"),
                        ("contributors", "contributor_rate"), ("ever_active", "ever_active_rate")):
        candidate[f"{rate}: not {count} / eligible"] = (
            f"eligible > 0 AND abs({rate} - {count} / eligible) > 1e-9", {rate, count, "eligible"})
        candidate[f"{rate}: outside [0, 1]"] = (f"{rate} < 0 OR {rate} > 1", {rate})
    rules = {name: cond for name, (cond, needs) in candidate.items() if needs <= present}
    return _rules_outcome(con, table, rules, _count_rules(con, table, rules),
                          key=("week_start", "population_type", "population"), what="cell(s)")


def pilot_effects_consistent(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """marts.pilot_effects: ci_low <= estimate <= ci_high, se >= 0, pre-trend p in [0, 1], and both
    arms of every comparison hold at least ``min_group_size`` units (the privacy floor)."""
    table = "marts.pilot_effects"
    if not table_exists(con, table):
        return missing_table(table, required=False)
    present = set(table_schema(con, table).names())
    k = ctx.min_group_size
    candidate: dict[str, tuple[str, set[str]]] = {
        "estimate outside [ci_low, ci_high]":
            ("estimate < ci_low - 1e-9 OR estimate > ci_high + 1e-9", {"estimate", "ci_low", "ci_high"}),
        "ci_low > ci_high": ("ci_low > ci_high", {"ci_low", "ci_high"}),
        "se: negative": ("se < 0", {"se"}),
        "pre_trend_p: outside [0, 1]": ("pre_trend_p < 0 OR pre_trend_p > 1", {"pre_trend_p"}),
        f"n_treated under min_group_size={k}": (f"n_treated < {k}", {"n_treated"}),
        f"n_control under min_group_size={k}": (f"n_control < {k}", {"n_control"}),
    }
    rules = {name: cond for name, (cond, needs) in candidate.items() if needs <= present}
    if not rules:
        return CheckOutcome(True, f"{table}: no checkable column", {"table": table})
    return _rules_outcome(con, table, rules, _count_rules(con, table, rules),
                          key=("cohort", "metric", "estimator"), what="estimate(s)")


# ---------------------------------------------------------------------------------------------
# quarantine
# ---------------------------------------------------------------------------------------------


def source_rejects(con: duckdb.DuckDBPyConnection, ctx: CheckContext, *, source: str) -> CheckOutcome:
    """Rows of ``source`` quarantined in quality.rejects, by file and reason.

    Fails (a warning) when there are any, naming the files and reasons; also flags rejects missing
    their provenance (file, locator, reason) or carrying an excerpt long enough to hold text.
    """
    source = ctx.fmt(source)
    table = "quality.rejects"
    if not table_exists(con, table):
        return missing_table(table, required=False)
    by_file = con.execute(
        f"""
        SELECT coalesce(file, '(no file)') AS file, reason, count(*) AS rows,
               count_if(file IS NULL OR locator IS NULL OR reason IS NULL)::BIGINT AS without_provenance,
               count_if(length(excerpt) > {MAX_EXCERPT_CHARS})::BIGINT AS long_excerpts
        FROM {table} WHERE source = ?
        GROUP BY ALL ORDER BY rows DESC, file, reason
        """,
        [source],
    ).pl()
    total = int(by_file["rows"].sum()) if by_file.height else 0
    meta = {"source": source, "rejected_rows": total, "files": by_file["file"].n_unique() if total else 0}
    if total == 0:
        return CheckOutcome(True, f"{source}: no row quarantined", meta)
    shown = "; ".join(f"{r['rows']} in {r['file']} ({r['reason']})" for r in by_file.head(3).iter_rows(named=True))
    more = f"; and {by_file.height - 3} more file/reason group(s)" if by_file.height > 3 else ""
    notes = []
    if (n := int(by_file["without_provenance"].sum())) > 0:
        notes.append(f"{n} without file/locator/reason")
    if (n := int(by_file["long_excerpts"].sum())) > 0:
        notes.append(f"{n} with an excerpt over {MAX_EXCERPT_CHARS} characters (may hold text)")
    note = f" [{'; '.join(notes)}]" if notes else ""
    return CheckOutcome(False, f"{source}: {total} row(s) quarantined: {shown}{more}{note}", meta, head(by_file))


def rejects_provenance(con: duckdb.DuckDBPyConnection, ctx: CheckContext) -> CheckOutcome:
    """Every row of quality.rejects says where it came from and why: ``source``, ``file``,
    ``locator`` and ``reason`` filled, and an ``excerpt`` short enough not to carry message text."""
    table = "quality.rejects"
    if not table_exists(con, table):
        return missing_table(table, required=False)
    rules = {
        "source: empty": "source IS NULL OR source = ''",
        "file: empty": "file IS NULL OR file = ''",
        "locator: empty": "locator IS NULL OR locator = ''",
        "reason: empty": "reason IS NULL OR reason = ''",
        f"excerpt: over {MAX_EXCERPT_CHARS} characters (may hold text)": f"length(excerpt) > {MAX_EXCERPT_CHARS}",
    }
    return _rules_outcome(con, table, rules, _count_rules(con, table, rules), key=("source", "file", "locator"),
                          what="reject(s)")
