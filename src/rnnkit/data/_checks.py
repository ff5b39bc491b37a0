"""Argument checks shared by rnnkit.data: every message names the argument, what was
expected and what was received (so a user can fix the call without reading code)."""
from __future__ import annotations

import numbers

import numpy as np


def check_int(name: str, value, minimum: int | None = None) -> int:
    """An int (not bool) >= minimum; returns it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")
    return value


def as_float_array(name: str, value, ndims=(1, 2)) -> np.ndarray:
    """Numeric array with ndim in ``ndims`` and at least one element, as float64."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a numeric array, got {type(value).__name__}") from None
    if arr.ndim not in ndims:
        raise ValueError(f"{name}: expected an array with ndim in {tuple(ndims)}, "
                         f"got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    return arr
