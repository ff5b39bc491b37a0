"""Argument checks shared by rnnkit.data: every message names the argument, what was
expected and what was received (so a user can fix the call without reading code)."""
from __future__ import annotations

import numpy as np

from rnnkit.util import checks


def check_int(name: str, value, minimum: int | None = None) -> int:
    """An int (not bool) >= minimum; returns it as a Python int."""
    return checks.integer(value, name, minimum=minimum, style="plain")


def check_choice(name: str, value, choices) -> str:
    return checks.choice(value, name, choices, style="plain")


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
