"""Issue 2 acceptance through the real CLI: determinism of `uptake simulate`, `uptake run` end to
end, `uptake report`, `uptake connectors`, and clear failures."""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pytest

from tests.conftest import E2E_EMPLOYEES, SimulatedRun, uptake_cli

pytestmark = pytest.mark.xdist_group("e2e")


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_simulate_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    for out, seed in ((a, "1"), (b, "1"), (c, "2")):
        uptake_cli("simulate", "--out", str(out), "--employees", "500", "--weeks", "20", "--seed", seed)
    assert _tree(a) == _tree(b)
    files = [p for p in _tree(a) if (a / p).is_file()]
    assert len(files) > 10
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert not mismatch and not errors
    assert filecmp.cmp(a / "ground_truth.json", c / "ground_truth.json", shallow=False) is False


def test_run_builds_the_spine_tables_and_the_report(simulated_run: SimulatedRun) -> None:
    report_path = Path(simulated_run.stdout.strip().splitlines()[-1])
    assert report_path.is_file() and report_path.suffix == ".html"
    html = report_path.read_text(encoding="utf-8")
    assert "plotly" in html.lower() and "cdn.plot.ly" not in html  # plotly.js embedded: opens offline
    with simulated_run.connect() as con:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert {"raw.slack_events", "clean.events", "marts.person_week", "marts.adoption_curve",
                "quality.rejects"} <= tables
        n_events = con.execute("SELECT count(*) FROM clean.events").fetchone()[0]
        assert n_events > 5 * E2E_EMPLOYEES
        org = con.execute(
            "SELECT min(active_rate), max(active_rate) FROM marts.adoption_curve WHERE population_type = 'organisation'"
        ).fetchone()
        assert 0 <= org[0] < org[1] <= 1


def test_report_verb_writes_a_given_week(simulated_run: SimulatedRun, tmp_path: Path) -> None:
    with simulated_run.connect() as con:
        week = con.execute("SELECT min(iso_week) FROM marts.adoption_curve").fetchone()[0]
    out = tmp_path / "r.html"
    proc = uptake_cli("report", "--warehouse", str(simulated_run.warehouse), "--week", week, "--out", str(out))
    assert out.is_file() and str(out) in proc.stdout
    assert week in out.read_text(encoding="utf-8")


def test_connectors_verb_lists_every_platform() -> None:
    proc = uptake_cli("connectors")
    for name in ("slack", "viva_engage", "m365_usage", "mattermost", "hr_csv", "hr_scim"):
        assert re.search(rf"\b{name}\b", proc.stdout), name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--raw", "/nonexistent/drop", "--warehouse", "/tmp/x.duckdb"], "does not exist"),
        (["report", "--warehouse", "/nonexistent/w.duckdb", "--out", "/tmp/r.html"], "run `uptake run` first"),
    ],
)
def test_failures_exit_non_zero_with_a_clear_message(args: list[str], message: str) -> None:
    proc = uptake_cli(*args, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_run_without_settings_names_the_missing_file(tmp_path: Path) -> None:
    (tmp_path / "hr").mkdir()
    proc = uptake_cli("run", "--raw", str(tmp_path), "--warehouse", str(tmp_path / "w.duckdb"), check=False)
    assert proc.returncode != 0 and "settings.yaml is missing" in proc.stderr


def test_every_verb_has_help() -> None:
    for verb in ("demo", "simulate", "run", "report", "connectors"):
        assert "Usage" in uptake_cli(verb, "--help").stdout
