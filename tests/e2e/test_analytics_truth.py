"""Issue 5 acceptance on a simulated organisation run through `uptake run`: the manager-relay
interval covers the planted effect, the frontline gap is within 2 points of the planted one, Bass p
and q are within 25% of the planted values, and exactly the planted "busy without outputs"
communities are flagged. Metric kinds never mix in a mart."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.conftest import SimulatedRun
from transforms.metrics import assert_single_kind

pytestmark = pytest.mark.xdist_group("e2e")


def test_manager_relay_interval_covers_the_planted_effect(simulated_run: SimulatedRun) -> None:
    with simulated_run.connect() as con:
        low, high, estimate = con.execute(
            "SELECT ci_low_pp, ci_high_pp, estimate_pp FROM marts.manager_relay").fetchone()
    # the relay acts on what the team sees; a pipeline sees rho x the member's chance that an active week is seen
    planted_pp = simulated_run.truth["manager_relay"]["observable_effect_pp_expected"]
    assert planted_pp < 100 * simulated_run.truth["manager_relay"]["rho"]
    assert low <= planted_pp <= high, (low, estimate, high, planted_pp)
    assert high - low < 10  # informative, not a vacuous interval


def test_frontline_gap_within_two_points_of_the_planted_gap(simulated_run: SimulatedRun) -> None:
    truth = simulated_run.truth["frontline_gap"]
    with simulated_run.connect() as con:
        weekly = con.execute(
            "SELECT week_start, gap_points FROM marts.digital_divide WHERE scope = 'week' ORDER BY week_start"
        ).pl()
    last = weekly.filter(pl.col("week_start") == dt.date.fromisoformat(truth["last_week"]))
    assert last.height == 1
    assert abs(last["gap_points"][0] - truth["last_week_points"]) <= 2.0
    assert abs(weekly.tail(8)["gap_points"].mean() - truth["last_8_weeks_mean_points"]) <= 2.0


def test_bass_p_and_q_within_25_percent_of_the_planted_values(simulated_run: SimulatedRun) -> None:
    planted = simulated_run.truth["bass"]
    with simulated_run.connect() as con:
        params = dict(con.execute(
            "SELECT parameter, estimate FROM marts.diffusion "
            "WHERE population_type = 'organisation' AND parameter IN ('p', 'q')").fetchall())
        population = con.execute(
            "SELECT DISTINCT bass_population FROM marts.diffusion WHERE population_type = 'organisation'"
        ).fetchone()[0]
    assert population == planted["population"]
    assert abs(params["p"] / planted["p"] - 1) <= 0.25, (params, planted["p"])
    assert abs(params["q"] / planted["q"] - 1) <= 0.25, (params, planted["q"])


def test_busy_without_outputs_are_exactly_the_planted_communities(simulated_run: SimulatedRun) -> None:
    with simulated_run.connect() as con:
        flags = con.execute("SELECT community, busy_without_outputs, silent FROM marts.community_flags").pl()
    busy = sorted(flags.filter(pl.col("busy_without_outputs"))["community"].to_list())
    silent = sorted(flags.filter(pl.col("silent"))["community"].to_list())
    assert busy == sorted(simulated_run.truth["communities"]["busy_without_outputs"])
    assert silent == sorted(simulated_run.truth["communities"]["silent"])


def test_community_outputs_match_the_planted_weekly_outputs(simulated_run: SimulatedRun) -> None:
    planted = simulated_run.truth["communities"]["communities"]
    with simulated_run.connect() as con:
        outputs = con.execute("SELECT community, sum(outputs) FROM marts.community_outputs GROUP BY ALL").fetchall()
    assert {c: int(n) for c, n in outputs} == {c: v["outputs_total"] for c, v in planted.items()}


def test_no_mart_mixes_metric_kinds(simulated_run: SimulatedRun) -> None:
    with simulated_run.connect() as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_columns() WHERE schema_name = 'marts' AND column_name = 'kind'").fetchall()]
        assert len(tables) >= 10
        for table in tables:
            frame = con.execute(f"SELECT * FROM marts.{table}").pl()
            if frame.height:
                assert_single_kind(frame)


def test_active_engaged_and_contributors_are_the_planted_ones(simulated_run: SimulatedRun) -> None:
    """Readers dominate: active > engaged > contributors in every week, each count exactly the truth's."""
    weekly = pl.DataFrame(simulated_run.truth["weekly"]).select(
        pl.col("week_start").str.to_date(), "active", "engaged", "contributors")
    with simulated_run.connect() as con:
        curve = con.execute(
            "SELECT week_start, active, engaged, contributors FROM marts.adoption_curve "
            "WHERE population_type = 'organisation' ORDER BY week_start").pl()
    joined = weekly.join(curve, on="week_start", suffix="_mart")
    assert joined.height == weekly.height
    for col in ("active", "engaged", "contributors"):
        assert joined[col].to_list() == joined[f"{col}_mart"].to_list(), col
    late = joined.filter(pl.col("week_start") >= joined["week_start"].sort()[10])
    assert ((late["active"] > late["engaged"]) & (late["engaged"] > late["contributors"])).all()


def test_participation_inequality_is_the_planted_90_9_1_shape(simulated_run: SimulatedRun) -> None:
    planted = simulated_run.truth["participation"]
    truth = planted["inequality"]
    # the realised shape is the 90-9-1 the roles plant (lurkers, light contributors, a heavy 1%)
    assert 0.85 <= truth["lurker_share"] <= 0.95 and 0.05 <= truth["light_contributor_share"] <= 0.13
    assert truth["heavy_contributor_share"] <= 0.02 and truth["top1pct_contribution_share"] >= 0.5
    with simulated_run.connect() as con:
        row = con.execute(
            "SELECT eligible, contributors, lurker_share, light_contributor_share, heavy_contributor_share, "
            "top1pct_contribution_share, gini_contributors FROM marts.inequality "
            "WHERE population_type = 'organisation'").pl().row(0, named=True)
    assert row["eligible"] == truth["eligible"] and row["contributors"] == truth["contributors"]
    for key in ("lurker_share", "light_contributor_share", "heavy_contributor_share", "top1pct_contribution_share",
                "gini_contributors"):
        assert row[key] == pytest.approx(truth[key], abs=1e-5), key


def test_power_users_are_the_planted_share(simulated_run: SimulatedRun) -> None:
    truth = simulated_run.truth["participation"]
    seg = truth["usage_segments_last_week"]
    assert seg["power_users"] >= 5  # the Power segment is not empty
    assert truth["weekly_actions"]["share_with_15_or_more"] > 0.01  # heavy-tailed weeks
    with simulated_run.connect() as con:
        shares = dict(con.execute(
            "SELECT segment, people FROM marts.usage_segments WHERE population_type = 'organisation' "
            "AND week_start = (SELECT max(week_start) FROM marts.usage_segments)").fetchall())
    assert shares["Power user"] == seg["power_users"]
    assert shares["Habitual user"] == seg["habitual_users"]
    planted = truth["planted"]["power_user_share"]
    assert 0.3 * planted <= seg["power_user_share"] <= 1.5 * planted  # power users not yet adopted are not Power
