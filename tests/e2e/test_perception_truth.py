"""Issue 15 (perceived value) acceptance on the simulated organisation run through ``uptake run``:
the survey files are counted independently of the connector, the answers join HR, response rates
use HR denominators, the pilot's corrected effects and the link with activity cover what the
simulator planted, and the report shows the section. Over 20 smaller organisations (the
simulator's own panel, no files) the intervals cover the planted values at their nominal rate."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest

from pipelines.simulator.survey_export import EXTRA_FORMS_COLUMN, surveys_document
from pipelines.simulator.surveys import COMMENTS, QUESTIONS
from pipelines.simulator.world import build_ground_truth, build_world, truth_panel
from tests.conftest import SimulatedRun
from tests.e2e.test_pilot_truth import _person_week_from_truth_panel
from transforms.contracts.config import Surveys
from transforms.metrics.perception import perception_activity_link
from transforms.pilot.perception import perception_pilot_effects

pytestmark = pytest.mark.xdist_group("e2e")

SCALED = [q for q, *_ in QUESTIONS]


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_survey_files_counted_independently(simulated_run: SimulatedRun) -> None:
    folder = simulated_run.raw / "surveys"
    (long_file,) = folder.glob("pulse_survey_responses.csv")
    (forms_file,) = folder.glob("Collaboration pulse(*).csv")
    long_rows, forms_rows = _rows(long_file), _rows(forms_file)
    texts = {text for _, text, *_ in QUESTIONS}
    long_kept = sum(r["question_id"] in SCALED for r in long_rows)
    long_free = sum(r["question_id"] == COMMENTS[0] for r in long_rows)
    anonymous = [r for r in forms_rows if r["Email"] == "anonymous"]
    forms_cells = sum(bool(r[t]) for r in forms_rows for t in texts)
    forms_free = sum(bool(r[COMMENTS[1]]) for r in forms_rows)
    extra = sum(bool(r[EXTRA_FORMS_COLUMN]) for r in forms_rows)
    with simulated_run.connect() as con:
        kept = dict(con.execute("SELECT source_file, count(*) FROM raw.pulse_survey_survey_responses GROUP BY 1")
                    .fetchall())
        rejects = con.execute("SELECT reason, count(*) FROM quality.rejects WHERE source = 'pulse_survey' GROUP BY 1"
                              ).fetchall()
        dropped = dict(con.execute("SELECT source_file || ':' || reason, sum(answers_dropped)::BIGINT "
                                   "FROM raw.pulse_survey_survey_text_dropped GROUP BY 1").fetchall())
    assert kept == {long_file.name: long_kept, forms_file.name: forms_cells - 3 * len(anonymous)}
    assert rejects == [("respondent: no respondent_id or e-mail (an anonymous answer cannot be joined to HR)",
                        3 * len(anonymous))]
    assert dropped == {f"{long_file.name}:free_text": long_free, f"{forms_file.name}:free_text": forms_free,
                       f"{forms_file.name}:not_in_registry": extra}
    assert long_free > 100 and extra > 500 and len(anonymous) == 3


def test_answers_join_hr_and_rates_use_hr_denominators(simulated_run: SimulatedRun) -> None:
    truth = simulated_run.truth["perception"]
    planted = sum(a["answers"] for a in truth["answers_by_wave_and_question"])
    weekly = {w["week_start"]: w for w in simulated_run.truth["weekly"]}
    with simulated_run.connect() as con:
        status = dict(con.execute("SELECT match_status, count(*) FROM clean.survey_responses GROUP BY 1").fetchall())
        org = con.execute("SELECT wave, week_start, question_id, eligible, respondents, response_rate "
                          "FROM marts.perception WHERE population_type = 'organisation'").pl()
        columns = {c for (c, *_) in con.execute("DESCRIBE marts.perception").fetchall()}
    # every planted employee answer is matched (e-mail variants, UPNs, employee ids); the contractor's
    # 2 long-layout answers and the partner's 2 x 3 forms answers are not
    assert status == {"matched": planted, "unmatched": 2 + 2 * len(SCALED)}
    assert org.height == 3 * len(SCALED)
    for r in org.iter_rows(named=True):
        assert r["eligible"] == weekly[r["week_start"].isoformat()]["eligible"], r
        assert r["respondents"] == truth["respondents_by_wave"][r["wave"]], r
        assert r["response_rate"] == pytest.approx(r["respondents"] / r["eligible"])
    assert not columns & {"person_key", "employee_id", "respondent_email", "response_id"}


def test_pilot_effect_intervals_cover_the_planted_effect(simulated_run: SimulatedRun) -> None:
    cohorts = simulated_run.truth["perception"]["pilot"]
    with simulated_run.connect() as con:
        effects = con.execute("SELECT * FROM marts.perception_pilot_effect WHERE NOT suppressed").pl()
    assert set(effects["metric_kind"]) == {"perception"}
    for cohort, planted in cohorts.items():
        for question in SCALED:
            rows = {r["estimator"]: r for r in effects.filter((pl.col("cohort") == cohort)
                                                              & (pl.col("metric") == question)).iter_rows(named=True)}
            assert {"naive", "ipw", "aipw", "matching"} <= set(rows), (cohort, question)
            expected = planted["questions"][question]["att_expected"]
            r = rows["aipw"]
            assert r["ci_low"] <= expected <= r["ci_high"], (cohort, question, r["estimate"], expected)
            assert r["naive_estimate"] == pytest.approx(rows["naive"]["estimate"])  # the naive gap beside
            assert r["n_treated"] <= planted["questions"][question]["respondents"]


def test_activity_link_intervals_cover_the_planted_slope(simulated_run: SimulatedRun) -> None:
    planted = simulated_run.truth["perception"]["activity_link"]
    with simulated_run.connect() as con:
        slopes = con.execute("SELECT question_id, slope, ci_low, ci_high, note, kind FROM marts.perception_activity_link "
                             "WHERE row_type = 'slope'").pl()
    assert sorted(slopes["question_id"]) == sorted(SCALED) and set(slopes["kind"]) == {"link"}
    for r in slopes.iter_rows(named=True):
        assert r["ci_low"] <= planted[r["question_id"]] <= r["ci_high"], r
        assert r["ci_low"] > 0 and "Association, not effect" in r["note"]


def test_report_shows_perceived_value(simulated_run: SimulatedRun) -> None:
    (report,) = sorted(simulated_run.reports.glob("*.html"))[-1:]
    text = report.read_text(encoding="utf-8")
    section = text[text.index("id='perception'"):text.index("id='quality'")]
    assert "Perceived value" in section and "No pulse survey" not in section
    assert "Did the pilot change how its members rate the platform?" in section
    assert "association, not effect" in section.lower()
    assert section.count("class='chart'") >= 4


def _answers_of(world) -> pl.DataFrame:  # noqa: ANN001 - a SimulatedWorld
    emp = world.org.employee_id.astype(str)
    a = world.survey.answers
    week = pl.Series([world.timeline.monday(int(w)) for w in a["week"].to_list()], dtype=pl.Date)
    return a.select(pl.Series("person_key", emp[a["person"].to_numpy()]), pl.lit("collaboration-pulse").alias("survey_id"),
                    "wave", "question_id", pl.col("answer").cast(pl.Int16)).with_columns(
        week.alias("responded_on"), week.alias("week_start"))


def test_intervals_cover_the_planted_values_in_at_least_16_of_20_seeds() -> None:
    """The simulator's own panel (what a perfect pipeline yields), 1,000 people x 30 weeks per seed."""
    hits: dict[str, int] = {}
    for seed in range(100, 120):
        world = build_world(1000, 30, seed)
        truth, _ = build_ground_truth(world)
        person_week = _person_week_from_truth_panel(truth_panel(world))
        answers, surveys = _answers_of(world), Surveys.model_validate(surveys_document(world))
        rollout = dt.date.fromisoformat(truth["timeline"]["G_date"])
        effects = perception_pilot_effects(answers, person_week, surveys, window_end=rollout,
                                           estimators=("naive", "aipw"))
        for r in effects.filter((pl.col("estimator") == "aipw") & (pl.col("cohort") == "wave-1")).iter_rows(named=True):
            planted = truth["perception"]["pilot"]["wave-1"]["questions"][r["metric"]]["att_expected"]
            covered = r["ci_low"] is not None and r["ci_low"] <= planted <= r["ci_high"]
            hits[f"effect:{r['metric']}"] = hits.get(f"effect:{r['metric']}", 0) + covered
        link = perception_activity_link(answers, person_week, surveys).filter(pl.col("row_type") == "slope")
        for r in link.iter_rows(named=True):
            planted = truth["perception"]["activity_link"][r["question_id"]]
            hits[f"link:{r['question_id']}"] = hits.get(f"link:{r['question_id']}", 0) + (
                r["ci_low"] <= planted <= r["ci_high"])
    assert sorted(hits) == sorted([f"effect:{q}" for q in SCALED] + [f"link:{q}" for q in SCALED])
    assert all(n >= 16 for n in hits.values()), hits
