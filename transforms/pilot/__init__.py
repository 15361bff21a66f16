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
