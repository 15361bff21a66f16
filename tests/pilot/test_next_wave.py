"""Where to roll out next, on a small organisation with a planted uptake: office staff take up a wave
(80% of weeks active), frontline staff hardly (20%), whatever their team. The model must learn it
from the first wave, rank office candidates first, state a high accuracy, leave out groups under the
minimum size, and show that a wave balanced by worker type looks more like the people waiting."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from transforms.pilot.next_wave import OPTIONS, decision_week, next_wave

W0 = dt.date(2026, 1, 5)
WEEKS = 16
WAVE_START = 6
AS_OF = W0 + dt.timedelta(weeks=12)
OFFICE_UPTAKE, FRONTLINE_UPTAKE = 0.8, 0.2


def _organisation(seed: int = 3) -> pl.DataFrame:
    """40 teams of 8 (20 office, 20 frontline, four departments) and a 3-person team; wave 1 = 10 teams
    (6 office, 4 frontline) from week 6. Nobody is active before their wave; after it, each week at
    the planted uptake of their worker type. Teams outside the wave stay inactive (no access)."""
    rng = np.random.default_rng(seed)
    rows = []
    teams = [(f"T{u:02d}", "office" if u < 20 else "frontline", ["Sales", "IT", "Plant", "Retail"][u % 4],
              "HQ" if u < 20 else "PLANT") for u in range(40)]
    teams.append(("TINY", "office", "Sales", "HQ"))
    wave = {f"T{u:02d}" for u in (*range(6), *range(20, 24))}
    for code, wt, dept, site in teams:
        size = 3 if code == "TINY" else 8
        for j in range(size):
            person = f"{code}-{j}"
            in_wave = code in wave
            p = OFFICE_UPTAKE if wt == "office" else FRONTLINE_UPTAKE
            for t in range(WEEKS):
                active = bool(in_wave and t >= WAVE_START and rng.random() < p)
                rows.append({
                    "person_key": person, "week_start": W0 + dt.timedelta(weeks=t), "manager_key": f"{code}-lead",
                    "department": dept, "org_unit": code, "site": site, "worker_type": wt, "level": 5,
                    "tenure_band": "1-3y", "is_manager": False, "is_active": active, "is_engaged": active,
                    "is_contributor": False, "actions_total": int(active),
                    "pilot_cohort": "wave-1" if in_wave else None, "pilot_wave": 1 if in_wave else None,
                    "pilot_start_week": W0 + dt.timedelta(weeks=WAVE_START) if in_wave else None,
                    "pilot_status": ("pre" if t < WAVE_START else "during") if in_wave else None,
                    "pilot_support_level": "high" if in_wave else None,
                })
    frame = pl.DataFrame(rows, schema_overrides={"pilot_wave": pl.Int16, "level": pl.Int16})
    first = frame.filter(pl.col("is_active")).group_by("person_key").agg(
        pl.col("week_start").min().alias("first_active_week"))
    return frame.join(first, on="person_key", how="left")


@pytest.fixture(scope="module")
def ranked() -> tuple[pl.DataFrame, pl.DataFrame, object]:
    return next_wave(_organisation(), as_of=AS_OF, min_group_size=5)


def test_the_decision_week_is_the_roll_out_or_the_week_after_the_data() -> None:
    pw = pl.DataFrame({"week_start": [W0, W0 + dt.timedelta(weeks=9)]})
    assert decision_week(pw, general_rollout=None) == W0 + dt.timedelta(weeks=10)
    assert decision_week(pw, general_rollout=dt.date(2026, 2, 4)) == dt.date(2026, 2, 2)  # its Monday
    assert decision_week(pw, general_rollout=dt.date(2027, 1, 1)) == W0 + dt.timedelta(weeks=10)


def test_the_model_learns_the_planted_uptake_and_says_how_well(ranked) -> None:  # noqa: ANN001
    candidates, options, model = ranked
    acc = model.accuracy
    assert acc.people == 80 and acc.teams == 10 and acc.person_weeks == 80 * 6  # weeks 6..11, before week 12
    assert acc.base_rate == pytest.approx(0.6 * OFFICE_UPTAKE + 0.4 * FRONTLINE_UPTAKE, abs=0.05)
    # the worker type tells 0.8 from 0.2: AUC = P(an active week scores above an inactive one) =
    # (0.48 * 0.32 + 0.5 * (0.48 * 0.12 + 0.08 * 0.32)) / (0.56 * 0.44) = 0.79, ties counted half
    assert acc.auc == pytest.approx(0.79, abs=0.04) and acc.auc_low < acc.auc < acc.auc_high
    assert acc.brier < acc.brier_base_rate
    assert options["model_auc"].unique().to_list() == [acc.auc]
    assert options["trained_on"].unique().to_list() == ["wave-1"]


def test_office_candidates_rank_first_and_small_groups_are_never_listed(ranked) -> None:  # noqa: ANN001
    candidates, _, _ = ranked
    units = candidates.filter(pl.col("population_type") == "org_unit")
    assert "TINY" not in units["population"].to_list()  # 3 people: under the minimum group size
    assert units.height == 30 and candidates["headcount"].min() >= 5
    office = units.filter(pl.col("population").str.slice(1).cast(pl.Int32) < 20)
    frontline = units.filter(pl.col("population").str.slice(1).cast(pl.Int32) >= 20)
    assert office["expected_uptake"].min() > frontline["expected_uptake"].max()
    assert office["expected_uptake"].mean() == pytest.approx(OFFICE_UPTAKE, abs=0.1)
    assert frontline["expected_uptake"].mean() == pytest.approx(FRONTLINE_UPTAKE, abs=0.1)
    assert sorted(units.filter(pl.col("uptake_rank") <= 14)["population"].to_list()) == sorted(office["population"])
    sites = candidates.filter(pl.col("population_type") == "site").sort("uptake_rank")
    assert sites["population"].to_list() == ["HQ", "PLANT"] and sites["headcount"].to_list() == [112 + 3, 128]
    assert not candidates["extrapolated"].any()  # both worker types were in the wave


def test_a_wave_balanced_by_worker_type_teaches_more(ranked) -> None:  # noqa: ANN001
    candidates, options, _ = ranked
    assert options["option"].to_list() == list(OPTIONS)
    by = {r["option"]: r for r in options.iter_rows(named=True)}
    top, balanced = by["highest_uptake"], by["by_worker_type"]
    # the wave's size is the first wave's (80 people): 10 office teams first, balanced = half and half
    assert top["headcount"] == 80 and top["target_size"] == 80
    assert all(int(u[1:]) < 20 for u in top["populations"].split(", "))
    units = balanced["populations"].split(", ")
    assert sum(int(u[1:]) < 20 for u in units if u != "TINY") == 5 and len(units) == 10
    assert balanced["mean_abs_smd"] < top["mean_abs_smd"]
    assert balanced["expected_uptake"] < top["expected_uptake"]  # the trade-off
    best = options.filter(pl.col("teaches_most"))
    assert best.height == 1 and best["mean_abs_smd"][0] == options["mean_abs_smd"].min()
    in_top = candidates.filter(pl.col("options").str.contains("highest_uptake"))
    assert sorted(in_top["population"].to_list()) == sorted(top["populations"].split(", "))


def test_no_wave_observed_long_enough_gives_empty_tables() -> None:
    early = W0 + dt.timedelta(weeks=WAVE_START + 2)  # two weeks of the wave: fewer than 3
    candidates, options, model = next_wave(_organisation(), as_of=early)
    assert candidates.height == 0 and options.height == 0 and model is None
    assert "expected_uptake" in candidates.columns and "model_auc" in options.columns


def test_the_ranking_does_not_depend_on_the_order_of_the_person_week_rows(ranked) -> None:  # noqa: ANN001
    """Engines and reloads hand person-week over in any row order: the model, the candidates and the
    options must be the same (floating values to 1e-9), or two runs of one input publish different marts."""
    shuffled = _organisation().sample(fraction=1.0, shuffle=True, seed=11)
    candidates, options, _ = next_wave(shuffled, as_of=AS_OF, min_group_size=5)
    from polars.testing import assert_frame_equal
    assert_frame_equal(candidates, ranked[0], rel_tol=1e-9, abs_tol=1e-12)
    assert_frame_equal(options, ranked[1], rel_tol=1e-9, abs_tol=1e-12)
