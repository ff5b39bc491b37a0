"""Synthetic long-memory benchmarks: the adding problem and the copy-memory task.

Both take ``seed`` as an int, None or a ``numpy.random.Generator``, so a run is
reproducible and several generators can share one stream.
"""
from __future__ import annotations

import math
from typing import Tuple, Union

import numpy as np

from rnnkit.data._checks import check_int

__all__ = ["as_generator", "adding_problem", "copy_memory", "ADDING_BASELINE_MSE",
           "copy_memory_baseline"]

Seed = Union[int, np.random.Generator, None]

# Predicting the constant 1 for y = a + b, a, b ~ U(0, 1) i.i.d., costs
# E[(a + b - 1)^2] = Var(a + b) = 2 * 1/12 = 1/6 ~ 0.167 (Hochreiter & Schmidhuber
# 1997, sec. 5.4; Le, Jaitly & Hinton 2015 use the same baseline).
ADDING_BASELINE_MSE = 1.0 / 6.0


def as_generator(seed: Seed) -> np.random.Generator:
    """A numpy Generator from an int seed, None (fresh entropy) or a Generator (as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed: expected an int, None or numpy.random.Generator, got "
                    f"{type(seed).__name__} {seed!r}")


def adding_problem(n_samples: int, seq_len: int, seed: Seed = None
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997, experiment 4).

    Each step carries two inputs: a value ~ U(0, 1) and a marker in {0, 1}.  Exactly
    two steps are marked, one uniformly in the first half ``[0, seq_len // 2)`` and one
    in the second half (the placement of Le et al. 2015 / Arjovsky et al. 2016); the
    target is the sum of the two marked values.

    Returns
    -------
    X : float32 (n_samples, seq_len, 2) -- [..., 0] values, [..., 1] markers
    y : float32 (n_samples, 1)          -- sum of the marked values, in [0, 2)
    """
    n = check_int("n_samples", n_samples, 1)
    T = check_int("seq_len", seq_len, 2)
    rng = as_generator(seed)
    values = rng.random((n, T))                                   # (N, T)
    half = T // 2
    first = rng.integers(0, half, size=n)                         # (N,)
    second = rng.integers(half, T, size=n)                        # (N,)
    rows = np.arange(n)
    markers = np.zeros((n, T))
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]                # (N,)
    X = np.stack([values, markers], axis=-1).astype(np.float32)   # (N, T, 2)
    return X, y[:, None].astype(np.float32)


def copy_memory(n_samples: int, delay: int, n_symbols: int = 8, copy_len: int = 10,
                seed: Seed = None) -> Tuple[np.ndarray, np.ndarray]:
    """The copy-memory task (Arjovsky, Shah & Bengio 2016, sec. 4.1).

    Token ids: 0 = blank, 1..n_symbols = data symbols, n_symbols + 1 = delimiter
    ("go" signal).  With L = copy_len and T = delay, each sequence has T + 2L steps:

        input : L random symbols, T - 1 blanks, delimiter, L blanks
        target: T + L blanks, then the same L symbols

    so the model must remember L symbols across T steps.  Returns int64
    X (n_samples, T + 2L) and y (n_samples, T + 2L); a classifier over
    n_symbols + 2 classes per step fits it (e.g. cross-entropy on every step).
    """
    n = check_int("n_samples", n_samples, 1)
    T = check_int("delay", delay, 1)
    k = check_int("n_symbols", n_symbols, 1)
    L = check_int("copy_len", copy_len, 1)
    rng = as_generator(seed)
    symbols = rng.integers(1, k + 1, size=(n, L))                 # (N, L)
    X = np.zeros((n, T + 2 * L), dtype=np.int64)
    y = np.zeros((n, T + 2 * L), dtype=np.int64)
    X[:, :L] = symbols
    X[:, L + T - 1] = k + 1                                       # delimiter
    y[:, T + L:] = symbols
    return X, y


def copy_memory_baseline(delay: int, n_symbols: int = 8, copy_len: int = 10) -> float:
    """Per-step cross-entropy (nats) of the memoryless strategy: blanks, then a uniform
    guess over the symbols for the last ``copy_len`` steps (Arjovsky et al. 2016):
    ``copy_len * log(n_symbols) / (delay + 2 * copy_len)``."""
    return copy_len * math.log(n_symbols) / (delay + 2 * copy_len)
