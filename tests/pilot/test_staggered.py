"""staggered_did: the published mpdta results (Callaway & Sant'Anna 2021, R ``did``), weekly
panels with a planted effect, the pre-trend test, and typed errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from transforms.pilot import PilotInputError, staggered_did

MPDTA = Path(__file__).resolve().parents[3] / "shared" / "validation" / "mpdta.csv"


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    if not MPDTA.exists():
        pytest.fail(f"validation data missing: {MPDTA}")
    return pl.read_csv(MPDTA)


@pytest.mark.parametrize("control_group", ["not_yet_treated", "never_treated"])
def test_mpdta_overall_and_dynamic_att_match_the_published_numbers(mpdta: pl.DataFrame, control_group: str) -> None:
    r = staggered_did(mpdta, unit="countyreal", time="year", first_treat="first.treat", outcome="lemp",
                      control_group=control_group)  # type: ignore[arg-type]
    assert r.overall.estimate == pytest.approx(-0.0400, abs=0.002)
    assert r.dynamic.estimate == pytest.approx(-0.0772, abs=0.002)
    assert r.overall.se == pytest.approx(0.012, abs=0.002)
    assert r.dynamic.se == pytest.approx(0.0196, abs=0.002)
    assert r.overall.ci_low < r.overall.estimate < r.overall.ci_high
    assert (r.n_units, r.n_treated_units, r.n_control_units) == (500, 191, 309)
    assert r.groups["group"].to_list() == [2004, 2006, 2007]


def test_mpdta_group_time_effects_match_the_published_table(mpdta: pl.DataFrame) -> None:
    r = staggered_did(mpdta, unit="countyreal", time="year", first_treat="first.treat", outcome="lemp",
                      control_group="never_treated")
    published = {(2004, 2004): -0.0105, (2004, 2005): -0.0704, (2004, 2006): -0.1373, (2004, 2007): -0.1008,
                 (2006, 2004): 0.0065, (2006, 2005): -0.0028, (2006, 2006): -0.0046, (2006, 2007): -0.0412,
                 (2007, 2004): 0.0305, (2007, 2005): -0.0027, (2007, 2006): -0.0311, (2007, 2007): -0.0261}
    got = {(g, t): v for g, t, v in r.group_time.select("group", "time", "estimate").iter_rows()}
    for key, value in published.items():
        assert got[key] == pytest.approx(value, abs=6e-4), key
    # dynamic = mean of the e >= 0 event-study coefficients; pre-trend test over e = -3..-1
    post = r.event_study.filter(pl.col("event_time") >= 0)["estimate"].mean()
    assert r.dynamic.estimate == pytest.approx(post)
    assert r.pre_trend.event_times == (-3, -2, -1) and r.pre_trend.joint_df == 3 and r.pre_trend.weeks == 3
    assert 0.01 < r.pre_trend.joint_p_value < 0.2
    # the drift is the sum of the three placebo changes; 191 treated counties -> 190 degrees of freedom
    pre = r.event_study.filter(pl.col("event_time") < 0)["estimate"].sum()
    assert r.pre_trend.drift == pytest.approx(pre) and r.pre_trend.df == 190
    assert abs(r.pre_trend.drift) < 2 * r.pre_trend.drift_se and r.pre_trend.p_value > 0.5


def _weekly_panel(n: int = 600, weeks: int = 16, tau: float = 0.5, pre_trend: float = 0.0, seed: int = 0) -> pl.DataFrame:
    """Units in 2 waves (weeks 6 and 10) and never; level differs by group (selection), trends parallel
    unless ``pre_trend`` adds a slope to wave units before their start."""
    rng = np.random.default_rng(seed)
    group = rng.choice([0, 6, 10], size=n, p=[0.5, 0.25, 0.25])
    level = np.where(group > 0, 1.0, 0.0) + rng.normal(size=n)
    w = np.arange(weeks)
    treated = (group[:, None] > 0) & (w[None, :] >= group[:, None])
    slope = np.where((group[:, None] > 0) & ~treated, pre_trend * w[None, :], 0.0)
    y = level[:, None] + 0.05 * w[None, :] + tau * treated + slope + rng.normal(size=(n, weeks))
    start = dt.date(2026, 1, 5)
    dates = np.array([start + dt.timedelta(weeks=int(i)) for i in w], dtype="datetime64[D]")
    first = np.array([start + dt.timedelta(weeks=int(g)) if g else None for g in group], dtype="datetime64[D]")
    return pl.DataFrame({
        "unit": np.repeat(np.arange(n), weeks),
        "week_start": np.tile(dates, n),
        "first_treat": np.repeat(first, weeks),
        "y": y.ravel(),
    })


def test_weekly_dates_recover_a_planted_effect_with_week_event_times() -> None:
    r = staggered_did(_weekly_panel(), unit="unit", time="week_start", first_treat="first_treat", outcome="y")
    assert r.overall.ci_low <= 0.5 <= r.overall.ci_high
    assert r.groups["group"].to_list() == [dt.date(2026, 2, 16), dt.date(2026, 3, 16)]
    assert r.event_study["event_time"].min() == -9 and r.event_study["event_time"].max() == 9
    assert r.group_time.schema["time"] == pl.Date
    assert r.pre_trend.p_value > 0.05


def test_pre_trend_test_flags_diverging_pre_periods() -> None:
    r = staggered_did(_weekly_panel(pre_trend=0.1), unit="unit", time="week_start", first_treat="first_treat",
                      outcome="y")
    assert r.pre_trend.p_value < 0.001


def test_starts_outside_the_panel_are_dropped_or_counted_as_never_treated() -> None:
    panel = _weekly_panel(n=200)
    first = dt.date(2026, 1, 5)
    late = dt.date(2027, 1, 4)
    panel = panel.with_columns(
        pl.when(pl.col("unit") < 5).then(pl.lit(first))  # treated from week 0: no pre-period, dropped
        .when(pl.col("unit").is_between(5, 9)).then(pl.lit(late))  # after the panel: never within it
        .otherwise(pl.col("first_treat")).alias("first_treat")
    )
    r = staggered_did(panel, unit="unit", time="week_start", first_treat="first_treat", outcome="y")
    assert r.n_units == 195
    assert r.n_control_units == panel.filter(pl.col("first_treat").is_null() | (pl.col("first_treat") == late))["unit"].n_unique()


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda p: p.drop("y"), "missing column.*y"),
        (lambda p: pl.concat([p, p.head(1)]), "duplicate \\(unit, period\\) rows"),
        (lambda p: p.with_columns(pl.when(pl.col("week_start") == pl.col("week_start").max())
                                  .then(pl.lit(dt.date(2026, 3, 2))).otherwise(pl.col("first_treat"))
                                  .alias("first_treat")), "varies within"),
        (lambda p: p.with_columns(pl.lit(None, pl.Date).alias("first_treat")), "no unit is treated"),
        (lambda p: p.with_columns(pl.col("week_start") + pl.duration(days=pl.col("unit") % 2)), "7 days apart"),
        (lambda p: p.with_columns(pl.when(pl.col("unit") == 3).then(None).otherwise(pl.col("y")).alias("y")),
         "column 'y'.*null"),
        (lambda p: p.with_columns(pl.col("first_treat").dt.year()), "first_treat must have the type"),
    ],
)
def test_bad_panels_raise_typed_errors(mutate, match: str) -> None:  # noqa: ANN001
    panel = mutate(_weekly_panel(n=60, weeks=12))
    with pytest.raises(PilotInputError, match=match):
        staggered_did(panel, unit="unit", time="week_start", first_treat="first_treat", outcome="y")


def test_cluster_robust_errors_widen_with_shocks_shared_by_a_cluster() -> None:
    """200 teams of 4 units; each team-week shares a shock: unit-level SEs are too small."""
    rng = np.random.default_rng(3)
    teams, size, weeks = 200, 4, 10
    n = teams * size
    team = np.repeat(np.arange(teams), size)
    group = np.repeat(rng.choice([0, 5, 7], size=teams, p=[0.5, 0.25, 0.25]), size)
    w = np.arange(weeks)
    y = (rng.normal(size=n)[:, None] + rng.normal(0, 1.0, (teams, weeks))[team]
         + 0.3 * ((group[:, None] > 0) & (w[None, :] >= group[:, None])) + rng.normal(0, 0.5, (n, weeks)))
    panel = pl.DataFrame({"unit": np.repeat(np.arange(n), weeks), "t": np.tile(w + 1, n),
                          "g": np.repeat(np.where(group > 0, group + 1, 0), weeks),
                          "team": np.repeat(team, weeks), "y": y.ravel()})
    plain = staggered_did(panel, unit="unit", time="t", first_treat="g", outcome="y")
    clustered = staggered_did(panel, unit="unit", time="t", first_treat="g", outcome="y", cluster="team")
    assert clustered.overall.estimate == pytest.approx(plain.overall.estimate)
    assert clustered.overall.se > 1.5 * plain.overall.se
    assert clustered.overall.ci_low <= 0.3 <= clustered.overall.ci_high
