"""Is the pilot representative of the eligible population? (``marts.pilot_representativeness``)

Grain of the input: one row per eligible person (e.g. from
:func:`~transforms.pilot.units.person_baseline`), with the person's cohort (null = not in a pilot),
HR attributes and pre-pilot activity. The comparison is each cohort's members against the **whole
eligible population** (pilot members included: "how does the pilot differ from the company?").

Rows of the output, per cohort (plus ``"all pilots"`` when there are several cohorts):

- ``row_type = "level"``: one per level of a text HR attribute: share of the cohort at that level
  (denominator: the cohort's members) vs share of the eligible population (denominator: every
  eligible person), their ratio, and the standardized mean difference of the 0/1 indicator
  ``(p1 - p0) / sqrt((p1 (1 - p1) + p0 (1 - p0)) / 2)``.
- ``row_type = "mean"``: one per numeric or boolean HR attribute and per pre-pilot activity
  column: means (booleans: shares), ratio, SMD ``(m1 - m0) / sqrt((v1 + v0) / 2)``.
- ``row_type = "summary"``: two indices per cohort. ``mean_abs_smd``: the mean |SMD| over the
  cohort's unsuppressed rows (0 = identical composition; above 0.1 = not representative).
  ``propensity_auc``: the in-sample area under the ROC curve of a logistic model telling the
  cohort's members from the rest of the population on all the attributes and pre-pilot activity
  (0.5 = indistinguishable, 1 = perfectly told apart).

``imbalanced`` flags ``|SMD| > 0.1``. ``statement`` is a plain-language line. Privacy: a level
held by fewer than ``min_group_size`` people in the cohort or in the population is suppressed
(no numbers, counts included); when that leaves a single suppressed level of an attribute, the
next smallest level is suppressed too, so the hidden share cannot be recovered as one minus the
others. A cohort smaller than ``min_group_size`` is suppressed entirely.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import polars as pl
from threadpoolctl import threadpool_limits

from transforms.pilot.design import MISSING_LEVEL, design_matrix, fit_propensity, require_columns
from transforms.pilot.errors import PilotInputError

log = logging.getLogger(__name__)

FRAME = "people"
SMD_THRESHOLD = 0.1
ALL_PILOTS = "all pilots"

SCHEMA = pl.Schema(
    {
        "cohort": pl.Utf8,
        "wave": pl.Int16,
        "row_type": pl.Utf8,
        "variable": pl.Utf8,
        "variable_kind": pl.Utf8,
        "level": pl.Utf8,
        "pilot_n": pl.Int64,
        "population_n": pl.Int64,
        "pilot_value": pl.Float64,
        "population_value": pl.Float64,
        "ratio": pl.Float64,
        "smd": pl.Float64,
        "imbalanced": pl.Boolean,
        "suppressed": pl.Boolean,
        "statement": pl.Utf8,
    }
)


def pilot_representativeness(
    people: pl.DataFrame,
    *,
    cohort_col: str,
    attributes: Sequence[str],
    pre_activity_cols: Sequence[str],
    min_group_size: int = 5,
    wave_col: str | None = None,
) -> pl.DataFrame:
    """Compare every cohort of ``people`` with the eligible population (see module docstring)."""
    attributes, pre_activity_cols = list(attributes), list(pre_activity_cols)
    require_columns(people, [cohort_col, *attributes, *pre_activity_cols, *([wave_col] if wave_col else [])], frame_name=FRAME)
    if people.height == 0:
        raise PilotInputError("no eligible person", frame=FRAME)
    cohorts = people[cohort_col].drop_nulls().unique().sort().to_list()
    if not cohorts:
        raise PilotInputError("no person is in a pilot cohort", frame=FRAME, column=cohort_col)
    text = [a for a in attributes if _is_text(people.schema[a])]
    numeric = [a for a in attributes if a not in text]
    for c in numeric + pre_activity_cols:
        if not (people.schema[c].is_numeric() or people.schema[c] == pl.Boolean):
            raise PilotInputError(f"expected a numeric, boolean or text column; found {people.schema[c]}", frame=FRAME, column=c)
    for c in numeric + pre_activity_cols:
        if people[c].null_count():
            raise PilotInputError(
                f"{people[c].null_count()} null value(s); fill or drop them first (means would silently change denominators)",
                frame=FRAME,
                column=c,
            )

    base = people.select(
        pl.col(cohort_col).cast(pl.Utf8).alias("cohort"),
        (pl.col(wave_col).cast(pl.Int16) if wave_col else pl.lit(None, pl.Int16)).alias("wave"),
        *[pl.col(a).cast(pl.Utf8).fill_null(MISSING_LEVEL) for a in text],
        *[pl.col(c).cast(pl.Float64) for c in numeric + pre_activity_cols],
    )
    groups = base.filter(pl.col("cohort").is_not_null())
    if len(cohorts) > 1:
        groups = pl.concat([groups, groups.with_columns(pl.lit(ALL_PILOTS).alias("cohort"), pl.lit(None, pl.Int16).alias("wave"))])
    waves = groups.group_by("cohort").agg(pl.col("wave").drop_nulls().mode().first().alias("wave"), pl.len().alias("cohort_n"))

    parts = []
    if text:
        parts.append(_level_rows(base, groups, text, waves))
    if numeric or pre_activity_cols:
        shares = [c for c in numeric if people.schema[c] == pl.Boolean]
        parts.append(_mean_rows(base, groups, numeric, pre_activity_cols, waves).with_columns(
            pl.col("variable").is_in(shares).alias("_is_share")
        ))
    rows = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame(schema=SCHEMA)
    rows = _suppress(rows, min_group_size)
    if "_is_share" not in rows.columns:
        rows = rows.with_columns(pl.lit(False).alias("_is_share"))
    rows = rows.with_columns(
        (pl.col("smd").abs() > SMD_THRESHOLD).alias("imbalanced"),
        _statement().alias("statement"),
    ).drop("_is_share", strict=False)
    summary = _summary_rows(rows, base, groups, waves, text, numeric + pre_activity_cols, min_group_size)
    out = pl.concat([rows.select(SCHEMA.names()), summary.select(SCHEMA.names())], how="vertical_relaxed")
    order = {c: i for i, c in enumerate([*cohorts, ALL_PILOTS])}
    return (
        out.cast(SCHEMA)  # type: ignore[arg-type]
        .with_columns(pl.col("cohort").replace_strict(order, return_dtype=pl.Int32).alias("_o"))
        .sort("_o", pl.col("row_type").replace_strict({"level": 0, "mean": 1, "summary": 2}), "variable", "level")
        .drop("_o")
    )


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum)


def _level_rows(base: pl.DataFrame, groups: pl.DataFrame, text: list[str], waves: pl.DataFrame) -> pl.DataFrame:
    pop_long = base.select(text).unpivot(variable_name="variable", value_name="level")
    pop = pop_long.group_by("variable", "level").agg(pl.len().alias("population_n")).with_columns(
        (pl.col("population_n") / base.height).alias("population_value")
    )
    pil_long = groups.select("cohort", *text).unpivot(index="cohort", variable_name="variable", value_name="level")
    pil = pil_long.group_by("cohort", "variable", "level").agg(pl.len().alias("pilot_n"))
    grid = waves.select("cohort", "wave", "cohort_n").join(pop, how="cross")
    p1, p0 = pl.col("pilot_value"), pl.col("population_value")
    return (
        grid.join(pil, on=["cohort", "variable", "level"], how="left")
        .with_columns(pl.col("pilot_n").fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("pilot_n") / pl.col("cohort_n")).alias("pilot_value"))
        .with_columns(
            pl.lit("level").alias("row_type"),
            pl.lit("hr_attribute").alias("variable_kind"),
            (p1 / p0).alias("ratio"),
            _safe_div(p1 - p0, ((p1 * (1 - p1) + p0 * (1 - p0)) / 2).sqrt()).alias("smd"),
        )
    )


def _mean_rows(
    base: pl.DataFrame, groups: pl.DataFrame, numeric: list[str], pre: list[str], waves: pl.DataFrame
) -> pl.DataFrame:
    cols = numeric + pre
    stats_pop = base.select(cols).unpivot(variable_name="variable", value_name="x").group_by("variable").agg(
        pl.col("x").mean().alias("population_value"), pl.col("x").var(ddof=0).alias("v0"), pl.len().alias("population_n")
    )
    stats_pil = groups.select("cohort", *cols).unpivot(index="cohort", variable_name="variable", value_name="x").group_by(
        "cohort", "variable"
    ).agg(pl.col("x").mean().alias("pilot_value"), pl.col("x").var(ddof=0).alias("v1"), pl.len().alias("pilot_n"))
    return (
        stats_pil.join(stats_pop, on="variable")
        .join(waves.select("cohort", "wave", "cohort_n"), on="cohort")
        .with_columns(
            pl.lit("mean").alias("row_type"),
            pl.when(pl.col("variable").is_in(pre)).then(pl.lit("pre_activity")).otherwise(pl.lit("hr_attribute")).alias("variable_kind"),
            pl.lit(None, pl.Utf8).alias("level"),
            _safe_div(pl.col("pilot_value"), pl.col("population_value")).alias("ratio"),
            _safe_div(pl.col("pilot_value") - pl.col("population_value"), ((pl.col("v1") + pl.col("v0")) / 2).sqrt()).alias("smd"),
            pl.col("pilot_n").cast(pl.Int64),
            pl.col("population_n").cast(pl.Int64),
        )
        .drop("v0", "v1")
    )


def _safe_div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(pl.when(num == 0).then(0.0).otherwise(None))


def _suppress(rows: pl.DataFrame, k: int) -> pl.DataFrame:
    small_cohort = pl.col("cohort_n") < k
    small_level = (pl.col("row_type") == "level") & ((pl.col("pilot_n") < k) | (pl.col("population_n") < k))
    rows = rows.with_columns((small_cohort | small_level).alias("suppressed"))
    # complementary suppression: a lone suppressed level would be 1 - (sum of the others)
    per_var = pl.col("suppressed").cast(pl.Int32).sum().over("cohort", "variable", "row_type")
    rank_open = (
        pl.when(~pl.col("suppressed")).then(pl.col("pilot_n")).otherwise(None)
        .rank("ordinal").over("cohort", "variable", "row_type")
    )  # fmt: skip
    rows = rows.with_columns(
        (
            pl.col("suppressed")
            | ((pl.col("row_type") == "level") & (per_var == 1) & (rank_open == 1))
        ).alias("suppressed")
    )
    hide = [c for c in ("pilot_n", "population_n", "pilot_value", "population_value", "ratio", "smd") if c in rows.columns]
    return rows.with_columns(pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in hide)


def _pct(col: str) -> pl.Expr:
    return pl.format("{}%", (pl.col(col) * 100).round(0).cast(pl.Int64))


def _num(col: str, digits: int = 2) -> pl.Expr:
    return pl.col(col).round(digits).cast(pl.Utf8)


def _statement() -> pl.Expr:
    who = pl.when(pl.col("cohort") == ALL_PILOTS).then(pl.lit("the pilots")).otherwise(pl.format("pilot {}", pl.col("cohort")))
    level_line = pl.format(
        "{} holds {} times the eligible population's share of {} = {} ({} of its members vs {})",
        who, _num("ratio", 1), pl.col("variable"), pl.col("level"), _pct("pilot_value"), _pct("population_value"),
    )  # fmt: skip
    share_line = pl.format(
        "{}: {} of members are {} vs {} of the eligible population ({} times)",
        who, _pct("pilot_value"), pl.col("variable"), _pct("population_value"), _num("ratio", 1),
    )  # fmt: skip
    mean_line = pl.format(
        "{}: mean {} is {} vs {} in the eligible population ({} times; SMD {})",
        who, pl.col("variable"), _num("pilot_value"), _num("population_value"), _num("ratio", 1), _num("smd"),
    )  # fmt: skip
    is_share = pl.col("_is_share").fill_null(False)
    return (
        pl.when(pl.col("suppressed"))
        .then(pl.format("{}: {} suppressed (fewer than the minimum group size)", who, pl.col("variable")))
        .when(pl.col("row_type") == "level")
        .then(level_line)
        .when(is_share)
        .then(share_line)
        .otherwise(mean_line)
    )


def _summary_rows(
    rows: pl.DataFrame,
    base: pl.DataFrame,
    groups: pl.DataFrame,
    waves: pl.DataFrame,
    text: list[str],
    numeric: list[str],
    k: int,
) -> pl.DataFrame:
    smd = (
        rows.filter(~pl.col("suppressed"))
        .group_by("cohort")
        .agg(
            pl.col("smd").abs().mean().alias("pilot_value"),
            pl.col("imbalanced").sum().alias("n_flag"),
            pl.len().alias("n_rows"),
        )
    )
    smd_rows = (
        waves.join(smd, on="cohort", how="left")
        .with_columns(
            pl.lit("summary").alias("row_type"),
            pl.lit("mean_abs_smd").alias("variable"),
            pl.lit("summary").alias("variable_kind"),
            pl.col("cohort_n").cast(pl.Int64).alias("pilot_n"),
            pl.lit(base.height, pl.Int64).alias("population_n"),
            (pl.col("cohort_n") < k).alias("suppressed"),
        )
        .with_columns(
            (pl.col("pilot_value") > SMD_THRESHOLD).alias("imbalanced"),
            pl.format(
                "{}: mean |SMD| over {} comparisons is {} ({} above 0.1): {}",
                pl.col("cohort"), pl.col("n_rows"), _num("pilot_value"), pl.col("n_flag"),
                pl.when(pl.col("pilot_value") > SMD_THRESHOLD)
                .then(pl.lit("the pilot is not representative of the eligible population"))
                .otherwise(pl.lit("the pilot resembles the eligible population")),
            ).alias("statement"),  # fmt: skip
        )
    )
    auc = _propensity_auc(base, groups, waves, text, numeric, k)
    out = pl.concat([smd_rows, auc], how="diagonal_relaxed")
    return out.with_columns(
        pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("pilot_value")).alias("pilot_value"),
        pl.when(pl.col("cohort_n") < k).then(None).otherwise(pl.col("pilot_n")).alias("pilot_n"),
        pl.when(pl.col("suppressed"))
        .then(pl.format("{}: suppressed (fewer than the minimum group size)", pl.col("cohort")))
        .otherwise(pl.col("statement"))
        .alias("statement"),
        pl.lit(None, pl.Utf8).alias("level"),
        pl.lit(None, pl.Float64).alias("population_value"),
        pl.lit(None, pl.Float64).alias("ratio"),
        pl.lit(None, pl.Float64).alias("smd"),
    )


def _propensity_auc(
    base: pl.DataFrame, groups: pl.DataFrame, waves: pl.DataFrame, text: list[str], numeric: list[str], k: int
) -> pl.DataFrame:
    """AUC of a logistic model of membership, per cohort: one small fit per cohort."""
    covariates = [*text, *numeric]
    records = []
    with threadpool_limits(limits=1, user_api="blas"):
        for row in waves.iter_rows(named=True):  # one iteration per cohort
            cohort = row["cohort"]
            member = (
                pl.col("cohort").is_not_null() if cohort == ALL_PILOTS else (pl.col("cohort") == cohort)
            ).fill_null(False)
            t = base.select(member.cast(pl.Int8)).to_series().to_numpy()
            value = float("nan")
            if k <= t.sum() < len(t) and covariates:
                design = design_matrix(base, covariates, frame_name=FRAME)
                score = fit_propensity(design.matrix, t).score
                from sklearn.metrics import roc_auc_score  # loads in seconds: only when needed

                value = float(roc_auc_score(t, score))
            records.append({"cohort": cohort, "pilot_value": value})
    auc = pl.DataFrame(records, schema={"cohort": pl.Utf8, "pilot_value": pl.Float64})
    return (
        waves.join(auc, on="cohort")
        .with_columns(
            pl.lit("summary").alias("row_type"),
            pl.lit("propensity_auc").alias("variable"),
            pl.lit("summary").alias("variable_kind"),
            pl.col("cohort_n").cast(pl.Int64).alias("pilot_n"),
            pl.lit(base.height, pl.Int64).alias("population_n"),
            ((pl.col("cohort_n") < k) | pl.col("pilot_value").is_nan()).alias("suppressed"),
            pl.lit(None, pl.Boolean).alias("imbalanced"),
            pl.format(
                "{}: a model tells members from the rest of the eligible population with AUC {} (0.5 = indistinguishable)",
                pl.col("cohort"), _num("pilot_value"),
            ).alias("statement"),  # fmt: skip
        )
        .with_columns(pl.col("pilot_value").fill_nan(None))
    )

