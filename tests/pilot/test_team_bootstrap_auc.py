"""The team bootstrap of the uptake model's AUC: each replicate must be the AUC of the resampled
rows (whole teams drawn with replacement), computed here the slow, obvious way with scikit-learn
on the concatenated resample from the same random draws."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from transforms.pilot.uptake_model import INTERVAL, team_bootstrap_auc


def _reference(y: np.ndarray, p: np.ndarray, teams: np.ndarray, reps: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    codes, inverse = np.unique(teams, return_inverse=True)
    values = []
    for _ in range(reps):
        drawn = rng.integers(0, len(codes), size=len(codes))
        pick = np.concatenate([np.flatnonzero(inverse == g) for g in drawn])
        if 0 < y[pick].sum() < len(pick):
            values.append(roc_auc_score(y[pick], p[pick]))
    return (float(np.percentile(values, (1 - INTERVAL) / 2 * 100)),
            float(np.percentile(values, (1 + INTERVAL) / 2 * 100)))


def test_each_replicate_is_the_auc_of_the_resampled_teams_ties_included() -> None:
    rng = np.random.default_rng(5)
    n = 3_000
    teams = rng.integers(0, 60, size=n).astype(str)
    y = (rng.random(n) < 0.3).astype(int)
    p = np.round(rng.random(n) * 0.5 + 0.3 * y, 2)  # rounded: many tied scores across classes
    got = team_bootstrap_auc(y, p, teams, reps=200, rng=np.random.default_rng(11))
    want = _reference(y, p, teams, reps=200, seed=11)
    assert all(type(v) is float for v in got)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert 0.5 < got[0] < got[1] < 1


def test_a_resample_with_one_class_only_is_skipped() -> None:
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.2, 0.1])
    teams = np.array(["a", "a", "b", "b"])  # a resample of team a alone (or b alone) has one class
    low, high = team_bootstrap_auc(y, p, teams, reps=50, rng=np.random.default_rng(0))
    assert low == high == 1.0
