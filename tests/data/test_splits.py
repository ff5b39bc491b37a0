"""Chronological splits."""
import numpy as np
import pytest

from rnnkit.data.splits import chronological_split, split_sizes


def test_hand_computed_split_keeps_order():
    tr, va, te = chronological_split(np.arange(10), val=0.2, test=0.3)
    assert tr.tolist() == [0, 1, 2, 3, 4] and va.tolist() == [5, 6] and te.tolist() == [7, 8, 9]


def test_gap_drops_steps_between_parts():
    tr, va, te = chronological_split(np.arange(20), val=0.25, test=0.25, gap=2)
    assert tr.tolist() == list(range(6))
    assert va.tolist() == list(range(8, 13)) and te.tolist() == list(range(15, 20))


def test_2d_and_no_val():
    x = np.arange(20).reshape(10, 2)
    tr, va, te = chronological_split(x, val=0.0, test=0.2)
    assert tr.shape == (8, 2) and va.shape == (0, 2) and te.tolist() == [[16, 17], [18, 19]]


def test_sizes_sum():
    for n in range(1, 50):
        assert sum(split_sizes(n, 0.1, 0.1)) == n


@pytest.mark.parametrize("kwargs, match", [
    (dict(val=0.6, test=0.5), "val \\+ test"),
    (dict(val=-0.1), "val"),
    (dict(test=1.0), "test"),
    (dict(gap=-1), "gap"),
    (dict(gap=5), "gap"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chronological_split(np.arange(10), **kwargs)
