"""Where to roll out next, as tables: the expected uptake of candidate populations and the
representativeness of groups of people (a candidate, a wave) against the people still waiting.

The model that gives each person's expected uptake is :mod:`transforms.pilot.uptake_model`; the
ranking and the wave options are :mod:`transforms.pilot.next_wave`. Kind: activity.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from transforms.metrics.registry import MetricKind, table_function, with_kind

__all__ = ["REPRESENTATIVENESS_ATTRIBUTES", "expected_uptake_by", "groups_mean_abs_smd"]

#: HR attributes of the representativeness index (the pilot section's,
#: ``transforms.pilot.effects_mart.DEFAULT_ATTRIBUTES``); the pre-period activity means are passed in.
REPRESENTATIVENESS_ATTRIBUTES: tuple[str, ...] = ("worker_type", "site", "department", "level", "tenure_band",
                                                  "is_manager")


@table_function(kind=MetricKind.ACTIVITY, metrics=("expected_uptake",), grain="candidate population")
def expected_uptake_by(predicted: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Expected uptake per value of ``by`` (e.g. per org unit) from person-level predictions.

    Grain: one row per value of ``by``. Denominator: the people of ``predicted`` with that value
    (``headcount``: the candidate's people still waiting). ``expected_uptake`` is the mean of their
    ``expected_uptake``; ``extrapolated_share`` the share of them with ``unseen`` (a level no past
    wave member had). Nothing is suppressed here: the caller lists only candidates of at least
    ``min_group_size`` people.
    """
    return with_kind(predicted.group_by(*by).agg(
        pl.len().cast(pl.Int64).alias("headcount"),
        pl.col("expected_uptake").mean(),
        pl.col("unseen").cast(pl.Float64).mean().alias("extrapolated_share"),
    ), MetricKind.ACTIVITY)


@table_function(kind=MetricKind.ACTIVITY, metrics=("wave_mean_abs_smd",), grain="group of people")
def groups_mean_abs_smd(people: pl.DataFrame, group: pl.Expr, *, pre_activity_cols: Sequence[str],
                        attributes: Sequence[str] = REPRESENTATIVENESS_ATTRIBUTES) -> pl.DataFrame:
    """The pilot section's representativeness index of each group against all of ``people``.

    Grain: one row per group (``group`` labels each person's group, null = in none): ``group_label,
    mean_abs_smd``. Denominator of every share and mean: the group's people on one side, all of
    ``people`` (the people still waiting) on the other. The index is the mean |SMD| over the HR
    ``attributes`` and the ``pre_activity_cols`` computed by
    :func:`transforms.pilot.representativeness.pilot_representativeness` with every level counted
    (``min_group_size=0``): its level rows stay inside this function (only the index of a group of
    at least the minimum size is published), and a suppressed level would drop out of the index: a
    wave with no frontline staff has its (zero) frontline level suppressed and with it, by
    complementary suppression, its office level, so that the one-sided wave would look
    representative.
    """
    from transforms.pilot.representativeness import pilot_representativeness  # scikit-learn: on use

    frame = people.with_columns(group.alias("__group"))
    if frame["__group"].drop_nulls().len() == 0:
        return with_kind(pl.DataFrame(schema={"group_label": pl.Utf8, "mean_abs_smd": pl.Float64}),
                         MetricKind.ACTIVITY)
    rep = pilot_representativeness(frame, cohort_col="__group", attributes=attributes,
                                   pre_activity_cols=pre_activity_cols, min_group_size=0, with_propensity_auc=False)
    return with_kind(rep.filter((pl.col("row_type") == "summary") & (pl.col("variable") == "mean_abs_smd")).select(
        pl.col("cohort").alias("group_label"), pl.col("pilot_value").alias("mean_abs_smd")), MetricKind.ACTIVITY)
