"""Minimum group size: primary and complementary suppression, arms of comparisons."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from transforms.privacy import suppress_cells, suppress_small_arms


def _cells(sizes: dict[str, int], part: str = "w1") -> pl.DataFrame:
    return pl.DataFrame({"part": [part] * len(sizes), "pop": list(sizes), "n": list(sizes.values()),
                         "active": [s // 2 for s in sizes.values()]})


def test_no_small_cell_means_nothing_suppressed():
    out = suppress_cells(_cells({"a": 5, "b": 9, "c": 12}), size_column="n", value_columns=["n", "active"],
                         partition_by=["part"], min_group_size=5)
    assert out["suppressed"].to_list() == [False, False, False]
    assert out["n"].to_list() == [5, 9, 12]


def test_single_small_cell_gets_a_complement_so_the_total_does_not_reveal_it():
    # total 3 + 6 + 20 + 40 = 69; suppressing only "a" would let 69 - 66 = 3 be recovered
    out = suppress_cells(_cells({"a": 3, "b": 6, "c": 20, "d": 40}), size_column="n", value_columns=["n", "active"],
                         partition_by=["part"], min_group_size=5)
    assert dict(zip(out["pop"], out["suppressed"])) == {"a": True, "b": True, "c": False, "d": False}
    assert out.filter(pl.col("suppressed"))["n"].null_count() == 2
    assert out.filter(pl.col("suppressed"))["active"].null_count() == 2


def test_two_small_cells_summing_below_k_pull_in_a_third():
    # 1 + 2 = 3 < 5: their sum would describe 3 people, so the next smallest (7) joins them
    out = suppress_cells(_cells({"a": 1, "b": 2, "c": 7, "d": 50}), size_column="n", value_columns=["n"],
                         partition_by=["part"], min_group_size=5)
    assert dict(zip(out["pop"], out["suppressed"])) == {"a": True, "b": True, "c": True, "d": False}


def test_two_small_cells_summing_to_k_are_enough():
    out = suppress_cells(_cells({"a": 2, "b": 3, "c": 7, "d": 50}), size_column="n", value_columns=["n"],
                         partition_by=["part"], min_group_size=5)
    assert dict(zip(out["pop"], out["suppressed"])) == {"a": True, "b": True, "c": False, "d": False}


def test_partitions_are_independent_and_input_is_not_modified():
    frame = pl.concat([_cells({"a": 3, "b": 6, "c": 9}, "w1"), _cells({"a": 8, "b": 6, "c": 9}, "w2")])
    before = frame.clone()
    out = suppress_cells(frame, size_column="n", value_columns=["n"], partition_by=["part"], min_group_size=5)
    assert out.filter(pl.col("part") == "w2")["suppressed"].to_list() == [False, False, False]
    assert out.filter(pl.col("part") == "w1")["suppressed"].to_list() == [True, True, False]
    assert frame.equals(before)
    assert out["pop"].to_list() == frame["pop"].to_list()  # row order kept


def test_whole_partition_below_k_is_suppressed_entirely():
    out = suppress_cells(_cells({"a": 1, "b": 2}), size_column="n", value_columns=["n"], partition_by=["part"],
                         min_group_size=5)
    assert out["suppressed"].to_list() == [True, True]


def test_without_complementary_only_primary_cells_go():
    out = suppress_cells(_cells({"a": 3, "b": 6, "c": 20}), size_column="n", value_columns=["n"],
                         partition_by=["part"], min_group_size=5, complementary=False)
    assert out["suppressed"].to_list() == [True, False, False]


@pytest.mark.parametrize("seed", range(30))
def test_subtraction_from_the_total_never_isolates_fewer_than_k_people(seed):
    rng = np.random.default_rng(seed)
    sizes = {f"p{i}": int(s) for i, s in enumerate(rng.integers(0, 15, size=rng.integers(2, 9)))}
    k = int(rng.integers(2, 8))
    out = suppress_cells(_cells(sizes), size_column="n", value_columns=["n"], partition_by=["part"], min_group_size=k)
    hidden = [sizes[p] for p, s in zip(out["pop"], out["suppressed"]) if s]
    shown = [sizes[p] for p, s in zip(out["pop"], out["suppressed"]) if not s]
    assert all(s >= k for s in shown)  # every published cell has at least k people
    if hidden:
        total = sum(sizes.values())
        assert len(hidden) >= 2 or total < k  # never one lone suppressed cell
        # what subtraction reveals (the sum of hidden cells) describes at least k people
        assert sum(hidden) >= k or len(shown) == 0


def test_arms_suppress_a_row_when_either_arm_is_small():
    table = pl.DataFrame({"a": [10, 4, 10], "b": [10, 10, 3], "diff": [1.0, 2.0, 3.0]})
    out = suppress_small_arms(table, size_columns=["a", "b"], value_columns=["diff"], min_group_size=5)
    assert out["suppressed"].to_list() == [False, True, True]
    assert out["diff"].to_list() == [1.0, None, None]


def test_bad_min_group_size_and_columns_raise():
    with pytest.raises(ValueError, match="min_group_size"):
        suppress_cells(_cells({"a": 3}), size_column="n", value_columns=["n"], min_group_size=0)
    with pytest.raises(KeyError, match="nope"):
        suppress_cells(_cells({"a": 3}), size_column="nope", value_columns=["n"])


def test_exhaustive_small_partitions():
    """Every partition of up to 4 cells of size 0..7 obeys the rule with k = 5."""
    for sizes in itertools.product(range(0, 8), repeat=3):
        cells = {f"p{i}": s for i, s in enumerate(sizes)} | {"big": 30}
        out = suppress_cells(_cells(cells), size_column="n", value_columns=["n"], partition_by=["part"],
                             min_group_size=5)
        hidden = [cells[p] for p, s in zip(out["pop"], out["suppressed"]) if s]
        assert all(cells[p] >= 5 for p, s in zip(out["pop"], out["suppressed"]) if not s)
        assert not hidden or (len(hidden) >= 2 and sum(hidden) >= 5)
