"""The registry: kinds never mixed, every table declares one kind, the docs page is generated."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import transforms.metrics as metrics
from transforms.metrics.adoption_curve import adoption_curve
from transforms.metrics.registry import (
    METRICS,
    TABLES,
    MetricKind,
    MixedKindError,
    assert_single_kind,
    get_metric,
    render_metrics_markdown,
    table_function,
    with_kind,
)

ROOT = Path(__file__).resolve().parents[2]


def test_assert_single_kind_returns_the_kind_of_a_real_table():
    from report.small_org import person_week

    curve = adoption_curve(person_week(weeks=8), min_group_size=5)
    assert assert_single_kind(curve) is MetricKind.ACTIVITY
    with pytest.raises(MixedKindError, match="expected output"):
        assert_single_kind(curve, expected="output")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"x": [1, 2]}), "no 'kind' column"),
        (pl.DataFrame({"kind": ["activity", "outcome"]}), "mixes kinds activity, outcome"),
        (pl.DataFrame({"kind": ["activity", None]}), "have no kind"),
        (pl.DataFrame({"kind": ["vanity"]}), "unknown kind"),
        (pl.DataFrame({"kind": []}, schema={"kind": pl.Utf8}), "empty table"),
    ],
)
def test_assert_single_kind_rejects(frame, message):
    with pytest.raises(MixedKindError, match=message):
        assert_single_kind(frame)


def test_assert_single_kind_checks_expected():
    with pytest.raises(MixedKindError, match="expected outcome"):
        assert_single_kind(with_kind(pl.DataFrame({"x": [1]}), "activity"), expected="outcome")


def test_a_table_cannot_declare_metrics_of_another_kind():
    with pytest.raises(MixedKindError, match="kpi_value.*outcome"):
        table_function(kind="activity", metrics=("active_rate", "kpi_value"), grain="x")


def test_unknown_metric_is_named():
    with pytest.raises(KeyError, match="no_such_metric"):
        get_metric("no_such_metric")


def test_every_metric_is_declared_once_with_all_fields_and_used_by_a_table():
    names = [m.name for m in METRICS]
    assert len(names) == len(set(names))
    for m in METRICS:
        # a share or a ratio names what it is a share of; a count says it has no denominator
        if m.unit in ("share", "ratio"):
            assert not m.denominator.startswith("none"), m.name
        if m.denominator.startswith("none"):
            assert m.unit not in ("share", "ratio"), m.name
    used = {name for spec in TABLES.values() for name in spec.metrics}
    assert set(names) - used == set()


def test_every_table_function_is_declared_with_a_grain_and_denominator_in_its_docstring():
    assert len(TABLES) >= 20
    for spec in TABLES.values():
        module, _, name = spec.function.rpartition(".")
        fn = getattr(__import__(module, fromlist=[name]), name)
        doc = (fn.__doc__ or "").lower()
        assert "grain" in doc and "denominator" in doc, spec.function


def test_metric_kinds_in_registry_cover_activity_output_outcome():
    kinds = {m.kind for m in METRICS}
    assert {MetricKind.ACTIVITY, MetricKind.OUTPUT, MetricKind.OUTCOME} <= kinds


def test_docs_page_is_the_generated_text():
    committed = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert committed == render_metrics_markdown(), (
        "docs/metrics.md is stale: regenerate with `.venv/bin/python -m transforms.metrics > docs/metrics.md`"
    )


def test_package_exports_registry_helpers():
    assert metrics.assert_single_kind is assert_single_kind
