"""Adoption analytics on ``marts.person_week``, clean events and KPI feeds, organised by metric kind.

Every metric is declared once in :mod:`transforms.metrics.registry` (kind, unit, direction, grain,
denominator); every table function here returns a tidy Polars frame with a constant ``kind``
column and never mixes kinds (:func:`~transforms.metrics.registry.assert_single_kind`). Rates use
eligible headcount from HR as denominator; published aggregates are suppressed below
``min_group_size`` (:mod:`transforms.privacy`). ``docs/metrics.md`` is generated from the registry.

Modules, by kind:

- activity: :mod:`.adoption_curve`, :mod:`.usage_segments`, :mod:`.lifecycle`, :mod:`.retention`,
  :mod:`.stickiness`, :mod:`.inequality`, :mod:`.non_users`, :mod:`.manager_relay`,
  :mod:`.diffusion`, :mod:`.rollout` (where to roll out next), and the activity half of
  :mod:`.community_outputs`;
- output: :mod:`.community_outputs`;
- outcome: :mod:`.outcome_kpis`;
- perception: :mod:`.perception` (pulse surveys);
- link (explicit analyses relating two kinds): community flags, KPI lead-lag association, perceived value
  against activity (:mod:`.perception`);
- prerequisite: identity match and profile completeness (:mod:`.manager_relay`).
"""

from transforms.metrics import (  # noqa: F401  (importing registers every table function)
    adoption_curve,
    community_outputs,
    diffusion,
    inequality,
    lifecycle,
    manager_relay,
    non_users,
    outcome_kpis,
    perception,
    retention,
    rollout,
    stickiness,
    usage_segments,
)
from transforms.metrics.registry import (
    METRICS,
    TABLES,
    MetricKind,
    MixedKindError,
    assert_single_kind,
    get_metric,
    metrics_of_kind,
    render_metrics_markdown,
    tables_of_kind,
)

__all__ = [
    "METRICS",
    "TABLES",
    "MetricKind",
    "MixedKindError",
    "assert_single_kind",
    "get_metric",
    "metrics_of_kind",
    "render_metrics_markdown",
    "tables_of_kind",
]
