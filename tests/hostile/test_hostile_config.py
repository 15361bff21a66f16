"""Hostile configuration files: ``settings.yaml``, ``pilots.yaml``, ``kpi_registry.yaml``, ``targets.yaml``,
``charters.yaml``, ``surveys.yaml`` and the KPI feed ``kpis/*.csv``, read through ``load_drop_zone_config`` exactly as
the ingest asset does.

Every case ends in a :class:`~pipelines.connectors.config_files.ConfigFileError` /
``ContractError`` naming the file (and the line or field where there is one), or in a valid
configuration; KPI rows that cannot be used are quarantined with their line and the good rows all
kept. Hypothesis mutates the valid files at random and writes KPI feeds mixing numbers and text.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.connectors.config_files import ConfigFileError, load_drop_zone_config
from tests.hostile.corpus import LEDGER, expect_rows, run_case, sandbox
from tests.hostile.mutations import GENERIC

pytestmark = pytest.mark.xdist_group("hostile")

VALID = Path(__file__).parents[1] / "fixtures" / "drop_zone_files" / "valid"
YAML_FILES = ("settings.yaml", "pilots.yaml", "kpi_registry.yaml", "charters.yaml", "targets.yaml", "surveys.yaml")
KPI_HEADER = ["kpi", "unit_type", "unit_id", "period_start", "period_end", "value"]


def _billion_laughs() -> bytes:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return ("\n".join(lines) + "\nvalue: *a8\n").encode()


#: YAML-specific hostile rewrites of a valid file (bytes -> bytes).
YAML_CASES = {
    "syntax-error": lambda b: b.replace(b":", b": [unclosed", 1),
    "tab-indentation": lambda b: b"\n".join(b"\t" + line if i else line for i, line in enumerate(b.split(b"\n"))),
    "top-level-list": lambda b: b"- just\n- a list\n",
    "wrong-types": lambda b: b.replace(b": ", b": {nested: [1, 2]} #", 2),
    "duplicate-key": lambda b: b + b"\n" + b.split(b"\n")[0] + b"\n",
    "alias-bomb": lambda b: _billion_laughs(),
    "python-tag": lambda b: b"!!python/object/apply:os.system ['echo pwned']\n",
    "only-a-comment": lambda b: b"# nothing here\n",
}
#: Mutations after which the file must still load (a BOM, Windows line ends).
YAML_BENIGN = ("bom", "crlf")


def _drop_zone(box, **overrides: bytes | None) -> Path:  # noqa: ANN001 - Sandbox
    """The valid configuration in the sandbox's drop zone, with ``overrides`` (None = a folder)."""
    root = box.data
    shutil.copytree(VALID, root, dirs_exist_ok=True)
    for name, data in overrides.items():
        path = root / name.replace("__", "/")
        if data is None:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            path.mkdir()
            (path / "README").write_text("a folder where a file belongs\n")
        else:
            path.write_bytes(data)
    return root


def _load(box, case: str, file: str):  # noqa: ANN001, ANN202
    return run_case(case, "config", lambda: load_drop_zone_config(box.data), box=box, files=(box.data / file,))


def _named(outcome, file: str) -> None:  # noqa: ANN001
    assert outcome.error is not None
    assert file in str(outcome.error)


@pytest.mark.parametrize("mutation", sorted([*GENERIC, *YAML_CASES, "folder"]))
@pytest.mark.parametrize("file", YAML_FILES)
def test_hostile_yaml_files(file: str, mutation: str) -> None:
    original = (VALID / file).read_bytes()
    data = None if mutation == "folder" else {**GENERIC, **YAML_CASES}[mutation](original)
    with sandbox() as box:
        _drop_zone(box, **{file: data})
        outcome = _load(box, f"config:{file}:{mutation}", file)
        if mutation in YAML_BENIGN:
            assert outcome.error is None, outcome.error
        elif outcome.error is not None:
            assert isinstance(outcome.error, ConfigFileError) or file in str(outcome.error)
        if mutation in ("syntax-error", "wrong-types", "duplicate-key") and outcome.error is not None:
            assert "line" in str(outcome.error), f"no line in: {outcome.error}"
        if mutation in ("empty", "folder", "binary-garbage", "alias-bomb", "python-tag", "top-level-list",
                        "only-a-comment", "nul-bytes", "syntax-error"):
            _named(outcome, file)


def test_wrong_types_name_each_field() -> None:
    text = b"organisation: [not, a, name]\nplatform_launch: soon\nmin_group_size: five\ntime_zone: Mars/Olympus\n"
    with sandbox() as box:
        _drop_zone(box, **{"settings.yaml": text})
        outcome = _load(box, "config:settings:wrong-types-each-field", "settings.yaml")
        message = str(outcome.error)
        for field in ("organisation", "platform_launch", "min_group_size", "time_zone"):
            assert field in message, f"{field} not named in {message}"
        assert "line 3 (min_group_size)" in message


@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(file=st.sampled_from(YAML_FILES), data=st.data())
def test_random_edits_of_yaml_files(file: str, data: st.DataObject) -> None:
    original = (VALID / file).read_bytes()
    pos = data.draw(st.integers(0, len(original)))
    chunk = data.draw(st.one_of(st.binary(max_size=8), st.sampled_from([b":", b"- ", b"\n  ", b"{", b"'", b"&a *a"])))
    cut = data.draw(st.integers(0, 6))
    with sandbox() as box:
        _drop_zone(box, **{file: original[:pos] + chunk + original[pos + cut:]})
        outcome = _load(box, f"config:{file}:edit@{pos}", file)
        if outcome.error is not None:
            assert file in str(outcome.error)


def _kpi_csv(rows: list[list[str]], header: list[str] = KPI_HEADER, delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
    return buf.getvalue().encode()


def _kpi_row(i: int, value: str = "12.5", start: str = "2026-03-02", end: str = "2026-03-08") -> list[str]:
    return ["first_response_hours", "team", f"TEAM-{i}", start, end, value]


@settings(max_examples=20, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False).map(repr),
                                 st.text(min_size=1, max_size=12)), min_size=1, max_size=10))
def test_kpi_values_that_are_text_are_quarantined_and_numbers_kept(values: list[str]) -> None:
    def is_number(v: str) -> bool:
        try:
            return float(v.strip()) == float(v.strip()) and abs(float(v.strip())) != float("inf")
        except ValueError:
            return False

    rows = [_kpi_row(i, v) for i, v in enumerate(values)]
    expected = sum(is_number(v) and v.strip() != "" for v in values)
    with sandbox() as box:
        _drop_zone(box, **{"kpis__service_desk.csv": _kpi_csv(rows), "kpis__zz_late.csv": _kpi_csv([])})
        case = f"config:kpis:text-values:{len(values)}"
        outcome = run_case(case, "config", lambda: load_drop_zone_config(box.data), box=box,
                           files=(box.data / "kpis",))
        assert outcome.error is None, outcome.error
        config = load_drop_zone_config(box.data)
        got = type(outcome)(None, {"kpi_values": config.kpi_values})
        expect_rows(case, got, "kpi_values", expected)
        assert config.kpi_rejects.height == len(values) - expected
        assert all("line" in loc for loc in config.kpi_rejects["locator"].to_list())


@pytest.mark.parametrize(
    ("case", "data", "expected_error"),
    [
        ("semicolon-delimiter", _kpi_csv([_kpi_row(1)], delimiter=";"), "missing column"),
        ("missing-columns", _kpi_csv([_kpi_row(1)[:4]], header=KPI_HEADER[:4]), "period_end, value"),
        ("empty", b"", "empty"),
        ("folder", None, "folder"),
    ],
)
def test_broken_kpi_files_name_the_file(case: str, data: bytes | None, expected_error: str) -> None:
    with sandbox() as box:
        _drop_zone(box, **{"kpis__service_desk.csv": data})
        outcome = run_case(f"config:kpis:{case}", "config", lambda: load_drop_zone_config(box.data), box=box,
                           files=(box.data / "kpis" / "service_desk.csv",))
        assert outcome.error is not None and expected_error in str(outcome.error), outcome.error
        assert "service_desk.csv" in str(outcome.error)


def test_kpi_duplicates_extra_columns_epochs_and_latin1() -> None:
    rows = [
        [*_kpi_row(1), "extra"],
        [*_kpi_row(1, "99"), "extra"],  # same key, other value: the later one is quarantined
        [*_kpi_row(2, start="1970-01-01", end="1970-01-07"), "x"],
        [*_kpi_row(3, start="2200-01-01", end="2200-01-07"), "x"],
        [*_kpi_row(4, "not a number"), "x"],
        [*_kpi_row(5, "7"), "Zürich"],
    ]
    data = _kpi_csv(rows, header=[*KPI_HEADER, "comment"]).decode().encode("latin-1")
    with sandbox() as box:
        _drop_zone(box, **{"kpis__service_desk.csv": data, "kpis__zz_late.csv": _kpi_csv([])})
        case = "config:kpis:dup+extra+epoch+2200+text+latin1"
        outcome = run_case(case, "config", lambda: load_drop_zone_config(box.data), box=box,
                           files=(box.data / "kpis",))
        config = load_drop_zone_config(box.data)
        expect_rows(case, type(outcome)(outcome.error, {"kpi_values": config.kpi_values}), "kpi_values", 2)
        reasons = config.kpi_rejects["reason"].to_list()
        assert len(reasons) == 4
        assert sum("expected dates from 2000-01-01" in r for r in reasons) == 2
        assert any("duplicate key" in r for r in reasons) and any(r.startswith("value") for r in reasons)


def test_yaml_corpus_counts_in_the_ledger() -> None:
    """The config cases above are part of the ledger's totals (sanity of the bookkeeping)."""
    assert LEDGER.by_target["config"] > 0
