"""Shared inputs are loaded once per run: a whole run reads ``marts.person_week`` into Python once
(the marts that need people share it), the Bass model is fitted once for its two tables, and the
team KPI panel is built once for power (all weeks) and once for the pilot effects (the weeks before
the end of the pilot comparison). A second run on unchanged inputs keeps the pilot marts instead of
recomputing them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from polars.testing import assert_frame_equal

from tests.conftest import TEST_SECRET

EMPLOYEES, WEEKS, SEED = 400, 24, 5
PILOT_TABLES = ("marts.pilot_effects", "marts.pilot_representativeness")


def _counted(counter: Counter, name: str, fn: Callable) -> Callable:
    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        counter[name] += 1
        return fn(*args, **kwargs)

    return counting


def _run_job(base: Path, **patched_inputs: Callable) -> object:
    """The job on ``base``'s drop zone and warehouse, with functions of ``transforms.marts.inputs`` replaced."""
    from pipelines.runner import execute_job
    from transforms.marts import inputs

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DAGSTER_HOME", raising=False)
        mp.setenv("UPTAKE_SECRET_FILE", str(base / "key"))
        for name, fn in patched_inputs.items():
            mp.setattr(inputs, name, fn)
        return execute_job(base / "raw", base / "warehouse.duckdb")


@pytest.fixture(scope="module")
def counted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Counter, Counter, object, Path]:
    from pipelines.simulator import simulate
    from transforms.marts import inputs

    base = tmp_path_factory.mktemp("shared_inputs")
    simulate(base / "raw", employees=EMPLOYEES, weeks=WEEKS, seed=SEED, start=dt.date(2026, 1, 5))
    (base / "key").write_text(TEST_SECRET, encoding="ascii")
    reads: Counter = Counter()
    builds: Counter = Counter()
    real_read = inputs.read_table

    def read_table(con, name):  # noqa: ANN001, ANN202
        reads[name] += 1
        return real_read(con, name)

    outcome = _run_job(base, read_table=read_table,
                       fit_bass_diffusion=_counted(builds, "bass", inputs.fit_bass_diffusion),
                       build_team_kpi_panel=_counted(builds, "team_kpi_panel", inputs.build_team_kpi_panel))
    return reads, builds, outcome, base


def test_the_run_succeeds(counted_run) -> None:
    _, _, outcome, _ = counted_run
    assert outcome.problems == ()
    assert outcome.report_path and Path(outcome.report_path).is_file()


def test_person_week_is_read_into_python_once_per_run(counted_run) -> None:
    reads, _, outcome, _ = counted_run
    n_person_week_marts = sum(1 for key in outcome.metadata if key.startswith("marts/")) - 1
    assert n_person_week_marts > 15  # many marts read people...
    assert reads["marts.person_week"] == 1  # ...from one read


def test_bass_is_fitted_once_and_the_team_panel_built_once_per_extent(counted_run) -> None:
    _, builds, outcome, _ = counted_run
    assert {"marts/diffusion", "marts/diffusion_projection", "marts/pilot_effects", "marts/pilot_power"} \
        <= set(outcome.metadata)
    assert builds == Counter({"bass": 1, "team_kpi_panel": 2})
    assert outcome.metadata["marts/pilot_effects"]["kept_unchanged"] is False  # a first build


def test_a_second_run_on_the_same_inputs_keeps_the_pilot_marts(counted_run) -> None:
    from transforms.marts import inputs

    _, _, _, base = counted_run
    with duckdb.connect(str(base / "warehouse.duckdb"), read_only=True) as con:
        before = {t: con.execute(f"SELECT * FROM {t}").pl() for t in PILOT_TABLES}
    builds: Counter = Counter()
    again = _run_job(base, build_team_kpi_panel=_counted(builds, "team_kpi_panel", inputs.build_team_kpi_panel))
    assert again.problems == ()
    for table in PILOT_TABLES:
        assert again.metadata[table.replace(".", "/")]["kept_unchanged"] is True, table
    assert again.metadata["marts/retention"]["kept_unchanged"] is False  # reads every week: rebuilt
    assert again.metadata["marts/adoption_curve"]["kept_unchanged"] is True  # no week changed (week_window)
    assert builds == Counter({"team_kpi_panel": 1})  # power's; the effects' panel was never built
    with duckdb.connect(str(base / "warehouse.duckdb"), read_only=True) as con:
        for table in PILOT_TABLES:
            assert_frame_equal(con.execute(f"SELECT * FROM {table}").pl(), before[table])
