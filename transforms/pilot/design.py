"""Checks and encodings shared by the pilot estimators: required columns, nulls, a binary
treatment, and covariates turned into a standardized numeric design matrix (text columns one-hot
encoded, rare levels pooled), plus the logistic propensity model fitted on it."""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.pilot.errors import PilotInputError

log = logging.getLogger(__name__)

#: Levels of a text covariate held by fewer units than this are pooled into ``OTHER_LEVEL``.
RARE_LEVEL_MIN = 5
OTHER_LEVEL = "(other)"
MISSING_LEVEL = "(missing)"


def require_columns(frame: pl.DataFrame, columns: Sequence[str], *, frame_name: str) -> None:
    """Raise :class:`PilotInputError` naming every column of ``columns`` absent from ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PilotInputError(
            f"missing column(s) {', '.join(missing)}; the frame has {', '.join(frame.columns) or 'no columns'}",
            frame=frame_name,
            column=missing[0],
        )


def require_no_nulls(frame: pl.DataFrame, columns: Sequence[str], *, frame_name: str) -> None:
    """Raise :class:`PilotInputError` on the first column holding nulls or NaNs (with a row number)."""
    for c in columns:
        s = frame.get_column(c)
        bad = s.is_null()
        if s.dtype.is_float():
            bad = bad | s.is_nan().fill_null(False)
        n_bad = int(bad.sum())
        if n_bad:
            first = int(bad.arg_true()[0])
            raise PilotInputError(
                f"{n_bad} null/NaN value(s), first at row {first}; expected a value in every row "
                "(impute or drop those rows first)",
                frame=frame_name,
                column=c,
            )


def binary_treatment(frame: pl.DataFrame, column: str, *, frame_name: str) -> np.ndarray:
    """The treatment column as a 0/1 ``int8`` array; typed errors if not binary or constant."""
    s = frame.get_column(column)
    if s.dtype == pl.Boolean:
        t = s.cast(pl.Int8).to_numpy()
    elif s.dtype.is_numeric():
        values = set(s.unique().to_list())
        if not values <= {0, 1}:
            raise PilotInputError(
                f"treatment must be 0/1 or boolean; found values {sorted(values)[:5]}",
                frame=frame_name,
                column=column,
            )
        t = s.cast(pl.Int8).to_numpy()
    else:
        raise PilotInputError(
            f"treatment must be 0/1 or boolean; found type {s.dtype}", frame=frame_name, column=column
        )
    n_treated = int(t.sum())
    if n_treated == 0:
        raise PilotInputError("no treated units (every value is 0/False)", frame=frame_name, column=column)
    if n_treated == len(t):
        raise PilotInputError("no control units (every value is 1/True)", frame=frame_name, column=column)
    return t


@dataclass(frozen=True)
class Design:
    """Covariates as a standardized matrix (no intercept column) with one name per column."""

    matrix: np.ndarray
    names: tuple[str, ...]

    def with_intercept(self) -> np.ndarray:
        return np.column_stack([np.ones(self.matrix.shape[0]), self.matrix])


def design_matrix(
    frame: pl.DataFrame,
    covariates: Sequence[str],
    *,
    frame_name: str,
    rare_level_min: int = RARE_LEVEL_MIN,
) -> Design:
    """Encode ``covariates`` of ``frame`` as a standardized numeric matrix.

    Numeric and boolean columns are used as they are; text/categorical columns become one dummy
    per level except the most frequent (the reference), after pooling levels held by fewer than
    ``rare_level_min`` units into ``"(other)"``. Constant columns are dropped (logged); every kept
    column is centred and scaled to unit variance. Nulls must have been dealt with before.
    """
    n = frame.height
    columns: list[np.ndarray] = []
    names: list[str] = []
    for col in covariates:
        s = frame.get_column(col)
        dt = s.dtype
        if dt == pl.Boolean or dt.is_numeric():
            columns.append(s.cast(pl.Float64).to_numpy())
            names.append(col)
        elif dt in (pl.Utf8, pl.Categorical) or isinstance(dt, pl.Enum):
            text = s.cast(pl.Utf8)
            counts = text.value_counts(sort=True)
            rare = counts.filter(pl.col("count") < rare_level_min).get_column(col)
            if rare.len():
                text = pl.select(
                    pl.when(text.is_in(rare.to_list())).then(pl.lit(OTHER_LEVEL)).otherwise(text).alias(col)
                ).to_series()
                counts = text.value_counts(sort=True)
            levels = counts.get_column(col).to_list()
            for level in levels[1:]:  # the most frequent level is the reference
                columns.append((text == level).cast(pl.Float64).to_numpy())
                names.append(f"{col}={level}")
        else:
            raise PilotInputError(
                f"covariate must be numeric, boolean or text; found type {dt}", frame=frame_name, column=col
            )
    if not columns:
        return Design(np.empty((n, 0)), ())
    x = np.column_stack(columns)
    sd = x.std(axis=0)
    keep = sd > 1e-12
    if not keep.all():
        log.debug("%s: dropping constant covariate column(s) %s", frame_name, [m for m, k in zip(names, keep) if not k])
    x = (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
    return Design(x, tuple(m for m, k in zip(names, keep) if k))


@dataclass(frozen=True)
class PropensityFit:
    """A fitted logistic propensity model: scores and the design (with intercept) it used."""

    score: np.ndarray
    design: np.ndarray
    coef: np.ndarray


def fit_propensity(x: np.ndarray, t: np.ndarray, *, inverse_penalty: float = 1e4) -> PropensityFit:
    """Logistic regression of ``t`` on ``x`` (scikit-learn, L2 penalty ``1/inverse_penalty``).

    The penalty is negligible next to the likelihood for any realistic sample (the fit equals the
    maximum-likelihood logit to several digits) but keeps the coefficients finite when a covariate
    separates the arms; those units then get scores near 0 or 1 and are trimmed.

    The fit is remembered for the last few inputs (by content): a pilot window's propensity model
    is the same for every metric and for ipw, aipw and matching, and was refitted for each of them.
    The arrays of a remembered fit are read-only.
    """
    digest = hashlib.blake2b(digest_size=20)
    for part in (repr((x.shape, x.dtype.str, t.shape, t.dtype.str, float(inverse_penalty))).encode(),
                 np.ascontiguousarray(x).data, np.ascontiguousarray(t).data):
        digest.update(part)
    key = digest.digest()
    fit = _PROPENSITY_FITS.pop(key, None)
    if fit is None:
        fit = _fit_propensity(x, t, inverse_penalty)
        for a in (fit.score, fit.design, fit.coef):
            a.setflags(write=False)
    _PROPENSITY_FITS[key] = fit  # most recent last
    while len(_PROPENSITY_FITS) > _PROPENSITY_FITS_KEPT:
        _PROPENSITY_FITS.pop(next(iter(_PROPENSITY_FITS)))
    return fit


#: The last fits by a digest of their inputs (see :func:`fit_propensity`); a few windows' worth.
_PROPENSITY_FITS: dict[bytes, PropensityFit] = {}
_PROPENSITY_FITS_KEPT = 8


def _fit_propensity(x: np.ndarray, t: np.ndarray, inverse_penalty: float) -> PropensityFit:
    n = len(t)
    if x.shape[1] == 0:
        p = np.full(n, t.mean())
        return PropensityFit(p, np.ones((n, 1)), np.array([np.log(t.mean() / (1 - t.mean()))]))
    from sklearn.exceptions import ConvergenceWarning  # scikit-learn loads in seconds: only when fitting
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=inverse_penalty, max_iter=5000, tol=1e-8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, t)
    for w in caught:
        log.warning("propensity model: %s", w.message)
    score = model.predict_proba(x)[:, 1]
    coef = np.concatenate([model.intercept_, model.coef_.ravel()])
    return PropensityFit(score, np.column_stack([np.ones(n), x]), coef)
