"""``targets.yaml``: a valid roadmap loads with every default; a target naming an unknown kind,
metric, cohort or community, a population its metric cannot be cut by, or impossible dates is a
ConfigFileError naming the file, the line and the field; no file means no target."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from pipelines.connectors.config_files import ConfigFileError, load_drop_zone_config, load_targets

VALID = Path(__file__).parents[1] / "fixtures" / "drop_zone_files" / "valid"


@pytest.fixture()
def drop_zone(tmp_path: Path) -> Path:
    root = tmp_path / "raw"
    shutil.copytree(VALID, root)
    return root


def test_the_valid_roadmap_loads_with_its_defaults(drop_zone: Path) -> None:
    targets = load_drop_zone_config(drop_zone).targets.targets
    assert [t.name for t in targets] == ["Half the company active every week", "Frontline technicians use the platform",
                                         "Faster first response in Sales", "Ten answered questions a week"]
    first, second, third, fourth = targets
    assert first.path == "logistic" and first.milestones[0].date == dt.date(2026, 6, 1)
    assert (first.tolerance, first.at_risk_band, first.baseline) == (0.05, 0.10, None)  # the defaults
    assert (second.population.type, second.population.value) == ("worker_type", "frontline")
    assert (second.tolerance, second.at_risk_band) == (0.1, 0.2)
    assert second.path == "linear" and second.milestones == []
    assert third.metric.kind == "outcome" and third.baseline == 18
    assert fourth.population.label == "Maintenance Q&A"


def test_no_targets_file_means_no_target(drop_zone: Path) -> None:
    (drop_zone / "targets.yaml").unlink()
    assert load_drop_zone_config(drop_zone).targets.targets == []


def _write(drop_zone: Path, text: str) -> Path:
    path = drop_zone / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


ONE = """targets:
  - name: T
    population: {population}
    metric: {metric}
    start: 2026-01-05
    due: {due}
    value: 0.5
"""


@pytest.mark.parametrize(("population", "metric", "due", "expected"), [
    ("{type: organisation}", "{kind: sentiment, name: mood}", "2026-06-01",
     "line 4 (targets[0].metric.kind): target 'T': no metric source for kind 'sentiment' (known: activity, outcome, "
     "output"),
    ("{type: organisation}", "{kind: activity, name: happiness}", "2026-06-01",
     "line 4 (targets[0].metric.name): target 'T': activity metric 'happiness' is unknown"),
    ("{type: organisation}", "{kind: outcome, name: nps}", "2026-06-01",
     "(targets[0].metric.name): target 'T': outcome metric 'nps' is unknown in kpi_registry.yaml (known: "
     "first_response_hours, first_time_fix_rate)"),
    ("{type: department, value: Sales}", "{kind: outcome, name: first_time_fix_rate}", "2026-06-01",
     "line 3 (targets[0].population.type): target 'T': outcome metric 'first_time_fix_rate' cannot be cut by "
     "department (it can by: organisation, site, as declared in kpi_registry.yaml)"),
    ("{type: pilot_cohort, value: wave-9}", "{kind: activity, name: active_rate}", "2026-06-01",
     "(targets[0].population.value): target 'T': pilot_cohort 'wave-9' is not declared in pilots.yaml (declared: "
     "non_pilot, wave-1, wave-2)"),
    ("{type: community, value: Knitting}", "{kind: output, name: community_outputs}", "2026-06-01",
     "community 'Knitting' is not declared in charters.yaml (declared: Ideas Lab, Maintenance Q&A)"),
    ("{type: worker_type, value: office}", "{kind: output, name: community_outputs}", "2026-06-01",
     "output metric 'community_outputs' cannot be cut by worker_type"),
])
def test_a_target_the_other_files_cannot_serve_is_refused(drop_zone: Path, population: str, metric: str, due: str,
                                                          expected: str) -> None:
    path = _write(drop_zone, ONE.format(population=population, metric=metric, due=due))
    with pytest.raises(ConfigFileError) as info:
        load_drop_zone_config(drop_zone)
    assert info.value.file == str(path)
    assert expected in str(info.value)


@pytest.mark.parametrize(("text", "expected"), [
    (ONE.format(population="{type: organisation}", metric="{kind: activity, name: active_rate}", due="2025-12-01"),
     "due (2025-12-01) must be after start (2026-01-05)"),
    (ONE.format(population="{type: department}", metric="{kind: activity, name: active_rate}", due="2026-06-01"),
     "population type department needs a value"),
    (ONE.format(population="{type: galaxy, value: x}", metric="{kind: activity, name: active_rate}",
                due="2026-06-01"), "line 3 (targets[0].population.type)"),
    (ONE.format(population="{type: organisation}", metric="{kind: activity, name: active_rate}", due="2026-06-01")
     + "    milestones: [{date: 2026-09-01, value: 0.3}]\n", "milestone 2026-09-01 is not between start"),
    (ONE.format(population="{type: organisation}", metric="{kind: activity, name: active_rate}", due="2026-06-01")
     + "    tolerance: 2\n", "line 8 (targets[0].tolerance): Input should be less than or equal to 1"),
    (ONE.format(population="{type: organisation}", metric="{kind: activity, name: active_rate}", due="2026-06-01")
     .replace("value: 0.5", "value: .nan"), "(targets[0].value): Input should be a finite number"),
    (ONE.format(population="{type: organisation}", metric="{kind: activity, name: active_rate}", due="2026-06-01")
     * 1 + ONE.format(population="{type: organisation}", metric="{kind: activity, name: active_rate}",
                      due="2026-06-01").replace("targets:\n", ""), "duplicate target name(s): T"),
])
def test_impossible_targets_name_the_line_and_field(drop_zone: Path, text: str, expected: str) -> None:
    path = _write(drop_zone, text)
    with pytest.raises(ConfigFileError) as info:
        load_targets(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_every_key_of_targets_yaml_is_documented_with_its_default() -> None:
    from transforms.contracts.config import Target, TargetMetric, TargetPopulation

    doc = (Path(__file__).parents[2] / "docs" / "drop_zone.md").read_text(encoding="utf-8")
    section = doc.split("## targets.yaml", 1)[1].split("\n## ", 1)[0]
    keys = [k for k in Target.model_fields if k not in ("population", "metric")]
    keys += [f"population.{k}" for k in TargetPopulation.model_fields] + [f"metric.{k}" for k in TargetMetric.model_fields]
    for key in keys:
        assert f"| `{key}` |" in section, key
    for name, field in Target.model_fields.items():
        if not field.is_required() and field.default not in (None, [], PydanticUndefined):
            assert f"`{field.default}`" in section, (name, field.default)
