"""torch's intra-op CPU thread count for a block of code.

The tools' models are small (tens of units, batches of 32): one time step's
matrix products take microseconds, less than waking a second OpenMP thread and
synchronising with it. Measured on a 2-core machine shared with other jobs,
``rnnkit compare --dataset sunspots`` spent 0.2 s per epoch with 2 threads and
0.015 s with 1, and a bidirectional GRU text classifier 6.8 s against 0.47 s.
So the examples and ``rnnkit bench`` pin one thread with this helper. ``fit``,
``evaluate``, ``predict`` and the rest of the command line follow rnnkit's thread
policy instead (:mod:`rnnkit.kernels.threads`, docs/threads.md), which also gives
threads up while other processes load the CPUs.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Set ``torch.set_num_threads(n)`` for the block; the previous count comes back after."""
    import torch

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive integer number of threads, got {n!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
