"""marts.target_status on hand-computed cases: the expected path (straight, S-shaped, through
milestones), the status rule in both directions and for a kept level, the baseline, suppressed weeks,
and the date the Bass projection reaches an adoption target."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from transforms.contracts.config import Target
from transforms.metrics.diffusion import BassDiffusion
from transforms.targets.sources import MetricInfo
from transforms.targets.status import TargetSeries, expected_values, target_status_table

W0 = dt.date(2026, 1, 5)  # a Monday


def week(i: int) -> dt.date:
    return W0 + dt.timedelta(weeks=i)


SHARE = MetricInfo(unit="share", direction="higher_is_better", registered_metric="active_rate")
ADOPTION = MetricInfo(unit="share", direction="higher_is_better", registered_metric="ever_active_rate",
                      adoption_share=True)
HOURS = MetricInfo(unit="hours", direction="lower_is_better", registered_metric="kpi_value")


def target(**kw) -> Target:
    base = {"name": "t", "metric": {"kind": "activity", "name": "active_rate"}, "start": W0, "due": week(12),
            "value": 0.5}
    return Target.model_validate({**base, **kw})


def series(values: dict[int, float | None], *, size: int = 100, suppressed: set[int] = frozenset(),
           name: str = "t") -> pl.DataFrame:
    return pl.DataFrame(
        [{"target": name, "week_start": week(i), "actual": None if i in suppressed else v,
          "group_size": None if i in suppressed else size, "suppressed": i in suppressed} for i, v in values.items()],
        schema={"target": pl.Utf8, "week_start": pl.Date, "actual": pl.Float64, "group_size": pl.Int64,
                "suppressed": pl.Boolean},
    )


def status(t: Target, actuals: pl.DataFrame, info: MetricInfo = SHARE, last: int = 11,
           diffusion: BassDiffusion | None = None) -> pl.DataFrame:
    return target_status_table([t], TargetSeries(actuals=actuals, metrics={t.name: info}, last_week=week(last),
                                                 diffusion=diffusion))


def row(table: pl.DataFrame, i: int) -> dict:
    return table.filter(pl.col("week_start") == week(i)).row(0, named=True)


def test_straight_path_from_the_baseline_to_the_target() -> None:
    # 0.2 at week 0 to 0.5 at week 12: 0.025 a week, so 0.35 at week 6
    got = expected_values([(W0, 0.2), (week(12), 0.5)], [week(i) for i in (-1, 0, 6, 12, 14)])
    assert got == pytest.approx([0.2, 0.2, 0.35, 0.5, 0.5])


def test_milestones_are_knots_of_the_path() -> None:
    # 0.2 -> 0.3 at week 4 (0.025 a week), then 0.3 -> 0.5 at week 12 (0.025 a week): 0.275 at week 3, 0.4 at week 8
    got = expected_values([(W0, 0.2), (week(4), 0.3), (week(12), 0.5)], [week(3), week(4), week(8)])
    assert got == pytest.approx([0.275, 0.3, 0.4])


def test_s_shaped_path_starts_slowly_and_is_halfway_at_mid_segment() -> None:
    def s(u: float) -> float:  # the documented normalised logistic, steepness 8
        def sig(x: float) -> float:
            return 1 / (1 + math.exp(-x))
        return (sig(8 * (u - 0.5)) - sig(-4)) / (sig(4) - sig(-4))

    got = expected_values([(W0, 0.0), (week(8), 1.0)], [week(2), week(4), week(6)], path="logistic")
    assert got == pytest.approx([s(0.25), 0.5, s(0.75)])
    assert got[0] == pytest.approx(0.10499, abs=1e-5)  # (0.1192029 - 0.0179862) / (0.9820138 - 0.0179862)


def test_status_bands_for_a_target_above_its_baseline() -> None:
    # baseline 0.2 (week 0) -> 0.5 at week 12: distance 0.3, on track within 0.015, at risk within 0.045
    t = target()
    expected6, expected8, expected10 = 0.35, 0.4, 0.45
    table = status(t, series({0: 0.2, 6: expected6 - 0.01, 8: expected8 - 0.03, 10: expected10 - 0.05,
                              11: 0.6}))
    assert row(table, 0)["baseline"] == 0.2 and row(table, 0)["status"] == "on_track"
    assert row(table, 6)["status"] == "on_track" and row(table, 6)["shortfall"] == pytest.approx(0.01)
    assert row(table, 8)["status"] == "at_risk"
    assert row(table, 10)["status"] == "off_track"
    assert row(table, 11)["status"] == "on_track" and row(table, 11)["reached"]
    assert row(table, 7)["actual"] is None and row(table, 7)["status"] is None  # a week without a value
    assert "5% of the distance from the baseline to the target (0.015)" in row(table, 6)["rule"]
    assert "up to 15% (0.045)" in row(table, 6)["rule"]


def test_status_bands_for_a_target_below_its_baseline() -> None:
    # hours 20 -> 14 by week 12 (lower is better): distance 6, on track within 0.3 hours above the path
    t = target(metric={"kind": "outcome", "name": "first_response_hours"}, value=14, tolerance=0.05,
               at_risk_band=0.10)
    table = status(t, series({0: 20.0, 6: 17.0 + 0.2, 8: 16.0 + 0.5, 10: 15.0 + 1.0, 11: 15.0}), info=HOURS)
    assert [row(table, i)["status"] for i in (6, 8, 10)] == ["on_track", "at_risk", "off_track"]
    assert row(table, 11)["expected"] == pytest.approx(14.5) and row(table, 11)["status"] == "at_risk"
    assert not row(table, 11)["reached"]


def test_a_kept_level_tolerates_a_share_of_the_level() -> None:
    # keep absence at or under 5.5 (lower is better): on track up to 5.775, at risk up to 6.325
    t = target(metric={"kind": "outcome", "name": "absence"}, value=5.5, baseline=5.5)
    table = status(t, series({1: 5.7, 2: 5.9, 3: 6.5, 4: 4.0}), info=HOURS)
    assert [row(table, i)["status"] for i in (1, 2, 3, 4)] == ["on_track", "at_risk", "off_track", "on_track"]
    assert row(table, 4)["reached"] and not row(table, 3)["reached"]


def test_baseline_is_the_first_published_value_since_the_start() -> None:
    t = target()
    table = status(t, series({0: 0.9, 1: 0.9, 2: 0.25, 3: 0.3}, suppressed={0, 1}))
    assert row(table, 0)["baseline"] == 0.25  # weeks 0-1 describe too few people: never a baseline
    assert row(table, 0)["actual"] is None and row(table, 0)["suppressed"]
    assert row(table, 0)["expected"] == pytest.approx(0.25)


def test_a_group_always_below_the_minimum_size_is_never_shown() -> None:
    table = status(target(), series({i: 0.9 for i in range(12)}, suppressed=set(range(12))))
    assert table["actual"].null_count() == table.height
    assert table["status"].null_count() == table.height and table["baseline"].null_count() == table.height
    assert "minimum group size" in table["note"][0]


def test_rows_run_to_the_due_date_with_the_path_only_after_the_data() -> None:
    t = target(due=week(15), milestones=[{"date": week(5), "value": 0.3}])
    table = status(t, series({i: 0.2 + 0.01 * i for i in range(12)}), last=11)
    assert table["week_start"].to_list() == [week(i) for i in range(16)]
    future = table.filter(pl.col("is_future"))
    assert future["week_start"].to_list() == [week(i) for i in range(12, 16)]
    assert future["actual"].null_count() == 4 and future["status"].null_count() == 4
    assert row(table, 15)["expected"] == pytest.approx(0.5)
    assert row(table, 5)["knot"] == "milestone" and row(table, 5)["knot_value"] == 0.3
    assert row(table, 15)["knot"] == "due" and row(table, 0)["knot"] == "start"


def test_unknown_population_says_so() -> None:
    table = status(target(population={"type": "department", "value": "Salse"}), series({}).clear())
    assert table["actual"].null_count() == table.height
    assert "no value of this metric for this population" in table["note"][0]


def _diffusion(fitted: list[float], *, headcount: int = 100, status: str = "ok") -> BassDiffusion:
    params = pl.DataFrame({"population_type": ["organisation"], "population": ["organisation"],
                           "headcount": [headcount], "adopted_before": [10], "parameter": ["m"],
                           "estimate": [80.0], "status": [status]})
    projection = pl.DataFrame({"population_type": "organisation", "population": "organisation",
                               "week_start": [week(i) for i in range(len(fitted))], "fitted_share": fitted})
    return BassDiffusion(parameters=params, projection=projection)


def test_adoption_target_projected_date_from_the_bass_model() -> None:
    # latest actual 0.40 of 200 eligible (week 11); the Bass population is 100 people, so the projected share is
    # 0.40 + (fitted - fitted at week 11) * 100 / 200: 0.5 needs fitted 0.2 above week 11's 0.50 -> 0.70 in week 14
    fitted = [0.1 * min(i, 5) / 5 for i in range(6)] + [0.1 + 0.08 * (i - 5) for i in range(6, 20)]
    assert fitted[11] == pytest.approx(0.58)
    fitted[11], fitted[12], fitted[13], fitted[14], fitted[15] = 0.50, 0.58, 0.66, 0.70, 0.74
    t = target(metric={"kind": "activity", "name": "ever_active_rate"}, due=week(13))
    table = status(t, series({i: 0.4 for i in range(12)}, size=200), info=ADOPTION, diffusion=_diffusion(fitted))
    assert table["projected_date"].unique().to_list() == [week(14)]
    assert table["projected_on_time"][0] is False  # due in week 13
    t_late = target(metric={"kind": "activity", "name": "ever_active_rate"}, due=week(20), value=0.9)
    table = status(t_late, series({i: 0.4 for i in range(12)}, size=200), info=ADOPTION, diffusion=_diffusion(fitted))
    assert table["projected_date"][0] is None and "fitted ceiling" in table["projection_note"][0]


def test_adoption_target_already_reached_and_populations_without_a_fit() -> None:
    t = target(metric={"kind": "activity", "name": "ever_active_rate"}, value=0.3)
    reached = status(t, series({0: 0.1, 5: 0.31, 6: 0.29, 11: 0.35}), info=ADOPTION, diffusion=_diffusion([0.1] * 20))
    assert reached["projected_date"][0] == week(5) and reached["projection_note"][0] == "reached"
    office = target(metric={"kind": "activity", "name": "ever_active_rate"}, value=0.9,
                    population={"type": "site", "value": "HQ"})
    other = status(office, series({0: 0.1, 11: 0.2}), info=ADOPTION, diffusion=_diffusion([0.1] * 20))
    assert other["projected_date"][0] is None
    assert "no diffusion model is fitted for this population" in other["projection_note"][0]
    # a weekly rate is no adoption share: no projection at all
    plain = status(target(value=0.9), series({0: 0.1, 11: 0.2}), diffusion=_diffusion([0.1] * 20))
    assert plain["projected_date"][0] is None and plain["projection_note"][0] is None


def test_unknown_metric_keeps_the_path_and_says_why() -> None:
    t = target(metric={"kind": "activity", "name": "nonsense"}, baseline=0.1)
    table = target_status_table([t], TargetSeries(actuals=series({}).clear(), metrics={"t": None},
                                                  last_week=week(11), problems={"t": "metric 'nonsense' is unknown"}))
    assert table["note"][0] == "metric 'nonsense' is unknown"
    assert table["expected"].null_count() == 0 and table["status"].null_count() == table.height
