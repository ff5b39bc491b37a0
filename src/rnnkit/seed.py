"""One call to make a run repeatable: seed Python's, numpy's and torch's RNGs.

Weight initialisation, dropout and ``fit``'s shuffling (its generator is
seeded from torch's global RNG) then repeat exactly on the same machine and
torch build. GPU kernels may still be non-deterministic unless
``torch.use_deterministic_algorithms(True)`` is set as well.
"""
from __future__ import annotations

import numbers
import random

import numpy as np
import torch

__all__ = ["set_random_seed"]


def set_random_seed(seed: int) -> None:
    """Seed ``random``, ``numpy.random`` and ``torch`` (CPU and every CUDA device)
    with ``seed``, an int in [0, 2**32) (numpy's limit), as ``keras.utils.set_random_seed``."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`seed` must be an int, got {type(seed).__name__} {seed!r}")
    if not 0 <= seed < 2 ** 32:
        raise ValueError(f"`seed` must lie in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
