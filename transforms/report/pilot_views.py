"""The pilot tables as the report reads them: effects, event study and projection, from
``marts.pilot_effects`` (:data:`transforms.pilot.effects_mart.PILOT_EFFECTS`).

``marts.pilot_effects`` holds, per cohort, metric and estimator, the effect on the pilot's members
(``row_type = "effect"``, ``estimand = "ATT"``), its projection onto the eligible population
(``estimand = "population"``) and event-study rows (``row_type = "event_study"``). This module
splits it into three tidy views with the report's column names:

- ``outcome`` (the mart's ``metric``), ``outcome_kind`` (``metric_kind``), ``method``
  (``estimator``), ``naive_difference`` (``naive_estimate``), ``relative_week`` (``event_time``).

Rows restricted to one support level inside a cohort are left out of the views (the report shows
whole cohorts): for each cohort, the rows kept are those of the support level whose naive row
has the most treated units (the whole cohort). Suppressed rows (an arm below the minimum group
size) are kept with their flag; the charts drop them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.report.i18n import N_, _
from transforms.report.inputs import require_columns

__all__ = ["METHOD_LABELS", "METHOD_SHORT", "PilotViews", "method_label", "method_short", "pilot_views"]

#: Readers' names of the estimators (English; :func:`method_label` says them in the report's language).
METHOD_LABELS: dict[str, str] = {
    "naive": N_("naive: pilot minus the rest"),
    "ipw": N_("inverse-probability weighting"),
    "aipw": N_("doubly robust, AIPW"),
    "matching": N_("matching"),
    "did_cs": N_("staggered DiD, Callaway-Sant'Anna"),
}
#: Which adjusted estimate a reading quotes, in order of preference.
PREFERRED_METHODS: tuple[str, ...] = ("did_cs", "aipw", "ipw", "matching")

_RENAMES = {"metric": "outcome", "metric_kind": "outcome_kind", "estimator": "method",
            "naive_estimate": "naive_difference", "event_time": "relative_week", "pre_trend_p": "pretrend_p",
            "pre_trend_gap": "pretrend_gap", "pre_trend_weeks": "pretrend_weeks"}


#: Short names for tables.
METHOD_SHORT: dict[str, str] = {"naive": N_("naive"), "ipw": N_("IPW"), "aipw": N_("AIPW"), "matching": N_("matching"),
                                "did_cs": N_("DiD (CS)")}


def method_label(method: object) -> str:
    """Readers' name of an estimator ("aipw" -> "doubly robust, AIPW"), in the report's language."""
    return _(METHOD_LABELS[str(method)]) if str(method) in METHOD_LABELS else str(method)


def method_short(method: object) -> str:
    """An estimator's short name for tables ("did_cs" -> "DiD (CS)"), in the report's language."""
    return _(METHOD_SHORT[str(method)]) if str(method) in METHOD_SHORT else str(method)


@dataclass(frozen=True)
class PilotViews:
    """The three views of the pilot's effects (each may be empty)."""

    effects: pl.DataFrame
    event_study: pl.DataFrame
    projection: pl.DataFrame


def _normalise(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    out = frame.rename({k: v for k, v in _RENAMES.items() if k in frame.columns and v not in frame.columns})
    require_columns(out, ["outcome", "method", "estimate", "ci_low", "ci_high"], table=table)
    defaults = {"cohort": pl.lit("pilot"), "estimand": pl.lit("ATT"), "row_type": pl.lit("effect"),
                "support_level": pl.lit(None, pl.Utf8), "suppressed": pl.lit(False), "outcome_kind": pl.lit(None, pl.Utf8),
                "n_treated": pl.lit(None, pl.Int64), "n_control": pl.lit(None, pl.Int64),
                "naive_difference": pl.lit(None, pl.Float64), "pretrend_p": pl.lit(None, pl.Float64),
                "pretrend_gap": pl.lit(None, pl.Float64), "pretrend_weeks": pl.lit(None, pl.Int32),
                "note": pl.lit(None, pl.Utf8)}
    return out.with_columns([expr.alias(c) for c, expr in defaults.items() if c not in out.columns])


def _whole_cohorts(rows: pl.DataFrame) -> pl.DataFrame:
    """Keep, per cohort, the rows of the support level describing the whole cohort."""
    if rows.height == 0:
        return rows
    sizes = (rows.filter(pl.col("row_type") == "effect")
             .group_by("cohort", "support_level")
             .agg(pl.col("n_treated").max().fill_null(0).alias("__n"), pl.len().alias("__rows"))
             .sort(["cohort", "__n", "__rows", "support_level"], descending=[False, True, True, False],
                   nulls_last=True)
             .group_by("cohort", maintain_order=True).first()
             .select("cohort", pl.col("support_level").alias("__main")))
    return (rows.join(sizes, on="cohort", how="left")
            .filter(pl.col("support_level").eq_missing(pl.col("__main")))
            .drop("__main"))


def pilot_views(effects: pl.DataFrame, *, table: str = "marts.pilot_effects") -> PilotViews:
    """Split ``marts.pilot_effects`` into effects (ATT), event study and projection views.

    Effects: one row per outcome x cohort x method (``estimand = ATT``). Event study: one row per
    outcome x cohort x relative week. Projection: one row per outcome x cohort x ``scope``
    (``pilot`` = the ATT of the projection's estimator, ``population`` = projected).
    """
    rows = _whole_cohorts(_normalise(effects, table))
    eff = rows.filter((pl.col("row_type") == "effect") & (pl.col("estimand") == "ATT"))
    es = rows.filter(pl.col("row_type") == "event_study")
    if "relative_week" not in es.columns:
        es = es.with_columns(pl.lit(None, pl.Int32).alias("relative_week"))
    pop = rows.filter((pl.col("row_type") == "effect") & (pl.col("estimand") == "population"))
    pilot_side = eff.join(pop.select("outcome", "cohort", "method").unique(), on=["outcome", "cohort", "method"],
                          how="semi")
    cols = ["outcome", "outcome_kind", "cohort", "method", "estimate", "ci_low", "ci_high", "n_treated", "n_control",
            "suppressed", "note"]
    projection = pl.concat([
        pilot_side.select(cols).with_columns(pl.lit("pilot").alias("scope")),
        pop.select(cols).with_columns(pl.lit("population").alias("scope")),
    ])
    return PilotViews(effects=eff, event_study=es.sort("outcome", "cohort", "relative_week"), projection=projection)
