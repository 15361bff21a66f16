"""Where to roll out next (``marts.next_wave_candidates``, ``marts.next_wave_options``): candidate
populations ranked by expected uptake and by how representative a wave made of them would be of
the people still waiting, and the trade-off between the two.

- **Decision week** (:func:`decision_week`): the week the next wave is chosen. The week of the
  general roll-out when the data reaches it (after it everybody has the platform, so this is the
  choice as it stood the week before), else the week after the data's last week.
- **Remaining population**: the people eligible in the last week before the decision week who are
  in no cohort that has started by then (members of later cohorts are candidates like anyone).
  Their features (:func:`~transforms.pilot.uptake_model.person_features`) are taken over the
  :data:`~transforms.pilot.units.PRE_WEEKS` weeks before the decision week.
- **Candidates**: the org units and the sites of the remaining population, each made of its
  remaining people. A candidate of fewer than ``min_group_size`` people is never listed.
- **Expected uptake** of a candidate: the mean expected uptake of its people
  (:mod:`~transforms.pilot.uptake_model`: the expected share of weeks active in a wave's first
  weeks, learned from the past waves; its out-of-fold accuracy is carried by every option row).
  ``extrapolated``: most of its people have an attribute level (e.g. frontline) no past wave
  member had: the model has not seen people like them.
- **Representativeness**: the pilot section's index (:func:`~transforms.pilot.representativeness.pilot_representativeness`,
  mean |SMD| over the HR attributes of the pilot section and the pre-period activity means, 0 =
  identical) of the group against the remaining population, every level counted (levels the group
  lacks included: they are what makes a wave unrepresentative; the level rows are not published).
- **Options** (waves of about the past waves' mean size, made of org units):
  ``highest_uptake`` takes the candidates in order of expected uptake; ``by_worker_type`` and
  ``by_department_and_worker_type`` share the wave's size between the strata in proportion to the
  remaining population and go, in each stratum, through its candidates in order of expected
  uptake. A candidate is taken when it fits: the group (the wave, or the stratum's share of it)
  would then hold at most its size plus half the candidate. The option with the lowest mean |SMD|
  is the wave that would teach the most (``teaches_most``): its result says the most about the
  people still waiting.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

import polars as pl

from transforms.metrics.rollout import expected_uptake_by, groups_mean_abs_smd
from transforms.pilot.design import MISSING_LEVEL
from transforms.pilot.errors import PilotInputError
from transforms.pilot.units import PRE_ACTIVITY
from transforms.pilot.uptake_model import (
    UPTAKE_WEEKS,
    UptakeModel,
    fit_uptake_model,
    person_features,
    uptake_training_rows,
)
from transforms.weeks import week_start_of

log = logging.getLogger(__name__)

__all__ = [
    "CANDIDATES_SCHEMA",
    "OPTIONS",
    "OPTIONS_SCHEMA",
    "decision_week",
    "next_wave",
]

#: Pre-period columns of the representativeness index (as the pilot section's).
PRE_COLUMNS: tuple[str, ...] = tuple(f"pre_{c}" for c in PRE_ACTIVITY)
CANDIDATE_TYPES: tuple[str, ...] = ("org_unit", "site")
#: Wave options: name -> the strata it is balanced on (none: highest expected uptake first).
OPTIONS: dict[str, tuple[str, ...]] = {
    "highest_uptake": (),
    "by_worker_type": ("worker_type",),
    "by_department_and_worker_type": ("department", "worker_type"),
}
OPTION_TEXT: dict[str, str] = {
    "highest_uptake": "the org units with the highest expected uptake",
    "by_worker_type": "org units chosen within each worker type, in proportion to the people still waiting",
    "by_department_and_worker_type": "org units chosen within each department and worker type, in proportion "
                                     "to the people still waiting",
}
#: Wave size, as a share of the remaining population, when no past wave gives one.
DEFAULT_WAVE_SHARE = 0.06

CANDIDATES_SCHEMA = pl.Schema({
    "as_of_week": pl.Date, "population_type": pl.Utf8, "population": pl.Utf8, "headcount": pl.Int64,
    "expected_uptake": pl.Float64, "extrapolated": pl.Boolean, "uptake_rank": pl.Int32,
    "mean_abs_smd": pl.Float64, "representativeness_rank": pl.Int32, "stratum": pl.Utf8, "options": pl.Utf8,
    "kind": pl.Utf8,
})
OPTIONS_SCHEMA = pl.Schema({
    "as_of_week": pl.Date, "option": pl.Utf8, "description": pl.Utf8, "candidates": pl.Int64,
    "populations": pl.Utf8, "headcount": pl.Int64, "target_size": pl.Int64, "expected_uptake": pl.Float64,
    "extrapolated_share": pl.Float64, "mean_abs_smd": pl.Float64, "teaches_most": pl.Boolean,
    "model_auc": pl.Float64, "model_auc_low": pl.Float64, "model_auc_high": pl.Float64, "model_brier": pl.Float64,
    "model_brier_base_rate": pl.Float64, "model_people": pl.Int64, "model_person_weeks": pl.Int64,
    "model_teams": pl.Int64, "model_folds": pl.Int64, "uptake_weeks": pl.Int64, "trained_on": pl.Utf8,
    "kind": pl.Utf8,
})


def decision_week(person_week: pl.DataFrame, *, general_rollout: dt.date | None) -> dt.date:
    """The Monday the next wave is chosen (module docstring)."""
    after = person_week["week_start"].max() + dt.timedelta(weeks=1)  # type: ignore[operator]
    if general_rollout is None:
        return after
    return min(week_start_of(general_rollout), after)


def _empty() -> tuple[pl.DataFrame, pl.DataFrame]:
    return pl.DataFrame(schema=CANDIDATES_SCHEMA), pl.DataFrame(schema=OPTIONS_SCHEMA)


def _pick(ordered: pl.DataFrame, size: float) -> list[str]:
    """The candidates, in order, that fit in a group of ``size`` people: one is taken when the group
    would then hold at most ``size`` plus half of it (the nearest to ``size``, whole candidates)."""
    picked, total = [], 0
    for name, n in ordered.select("population", "headcount").iter_rows():  # candidates of one stratum, in order
        if total + n / 2 <= size:
            picked.append(name)
            total += n
    return picked


def _option_members(candidates: pl.DataFrame, remaining: pl.DataFrame, strata: Sequence[str],
                    size: int) -> list[str]:
    # uptake rounded so that a tie up to floating-point noise is broken by name, the same way in every run
    ordered = candidates.sort(pl.col("expected_uptake").round(9), "population", descending=[True, False])
    if not strata:
        return _pick(ordered, size)
    shares = remaining.group_by(*strata).agg((pl.len() / remaining.height).alias("__share"))
    picked: list[str] = []
    for key, share in shares.select(pl.struct(*strata), "__share").iter_rows():  # one iteration per stratum
        mask = pl.all_horizontal([pl.col(f"stratum_{s}") == key[s] for s in strata])
        picked += _pick(ordered.filter(mask), share * size)
    return picked


def next_wave(
    person_week: pl.DataFrame,
    *,
    as_of: dt.date,
    window_end: dt.date | None = None,
    cohort_end: Mapping[str, dt.date] | None = None,
    min_group_size: int = 5,
    wave_size: int | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, UptakeModel | None]:
    """``(candidates, options, model)`` for a next wave chosen in the week ``as_of`` (module docstring).

    ``window_end`` is the general roll-out and ``cohort_end`` the cohorts' declared last days (the
    training windows, :func:`~transforms.pilot.units.pilot_windows`); ``wave_size`` defaults to
    the mean size of the waves learned from. Both tables are empty (and the model ``None``) when
    no wave has been observed long enough to learn from, or nobody is left to roll out to.
    """
    rows, cohorts = uptake_training_rows(person_week, as_of=as_of, window_end=window_end, cohort_end=cohort_end)
    try:
        model = fit_uptake_model(rows, cohorts)
    except PilotInputError as exc:
        log.info("next wave: no uptake model: %s", exc)
        return (*_empty(), None)
    last = person_week.filter(pl.col("week_start") < as_of)["week_start"].max()
    waiting = person_week.filter((pl.col("week_start") == last) & (pl.col("pilot_start_week").is_null()
                                                                   | (pl.col("pilot_start_week") >= as_of)))
    features = person_features(person_week, baseline_end=as_of).join(
        waiting.select("person_key"), on="person_key", how="semi")
    if features.height < min_group_size:
        log.info("next wave: %d people left to roll out to", features.height)
        return (*_empty(), model)
    remaining = model.predict(features).with_columns(
        pl.col("org_unit", "site").cast(pl.Utf8).fill_null(MISSING_LEVEL)).sort("person_key")
    parts = []
    for ptype in CANDIDATE_TYPES:
        by = expected_uptake_by(remaining, [ptype]).drop("kind").rename({ptype: "population"}).filter(
            (pl.col("headcount") >= min_group_size) & (pl.col("population") != MISSING_LEVEL))
        smd = groups_mean_abs_smd(remaining, pl.when(pl.col(ptype).is_in(by["population"].implode()))
                                  .then(pl.col(ptype)), pre_activity_cols=PRE_COLUMNS).drop("kind")
        strata = remaining.group_by(ptype).agg(
            *[pl.col(s).cast(pl.Utf8).mode().sort().first().alias(f"stratum_{s}") for s in ("department", "worker_type")])
        parts.append(by.join(smd, left_on="population", right_on="group_label", how="left")
                     .join(strata.rename({ptype: "population"}), on="population", how="left")
                     .with_columns(pl.lit(ptype).alias("population_type")))
    candidates = pl.concat(parts, how="vertical_relaxed")
    if candidates.height == 0:
        return (*_empty(), model)
    size = wave_size or (int(round(cohorts["members"].mean())) if cohorts.height else
                         max(min_group_size, round(DEFAULT_WAVE_SHARE * remaining.height)))
    units = candidates.filter(pl.col("population_type") == "org_unit")
    option_rows, membership = [], {}
    for option, strata in OPTIONS.items():  # three options
        members = _option_members(units, remaining, strata, size)
        if not members:
            continue
        for m in members:
            membership.setdefault(m, []).append(option)
        people = remaining.filter(pl.col("org_unit").is_in(members))
        index = groups_mean_abs_smd(remaining, pl.when(pl.col("org_unit").is_in(members)).then(pl.lit(option)),
                                    pre_activity_cols=PRE_COLUMNS)
        option_rows.append({
            "option": option, "description": OPTION_TEXT[option], "candidates": len(members),
            "populations": ", ".join(sorted(members)), "headcount": people.height, "target_size": size,
            "expected_uptake": float(people["expected_uptake"].mean()),
            "extrapolated_share": float(people["unseen"].cast(pl.Float64).mean()),
            "mean_abs_smd": index["mean_abs_smd"][0] if index.height else None,
        })
    a = model.accuracy
    options = pl.DataFrame(option_rows, schema={k: v for k, v in OPTIONS_SCHEMA.items() if k in option_rows[0]})
    best = options["mean_abs_smd"].round(9).min()  # options equal to 1e-9 teach as much
    options = options.with_columns(
        pl.lit(as_of).alias("as_of_week"),
        ((pl.col("mean_abs_smd").round(9) == best) & pl.col("mean_abs_smd").is_not_null()).alias("teaches_most"),
        pl.lit(a.auc).alias("model_auc"), pl.lit(a.auc_low).alias("model_auc_low"),
        pl.lit(a.auc_high).alias("model_auc_high"), pl.lit(a.brier).alias("model_brier"),
        pl.lit(a.brier_base_rate).alias("model_brier_base_rate"), pl.lit(a.people).alias("model_people"),
        pl.lit(a.person_weeks).alias("model_person_weeks"), pl.lit(a.teams).alias("model_teams"),
        pl.lit(a.folds).alias("model_folds"), pl.lit(UPTAKE_WEEKS).alias("uptake_weeks"),
        pl.lit(", ".join(cohorts["cohort"].to_list())).alias("trained_on"), pl.lit("activity").alias("kind"),
    ).select(OPTIONS_SCHEMA.names()).cast(OPTIONS_SCHEMA)  # type: ignore[arg-type]
    ranked = candidates.sort("population_type", "population").with_columns(  # ties (to 1e-9) ranked by name
        pl.col("expected_uptake").round(9).rank("ordinal", descending=True).over("population_type").cast(pl.Int32)
        .alias("uptake_rank"),
        pl.col("mean_abs_smd").round(9).rank("ordinal").over("population_type").cast(pl.Int32)
        .alias("representativeness_rank"),
        (pl.col("extrapolated_share") > 0.5).alias("extrapolated"),
        pl.concat_str([pl.col("stratum_department"), pl.col("stratum_worker_type")], separator=" / ").alias("stratum"),
        pl.col("population").replace_strict({k: ", ".join(v) for k, v in membership.items()}, default=None,
                                            return_dtype=pl.Utf8).alias("options"),
        pl.lit(as_of).alias("as_of_week"), pl.lit("activity").alias("kind"),
    )
    ranked = ranked.with_columns(pl.when(pl.col("population_type") == "org_unit").then(pl.col("options"))
                                 .alias("options"))
    out = ranked.select(CANDIDATES_SCHEMA.names()).cast(CANDIDATES_SCHEMA).sort(  # type: ignore[arg-type]
        "population_type", "uptake_rank")
    log.info("next wave as of %s: %d candidate(s), options %s", as_of, out.height,
             dict(zip(options["option"], options["mean_abs_smd"], strict=True)))
    return out, options, model
