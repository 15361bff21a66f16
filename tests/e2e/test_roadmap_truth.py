"""Issue 15 (targets, where to roll out next) on the simulated organisation run through `uptake run`:
the simulator's targets.yaml reaches marts.target_status with the statuses it plants by construction
(four on track, the busy-without-outputs community off track), each target's rows of one kind, the
adoption targets projected by the Bass model; marts.next_wave_* rank the org units and sites still
waiting at the general roll-out, learned from both waves, no group under the minimum size; and the
report shows both sections."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from tests.conftest import SimulatedRun

pytestmark = pytest.mark.xdist_group("e2e")

ON_TRACK_BY_CONSTRUCTION = ("Seven in ten have used the platform", "Three quarters of frontline staff have used the "
                            "platform", "Office staff weekly active at 30%", "Absence kept at or under 5.5%")
OFF_TRACK_BY_CONSTRUCTION = "Sales Excellence answers 5 deal questions a week"


@pytest.fixture(scope="module")
def status(simulated_run: SimulatedRun) -> pl.DataFrame:
    with simulated_run.connect() as con:
        return con.execute("SELECT * FROM marts.target_status").pl()


def _latest(status: pl.DataFrame) -> dict[str, dict]:
    seen = status.filter(pl.col("actual").is_not_null()).sort("week_start")
    return {t: rows.row(-1, named=True) for (t,), rows in seen.group_by("target")}


def test_the_planted_targets_have_their_statuses_by_construction(status: pl.DataFrame,
                                                                 simulated_run: SimulatedRun) -> None:
    latest = _latest(status)
    assert set(latest) == {*ON_TRACK_BY_CONSTRUCTION, OFF_TRACK_BY_CONSTRUCTION}
    last_week = dt.date.fromisoformat(simulated_run.truth["timeline"]["end"]) - dt.timedelta(days=6)
    for name in ON_TRACK_BY_CONSTRUCTION:
        assert latest[name]["week_start"] == last_week and latest[name]["status"] == "on_track", latest[name]
    sales = latest[OFF_TRACK_BY_CONSTRUCTION]
    assert sales["status"] == "off_track" and sales["actual"] == 0 and sales["expected"] == pytest.approx(5.0)


def test_each_target_is_one_metric_of_one_kind(status: pl.DataFrame) -> None:
    kinds = status.group_by("target").agg(pl.col("metric_kind").n_unique().alias("n"), pl.col("metric_kind").first())
    assert kinds["n"].to_list() == [1] * kinds.height
    assert set(kinds["metric_kind"]) == {"activity", "output", "outcome"}


def test_the_expected_path_goes_through_its_milestone_and_ends_at_the_target(status: pl.DataFrame,
                                                                            simulated_run: SimulatedRun) -> None:
    adoption = status.filter(pl.col("target") == ON_TRACK_BY_CONSTRUCTION[0]).sort("week_start")
    rollout = dt.date.fromisoformat(simulated_run.truth["timeline"]["G_date"])
    assert adoption.filter(pl.col("week_start") == rollout)["expected"][0] == pytest.approx(0.15)
    assert adoption["expected"][-1] == pytest.approx(0.7) and adoption["is_future"][-1]
    assert adoption["week_start"].is_sorted() and adoption["expected"].diff().drop_nulls().min() >= 0


def test_adoption_targets_are_dated_by_the_bass_projection(status: pl.DataFrame) -> None:
    first = status.filter(pl.col("target") == ON_TRACK_BY_CONSTRUCTION[0]).row(0, named=True)
    reached = status.filter((pl.col("target") == ON_TRACK_BY_CONSTRUCTION[0]) & (pl.col("actual") >= 0.7))
    assert first["projection_note"] == "reached" and first["projected_date"] == reached["week_start"].min()
    frontline = status.filter(pl.col("target") == ON_TRACK_BY_CONSTRUCTION[1]).row(0, named=True)
    assert frontline["projected_date"] is not None or "fitted ceiling" in frontline["projection_note"]
    office = status.filter(pl.col("target") == ON_TRACK_BY_CONSTRUCTION[2])  # a weekly rate: no projection
    assert office["projected_date"].null_count() == office.height


def test_the_next_wave_is_ranked_from_both_waves_at_the_general_roll_out(simulated_run: SimulatedRun) -> None:
    with simulated_run.connect() as con:
        candidates = con.execute("SELECT * FROM marts.next_wave_candidates").pl()
        options = con.execute("SELECT * FROM marts.next_wave_options").pl()
        k = con.execute("SELECT min_group_size FROM (SELECT json_extract(body, '$.min_group_size')::INT "
                        "AS min_group_size FROM raw.settings WHERE name = 'settings')").fetchone()[0]
    rollout = dt.date.fromisoformat(simulated_run.truth["timeline"]["G_date"])
    assert candidates["as_of_week"].unique().to_list() == [rollout]
    assert options["trained_on"].unique().to_list() == ["wave-1, wave-2"]
    assert candidates["headcount"].min() >= k and options["headcount"].min() >= k
    sites = candidates.filter(pl.col("population_type") == "site")
    assert sites.height == 10  # every site still has people waiting
    office = sites.filter(pl.col("population").str.starts_with("OFFICE") | (pl.col("population") == "HQ-PARIS"))
    assert office["expected_uptake"].min() > sites.filter(~pl.col("population").is_in(office["population"].implode()))[
        "expected_uptake"].max()  # wave 2 had frontline members: the model learned the planted office advantage
    assert options.filter(pl.col("teaches_most"))["mean_abs_smd"][0] == options["mean_abs_smd"].min()
    top = options.filter(pl.col("option") == "highest_uptake").row(0, named=True)
    assert top["expected_uptake"] == options["expected_uptake"].max()
    assert 0.4 < top["model_auc"] < 0.8 and top["model_auc_low"] < top["model_auc"] < top["model_auc_high"]


def test_the_report_shows_the_targets_and_the_next_wave(simulated_run: SimulatedRun) -> None:
    (html_file,) = sorted(simulated_run.reports.glob("adoption_report_*.html"))
    body = html_file.read_text(encoding="utf-8").split("</head>", 1)[1]
    for title in ("Roadmap targets", "Where to roll out next", "Targets at a glance",
                  "The wave that would teach the most"):
        assert title in body, title
    assert re.search(r"Sales Excellence answers 5 deal questions a week: 0\.0 outputs per week in [^:]+: off track",
                     body)
