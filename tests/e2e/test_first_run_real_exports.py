"""Issue 18 acceptance on real public exports: an organisation's first run, as docs/drop_zone.md
describes it. The drop zone holds the real Slack exports (``../shared/realdata/slack`` and the
zulip/zulip sample of ``tests/fixtures/realdata``), the real Mattermost bulk export, one HR extract
made from their user lists and dated after the last message, and no pilot, KPI or charter.

The run succeeds, every (person, emoji) reaction counted with plain ``json`` from the files is one
react event, employment before the extract is back-filled from hire dates (and said so), and the
report has none of the first-run defects."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from quality.runner import run_checks
from tests.conftest import REPO, SHARED, uptake_cli
from tests.e2e.first_run import page_text, report_defects, write_hr_extract

pytestmark = pytest.mark.xdist_group("first_run_real")

SLACK_ZIP = SHARED / "realdata" / "slack" / "hfaran_testarchive.zip"
SLACK_DIR = REPO / "tests" / "fixtures" / "realdata" / "slack" / "zulip_test_slack_importer"
MATTERMOST = SHARED / "realdata" / "mattermost" / "mm5_bulk_export" / "export.jsonl"
EXTRACT_DATE = dt.date(2019, 4, 1)  # after the last message of the three exports (March 2019)
HIRED = dt.date(2015, 6, 1)
DOMAIN = "firstrun.example"


def _slack_users() -> list[dict]:
    with zipfile.ZipFile(SLACK_ZIP) as zf:
        zipped = json.loads(zf.read("users.json"))
    return zipped + json.loads((SLACK_DIR / "users.json").read_text(encoding="utf-8"))


def _mattermost_lines() -> list[dict]:
    return [json.loads(line) for line in MATTERMOST.read_text(encoding="utf-8").splitlines() if line.strip()]


def _people() -> list[dict[str, str]]:
    """HR's view of everyone: Slack handles as the e-mail's local part, Mattermost's own e-mails."""
    slack = [{"employee_id": f"E{i:03d}", "email": f"{u['name']}@{DOMAIN}"}
             for i, u in enumerate(u for u in _slack_users() if not u.get("is_bot"))]
    mm = [{"employee_id": f"E{100 + i:03d}", "email": o["user"]["email"]}
          for i, o in enumerate(o for o in _mattermost_lines() if o["type"] == "user")]
    return slack + mm


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, secret_file: Path) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("first_run_real")
    raw = base / "raw"
    (raw / "platforms" / "slack").mkdir(parents=True)
    shutil.copy(SLACK_ZIP, raw / "platforms" / "slack" / SLACK_ZIP.name)
    shutil.copytree(SLACK_DIR, raw / "platforms" / "slack" / SLACK_DIR.name)
    (raw / "platforms" / "mattermost").mkdir(parents=True)
    shutil.copy(MATTERMOST, raw / "platforms" / "mattermost" / "export.jsonl")
    write_hr_extract(raw / "hr", EXTRACT_DATE, _people(), hired=HIRED)
    (raw / "settings.yaml").write_text(
        "organisation: First Run Org\n"
        "time_zone: UTC\n"
        "platform_launch: 2015-06-01\n"
        f"email_domains: [{DOMAIN}]\n"
        "identity_rules:\n"
        "  - {account_field: account_email, hr_field: email}\n"
        "  - {account_field: username, hr_field: email}\n",
        encoding="utf-8",
    )
    warehouse, reports = base / "warehouse.duckdb", base / "reports"
    proc = uptake_cli("run", "--raw", str(raw), "--warehouse", str(warehouse), "--reports", str(reports),
                      env={"UPTAKE_SECRET_FILE": str(secret_file)})
    assert proc.stdout.strip().endswith(".html"), proc.stdout
    return raw, warehouse, Path(proc.stdout.strip().splitlines()[-1])


def _independent_reactions() -> Counter:
    """(source, account, emoji) -> reactions, read with plain json from the exports."""
    counts: Counter = Counter()
    with zipfile.ZipFile(SLACK_ZIP) as zf:
        day_files = [(n, json.loads(zf.read(n))) for n in zf.namelist() if n.count("/") == 1 and n.endswith(".json")]
    day_files += [(str(p), json.loads(p.read_text(encoding="utf-8"))) for p in sorted(SLACK_DIR.glob("*/*.json"))]
    for _, messages in day_files:
        for m in messages:
            if m.get("hidden") or m.get("subtype") == "tombstone":
                continue
            for r in m.get("reactions") or []:
                for user in set(r["users"]):
                    counts[("slack", user, r["name"])] += 1
    for line in _mattermost_lines():
        post = line.get("post") or line.get("direct_post")
        for message in [post, *((post or {}).get("replies") or [])] if post else []:
            for r in message.get("reactions") or []:
                counts[("mattermost", r["user"], r["emoji_name"])] += 1
    return counts


def test_the_run_succeeds_and_counts_every_reaction(first_run) -> None:
    _, warehouse, _ = first_run
    expected = _independent_reactions()
    assert sum(expected.values()) == 10  # 1 in the Slack archive, 9 in the Mattermost export
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT source, account_id, reaction, count(*) FROM clean.events WHERE action = 'react' GROUP BY ALL"
        ).fetchall()
        balanced = con.execute("SELECT bool_and(balanced) FROM quality.event_conservation").fetchone()[0]
    assert Counter({(s, a, e): n for s, a, e, n in rows}) == expected
    assert balanced


def test_history_before_the_single_extract_is_back_filled_and_flagged(first_run) -> None:
    _, warehouse, _ = first_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        first_week, extract_week = con.execute(
            "SELECT min(week_start), max(week_start) FROM marts.person_week").fetchone()
        backfilled = con.execute("SELECT count(*) FROM clean.employee_week WHERE hr_backfilled AND is_eligible"
                                 ).fetchone()[0]
        matched = con.execute("SELECT count(*) FROM clean.identity_map WHERE status = 'matched'").fetchone()[0]
        (warning,) = run_checks(con, only=["hr_backfilled_weeks"])
    # the weeks start with the first message (January 2016), three years before the extract
    assert first_week == dt.date(2016, 1, 11) and extract_week == dt.date(2019, 4, 1)
    assert backfilled > 0
    assert matched == len(_people())
    assert not warning.passed and warning.severity.value == "warn"
    assert warning.message.startswith(f"{backfilled} of ")
    assert f"before the first HR extract ({EXTRACT_DATE})" in warning.message


def test_the_report_has_none_of_the_first_run_defects(first_run) -> None:
    _, _, report = first_run
    page = report.read_text(encoding="utf-8")
    assert report_defects(page) == []
    text = page_text(page)
    for file in ("pilots.yaml", "charters.yaml", "kpi_registry.yaml", "kpis/*.csv"):
        assert file in text, file
    assert "contributors (posted, replied, shared or uploaded)" in text
    assert "Nothing was received from" in text and "viva_engage" in text


def test_no_email_name_or_text_reaches_a_mart(first_run) -> None:
    _, warehouse, _ = first_run
    identifying = {p["email"] for p in _people()} | {u["name"] for u in _slack_users()}
    identifying |= {u.get("real_name") for u in _slack_users() if u.get("real_name")}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
        for table in tables:
            cols = [c for c, t in con.execute(f"SELECT column_name, data_type FROM information_schema.columns "
                                              f"WHERE table_schema = 'marts' AND table_name = '{table}'").fetchall()
                    if t == "VARCHAR"]
            for col in cols:
                values = {v for (v,) in con.execute(f'SELECT DISTINCT "{col}" FROM marts.{table}').fetchall()}
                assert not (values & identifying), (table, col)
