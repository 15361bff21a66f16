"""Projection of a pilot effect onto the composition of the whole eligible population.

The pilot's own effect (ATT) describes its members; if the effect differs between kinds of
people and the pilot over-represents some kinds, the ATT is not what a general roll-out will
give. Method (post-stratification of conditional effects):

1. Split units into strata by ``strata`` (HR attributes, e.g. worker type x site).
2. In each stratum with at least ``min_group_size`` treated and control units, estimate the
   stratum's effect on its pilot members with :func:`~transforms.pilot.estimate_effect`
   (``method``, other covariates adjusted for).
3. ``population`` = sum over covered strata of ``population share_s * effect_s`` divided by the
   covered share; ``pilot`` = the same with the pilot's own shares (the stratified ATT, for a
   like-for-like comparison). Strata are disjoint samples, so
   ``se = sqrt(sum (share_s / covered)^2 * se_s^2)``; intervals are normal.

Grain: unit (person or team). Denominators: population shares count the rows of ``population``
(the eligible population, one row per person); pilot shares count treated units of ``frame``.

What it cannot do: strata without enough pilot members (e.g. frontline sites left out of the
pilot) have no estimate; ``coverage`` says which share of the eligible population the projection
speaks for, and the ``strata`` table lists the uncovered strata. Nothing is extrapolated to them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from transforms.pilot.design import require_columns
from transforms.pilot.effect import Method, estimate_effect
from transforms.pilot.errors import PilotInputError
from transforms.pilot.staggered import Effect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Projection:
    """Pilot effect re-weighted to the pilot's and to the population's composition.

    ``strata``: one row per stratum: the stratum columns, ``n_treated``, ``n_control``,
    ``pilot_share``, ``population_share``, ``estimate``, ``se``, ``covered`` (an estimate exists)
    and ``note``.
    """

    pilot: Effect
    population: Effect
    coverage: float
    pilot_coverage: float
    strata: pl.DataFrame
    method: str


def project_to_population(
    frame: pl.DataFrame,
    *,
    treatment: str,
    outcome: str,
    strata: Sequence[str],
    population: pl.DataFrame,
    covariates: Sequence[str] = (),
    method: Method = "aipw",
    alpha: float = 0.05,
    min_group_size: int = 5,
) -> Projection:
    """Project the effect of ``treatment`` on ``outcome`` onto ``population`` (see module docstring)."""
    strata = list(strata)
    if not strata:
        raise ValueError("strata must name at least one column")
    require_columns(frame, [treatment, outcome, *strata, *covariates], frame_name="unit frame")
    require_columns(population, strata, frame_name="population")
    if population.height == 0:
        raise PilotInputError("the eligible population is empty", frame="population")
    adjust = [c for c in covariates if c not in strata]
    treated = pl.col(treatment).cast(pl.Int8) == 1
    key = pl.concat_str([pl.col(s).cast(pl.Utf8).fill_null("(missing)") for s in strata], separator=" | ")

    counts = frame.group_by(strata).agg(
        treated.sum().alias("n_treated"), (~treated).sum().alias("n_control")
    )
    pop = population.group_by(strata).agg(pl.len().alias("n_population"))
    table = (
        pop.join(counts, on=strata, how="full", coalesce=True, nulls_equal=True)
        .with_columns(pl.col("n_treated", "n_control", "n_population").fill_null(0))
        .with_columns(
            (pl.col("n_treated") / pl.col("n_treated").sum()).alias("pilot_share"),
            (pl.col("n_population") / pl.col("n_population").sum()).alias("population_share"),
            key.alias("stratum"),
        )
        .sort("stratum")
    )
    estimates: list[dict[str, object]] = []
    for row in table.select("stratum", "n_treated", "n_control").iter_rows(named=True):  # one per stratum
        est, se, note = float("nan"), float("nan"), None
        if row["n_treated"] < min_group_size or row["n_control"] < min_group_size:
            note = f"fewer than {min_group_size} treated or control units"
        else:
            part = frame.filter(key == row["stratum"])
            try:
                e = estimate_effect(part, treatment=treatment, outcome=outcome, covariates=adjust, method=method, alpha=alpha)
                est, se = e.estimate, e.se
            except PilotInputError as exc:
                note = f"not estimable: {exc}"
        estimates.append({"stratum": row["stratum"], "estimate": est, "se": se, "note": note})
    table = table.join(pl.DataFrame(estimates, schema={"stratum": pl.Utf8, "estimate": pl.Float64, "se": pl.Float64, "note": pl.Utf8}), on="stratum")
    table = table.with_columns(pl.col("estimate").is_not_nan().alias("covered"))
    covered = table.filter(pl.col("covered"))
    if covered.height == 0:
        raise PilotInputError(
            f"no stratum of {', '.join(strata)} holds {min_group_size}+ treated and control units", frame="unit frame"
        )
    z = float(stats.norm.ppf(1 - alpha / 2))
    coverage = float(covered["population_share"].sum())
    pilot_coverage = float(covered["pilot_share"].sum())
    uncovered = table.filter(~pl.col("covered") & (pl.col("population_share") > 0))
    if uncovered.height:
        log.info(
            "projection covers %.0f%% of the eligible population; no estimate for %s",
            100 * coverage,
            ", ".join(uncovered["stratum"].to_list()),
        )
    return Projection(
        pilot=_weighted(covered, "pilot_share", z),
        population=_weighted(covered, "population_share", z),
        coverage=coverage,
        pilot_coverage=pilot_coverage,
        strata=table.select(*strata, "n_treated", "n_control", "n_population", "pilot_share", "population_share", "estimate", "se", "covered", "note"),
        method=method,
    )


def _weighted(covered: pl.DataFrame, share: str, z: float) -> Effect:
    w = covered[share].to_numpy()
    w = w / w.sum()
    b = covered["estimate"].to_numpy()
    s = covered["se"].to_numpy()
    est = float(w @ b)
    se = float(np.sqrt((w**2 * s**2).sum()))
    p = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else float("nan")
    return Effect(est, se, est - z * se, est + z * se, p)
