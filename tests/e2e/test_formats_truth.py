"""The other export formats through the whole pipeline: a small organisation simulated with
``uptake simulate --formats`` (its Slack workspace, Mattermost team and Teams counters written as
Zulip, Google Chat, Rocket.Chat and Viva Insights person query exports) and run with ``uptake run``
gives the planted identity match rates, the planted actions of every person and week, and the
planted adoption, as the default formats do (``test_person_week_truth``, ``test_analytics_truth``)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.simulator import PlatformFormats
from pipelines.simulator.world import build_world, observed_counts
from tests.conftest import TEST_SECRET, uptake_cli
from transforms.pseudonym import person_key

pytestmark = pytest.mark.xdist_group("formats_e2e")

FORMAT_RUNS = {
    "zulip+rocket_chat+viva_insights": "slack=zulip,mattermost=rocket_chat,teams=viva_insights",
    "google_chat+zulip": "slack=google_chat,mattermost=zulip",
}
EMPLOYEES, WEEKS, SEED = 250, 12, 11
START = dt.date(2026, 1, 5)


@dataclass(frozen=True)
class FormatsRun:
    raw: Path
    warehouse: Path
    truth: dict
    formats: PlatformFormats

    def connect(self):  # noqa: ANN201 - a DuckDB connection
        import duckdb

        return duckdb.connect(str(self.warehouse), read_only=True)


@pytest.fixture(scope="module", params=list(FORMAT_RUNS), ids=list(FORMAT_RUNS))
def formats_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                secret_file: Path) -> FormatsRun:
    base = tmp_path_factory.mktemp("formats_e2e")
    raw, warehouse = base / "raw", base / "warehouse.duckdb"
    uptake_cli("simulate", "--out", str(raw), "--employees", str(EMPLOYEES), "--weeks", str(WEEKS), "--seed",
               str(SEED), "--formats", FORMAT_RUNS[request.param])
    uptake_cli("run", "--raw", str(raw), "--warehouse", str(warehouse), "--reports", str(base / "reports"),
               "--until", "marts", env={"UPTAKE_SECRET_FILE": str(secret_file)})
    return FormatsRun(raw=raw, warehouse=warehouse, truth=json.loads((raw / "ground_truth.json").read_text()),
                      formats=PlatformFormats.parse(FORMAT_RUNS[request.param]))


def test_the_drop_zone_holds_the_chosen_formats_only(formats_run: FormatsRun) -> None:
    platforms = {p.name for p in (formats_run.raw / "platforms").iterdir()}
    expected = {formats_run.formats.slack, formats_run.formats.mattermost, "viva_engage", "m365_usage"}
    if formats_run.formats.teams == "viva_insights":
        expected.add("viva_insights")  # the Viva Engage usage reports stay in m365_usage
    assert platforms == expected


def test_identity_match_rates_equal_the_planted_ones(formats_run: FormatsRun) -> None:
    with formats_run.connect() as con:
        report = con.execute("SELECT source, human_accounts, match_rate FROM quality.identity_match_report").pl()
    planted = formats_run.truth["identity"]
    assert set(report["source"]) == set(planted)
    for source, humans, rate in report.iter_rows():
        assert humans == planted[source]["human_accounts"], source
        assert rate == pytest.approx(planted[source]["match_rate"], abs=1e-6), source


def test_every_person_week_holds_the_planted_actions_of_each_tier(formats_run: FormatsRun) -> None:
    """marts.person_week, person by person and week by week: passive, reaction and contribution
    counts equal what the simulator planted in the files (a correct pipeline's counts)."""
    world = build_world(EMPLOYEES, WEEKS, SEED, START, formats=formats_run.formats)
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
    with formats_run.connect() as con:
        mart = con.execute("SELECT person_key, week_start, actions_passive, actions_reaction, actions_contribution "
                           "FROM marts.person_week ORDER BY person_key, week_start").pl()
    assert mart.height == planted.height == sum(w["eligible"] for w in formats_run.truth["weekly"])
    assert mart.select(pl.col("^actions_.*$").sum()).row(0) == planted.select(pl.col("^actions_.*$").sum()).row(0)
    assert mart.equals(planted.cast(mart.schema))  # type: ignore[arg-type]
    assert int(planted["actions_contribution"].sum()) > 200 and int(planted["actions_passive"].sum()) > 200


def test_measured_adoption_equals_the_planted_adoption(formats_run: FormatsRun) -> None:
    weekly = pl.DataFrame(formats_run.truth["weekly"]).select(
        pl.col("week_start").str.to_date(), "eligible", "active", "engaged", "contributors", "active_rate")
    with formats_run.connect() as con:
        curve = con.execute(
            "SELECT week_start, eligible, active, engaged, contributors, active_rate FROM marts.adoption_curve "
            "WHERE population_type = 'organisation' ORDER BY week_start").pl()
        segments = dict(con.execute(
            "SELECT segment, people FROM marts.usage_segments WHERE population_type = 'organisation' "
            "AND week_start = (SELECT max(week_start) FROM marts.usage_segments)").fetchall())
    joined = weekly.join(curve, on="week_start", suffix="_mart")
    assert joined.height == weekly.height == WEEKS
    for col in ("eligible", "active", "engaged", "contributors"):
        assert joined[col].to_list() == joined[f"{col}_mart"].to_list(), col
    assert joined["active_rate_mart"].to_list() == pytest.approx(joined["active_rate"].to_list(), abs=1e-9)
    assert joined["active"].sum() > joined["engaged"].sum() > joined["contributors"].sum() > 0
    seg = formats_run.truth["participation"]["usage_segments_last_week"]
    assert segments["Power user"] == seg["power_users"] and segments["Habitual user"] == seg["habitual_users"]
    assert segments["Non-user"] == seg["non_users"]


def test_events_are_conserved_and_nothing_is_rejected(formats_run: FormatsRun) -> None:
    with formats_run.connect() as con:
        rows = con.execute(
            "SELECT source, sum(rows_in), sum(kept), sum(rejected), sum(filtered_automated), bool_and(balanced) "
            "FROM quality.event_conservation GROUP BY ALL").fetchall()
        rejects = con.execute("SELECT count(*) FROM quality.rejects").fetchone()[0]
    chats = {formats_run.formats.slack, formats_run.formats.mattermost, "viva_engage"}
    counters = {"m365_usage", formats_run.formats.teams}  # the Viva Engage usage reports stay in m365_usage
    for source, rows_in, kept, rejected, bots, balanced in rows:
        assert balanced, source
        if source in chats:
            assert kept > 0 and rejected == 0 and bots > 0, source  # every simulated platform has a bot
        elif source in counters:
            assert kept == rows_in > 0, source
        else:
            assert rows_in == 0, source
    assert rejects == 0


def test_community_outputs_equal_the_planted_ones(formats_run: FormatsRun) -> None:
    planted = formats_run.truth["communities"]["communities"]
    moved = [c for c in planted.values() if c["source"] in (formats_run.formats.slack, formats_run.formats.mattermost)]
    assert moved  # the Slack communities now live in the chosen format
    with formats_run.connect() as con:
        outputs = con.execute("SELECT community, sum(outputs) FROM marts.community_outputs GROUP BY ALL").fetchall()
    assert {c: int(n) for c, n in outputs} == {c: v["outputs_total"] for c, v in planted.items()}
