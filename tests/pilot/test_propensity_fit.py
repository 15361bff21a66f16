"""fit_propensity remembers its last fits by content: the same inputs give the very same fit (not
refitted), other inputs a fit of their own, and a remembered fit cannot be changed by a caller."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from transforms.pilot.design import fit_propensity


def _data(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * x[:, 0] - 0.5 * x[:, 1])))).astype(float)
    return x, t


def test_same_inputs_give_the_remembered_fit_equal_to_a_fresh_one() -> None:
    x, t = _data(1)
    first = fit_propensity(x, t)
    again = fit_propensity(x.copy(), t.copy())  # equal content, other arrays
    assert again is first
    reference = LogisticRegression(C=1e4, max_iter=5000, tol=1e-8).fit(x, t).predict_proba(x)[:, 1]
    np.testing.assert_allclose(first.score, reference, rtol=0, atol=1e-12)


def test_other_inputs_are_fitted_on_their_own() -> None:
    x, t = _data(2)
    fit = fit_propensity(x, t)
    flipped = t.copy()
    flipped[0] = 1 - flipped[0]
    other = fit_propensity(x, flipped)
    assert other is not fit
    assert not np.array_equal(other.score, fit.score)
    assert fit_propensity(x, t, inverse_penalty=1.0) is not fit  # the penalty is part of the key
    assert fit_propensity(x[:, :2], t) is not fit


def test_a_remembered_fit_is_read_only() -> None:
    x, t = _data(3)
    fit = fit_propensity(x, t)
    with pytest.raises(ValueError, match="read-only"):
        fit.score[0] = 0.5
    assert fit_propensity(x, t).score[0] == fit.score[0]
