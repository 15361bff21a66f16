"""Perception metrics against hand-computed cases: response rates on HR denominators, the last answer
of a wave, top-2-box (both directions), NPS, suppression with its complement, and the link with
prior activity (active share, slope, bands)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from transforms.contracts.config import Surveys
from transforms.metrics.perception import (
    activity_before_answers,
    perception_activity_link,
    perception_by_population,
)
from transforms.metrics.registry import assert_single_kind

W1, W2 = dt.date(2026, 3, 2), dt.date(2026, 4, 6)
SURVEYS = Surveys.model_validate({"surveys": [{
    "id": "s", "title": "Pulse",
    "waves": [{"name": "w1", "opens": W1, "closes": W1 + dt.timedelta(days=13)},
              {"name": "w2", "opens": W2, "closes": W2 + dt.timedelta(days=13)}],
    "questions": [
        {"id": "q_l", "text": "Saves time", "scale": "likert_5"},
        {"id": "q_n", "text": "Recommend", "scale": "nps_0_10"},
        {"id": "q_low", "text": "Too many notifications", "scale": "likert_5", "direction": "lower_is_better"},
        {"id": "q_t", "text": "Comments", "scale": "free_text"},
    ],
}]})


def _pw(people: dict[str, str], week: dt.date) -> list[dict]:
    return [{"person_key": p, "week_start": week, "worker_type": wt, "is_active": False} for p, wt in people.items()]


PEOPLE = {f"p{i}": "office" for i in range(1, 6)} | {f"p{i}": "frontline" for i in range(6, 9)}
PERSON_WEEK = pl.DataFrame(_pw(PEOPLE, W1) + _pw(PEOPLE | {"p9": "office"}, W2))


def _answers(rows: list[tuple[str, str, str, int, dt.date]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"person_key": p, "survey_id": "s", "wave": w, "question_id": q, "answer": a, "responded_on": on,
          "week_start": on - dt.timedelta(days=on.weekday()), "response_id": f"{p}-{on}"} for p, w, q, a, on in rows],
        schema={"person_key": pl.Utf8, "survey_id": pl.Utf8, "wave": pl.Utf8, "question_id": pl.Utf8,
                "answer": pl.Int16, "responded_on": pl.Date, "week_start": pl.Date, "response_id": pl.Utf8})


D1, D2 = W1 + dt.timedelta(days=1), W1 + dt.timedelta(days=3)
ANSWERS = _answers([
    ("p1", "w1", "q_l", 1, D1), ("p1", "w1", "q_l", 5, D2),  # answered twice: the last answer (5) counts
    ("p2", "w1", "q_l", 4, D1), ("p3", "w1", "q_l", 2, D1), ("p4", "w1", "q_l", 1, D1),
    ("p6", "w1", "q_l", 4, D1), ("p7", "w1", "q_l", 3, D1),
    ("p9", "w1", "q_l", 5, D2),  # not eligible the week the wave opened: left out
    ("p1", "w1", "q_n", 10, D1), ("p2", "w1", "q_n", 9, D1), ("p3", "w1", "q_n", 7, D1), ("p4", "w1", "q_n", 6, D1),
    ("p5", "w1", "q_n", 0, D1),
    ("p1", "w1", "q_low", 1, D1), ("p2", "w1", "q_low", 2, D1), ("p3", "w1", "q_low", 5, D1),
])


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return perception_by_population(ANSWERS, PERSON_WEEK, SURVEYS, populations=("organisation", "worker_type"),
                                    min_group_size=3)


def _cell(table: pl.DataFrame, question: str, population: str, wave: str = "w1") -> dict:
    return table.filter((pl.col("wave") == wave) & (pl.col("question_id") == question)
                        & (pl.col("population") == population)).row(0, named=True)


def test_likert_cell_on_hr_denominators(table: pl.DataFrame) -> None:
    org = _cell(table, "q_l", "organisation")
    assert (org["eligible"], org["respondents"]) == (8, 6)
    assert org["response_rate"] == pytest.approx(6 / 8)
    assert org["mean_answer"] == pytest.approx(19 / 6)  # 5 4 2 1 4 3
    assert org["top2_share"] == pytest.approx(3 / 6)   # 5, 4, 4
    assert org["nps"] is None and org["week_start"] == W1 and not org["suppressed"]
    assert_single_kind(table, expected="perception")


def test_small_cell_and_its_complement_are_suppressed(table: pl.DataFrame) -> None:
    frontline, office = _cell(table, "q_l", "frontline"), _cell(table, "q_l", "office")
    assert frontline["suppressed"] and frontline["respondents"] is None and frontline["mean_answer"] is None
    # office alone (4 respondents) would give frontline away by subtraction from the organisation's row
    assert office["suppressed"] and office["eligible"] is None


def test_nps_and_lower_is_better(table: pl.DataFrame) -> None:
    nps = _cell(table, "q_n", "organisation")
    assert nps["respondents"] == 5 and nps["mean_answer"] == pytest.approx(32 / 5)
    assert (nps["promoters_share"], nps["detractors_share"], nps["nps"]) == pytest.approx((0.4, 0.4, 0.0))
    assert nps["top2_share"] is None
    low = _cell(table, "q_low", "organisation")
    assert low["top2_share"] == pytest.approx(2 / 3)  # 1 and 2 are the favourable answers


def test_a_wave_without_answers_has_rows_without_numbers(table: pl.DataFrame) -> None:
    w2 = _cell(table, "q_l", "organisation", wave="w2")
    assert w2["suppressed"] and w2["respondents"] is None  # nobody answered: zero people described
    assert set(table["question_id"]) == {"q_l", "q_n", "q_low"}  # free text has no row


# ----- the link with activity --------------------------------------------------------------------------


def _week(i: int) -> dt.date:
    return dt.date(2026, 1, 5) + dt.timedelta(weeks=i)


def test_active_share_counts_eligible_weeks_before_the_answer() -> None:
    pw = pl.DataFrame(
        [{"person_key": "a", "week_start": _week(i), "is_active": i in (2, 3, 8, 9), "worker_type": "office"}
         for i in range(0, 11)]  # weeks 2..9 before week 10: active in 4 of 8
        + [{"person_key": "b", "week_start": _week(i), "is_active": i == 9, "worker_type": "office"} for i in (8, 9, 10)]
        + [{"person_key": "c", "week_start": _week(10), "is_active": True, "worker_type": "office"}])
    answers = _answers([(p, "w1", "q_l", 3, _week(10) + dt.timedelta(days=2)) for p in ("a", "b", "c")])
    got = activity_before_answers(answers, pw, weeks=8).select("person_key", "active_share", "weeks_observed").rows()
    assert got == [("a", 0.5, 8), ("b", 0.5, 2), ("c", None, 0)]


def test_link_slope_and_bands() -> None:
    rows, answers = [], []
    for i in range(60):
        k = (i % 5) * 2  # active in 0, 2, 4, 6 or 8 of the 8 weeks before answering
        rows += [{"person_key": f"p{i}", "week_start": _week(w), "is_active": w < k, "worker_type": "office",
                  "department": "Sales", "pilot_cohort": None, "pilot_start_week": None} for w in range(9)]
        answers.append((f"p{i}", "w1", "q_l", 1 + k // 2, _week(8) + dt.timedelta(days=1)))
    pw = pl.DataFrame(rows, schema_overrides={"pilot_cohort": pl.Utf8, "pilot_start_week": pl.Date})
    link = perception_activity_link(_answers(answers), pw, SURVEYS, weeks=8, min_group_size=5)
    assert_single_kind(link, expected="link")
    slope = link.filter(pl.col("row_type") == "slope").row(0, named=True)
    assert slope["question_id"] == "q_l" and slope["respondents"] == 60
    assert slope["slope"] == pytest.approx(4.0)  # answer = 1 + 4 x share, exactly
    assert slope["correlation"] == pytest.approx(1.0)
    assert "Association, not effect" in slope["note"]
    bands = dict(link.filter(pl.col("row_type") == "band").select("band", "respondents").iter_rows())
    assert bands == {"never active": 12, "active up to half of the weeks": 24, "active most weeks": 24}


def test_link_bands_below_the_minimum_are_suppressed_with_a_complement() -> None:
    rows, answers = [], []
    for i in range(12):
        k = 0 if i < 3 else 8  # 3 never active (below 5), 9 always active
        rows += [{"person_key": f"p{i}", "week_start": _week(w), "is_active": w < k, "worker_type": "office",
                  "department": "Sales", "pilot_cohort": None, "pilot_start_week": None} for w in range(9)]
        answers.append((f"p{i}", "w1", "q_l", 2 if k == 0 else 4, _week(8)))
    pw = pl.DataFrame(rows, schema_overrides={"pilot_cohort": pl.Utf8, "pilot_start_week": pl.Date})
    link = perception_activity_link(_answers(answers), pw, SURVEYS, weeks=8, min_group_size=5)
    bands = link.filter(pl.col("row_type") == "band")
    # the empty middle band (0 people) does not protect the 3: the band of 9 is suppressed with them
    assert bands.filter(pl.col("suppressed"))["band"].sort().to_list() == [
        "active most weeks", "active up to half of the weeks", "never active"]
    assert link.filter(pl.col("row_type") == "slope")["respondents"].item() == 12
