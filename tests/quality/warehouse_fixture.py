"""A small hand-made warehouse with every table the quality checks read, clean by construction,
with figures simple enough to compute by hand:

- 30 employees E001..E030 (E001 at the top; E002..E005 report to E001; the rest to E002..E005),
  one HR extract on 2026-01-05 and one on 2026-02-02, identical; in clean.hr_directory E028 has no
  email and E029 no site;
- 8 ISO weeks from Monday 2026-01-05 (organisation time zone Europe/Paris);
- slack: every working day each of the 30 accounts acts once (30 events), weekends 2 events;
  plus 3 exact re-exported copies and 5 bot events -> raw 1240 rows, clean 1232;
- mattermost: 20 events every working day for accounts M001..M020 -> 800 rows;
- m365_usage: weekly activity counters for 10 accounts;
- KPI feed: first_response_hours (teams T1..T3, values 10/11/12 hours) and resolution_rate
  (sites, 0.8), weekly, up to the week ending 2026-03-01;
- clean.employee_week: the 30 employees eligible in each of the 8 weeks, none back-filled;
- person_week, adoption_curve and pilot_effects consistent with the above.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from quality.outcome import CheckOutcome
from quality.runner import run_checks
from transforms.clean_events import build_clean_events
from transforms.contracts import ACCOUNTS, ACTIVITY_COUNTS, EVENTS, HR_DIRECTORY, HR_SNAPSHOTS, KPI_VALUES, REJECTS
from transforms.contracts.actions import action_tier_sql_case
from transforms.contracts.config import Charters, KpiDefinition, KpiRegistry, PilotCohort, Pilots, Settings

FIRST_MONDAY = dt.date(2026, 1, 5)
WEEKS = 8
LAST_DAY = FIRST_MONDAY + dt.timedelta(days=7 * WEEKS - 1)  # Sunday 2026-03-01
EMPLOYEES = 30
SLACK_RAW_ROWS = 1240
SLACK_CLEAN_ROWS = 1232
MATTERMOST_ROWS = 800

SETTINGS = Settings(organisation="Test Org", time_zone="Europe/Paris", platform_launch=FIRST_MONDAY,
                    identity_match_threshold=0.9, min_group_size=5)
PILOTS = Pilots(cohorts=[PilotCohort(name="wave-1", wave=1, start=dt.date(2026, 2, 2),
                                     employee_ids=[f"E{i:03d}" for i in range(1, 11)])])
REGISTRY = KpiRegistry(kpis=[
    KpiDefinition(name="first_response_hours", description="hours to first response", unit="hours",
                  unit_type="team", direction="lower_is_better", source="ServiceDesk",
                  expected_range=(0, 200), max_delay_days=14),
    KpiDefinition(name="resolution_rate", description="share resolved", unit="percent", unit_type="site",
                  direction="higher_is_better", source="ServiceDesk", expected_range=(0, 1), max_delay_days=14),
])
CHARTERS = Charters(communities=[])


def build_warehouse(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Create every table of the hand-made warehouse on ``con``; return ``con``."""
    for schema in ("raw", "clean", "marts", "quality"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute("CREATE TABLE raw.settings (name VARCHAR PRIMARY KEY, body JSON)")
    for name, model in (("settings", SETTINGS), ("pilots", PILOTS), ("kpi_registry", REGISTRY),
                        ("charters", CHARTERS)):
        con.execute("INSERT INTO raw.settings VALUES (?, ?)", [name, model.model_dump_json()])
    con.execute(REJECTS.duckdb_ddl("quality.rejects"))

    # ---- calendar and people --------------------------------------------------------------
    con.execute(f"""
        CREATE TEMP TABLE days AS
        SELECT d::DATE AS day, row_number() OVER (ORDER BY d) - 1 AS day_index, isodow(d) AS weekday
        FROM generate_series(DATE '{FIRST_MONDAY}', DATE '{LAST_DAY}', INTERVAL 1 DAY) t(d)
    """)
    con.execute(f"""
        CREATE TEMP TABLE people AS
        SELECT i, printf('E%03d', i) AS employee_id,
               CASE WHEN i = 1 THEN NULL WHEN i <= 5 THEN 'E001' ELSE printf('E%03d', (i - 6) % 4 + 2) END
                   AS manager_id,
               CASE WHEN i % 2 = 1 THEN 'PARIS' ELSE 'LYON' END AS site,
               CASE WHEN i % 3 = 0 THEN 'OPS' ELSE 'SALES' END AS department,
               printf('T%d', i % 3 + 1) AS org_unit
        FROM range(1, {EMPLOYEES + 1}) t(i)
    """)

    # ---- HR ---------------------------------------------------------------------------------
    con.execute(HR_SNAPSHOTS.duckdb_ddl("raw.hr_csv_hr_snapshots"))
    con.execute("""
        INSERT INTO raw.hr_csv_hr_snapshots BY NAME
        SELECT s.snapshot_date, employee_id, lower(employee_id) || '@northwind.example' AS email,
               lower(employee_id) || '@northwind.example' AS upn, []::VARCHAR[] AS aliases,
               'Person ' || employee_id AS display_name, manager_id, department, org_unit, site, 'FR' AS country,
               'engineering' AS job_family, 'office' AS worker_type,
               (CASE WHEN i = 1 THEN 1 WHEN i <= 5 THEN 2 ELSE 3 END)::SMALLINT AS level,
               DATE '2020-01-01' AS hire_date, NULL::DATE AS termination_date,
               'hr_' || s.snapshot_date || '.csv' AS source_file
        FROM people, (VALUES (DATE '2026-01-05'), (DATE '2026-02-02')) s(snapshot_date)
    """)
    con.execute(HR_DIRECTORY.duckdb_ddl("clean.hr_directory"))
    con.execute("""
        INSERT INTO clean.hr_directory BY NAME
        SELECT * EXCLUDE (snapshot_date, source_file, email, site),
               CASE WHEN employee_id = 'E028' THEN NULL ELSE email END AS email,
               CASE WHEN employee_id = 'E029' THEN NULL ELSE site END AS site,
               snapshot_date AS valid_from, NULL::DATE AS valid_to, false AS backfilled
        FROM raw.hr_csv_hr_snapshots WHERE snapshot_date = DATE '2026-01-05'
    """)
    con.execute("""
        CREATE TABLE clean.hr_extracts AS
        SELECT 'hr_csv' AS source, snapshot_date, count(*) AS rows_listed
        FROM raw.hr_csv_hr_snapshots GROUP BY ALL ORDER BY snapshot_date
    """)
    con.execute("""
        CREATE TABLE clean.employee_week AS
        SELECT p.employee_id, w.week_start, true AS is_eligible, false AS hr_backfilled
        FROM people p, (SELECT DISTINCT date_trunc('week', day)::DATE AS week_start FROM days) w
        ORDER BY w.week_start, p.employee_id
    """)

    # ---- platform events --------------------------------------------------------------------
    con.execute(EVENTS.duckdb_ddl("raw.slack_events"))
    con.execute(ACCOUNTS.duckdb_ddl("raw.slack_accounts"))
    con.execute("""
        INSERT INTO raw.slack_events BY NAME
        WITH human AS (
            SELECT 'slack' AS source, printf('s-%s-%03d', day, p.i) AS event_id,
                   (day::TIMESTAMP + INTERVAL 10 HOUR + p.i * INTERVAL 1 MINUTE)::TIMESTAMPTZ AS occurred_at,
                   printf('U%03d', p.i) AS account_id, lower(p.employee_id) || '@northwind.example' AS account_email,
                   ['post', 'react', 'read', 'reply', 'visit'][(p.i + day_index) % 5 + 1] AS action,
                   'C01' AS space_id, false AS is_automated, 42::INTEGER AS body_chars,
                   'export.zip' AS source_file
            FROM days JOIN people p ON weekday <= 5 OR p.i <= 2
        )
        SELECT * FROM human
        UNION ALL SELECT * FROM human WHERE event_id IN ('s-2026-01-12-001', 's-2026-01-12-002', 's-2026-01-12-003')
        UNION ALL
        SELECT 'slack', printf('bot-%d', b), TIMESTAMPTZ '2026-01-07 09:00:00+00' + to_minutes(b), 'UBOT', NULL, 'post', 'C01',
               true, 10, 'export.zip'
        FROM range(5) t(b)
    """)
    con.execute("""
        INSERT INTO raw.slack_accounts BY NAME
        SELECT 'slack' AS source, printf('U%03d', i) AS account_id,
               lower(employee_id) || '@northwind.example' AS account_email, false AS is_automated,
               false AS is_deleted
        FROM people
        UNION ALL SELECT 'slack', 'UBOT', NULL, true, false
    """)
    con.execute(EVENTS.duckdb_ddl("raw.mattermost_events"))
    con.execute("""
        INSERT INTO raw.mattermost_events BY NAME
        SELECT 'mattermost' AS source, printf('m-%s-%03d', day, p.i) AS event_id,
               (day::TIMESTAMP + INTERVAL 13 HOUR)::TIMESTAMPTZ AS occurred_at, printf('M%03d', p.i) AS account_id,
               'post' AS action, false AS is_automated
        FROM days JOIN people p ON weekday <= 5 AND p.i <= 20
    """)
    con.execute(ACTIVITY_COUNTS.duckdb_ddl("raw.m365_usage_activity_counts"))
    con.execute("""
        INSERT INTO raw.m365_usage_activity_counts BY NAME
        SELECT 'm365_usage' AS source, printf('u%03d@northwind.example', p.i) AS account_id,
               day AS period_start, day + 6 AS period_end, 'post' AS action, 3::BIGINT AS count
        FROM days JOIN people p ON weekday = 1 AND p.i <= 10
    """)

    # ---- clean events and conservation: the real clean layer on the raw tables ----------------
    rebuild_clean(con)

    # ---- identity ------------------------------------------------------------------------------
    con.execute("""
        CREATE TABLE clean.identity_map AS
        SELECT 'slack' AS source, printf('U%03d', i) AS account_id, employee_id, 'account_email' AS matched_rule,
               'matched' AS status FROM people
        UNION ALL SELECT 'slack', 'UBOT', NULL, NULL, 'automated'
        UNION ALL SELECT 'mattermost', printf('M%03d', i), employee_id, 'account_email', 'matched'
        FROM people WHERE i <= 20
    """)
    con.execute("""
        CREATE TABLE quality.identity_match_report AS
        SELECT * FROM (VALUES ('mattermost', 20, 20, 20, 1.0::DOUBLE), ('slack', 31, 30, 30, 1.0::DOUBLE))
            t(source, accounts, human_accounts, matched, match_rate)
    """)

    # ---- KPI feed --------------------------------------------------------------------------------
    con.execute(KPI_VALUES.duckdb_ddl("raw.kpi_values"))
    con.execute("""
        INSERT INTO raw.kpi_values BY NAME
        SELECT 'first_response_hours' AS kpi, 'team' AS unit_type, printf('T%d', t) AS unit_id,
               day AS period_start, day + 6 AS period_end, (9 + t)::DOUBLE AS value, 'kpis.csv' AS source_file
        FROM days, range(1, 4) r(t) WHERE weekday = 1
        UNION ALL
        SELECT 'resolution_rate', 'site', s, day, day + 6, 0.8, 'kpis.csv'
        FROM days, (VALUES ('PARIS'), ('LYON')) v(s) WHERE weekday = 1
    """)

    # ---- marts ------------------------------------------------------------------------------------
    tier = action_tier_sql_case("e.action")
    con.execute(f"""
        CREATE TABLE marts.person_week AS
        WITH weeks AS (SELECT day AS week_start FROM days WHERE weekday = 1),
        acts AS (
            SELECT i.employee_id, e.week_start,
                   count_if({tier} = 'passive')::BIGINT AS actions_passive,
                   count_if({tier} = 'reaction')::BIGINT AS actions_reaction,
                   count_if({tier} = 'contribution')::BIGINT AS actions_contribution
            FROM clean.events e JOIN clean.identity_map i USING (source, account_id)
            GROUP BY ALL
        ),
        grid AS (
            SELECT p.*, w.week_start, coalesce(a.actions_passive, 0) AS actions_passive,
                   coalesce(a.actions_reaction, 0) AS actions_reaction,
                   coalesce(a.actions_contribution, 0) AS actions_contribution
            FROM people p CROSS JOIN weeks w LEFT JOIN acts a USING (employee_id, week_start)
        )
        SELECT 'pk_' || md5(employee_id)[:16] AS person_key, week_start,
               strftime(week_start, '%G-W%V') AS iso_week,
               CASE WHEN manager_id IS NULL THEN NULL ELSE 'pk_' || md5(manager_id)[:16] END AS manager_key,
               department, org_unit, site, 'FR' AS country, 'engineering' AS job_family, 'office' AS worker_type,
               (CASE WHEN i = 1 THEN 1 WHEN i <= 5 THEN 2 ELSE 3 END)::SMALLINT AS level, '5-10y' AS tenure_band,
               i <= 5 AS is_manager,
               (SELECT count(*) FROM people r WHERE r.manager_id = g.employee_id)::INTEGER AS direct_reports,
               DATE '2026-01-05' AS eligible_from, true AS has_account,
               actions_passive, actions_reaction, actions_contribution,
               actions_passive + actions_reaction + actions_contribution AS actions_total,
               actions_passive + actions_reaction + actions_contribution > 0 AS is_active,
               actions_reaction + actions_contribution > 0 AS is_engaged,
               actions_contribution > 0 AS is_contributor,
               min(CASE WHEN actions_passive + actions_reaction + actions_contribution > 0 THEN week_start END)
                   OVER (PARTITION BY employee_id) AS first_active_week,
               CASE WHEN i <= 10 THEN 'wave-1' END AS pilot_cohort,
               CASE WHEN i <= 10 THEN 1 END::SMALLINT AS pilot_wave,
               CASE WHEN i <= 10 THEN DATE '2026-02-02' END AS pilot_start_week,
               CASE WHEN i > 10 THEN NULL WHEN week_start < DATE '2026-02-02' THEN 'pre' ELSE 'during' END
                   AS pilot_status,
               CASE WHEN i <= 10 THEN 'high' END AS pilot_support_level
        FROM grid g
    """)
    con.execute("""
        CREATE TABLE marts.adoption_curve AS
        WITH cells AS (
            SELECT week_start, any_value(iso_week) AS iso_week, 'organisation' AS population_type,
                   'all' AS population, count(*) AS eligible, count_if(is_active) AS active,
                   count_if(is_engaged) AS engaged, count_if(is_contributor) AS contributors,
                   count_if(first_active_week <= week_start) AS ever_active
            FROM marts.person_week GROUP BY week_start
            UNION ALL
            SELECT week_start, any_value(iso_week), 'site', site, count(*), count_if(is_active),
                   count_if(is_engaged), count_if(is_contributor), count_if(first_active_week <= week_start)
            FROM marts.person_week GROUP BY week_start, site
        )
        SELECT *, active / eligible AS active_rate, engaged / eligible AS engaged_rate,
               contributors / eligible AS contributor_rate, ever_active / eligible AS ever_active_rate,
               false AS suppressed, 'activity' AS kind
        FROM cells
        UNION ALL
        SELECT week_start, iso_week, 'department', 'TINY', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               true, 'activity'
        FROM (SELECT DISTINCT week_start, iso_week FROM marts.person_week)
    """)
    con.execute("""
        CREATE TABLE marts.pilot_effects AS
        SELECT * FROM (VALUES
            ('wave-1', 'active_rate', 'activity', 'did', 0.10, 0.02, 0.18, 0.04, 10, 20, 0.6),
            ('wave-1', 'active_rate', 'activity', 'naive', 0.15, 0.05, 0.25, 0.05, 10, 20, NULL)
        ) t(cohort, metric, kind, estimator, estimate, ci_low, ci_high, se, n_treated, n_control, pre_trend_p)
    """)
    return con


def rebuild_clean(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build the clean events, counters and conservation from the raw tables, as the pipeline
    does; a test plants a fault in the raw rows and calls this."""
    build_clean_events(con, ["slack", "mattermost", "m365_usage"], SETTINGS)


def delete_events(con: duckdb.DuckDBPyConnection, source: str, where: str) -> None:
    """Plant a fault where it happens in practice: events of ``source`` missing from its export
    (raw rows deleted), then the clean layer rebuilt over the raw tables."""
    con.execute(f"DELETE FROM raw.{source}_events WHERE {where}")
    rebuild_clean(con)


def warehouse_file(path: Path) -> Path:
    """The hand-made warehouse written to a DuckDB file at ``path``."""
    con = duckdb.connect(str(path))
    try:
        build_warehouse(con)
    finally:
        con.close()
    return path


def outcome_of(con: duckdb.DuckDBPyConnection, name: str) -> CheckOutcome:
    """The outcome of the one check named ``name``."""
    outcomes = run_checks(con, only=[name])
    assert [o.check for o in outcomes] == [name], [o.check for o in outcomes]
    return outcomes[0]
