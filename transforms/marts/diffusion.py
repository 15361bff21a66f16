"""Diffusion: the Bass model fitted once per population from the general roll-out (input
``bass_diffusion``), published as its parameters and its projection. Kind: activity."""

from __future__ import annotations

import polars as pl

from transforms.marts import mart
from transforms.metrics.diffusion import BassDiffusion
from transforms.metrics.registry import MetricKind


@mart("marts.diffusion", kind=MetricKind.ACTIVITY, grain="population x parameter",
      description="Bass model per population: p, q, m, peak week, weeks to 50% / 80% of eligible headcount, "
      "with bootstrap intervals.")
def diffusion(bass_diffusion: BassDiffusion) -> pl.DataFrame:
    return bass_diffusion.parameters


@mart("marts.diffusion_projection", kind=MetricKind.ACTIVITY, grain="population x week",
      description="Observed, fitted and projected cumulative adoption share per population, with bootstrap bands.")
def diffusion_projection(bass_diffusion: BassDiffusion) -> pl.DataFrame:
    return bass_diffusion.projection
