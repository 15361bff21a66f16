"""pilot_representativeness: hand-computed shares, ratios and SMDs, plain-language lines,
suppression (including the complementary cell), the summary indices, typed errors."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from transforms.pilot import PilotInputError
from transforms.pilot.representativeness import pilot_representativeness


def _people() -> pl.DataFrame:
    """40 people; pilot A = 10 people (6 at HQ), the rest elsewhere. Hand-computable."""
    site = ["HQ"] * 6 + ["PLANT"] * 4 + ["HQ"] * 4 + ["PLANT"] * 16 + ["STORE"] * 10
    cohort = ["A"] * 10 + [None] * 30
    level = [2] * 10 + [4] * 30
    manager = [True] * 5 + [False] * 5 + [True] * 3 + [False] * 27
    pre = [0.8] * 10 + [0.2] * 30
    return pl.DataFrame({"cohort": cohort, "site": site, "level": level, "is_manager": manager, "pre_active": pre})


def _get(out: pl.DataFrame, **where: object) -> dict:
    rows = out.filter(*[pl.col(k).eq_missing(v) for k, v in where.items()])
    assert rows.height == 1, where
    return rows.row(0, named=True)


def test_shares_ratios_and_smd_match_hand_computation() -> None:
    out = pilot_representativeness(_people(), cohort_col="cohort", attributes=["site", "level", "is_manager"],
                                   pre_activity_cols=["pre_active"], min_group_size=3)
    hq = _get(out, cohort="A", variable="site", level="HQ")
    p1, p0 = 6 / 10, 10 / 40
    assert (hq["pilot_n"], hq["population_n"]) == (6, 10)
    assert hq["pilot_value"] == pytest.approx(p1) and hq["population_value"] == pytest.approx(p0)
    assert hq["ratio"] == pytest.approx(2.4)
    assert hq["smd"] == pytest.approx((p1 - p0) / math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2))
    assert hq["imbalanced"] and not hq["suppressed"]
    assert hq["statement"] == "pilot A holds 2.4 times the eligible population's share of site = HQ (60% of its members vs 25%)"
    store = _get(out, cohort="A", variable="site", level="STORE")  # nobody from STORE in the pilot
    assert store["suppressed"] and store["pilot_value"] is None

    lvl = _get(out, cohort="A", variable="level")
    m0 = (2 * 10 + 4 * 30) / 40
    v0 = (10 * (2 - m0) ** 2 + 30 * (4 - m0) ** 2) / 40
    assert lvl["pilot_value"] == 2 and lvl["population_value"] == pytest.approx(m0)
    assert lvl["smd"] == pytest.approx((2 - m0) / math.sqrt((0 + v0) / 2))
    mgr = _get(out, cohort="A", variable="is_manager")
    assert mgr["pilot_value"] == pytest.approx(0.5) and mgr["population_value"] == pytest.approx(8 / 40)
    assert mgr["statement"].startswith("pilot A: 50% of members are is_manager vs 20% of the eligible population")
    pre = _get(out, cohort="A", variable="pre_active")
    assert pre["variable_kind"] == "pre_activity" and pre["ratio"] == pytest.approx(0.8 / 0.35)


def test_summary_indices_flag_a_selected_pilot_and_not_a_random_one() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    office = rng.random(n) < 0.5
    pre = np.clip(0.2 + 0.3 * office + 0.1 * rng.normal(size=n), 0, 1)
    selected = rng.random(n) < np.where(office, 0.25, 0.03)
    random = rng.random(n) < 0.14
    frame = pl.DataFrame({"site": np.where(office, "HQ", "PLANT"), "pre": pre,
                          "cohort": pl.Series(np.where(random, "random", np.where(selected, "picked", "")).tolist())})
    frame = frame.with_columns(pl.col("cohort").replace("", None))
    out = pilot_representativeness(frame, cohort_col="cohort", attributes=["site"], pre_activity_cols=["pre"])
    picked_smd = _get(out, cohort="picked", variable="mean_abs_smd")
    random_smd = _get(out, cohort="random", variable="mean_abs_smd")
    assert picked_smd["pilot_value"] > 0.3 and picked_smd["imbalanced"]
    assert random_smd["pilot_value"] < 0.1 and not random_smd["imbalanced"]
    assert "not representative" in picked_smd["statement"]
    assert _get(out, cohort="picked", variable="propensity_auc")["pilot_value"] > 0.7  # binary selection: about 0.73
    assert _get(out, cohort="random", variable="propensity_auc")["pilot_value"] < 0.6
    assert set(out["cohort"]) == {"picked", "random", "all pilots"}


def test_small_levels_are_suppressed_with_a_complementary_cell() -> None:
    people = _people()
    out = pilot_representativeness(people, cohort_col="cohort", attributes=["site"], pre_activity_cols=[],
                                   min_group_size=5)
    rows = out.filter(pl.col("cohort") == "A", pl.col("row_type") == "level").sort("level")
    # PLANT has 4 pilot members (< 5) -> suppressed; STORE has 0; HQ (6) would be 1 - the rest: it is
    # not the lone suppressed cell here (two are), so it stays published
    assert rows.select("level", "suppressed").rows() == [("HQ", False), ("PLANT", True), ("STORE", True)]
    only_plant_small = people.with_columns(
        pl.when(pl.col("site") == "STORE").then(pl.lit("HQ")).otherwise(pl.col("site")).alias("site")
    )
    out2 = pilot_representativeness(only_plant_small, cohort_col="cohort", attributes=["site"], pre_activity_cols=[],
                                    min_group_size=5)
    rows2 = out2.filter(pl.col("cohort") == "A", pl.col("row_type") == "level")
    assert rows2["suppressed"].all()  # PLANT small, HQ hidden too: 1 - share(HQ) would reveal it
    assert rows2["pilot_value"].null_count() == rows2.height
    assert rows2["population_n"].null_count() == rows2.height and rows2["pilot_n"].null_count() == rows2.height


def test_a_cohort_below_the_minimum_group_size_is_suppressed_entirely() -> None:
    out = pilot_representativeness(_people(), cohort_col="cohort", attributes=["site", "level"],
                                   pre_activity_cols=["pre_active"], min_group_size=11)
    assert out["suppressed"].all()
    assert out["pilot_value"].null_count() == out.height
    assert out["smd"].null_count() == out.height
    assert out["pilot_n"].null_count() == out.height  # the cohort's size is itself a small cell


@pytest.mark.parametrize(
    ("people", "kwargs", "match"),
    [
        (_people(), {"attributes": ["department"]}, "missing column.*department"),
        (_people().with_columns(pl.lit(None, pl.Utf8).alias("cohort")), {}, "no person is in a pilot"),
        (_people().with_columns(pl.when(pl.col("level") == 2).then(None).otherwise(pl.col("level")).alias("level")),
         {"attributes": ["level"]}, "column 'level'.*null"),
    ],
)
def test_bad_input_raises_typed_errors(people: pl.DataFrame, kwargs: dict, match: str) -> None:
    args = {"cohort_col": "cohort", "attributes": ["site"], "pre_activity_cols": ["pre_active"], **kwargs}
    with pytest.raises(PilotInputError, match=match):
        pilot_representativeness(people, **args)
