"""The pulse survey's files, as docs/drop_zone.md describes them (read by ``pulse_survey``):

- ``surveys.yaml``: the survey registry (waves, questions, scales, directions);
- ``surveys/pulse_survey_responses.csv``: the first two waves in the documented long layout, as an
  internal survey tool exports them: ``respondent_id`` (the employee id) and ``respondent_email``
  (the HR e-mail), or for one respondent in five the e-mail alone, in a case variant; times in
  ISO 8601 with the organisation's offset; free-text comments as answers of ``comments``; two answers
  of a respondent id HR does not know (a contractor);
- ``surveys/Collaboration pulse(1-N).csv``: the last wave as a Microsoft Forms export (UTF-8 BOM,
  ``ID, Start time, Completion time, Email, Name, Last modified time``, one column per question
  headed by its text, Likert answers as labels, US ``M/D/YYYY H:MM:SS`` times, the respondent's UPN),
  with a free-text column, a column no question of the registry names (the respondent's site), three
  anonymous responses and two from a partner's addresses.

Nothing here draws random numbers: what varies comes from the survey plan, the rest is a fixed
function of the person and the day, so the other files of the drop zone are unchanged by it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import yaml

from pipelines.simulator.organisation import SITE_CODES
from pipelines.simulator.output_files import csv_bytes
from pipelines.simulator.parameters import TIME_ZONE
from pipelines.simulator.surveys import COMMENTS, QUESTIONS, SURVEY_ID, SURVEY_TITLE, SurveyPlan
from pipelines.simulator.world import SimulatedWorld
from transforms.contracts.vocabulary import LIKERT_LABELS

LONG_FILE = "pulse_survey_responses.csv"
EXTRA_FORMS_COLUMN = "Which site are you based at?"
PARTNER_EMAILS = ("k.ortiz@partner-agency.example", "l.meyer@partner-agency.example")


def surveys_document(world: SimulatedWorld) -> dict[str, object]:
    plan: SurveyPlan = world.survey
    return {"surveys": [{
        "id": SURVEY_ID,
        "title": SURVEY_TITLE,
        "date_order": "month_first",
        "waves": [{"name": n, "opens": o, "closes": c} for n, o, c in plan.wave_dates(world.timeline)],
        "questions": [{"id": qid, "text": text, "scale": scale, "direction": "higher_is_better"}
                      for qid, text, scale, _, _ in QUESTIONS]
        + [{"id": COMMENTS[0], "text": COMMENTS[1], "scale": "free_text"}],
    }]}


def _local_time(day: dt.date, person: int) -> dt.datetime:
    minute = 8 * 60 + (person * 37 + day.toordinal() * 11) % 600
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=ZoneInfo(TIME_ZONE))


def _day(world: SimulatedWorld, wave: str, day: int) -> dt.date:
    opens = dict(world.survey.waves)[wave]
    return world.timeline.monday(opens) + dt.timedelta(days=int(day))


def write_long_export(world: SimulatedWorld, out_dir: Path) -> Path:
    org, plan = world.org, world.survey
    waves = [n for n, _ in plan.waves[:2]]
    rows: list[dict[str, object]] = []
    answers = plan.answers.filter(pl.col("wave").is_in(waves))
    comments = plan.comments.filter(pl.col("wave").is_in(waves)).with_columns(
        pl.lit(COMMENTS[0]).alias("question_id"), pl.col("text").alias("answer"))
    both = pl.concat([answers.select("person", "wave", "day", "question_id", pl.col("answer").cast(pl.Utf8)),
                      comments.select("person", "wave", "day", "question_id", "answer")])
    for person, wave, day, question, answer in both.sort("wave", "day", "person", "question_id").iter_rows():
        email = str(org.email[person])
        email_only = person % 5 == 0
        rows.append({
            "respondent_id": None if email_only else str(org.employee_id[person]),
            "respondent_email": email.title() if email_only else email,
            "responded_at": _local_time(_day(world, wave, day), person).isoformat(timespec="seconds"),
            "question_id": question, "answer": answer,
        })
    first = _day(world, waves[0], 3)
    rows += [{"respondent_id": "X-CONTRACTOR-1", "respondent_email": None,
              "responded_at": _local_time(first, 1).isoformat(timespec="seconds"), "question_id": q, "answer": a}
             for q, a in (("saves_time", "3"), ("recommend", "6"))]
    folder = out_dir / "surveys"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LONG_FILE
    path.write_bytes(csv_bytes(pl.DataFrame(rows, schema={c: pl.Utf8 for c in (
        "respondent_id", "respondent_email", "responded_at", "question_id", "answer")})))
    return path


def _forms_time(when: dt.datetime) -> str:
    return f"{when.month}/{when.day}/{when.year} {when.hour}:{when.minute:02d}:{when.second:02d}"


def write_forms_export(world: SimulatedWorld, out_dir: Path) -> Path:
    org, plan = world.org, world.survey
    wave = plan.waves[-1][0]
    answers = plan.answers.filter(pl.col("wave") == wave).pivot(
        on="question_id", index=["person", "day"], values="answer").sort("day", "person")
    comments = dict(plan.comments.filter(pl.col("wave") == wave).select("person", "text").iter_rows())
    labels = {qid: LIKERT_LABELS.get(scale, ()) for qid, _, scale, _, _ in QUESTIONS}

    def cell(qid: str, value: int) -> str:
        return labels[qid][value - 1] if labels[qid] else str(value)

    rows: list[dict[str, object]] = []
    for r in answers.iter_rows(named=True):
        person = r["person"]
        done = _local_time(_day(world, wave, r["day"]), person)
        rows.append({
            "Start time": _forms_time(done - dt.timedelta(minutes=2 + person % 4)), "Completion time": _forms_time(done),
            "Email": str(org.upn[person]), "Name": str(org.display_name[person]), "Last modified time": None,
            **{text: cell(qid, r[qid]) for qid, text, *_ in QUESTIONS},
            COMMENTS[1]: comments.get(person), EXTRA_FORMS_COLUMN: SITE_CODES[org.site[person]],
        })
    last = _local_time(_day(world, wave, 12), 3)
    for i, email in enumerate(("anonymous", "anonymous", "anonymous", *PARTNER_EMAILS)):
        rows.append({"Start time": _forms_time(last), "Completion time": _forms_time(last + dt.timedelta(minutes=i)),
                     "Email": email, "Name": None, "Last modified time": None,
                     **{text: cell(qid, 3 if scale.startswith("likert") else 7) for qid, text, scale, _, _ in QUESTIONS},
                     COMMENTS[1]: None, EXTRA_FORMS_COLUMN: None})
    table = pl.DataFrame(rows, schema={"Start time": pl.Utf8, "Completion time": pl.Utf8, "Email": pl.Utf8,
                                       "Name": pl.Utf8, "Last modified time": pl.Utf8,
                                       **{text: pl.Utf8 for _, text, *_ in QUESTIONS}, COMMENTS[1]: pl.Utf8,
                                       EXTRA_FORMS_COLUMN: pl.Utf8})
    table = table.with_row_index("ID", offset=1).with_columns(pl.col("ID").cast(pl.Utf8))
    folder = out_dir / "surveys"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{SURVEY_TITLE}(1-{table.height}).csv"
    path.write_bytes(csv_bytes(table, bom=True, line_terminator="\r\n"))
    return path


def write_survey_files(world: SimulatedWorld, out_dir: Path) -> list[Path]:
    """``surveys.yaml`` and the two exports."""
    out_dir.mkdir(parents=True, exist_ok=True)
    registry = out_dir / "surveys.yaml"
    text = yaml.safe_dump(surveys_document(world), sort_keys=False, allow_unicode=True, width=110)
    registry.write_text(f"# Pulse surveys: waves and questions (simulated)\n{text}", encoding="utf-8")
    return [registry, write_long_export(world, out_dir), write_forms_export(world, out_dir)]
