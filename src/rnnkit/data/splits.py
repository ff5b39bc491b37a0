"""Chronological train / validation / test splits (no shuffling).

For forecasting, shuffling before splitting leaks the future into training: a window
from 1955 in the training set and one from 1954 in the test set share most of their
values.  So the series is cut in time order, the scaler is fitted on the first part
only (see scaling.py), and windows are made inside each part.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.data._checks import check_int

__all__ = ["Split", "split_sizes", "chronological_split"]


class Split(NamedTuple):
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_sizes(n: int, val: float = 0.15, test: float = 0.15) -> tuple:
    """(n_train, n_val, n_test) for ``n`` steps; fractions are rounded down, the
    train part takes the remainder.  ``val``/``test`` may be 0."""
    n = check_int("n", n, 1)
    for name, frac in (("val", val), ("test", test)):
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac < 1:
            raise ValueError(f"{name}: expected a fraction in [0, 1), got {frac!r}")
    if val + test >= 1:
        raise ValueError(f"val + test: expected a sum < 1 so that some data is left for "
                         f"training, got {val} + {test} = {val + test}")
    n_val, n_test = int(n * val), int(n * test)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ValueError(f"n: {n} steps leave no training data with val={val}, test={test}")
    return n_train, n_val, n_test


def chronological_split(data, val: float = 0.15, test: float = 0.15, gap: int = 0) -> Split:
    """Cut ``data`` (T, ...) along axis 0 into train, val, test, in time order.

    ``gap`` steps are dropped between consecutive parts (e.g. ``gap = window`` keeps
    windows of different parts from overlapping in time).  Returns views, not copies.

    >>> chronological_split(np.arange(10), val=0.2, test=0.2)
    Split(train=array([0, 1, 2, 3, 4, 5]), val=array([6, 7]), test=array([8, 9]))
    """
    arr = np.asarray(data)
    if arr.ndim == 0:
        raise ValueError(f"data: expected an array with a time axis, got a scalar {data!r}")
    gap = check_int("gap", gap, 0)
    n_train, n_val, n_test = split_sizes(len(arr), val, test)
    # the gaps come out of the training part, so val/test keep their requested sizes
    n_gaps = gap * ((n_val > 0) + (n_test > 0))
    if n_train - n_gaps < 1:
        raise ValueError(f"gap: {gap} leaves no training data ({len(arr)} steps, "
                         f"{n_val} val, {n_test} test)")
    a = n_train - n_gaps
    b = a + (gap if n_val else 0)
    c = b + n_val + (gap if n_test else 0)
    return Split(arr[:a], arr[b:b + n_val], arr[c:c + n_test])
