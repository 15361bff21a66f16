"""The pulse_survey connector on its fixture (counted by hand) and on bad inputs.

Fixture ``tests/fixtures/connectors/pulse_survey``: ``surveys.yaml`` (two surveys), a long CSV
(15 rows: 6 answers kept, 7 quarantined, 2 free-text answers dropped), a Microsoft Forms export
(5 responses: 6 answers kept, 8 quarantined, 1 free-text answer and 4 answers of a column no
question names dropped) and a Google Forms export in a day-first locale with French Likert labels
(4 responses: 3 kept, 1 quarantined).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors.base import ConnectorError
from pipelines.connectors.pulse_survey import PulseSurveyConnector, parse_response_day
from transforms.contracts import ContractError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "connectors" / "pulse_survey"
FORMS = "Collaboration pulse(1-5).csv"


def _tables(root: Path) -> dict[str, pl.DataFrame]:
    frames: dict[str, list[pl.DataFrame]] = {}
    for batch in PulseSurveyConnector().read_drop_zone(root):
        frames.setdefault(batch.table, []).append(batch.frame)
    return {t: pl.concat(f) for t, f in frames.items()}


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    return _tables(FIXTURE)


def test_counts_per_file(tables: dict[str, pl.DataFrame]) -> None:
    kept = tables["survey_responses"].group_by("source_file").len().sort("source_file").rows()
    assert kept == [(FORMS, 6), ("google_forms_frontline.csv", 3), ("pulse_long.csv", 6)]
    rejects = tables["rejects"].with_columns(pl.col("file").str.split("/").list.last()).group_by("file").len()
    assert sorted(rejects.rows()) == [(FORMS, 8), ("google_forms_frontline.csv", 1), ("pulse_long.csv", 7)]
    dropped = tables["survey_text_dropped"].select("source_file", "survey_id", "question_id", "reason",
                                                   "answers_dropped").sort("source_file", "question_id").rows()
    assert dropped == [(FORMS, None, "column 11", "not_in_registry", 4), (FORMS, "pulse", "comments", "free_text", 1),
                       ("pulse_long.csv", "pulse", "comments", "free_text", 2)]


def test_long_layout_rows(tables: dict[str, pl.DataFrame]) -> None:
    rows = (tables["survey_responses"].filter(pl.col("source_file") == "pulse_long.csv")
            .select("respondent_id", "respondent_email", "responded_on", "wave", "question_id", "answer")
            .sort("responded_on", "question_id").rows())
    d = dt.date
    assert rows == [
        ("E001", "ana.lopez@example.com", d(2026, 2, 3), "baseline", "recommend", 9),
        ("E001", "ana.lopez@example.com", d(2026, 2, 3), "baseline", "saves_time", 4),  # not the duplicate's 5
        (None, "bo.martin@example.com", d(2026, 2, 4), "baseline", "find_expertise", 2),  # trimmed, lower-cased
        ("E002", None, d(2026, 2, 4), "baseline", "saves_time", 4),  # the label "Agree"
        ("E006", None, d(2026, 5, 5), "mid-pilot", "saves_time", 5),
        ("E008", None, d(2026, 5, 6), "mid-pilot", "recommend", 10),  # 5/6/2026 read month first
    ]


def test_long_layout_rejects_name_line_and_field(tables: dict[str, pl.DataFrame]) -> None:
    rejects = tables["rejects"].filter(pl.col("file").str.ends_with("pulse_long.csv")).sort("locator")
    reasons = dict(zip(rejects["locator"], rejects["reason"], strict=True))
    assert reasons == {
        "pulse_long.csv line 7": "answer: expected a point from 1 to 5 of likert_5 or one of its labels",
        "pulse_long.csv line 8": "answer: expected a point from 0 to 10 of nps_0_10",
        "pulse_long.csv line 9": "responded_at: 2026-03-20 is in no wave of survey pulse in surveys.yaml",
        "pulse_long.csv line 10": "responded_at: expected an ISO date (YYYY-MM-DD) or M/D/YYYY",
        "pulse_long.csv line 11": "respondent: no respondent_id or e-mail (an anonymous answer cannot be joined to HR)",
        "pulse_long.csv line 12": "question_id: not a question of surveys.yaml",
        "pulse_long.csv line 13": "duplicate answer: the same response_id and question_id came in an earlier row (kept)",
    }
    assert rejects.filter(pl.col("locator") == "pulse_long.csv line 12")["excerpt"].item() == \
        "question_id=unknown_q respondent_id=E005"


def test_forms_export_is_mapped_by_header(tables: dict[str, pl.DataFrame]) -> None:
    rows = (tables["survey_responses"].filter(pl.col("source_file") == FORMS)
            .select("response_id", "respondent_email", "responded_on", "question_id", "answer")
            .sort("response_id", "question_id").rows())
    d = dt.date(2026, 5, 4)
    assert rows == [
        ("mid-pilot:1:carla.diaz@example.com", "carla.diaz@example.com", d, "find_expertise", 4),  # by `headers`
        ("mid-pilot:1:carla.diaz@example.com", "carla.diaz@example.com", d, "recommend", 10),
        ("mid-pilot:1:carla.diaz@example.com", "carla.diaz@example.com", d, "saves_time", 5),  # "Strongly agree"
        ("mid-pilot:3:david.weber@example.com", "david.weber@example.com", dt.date(2026, 5, 12), "recommend", 7),
        ("mid-pilot:3:david.weber@example.com", "david.weber@example.com", dt.date(2026, 5, 12), "saves_time", 1),
        ("mid-pilot:4:eva.roux@example.com", "eva.roux@example.com", dt.date(2026, 5, 13), "find_expertise", 4),
    ]
    rejects = tables["rejects"].filter(pl.col("file").str.ends_with(FORMS))
    assert sorted(rejects["locator"].to_list()) == sorted([
        f"{FORMS} line 3, saves_time", f"{FORMS} line 3, find_expertise", f"{FORMS} line 3, recommend",  # anonymous
        f"{FORMS} line 5, saves_time", f"{FORMS} line 5, recommend",  # "Maybe", 12
        f"{FORMS} line 6, saves_time", f"{FORMS} line 6, find_expertise", f"{FORMS} line 6, recommend",  # June
    ])


def test_day_first_export_and_its_own_labels(tables: dict[str, pl.DataFrame]) -> None:
    rows = (tables["survey_responses"].filter(pl.col("survey_id") == "frontline")
            .select("respondent_id", "responded_on", "scale", "answer").sort("responded_on").rows())
    assert rows == [("E010", dt.date(2026, 3, 3), "likert_7", 7), (None, dt.date(2026, 3, 14), "likert_7", 5),
                    (None, dt.date(2026, 3, 15), "likert_7", 3)]


def test_no_free_text_and_no_name_leaves_the_connector(tables: dict[str, pl.DataFrame]) -> None:
    everything = "\n".join(str(v) for frame in tables.values() for row in frame.rows() for v in row)
    for text in ("training sessions", "slow on mobile", "video tutorials", "Maintenance", "Carla Diaz", "David Weber"):
        assert text not in everything


@pytest.mark.parametrize(("raw", "day_first", "expected"), [
    ("2026-03-02", False, dt.date(2026, 3, 2)),
    ("2026-03-02T23:30:00-05:00", False, dt.date(2026, 3, 2)),  # the day as written
    ("2026-03-02 09:15:00Z", False, dt.date(2026, 3, 2)),
    ("3/2/2026 9:15:00 PM", False, dt.date(2026, 3, 2)),
    ("3/2/2026", True, dt.date(2026, 2, 3)),
    ("13/2/2026", False, None),  # month 13
    ("2026-02-30", False, None),
    ("soon", False, None),
])
def test_response_days(raw: str, day_first: bool, expected: dt.date | None) -> None:
    frame = pl.DataFrame({"raw": [raw], "first": [day_first]})
    assert frame.select(parse_response_day(pl.col("raw"), pl.col("first"))).item() == expected


def _drop_zone(tmp_path: Path, **files: str) -> Path:
    shutil.copy(FIXTURE / "surveys.yaml", tmp_path / "surveys.yaml")
    (tmp_path / "surveys").mkdir()
    for name, text in files.items():
        (tmp_path / "surveys" / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_survey_files_without_the_registry_stop_with_its_name(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE / "surveys", tmp_path / "surveys")
    with pytest.raises(ConnectorError, match="surveys.yaml"):
        list(PulseSurveyConnector().read_drop_zone(tmp_path))
    assert list(PulseSurveyConnector().read_drop_zone(tmp_path / "nowhere")) == []


@pytest.mark.parametrize(("text", "message"), [
    ("a,b,c\n1,2,3\n", "neither a long survey CSV"),
    ("responded_at,question_id,answer\n2026-02-03,saves_time,4\n", "respondent_id or respondent_email"),
    ("Email,The platform saves me time in my daily work\na@example.com,Agree\n", "without a time column"),
    ("Timestamp,The platform saves me time in my daily work\n2/3/2026,Agree\n", "without a respondent column"),
    ("Timestamp,Email,The platform saves me time in my daily work,I feel informed about what happens at my site\n"
     "2/3/2026,a@example.com,Agree,3\n", "several surveys"),
])
def test_unusable_headers_stop_with_the_file_named(tmp_path: Path, text: str, message: str) -> None:
    root = _drop_zone(tmp_path, **{"export.csv": text})
    with pytest.raises(ContractError, match=message) as err:
        list(PulseSurveyConnector().read_drop_zone(root))
    assert "export.csv" in str(err.value)


def test_the_same_export_twice_keeps_the_first_and_quarantines_the_repeats(tmp_path: Path) -> None:
    text = (FIXTURE / "surveys" / FORMS).read_text(encoding="utf-8")
    root = _drop_zone(tmp_path, **{"a.csv": text, "b.csv": text})
    out = _tables(root)
    assert out["survey_responses"].height == 6 and set(out["survey_responses"]["source_file"]) == {"a.csv"}
    repeats = out["rejects"].filter(pl.col("reason").str.starts_with("duplicate answer"))
    assert repeats.height == 6 and set(repeats["file"].str.split("/").list.last()) == {"b.csv"}


def test_the_documented_registry_and_long_layout_read_as_documented(tmp_path: Path) -> None:
    import re

    doc = (Path(__file__).parents[2] / "docs" / "drop_zone.md").read_text(encoding="utf-8")
    section = doc[doc.index("## surveys.yaml"):doc.index("## hr/*.csv")]
    registry, long_csv = (re.search(rf"```{lang}\n(.*?)```", section, re.DOTALL).group(1) for lang in ("yaml", "csv"))
    (tmp_path / "surveys.yaml").write_text(registry, encoding="utf-8")
    (tmp_path / "surveys").mkdir()
    (tmp_path / "surveys" / "pulse.csv").write_text(long_csv, encoding="utf-8")
    out = _tables(tmp_path)
    assert out["survey_responses"].select("respondent_id", "question_id", "answer").rows() == [
        ("E00012", "saves_time", 4), ("E00012", "recommend", 9), (None, "saves_time", 4)]
    assert "rejects" not in out
