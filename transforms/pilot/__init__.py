"""Pilot vs non-pilot, done right: representativeness, effects with selection correction,
staggered difference-in-differences, projection to the whole population, power.

Pure functions on Polars frames (pandas only inside, where a library needs it); no Dagster, no
file writes. Each module's docstring states its estimand, grain and denominators:

- :mod:`~transforms.pilot.representativeness` -> ``marts.pilot_representativeness``
- :mod:`~transforms.pilot.effect` -> :func:`estimate_effect` (naive, ipw, aipw, matching; ATT)
- :mod:`~transforms.pilot.staggered` -> :func:`staggered_did` (Callaway & Sant'Anna via diff_diff)
- :mod:`~transforms.pilot.effects_mart` -> :func:`pilot_effects` (``marts.pilot_effects`` rows)
- :mod:`~transforms.pilot.projection` -> :func:`project_to_population`
- :mod:`~transforms.pilot.power` -> MDE and weeks to detect for outcome KPIs
- :mod:`~transforms.pilot.units` -> windows, baseline, unit frames, team assignment
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names below, imported on first use: the estimators load scipy and scikit-learn
    from transforms.pilot.effect import EffectEstimate, OverlapDiagnostics, estimate_effect
    from transforms.pilot.effects_mart import ACTIVITY_METRICS, PILOT_EFFECTS, pilot_effects
    from transforms.pilot.errors import NoOverlapError, PilotInputError
    from transforms.pilot.power import (
        KpiVariance,
        estimate_kpi_variance,
        kpi_power,
        minimum_detectable_effect,
        weeks_to_detect,
    )
    from transforms.pilot.projection import Projection, project_to_population
    from transforms.pilot.representativeness import pilot_representativeness
    from transforms.pilot.staggered import Effect, PreTrendTest, StaggeredResult, staggered_did
    from transforms.pilot.units import PilotWindow, person_baseline, pilot_windows, team_pilot_assignment

#: public name -> the module defining it
_LAZY = {
    "ACTIVITY_METRICS": "transforms.pilot.effects_mart",
    "Effect": "transforms.pilot.staggered",
    "EffectEstimate": "transforms.pilot.effect",
    "KpiVariance": "transforms.pilot.power",
    "NoOverlapError": "transforms.pilot.errors",
    "OverlapDiagnostics": "transforms.pilot.effect",
    "PILOT_EFFECTS": "transforms.pilot.effects_mart",
    "PilotInputError": "transforms.pilot.errors",
    "PilotWindow": "transforms.pilot.units",
    "PreTrendTest": "transforms.pilot.staggered",
    "Projection": "transforms.pilot.projection",
    "StaggeredResult": "transforms.pilot.staggered",
    "estimate_effect": "transforms.pilot.effect",
    "estimate_kpi_variance": "transforms.pilot.power",
    "kpi_power": "transforms.pilot.power",
    "minimum_detectable_effect": "transforms.pilot.power",
    "person_baseline": "transforms.pilot.units",
    "pilot_effects": "transforms.pilot.effects_mart",
    "pilot_representativeness": "transforms.pilot.representativeness",
    "pilot_windows": "transforms.pilot.units",
    "project_to_population": "transforms.pilot.projection",
    "staggered_did": "transforms.pilot.staggered",
    "team_pilot_assignment": "transforms.pilot.units",
    "weeks_to_detect": "transforms.pilot.power",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIVITY_METRICS",
    "PILOT_EFFECTS",
    "Effect",
    "EffectEstimate",
    "KpiVariance",
    "NoOverlapError",
    "OverlapDiagnostics",
    "PilotInputError",
    "PilotWindow",
    "PreTrendTest",
    "Projection",
    "StaggeredResult",
    "estimate_effect",
    "estimate_kpi_variance",
    "kpi_power",
    "minimum_detectable_effect",
    "person_baseline",
    "pilot_effects",
    "pilot_representativeness",
    "pilot_windows",
    "project_to_population",
    "staggered_did",
    "team_pilot_assignment",
    "weeks_to_detect",
]
