"""Validated readers of the drop zone's YAML files, the KPI feed and the shared CSV batch reader.

Expected counts come from the fixture files in tests/fixtures/drop_zone_files/, whose lines are
annotated below (valid/kpis/service_desk.csv: lines 2-5 good, 6-12 each broken in one way;
valid/kpis/zz_late.csv: line 2 good, line 3 repeats service_desk.csv line 3's key).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import polars as pl
import pytest

from pipelines.connectors.config_files import (
    LINE_COLUMN,
    ConfigFileError,
    iter_csv_batches,
    load_charters,
    load_drop_zone_config,
    load_kpi_registry,
    load_pilots,
    load_settings,
    read_kpi_values,
)
from transforms.contracts import KPI_VALUES, REJECTS, ContractError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "drop_zone_files"
VALID = FIXTURES / "valid"
BAD = FIXTURES / "bad"


def test_valid_yaml_files_load_into_models() -> None:
    settings = load_settings(VALID / "settings.yaml")
    assert settings.organisation == "Northwind Manufacturing"
    assert settings.platform_launch == dt.date(2026, 1, 5)
    assert settings.site_launch == {"PLANT-LYON": dt.date(2026, 3, 2)}
    assert settings.hr_csv_columns == {"employee_id": "Personnel Number", "email": "Work Email"}
    assert [r.hr_field for r in settings.identity_rules] == ["employee_id", "email"]
    pilots = load_pilots(VALID / "pilots.yaml")
    assert [(c.name, c.wave, c.start) for c in pilots.cohorts] == [
        ("wave-1", 1, dt.date(2026, 3, 2)),
        ("wave-2", 2, dt.date(2026, 4, 6)),
    ]
    assert pilots.cohorts[0].employee_ids == ["E00012", "E00153"]
    registry = load_kpi_registry(VALID / "kpi_registry.yaml")
    assert registry.get("first_time_fix_rate").direction == "higher_is_better"
    assert registry.get("first_response_hours").expected_range == (0, 200)
    charters = load_charters(VALID / "charters.yaml")
    assert [c.rule.kind for c in charters.communities] == ["answered_question", "hashtag"]
    assert charters.communities[0].spaces[0].space_id == "1234"


def test_yaml_syntax_error_names_file_and_line() -> None:
    with pytest.raises(ConfigFileError) as info:
        load_settings(BAD / "settings_syntax.yaml")
    err = info.value
    assert isinstance(err, ContractError)
    assert err.file.endswith("settings_syntax.yaml")
    assert err.locator == "line 4, column 10"
    assert "YAML syntax error" in str(err)


def test_validation_errors_name_every_field_with_its_line() -> None:
    with pytest.raises(ConfigFileError) as info:
        load_settings(BAD / "settings_invalid.yaml")
    message = str(info.value)
    lines = message.splitlines()
    assert len(lines) == 4  # one line per problem, each naming the file
    assert all(line.startswith(str(BAD / "settings_invalid.yaml") + ", line ") for line in lines)
    assert "line 2 (time_zone): Value error, unknown IANA time zone 'Mars/Olympus'" in message
    assert "line 3 (min_group_size): Input should be greater than or equal to 2; found 1" in message
    # PyYAML would raise a bare ValueError on this date; we let pydantic report it with its line
    assert "line 4 (platform_launch)" in message and "'2026-13-05'" in message
    assert "line 5 (colour): Extra inputs are not permitted" in message
    assert info.value.locator == "line 2 (time_zone)"


def test_nested_field_path_is_written_with_indexes() -> None:
    with pytest.raises(ConfigFileError) as info:
        load_pilots(BAD / "pilots_invalid.yaml")
    assert "line 7 (cohorts[1].wave): Input should be greater than or equal to 1; found 0" in str(info.value)


def test_model_level_error_points_at_the_cohort(tmp_path: Path) -> None:
    path = tmp_path / "pilots.yaml"
    path.write_text(
        "cohorts:\n  - name: a\n    wave: 1\n    start: 2026-03-02\n    employee_ids: [E1]\n"
        "  - name: b\n    wave: 2\n    start: 2026-04-06\n    end: 2026-04-01\n    employee_ids: [E2]\n"
    )
    with pytest.raises(ConfigFileError, match=r"line 6 \(cohorts\[1\]\).*ends \(2026-04-01\) before it starts"):
        load_pilots(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "file is empty; expected a mapping for Settings"),
        ("- a\n- b\n", "top level is a list; expected a mapping for Settings"),
        ("organisation: A\norganisation: B\nplatform_launch: 2026-01-05\n", "line 2: duplicate key 'organisation'"),
    ],
)
def test_bad_settings_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as info:
        load_settings(path)
    assert expected in str(info.value)


def test_missing_field_reports_its_path(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("platform_launch: 2026-01-05\n")
    with pytest.raises(ConfigFileError, match=r"line 1 \(organisation\): Field required"):
        load_settings(path)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="file not found"):
        load_settings(tmp_path / "settings.yaml")
    path = tmp_path / "settings.yaml"
    path.write_bytes("organisation: Société\n".encode("latin-1"))
    with pytest.raises(ConfigFileError, match="not UTF-8 .*byte 0xe9"):
        load_settings(path)


def test_kpi_feed_keeps_good_rows_and_quarantines_each_bad_one() -> None:
    registry = load_kpi_registry(VALID / "kpi_registry.yaml")
    values, rejects = read_kpi_values(VALID / "kpis", registry=registry)
    assert values.schema == KPI_VALUES.schema
    assert rejects.schema == REJECTS.schema
    # service_desk.csv lines 2-5 and zz_late.csv line 2
    assert values.height == 5
    assert values["value"].to_list() == [12.5, 11.0, 30.0, 0.82, 10.0]
    assert values["source_file"].to_list() == ["service_desk.csv"] * 4 + ["zz_late.csv"]
    reasons = dict(zip(rejects["locator"], rejects["reason"], strict=True))
    assert reasons == {
        "service_desk.csv line 6": "unit_type: expected one of employee, team, site",
        "service_desk.csv line 7": "period_start: expected a date YYYY-MM-DD, found '2026-03-32'",
        "service_desk.csv line 8": "period_end: before period_start",
        "service_desk.csv line 9": "kpi: not in kpi_registry.yaml",
        "service_desk.csv line 10": "duplicate key (kpi, unit_type, unit_id, period_start): an earlier row gave it",
        "service_desk.csv line 11": "value: required, found empty",
        "service_desk.csv line 12": "value: cannot read as Float64",
        "zz_late.csv line 3": "duplicate key (kpi, unit_type, unit_id, period_start): an earlier row gave it",
    }
    assert set(rejects["contract"]) == {"kpi_values"}
    assert all(f.endswith(".csv") for f in rejects["file"])
    by_line = dict(zip(rejects["locator"], rejects["excerpt"], strict=True))
    assert by_line["service_desk.csv line 9"] == "kpi=mean_time_to_repair unit_type=site unit_id=PLANT-LYON"


def test_kpi_feed_without_registry_accepts_unknown_kpis() -> None:
    values, rejects = read_kpi_values(VALID / "kpis" / "service_desk.csv")
    assert values.height == 5  # lines 2-5 and line 9 (no registry to check against)
    assert "mean_time_to_repair" in values["kpi"].to_list()
    assert rejects.height == 6


def test_kpi_feed_batches_do_not_change_the_result() -> None:
    one = read_kpi_values(VALID / "kpis", batch_rows=50_000)
    tiny = read_kpi_values(VALID / "kpis", batch_rows=2)
    assert one[0].equals(tiny[0])
    assert one[1].sort("locator").equals(tiny[1].sort("locator"))


def test_kpi_file_missing_a_column_is_a_contract_error(tmp_path: Path) -> None:
    path = tmp_path / "kpis.csv"
    path.write_text("kpi,unit_type,unit_id,period_start,value\nx,team,T,2026-01-05,1\n")
    with pytest.raises(ContractError) as info:
        read_kpi_values(path)
    assert info.value.file == str(path)
    assert "missing column(s) period_end" in str(info.value)


def test_drop_zone_config_reads_everything_and_defaults_optional_files(tmp_path: Path) -> None:
    config = load_drop_zone_config(VALID)
    assert len(config.pilots.cohorts) == 2
    assert len(config.kpi_registry.kpis) == 2
    assert len(config.charters.communities) == 2
    assert config.kpi_values.height == 5 and config.kpi_rejects.height == 8

    (tmp_path / "settings.yaml").write_text((VALID / "settings.yaml").read_text())
    minimal = load_drop_zone_config(tmp_path)
    assert minimal.pilots.cohorts == [] and minimal.kpi_registry.kpis == [] and minimal.charters.communities == []
    assert minimal.kpi_values.schema == KPI_VALUES.schema and minimal.kpi_values.height == 0

    with pytest.raises(ConfigFileError, match="drop zone directory not found"):
        load_drop_zone_config(tmp_path / "nowhere")
    (tmp_path / "settings.yaml").unlink()
    with pytest.raises(ConfigFileError, match="settings.yaml: file not found"):
        load_drop_zone_config(tmp_path)


# ----- the CSV batch reader shared by the CSV connectors ----------------------------------------


def test_csv_batches_track_physical_lines_across_multiline_fields_and_batches(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(
        b'\xef\xbb\xbf id ,body\r\n1,"two\r\nlines"\r\n2,one\r\n3,"three\nline\nbody"\r\n4,end\r\n'
    )
    batches = list(iter_csv_batches(path, required=("id", "body"), batch_rows=2))
    frame = pl.concat(batches)
    assert frame.columns == ["id", "body", LINE_COLUMN]  # BOM and blanks stripped from the header
    assert frame["id"].to_list() == ["1", "2", "3", "4"]
    assert frame[LINE_COLUMN].to_list() == [2, 4, 5, 8]
    assert [b.height for b in batches] == [2, 2]


def test_csv_latin1_falls_back_to_cp1252_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "hr.csv"
    path.write_bytes("id,name\n1,Zoë\n2,José €\n".encode("cp1252"))
    with caplog.at_level(logging.WARNING):
        frame = pl.concat(list(iter_csv_batches(path)))
    assert frame["name"].to_list() == ["Zoë", "José €"]
    assert "not UTF-8 (byte 0xeb on line 2)" in caplog.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"id,name\n1,x\n", "missing column(s) email"),
        (b"id,id,email\n1,2,x\n", "duplicate column(s) in header: id"),
        (b'id,email\n1,"never closed\n2,x\n', "cannot read as CSV"),
    ],
)
def test_csv_broken_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(ContractError) as info:
        list(iter_csv_batches(path, required=("id", "email")))
    assert message in str(info.value)
    assert info.value.file == str(path)


def test_survey_registry_loads_and_every_bad_registry_names_its_field(tmp_path: Path) -> None:
    from pipelines.connectors.config_files import load_surveys

    surveys = load_surveys(VALID / "surveys.yaml")
    assert [s.id for s in surveys.surveys] == ["pulse", "frontline"]
    survey, question = surveys.question("fl_informed")
    assert survey.date_order == "day_first" and question.answer_labels()[-1] == "Tout à fait d'accord"
    assert surveys.question("saves_time")[1].answer_labels()[3] == "Agree"  # the default English labels
    assert survey.wave_of(dt.date(2026, 3, 15)) == "w1" and survey.wave_of(dt.date(2026, 3, 16)) is None
    head = "surveys:\n  - id: s\n    title: T\n"
    wave = "    waves: [{name: a, opens: 2026-01-05, closes: 2026-01-18}]\n"
    question = "    questions: [{id: q, text: Q, scale: likert_5}]\n"
    for text, expected in (
        (head + "    waves: [{name: a, opens: 2026-01-05, closes: 2026-01-18}, {name: b, opens: 2026-01-12, "
         "closes: 2026-01-25}]\n" + question, "waves 'a' and 'b' overlap"),
        (head + wave + "    questions: [{id: q, text: Q, scale: likert_5, labels: [a, b]}]\n", "likert_5 needs 5 labels"),
        (head + wave + "    questions: [{id: q, text: Q, scale: nps_0_10, labels: [a, b, c, d, e]}]\n",
         "labels are for Likert scales"),
        (head + wave + "    questions: [{id: q, text: Q, scale: stars_5}]\n", "surveys[0].questions[0].scale"),
        (head + wave + "    questions: [{id: q, text: Q, scale: likert_5}, {id: r, text: ' q ', scale: nps_0_10}]\n",
         "the same header names two questions"),
        (head + wave + question + "  - id: t\n    title: T\n" + wave + question, "question id(s) used twice: q"),
        (head + "    waves: [{name: a, opens: 2026-01-18, closes: 2026-01-05}]\n" + question, "closes (2026-01-05) before"),
    ):
        path = tmp_path / "surveys.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigFileError, match=re.escape(expected)) as info:
            load_surveys(path)
        assert str(path) in str(info.value)


def test_drop_zone_config_carries_the_survey_registry() -> None:
    config = load_drop_zone_config(VALID)
    assert [q.id for q in config.surveys.surveys[0].questions] == ["saves_time", "find_expertise", "recommend",
                                                                   "comments"]
