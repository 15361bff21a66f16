"""Pilot vs non-pilot, done right: representativeness, effects with selection correction,
staggered difference-in-differences, projection to the whole population, power.

Pure functions on Polars frames (pandas only inside, where a library needs it); no Dagster, no
file writes. See each module's docstring for the estimand, grain and denominator.
"""

from transforms.pilot.effect import EffectEstimate, OverlapDiagnostics, estimate_effect
from transforms.pilot.errors import NoOverlapError, PilotInputError
from transforms.pilot.staggered import Effect, PreTrendTest, StaggeredResult, staggered_did

__all__ = [
    "Effect",
    "EffectEstimate",
    "NoOverlapError",
    "OverlapDiagnostics",
    "PilotInputError",
    "PreTrendTest",
    "StaggeredResult",
    "estimate_effect",
    "staggered_did",
]
