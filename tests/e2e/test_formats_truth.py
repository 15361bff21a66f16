"""The other export formats through the whole pipeline: a small organisation simulated with
``uptake simulate --formats`` (its Slack workspace, Mattermost team and Teams counters written as
Zulip, Google Chat, Rocket.Chat and Viva Insights person query exports) and run with ``uptake run``
gives the planted identity match rates, the planted actions of every person and week, and the
planted adoption, as the default formats do (``test_person_week_truth``, ``test_analytics_truth``).

One test per drop zone, each check a function below: one ``uptake run`` per drop zone wherever the
test runs (the ``xdist_group`` marks do not group tests under pytest 9 with pytest-xdist 3.8, so a
module-scoped fixture shared by several tests would be built on both workers)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.simulator import PlatformFormats
from pipelines.simulator.world import build_world, observed_counts
from tests.conftest import TEST_SECRET, uptake_cli
from transforms.pseudonym import person_key

FORMAT_RUNS = {
    "zulip+rocket_chat+viva_insights": "slack=zulip,mattermost=rocket_chat,teams=viva_insights",
    "google_chat+zulip": "slack=google_chat,mattermost=zulip",
}
EMPLOYEES, WEEKS, SEED = 250, 12, 11
START = dt.date(2026, 1, 5)


@dataclass(frozen=True)
class FormatsRun:
    raw: Path
    truth: dict
    formats: PlatformFormats
    con: duckdb.DuckDBPyConnection


@pytest.mark.parametrize("name", list(FORMAT_RUNS))
def test_uptake_run_on_other_formats_measures_the_planted_truth(name: str, tmp_path: Path, secret_file: Path) -> None:
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse.duckdb"
    uptake_cli("simulate", "--out", str(raw), "--employees", str(EMPLOYEES), "--weeks", str(WEEKS), "--seed",
               str(SEED), "--formats", FORMAT_RUNS[name])
    uptake_cli("run", "--raw", str(raw), "--warehouse", str(warehouse), "--reports", str(tmp_path / "reports"),
               "--until", "marts", env={"UPTAKE_SECRET_FILE": str(secret_file)})
    with duckdb.connect(str(warehouse), read_only=True) as con:
        run = FormatsRun(raw=raw, truth=json.loads((raw / "ground_truth.json").read_text()),
                         formats=PlatformFormats.parse(FORMAT_RUNS[name]), con=con)
        _drop_zone_holds_the_chosen_formats_only(run)
        _identity_match_rates_equal_the_planted_ones(run)
        _every_person_week_holds_the_planted_actions_of_each_tier(run)
        _measured_adoption_equals_the_planted_adoption(run)
        _events_are_conserved_and_nothing_is_rejected(run)
        _community_outputs_equal_the_planted_ones(run)


def _drop_zone_holds_the_chosen_formats_only(run: FormatsRun) -> None:
    platforms = {p.name for p in (run.raw / "platforms").iterdir()}
    expected = {run.formats.slack, run.formats.mattermost, "viva_engage", "m365_usage"}
    if run.formats.teams == "viva_insights":
        expected.add("viva_insights")  # the Viva Engage usage reports stay in m365_usage
    assert platforms == expected


def _identity_match_rates_equal_the_planted_ones(run: FormatsRun) -> None:
    report = run.con.execute("SELECT source, human_accounts, match_rate FROM quality.identity_match_report").pl()
    planted = run.truth["identity"]
    assert set(report["source"]) == set(planted)
    for source, humans, rate in report.iter_rows():
        assert humans == planted[source]["human_accounts"], f"human accounts of {source}"
        assert rate == pytest.approx(planted[source]["match_rate"], abs=1e-6), f"match rate of {source}"


def _every_person_week_holds_the_planted_actions_of_each_tier(run: FormatsRun) -> None:
    """marts.person_week, person by person and week by week: passive, reaction and contribution
    counts equal what the simulator planted in the files (a correct pipeline's counts)."""
    world = build_world(EMPLOYEES, WEEKS, SEED, START, formats=run.formats)
    observed = observed_counts(world)
    pp, tt = np.nonzero(world.org.eligible)
    secret = TEST_SECRET.encode("ascii")
    keys = {e: person_key(e, secret) for e in world.org.employee_id[np.unique(pp)].astype(str)}
    planted = pl.DataFrame({
        "person_key": [keys[e] for e in world.org.employee_id[pp].astype(str)],
        "week_start": np.asarray(world.timeline.week_starts, dtype="datetime64[D]")[tt],
        "actions_passive": observed.passive[pp, tt], "actions_reaction": observed.reaction[pp, tt],
        "actions_contribution": observed.contribution[pp, tt],
    }).sort("person_key", "week_start")
    mart = run.con.execute("SELECT person_key, week_start, actions_passive, actions_reaction, actions_contribution "
                           "FROM marts.person_week ORDER BY person_key, week_start").pl()
    assert mart.height == planted.height == sum(w["eligible"] for w in run.truth["weekly"])
    assert mart.equals(planted.cast(mart.schema)), "person_week actions differ from the planted ones"  # type: ignore[arg-type]
    assert int(planted["actions_contribution"].sum()) > 200 and int(planted["actions_passive"].sum()) > 200


def _measured_adoption_equals_the_planted_adoption(run: FormatsRun) -> None:
    weekly = pl.DataFrame(run.truth["weekly"]).select(
        pl.col("week_start").str.to_date(), "eligible", "active", "engaged", "contributors", "active_rate")
    curve = run.con.execute(
        "SELECT week_start, eligible, active, engaged, contributors, active_rate FROM marts.adoption_curve "
        "WHERE population_type = 'organisation' ORDER BY week_start").pl()
    segments = dict(run.con.execute(
        "SELECT segment, people FROM marts.usage_segments WHERE population_type = 'organisation' "
        "AND week_start = (SELECT max(week_start) FROM marts.usage_segments)").fetchall())
    joined = weekly.join(curve, on="week_start", suffix="_mart")
    assert joined.height == weekly.height == WEEKS
    for col in ("eligible", "active", "engaged", "contributors"):
        assert joined[col].to_list() == joined[f"{col}_mart"].to_list(), f"adoption curve: {col}"
    assert joined["active_rate_mart"].to_list() == pytest.approx(joined["active_rate"].to_list(), abs=1e-9)
    assert joined["active"].sum() > joined["engaged"].sum() > joined["contributors"].sum() > 0
    seg = run.truth["participation"]["usage_segments_last_week"]
    assert (segments["Power user"], segments["Habitual user"], segments["Non-user"]) == (
        seg["power_users"], seg["habitual_users"], seg["non_users"])


def _events_are_conserved_and_nothing_is_rejected(run: FormatsRun) -> None:
    rows = run.con.execute(
        "SELECT source, sum(rows_in), sum(kept), sum(rejected), sum(filtered_automated), bool_and(balanced) "
        "FROM quality.event_conservation GROUP BY ALL").fetchall()
    chats = {run.formats.slack, run.formats.mattermost, "viva_engage"}
    counters = {"m365_usage", run.formats.teams}  # the Viva Engage usage reports stay in m365_usage
    for source, rows_in, kept, rejected, bots, balanced in rows:
        assert balanced, source
        if source in chats:
            assert kept > 0 and rejected == 0 and bots > 0, source  # every simulated platform has a bot
        elif source in counters:
            assert kept == rows_in > 0, source
        else:
            assert rows_in == 0, source
    assert run.con.execute("SELECT count(*) FROM quality.rejects").fetchone()[0] == 0


def _community_outputs_equal_the_planted_ones(run: FormatsRun) -> None:
    planted = run.truth["communities"]["communities"]
    moved = [c for c in planted.values() if c["source"] in (run.formats.slack, run.formats.mattermost)]
    assert moved  # the Slack communities now live in the chosen format
    outputs = run.con.execute("SELECT community, sum(outputs) FROM marts.community_outputs GROUP BY ALL").fetchall()
    assert {c: int(n) for c, n in outputs} == {c: v["outputs_total"] for c, v in planted.items()}


@pytest.mark.parametrize("verb", ["simulate", "demo"])
def test_a_bad_formats_option_fails_before_anything_is_written_or_removed(tmp_path: Path, verb: str) -> None:
    kept = tmp_path / "raw" / "kept.txt"
    kept.parent.mkdir()
    kept.write_text("an earlier drop zone", encoding="utf-8")
    where = ["--out", str(tmp_path / "new")] if verb == "simulate" else ["--data-dir", str(tmp_path)]
    proc = uptake_cli(verb, *where, "--formats", "slack=zulip,mattermost=zulip", check=False)
    assert proc.returncode != 0
    assert "--formats: format zulip chosen for more than one platform" in proc.stderr
    assert kept.is_file() and not (tmp_path / "new").exists()
