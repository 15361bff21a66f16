"""Every table function of transforms.metrics produces a table of exactly the kind it declares."""

from __future__ import annotations

import datetime as dt
import functools

import polars as pl
import pytest
from metric_fixtures import make_events, make_person_week, week

from transforms.contracts.config import Charters, KpiRegistry, Surveys
from transforms.metrics.registry import TABLES, assert_single_kind


def _person_week() -> pl.DataFrame:
    rows = []
    for i in range(12):
        for w in range(6):
            rows.append({
                "person_key": f"p{i}", "w": w, "passive": int((i + w) % 3 == 0), "contribution": int(i % 4 == 0 and w > 1),
                "manager_key": None if i < 2 else f"p{i % 2}", "level": 1 if i < 2 else 3, "org_unit": f"T{i % 2}",
                "worker_type": "frontline" if i % 3 == 0 else "office", "eligible_from": week(0),
                "pilot_cohort": "w1" if i < 6 else None, "pilot_wave": 1 if i < 6 else None,
                "pilot_start_week": week(1) if i < 6 else None, "pilot_status": "during" if i < 6 else None,
            })
    return make_person_week(rows)


def _events() -> pl.DataFrame:
    t = dt.datetime(2026, 1, 6, 9)
    return make_events([
        {"event_id": "1", "account_id": "a0", "person_key": "p0", "action": "post", "space_id": "Q", "content_id": "c",
         "thread_id": "c", "is_question": True, "at": t},
        {"event_id": "2", "account_id": "a3", "person_key": "p3", "action": "reply", "space_id": "Q",
         "content_id": "r", "thread_id": "c", "at": t + dt.timedelta(hours=1)},
    ])


CHARTERS = Charters.model_validate({"communities": [
    {"name": "QA", "spaces": [{"source": "slack", "space_id": "Q"}], "purpose": "p", "output_type": "answer",
     "rule": {"kind": "answered_question"}}]})
REGISTRY = KpiRegistry.model_validate({"kpis": [
    {"name": "k", "description": "d", "unit": "h", "unit_type": "team", "direction": "lower_is_better", "source": "s"}]})


def _kpis() -> pl.DataFrame:
    return pl.DataFrame([{"kpi": "k", "unit_type": "team", "unit_id": f"T{t}", "period_start": week(w),
                          "period_end": week(w) + dt.timedelta(days=6), "value": float(w + t)}
                         for t in range(2) for w in range(6)])


def _waiting() -> pl.DataFrame:
    """People still waiting for a wave, with a model's expected uptake (the inputs of transforms.metrics.rollout)."""
    return pl.DataFrame({
        "person_key": [f"p{i}" for i in range(12)], "org_unit": [f"T{i % 3}" for i in range(12)],
        "worker_type": ["frontline" if i % 3 == 0 else "office" for i in range(12)],
        "level": [1 + i % 4 for i in range(12)], "pre_is_active": [(i % 5) / 4 for i in range(12)],
        "expected_uptake": [0.1 + i / 20 for i in range(12)], "unseen": [i == 11 for i in range(12)],
    })


SURVEYS = Surveys.model_validate({"surveys": [{
    "id": "s", "title": "Pulse", "waves": [{"name": "w1", "opens": week(4), "closes": week(4) + dt.timedelta(days=6)}],
    "questions": [{"id": "q", "text": "Saves time", "scale": "likert_5"}]}]})


def _survey_answers() -> pl.DataFrame:
    """Every person of ``_person_week`` answered the one question in week 4."""
    day = week(4) + dt.timedelta(days=1)
    return pl.DataFrame(
        [{"person_key": f"p{i}", "survey_id": "s", "wave": "w1", "question_id": "q", "answer": 1 + i % 5,
          "responded_on": day, "week_start": week(4), "response_id": f"r{i}"} for i in range(12)],
        schema_overrides={"answer": pl.Int16})


@functools.cache
def _calls() -> dict[str, object]:
    from transforms import metrics as m

    pw, ev, kv = _person_week(), _events(), _kpis()
    return {
        "adoption_curve": lambda: m.adoption_curve.adoption_curve(pw),
        "usage_segments": lambda: m.usage_segments.usage_segments(pw),
        "usage_segment_shares": lambda: m.usage_segments.usage_segment_shares(pw),
        "lifecycle_states": lambda: m.lifecycle.lifecycle_states(pw),
        "lifecycle_shares": lambda: m.lifecycle.lifecycle_shares(pw),
        "retention_triangle": lambda: m.retention.retention_triangle(pw),
        "stickiness": lambda: m.stickiness.stickiness(pw),
        "participation_inequality": lambda: m.inequality.participation_inequality(pw),
        "never_active": lambda: m.non_users.never_active(pw),
        "digital_divide": lambda: m.non_users.digital_divide(pw),
        "time_to_first_activity": lambda: m.non_users.time_to_first_activity(pw),
        "manager_relay_effect": lambda: m.manager_relay.manager_relay_effect(pw),
        "team_uptake_by_manager_activity": lambda: m.manager_relay.team_uptake_by_manager_activity(pw),
        "leader_activity": lambda: m.manager_relay.leader_activity(pw),
        "leader_content_reach": lambda: m.manager_relay.leader_content_reach(ev, pw),
        "identity_prerequisites": lambda: m.manager_relay.identity_prerequisites(
            pl.DataFrame({"source": ["slack"], "match_rate": [0.9]}),
            pl.DataFrame({"field": ["site"], "completeness": [1.0]})),
        "community_activity": lambda: m.community_outputs.community_activity(ev, CHARTERS),
        "community_outputs": lambda: m.community_outputs.community_outputs(ev, CHARTERS),
        "community_flags": lambda: m.community_outputs.community_flags(ev, CHARTERS),
        "outcome_kpis": lambda: m.outcome_kpis.outcome_kpis(kv, REGISTRY, pw),
        "kpi_activity_lead_lag": lambda: m.outcome_kpis.kpi_activity_lead_lag(kv, REGISTRY, pw, kpi="k", max_lag=2),
        "kpi_activity_link": lambda: m.outcome_kpis.kpi_activity_link(kv, REGISTRY, pw),
        "bass_parameters": lambda: m.diffusion.bass_parameters(pw, start_week=week(1), bootstrap_reps=3),
        "bass_projection": lambda: m.diffusion.bass_projection(pw, start_week=week(1), bootstrap_reps=3),
        "perception_by_population": lambda: m.perception.perception_by_population(_survey_answers(), pw, SURVEYS),
        "perception_activity_link": lambda: m.perception.perception_activity_link(
            _survey_answers(), pw, SURVEYS, weeks=3, min_group_size=2),
        "expected_uptake_by": lambda: m.rollout.expected_uptake_by(_waiting(), ["org_unit"]),
        "groups_mean_abs_smd": lambda: m.rollout.groups_mean_abs_smd(
            _waiting(), pl.when(pl.col("org_unit") == "T0").then(pl.lit("wave")),
            pre_activity_cols=["pre_is_active"], attributes=("worker_type", "level")),
    }


def test_the_kind_test_covers_every_declared_table_function():
    assert {spec.name for spec in TABLES.values()} == set(_calls())


@pytest.mark.parametrize("spec", sorted(TABLES.values(), key=lambda s: s.function), ids=lambda s: s.name)
def test_each_table_has_exactly_its_declared_kind(spec):
    table = _calls()[spec.name]()
    assert isinstance(table, pl.DataFrame) and table.height > 0
    assert assert_single_kind(table, expected=spec.kind) == spec.kind
