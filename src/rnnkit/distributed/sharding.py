"""Each rank's share of every global batch.

``batch_size`` keeps Keras's meaning under data parallelism: it is the GLOBAL
batch. For each global batch (the same order on every rank: the shuffle
generator is rank 0's), rank r takes the r-th of ``world`` contiguous slices.
With ``batch_size`` divisible by ``world`` every full batch splits evenly; the
last, partial batch of an epoch splits as evenly as it can (``numpy.array_split``).

Every rank runs the same number of steps, so DDP's gradient all-reduce never
waits for a rank that has run out: a rank whose slice of the last batch is
empty runs its step on one sample with weight 0 (``count`` 0, so the step's
loss scale makes its gradient 0).

``count`` is the number of real samples in the batch just yielded; the
strategy reads it to weight this rank's loss (see ``strategy.py``).
"""
from __future__ import annotations

from typing import Iterator, Optional

import torch

__all__ = ["ShardedData", "local_slice", "check_batch_size"]


def local_slice(n: int, rank: int, world: int) -> slice:
    """Rank ``rank``'s contiguous slice of ``n`` items, as numpy.array_split cuts them."""
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (1 if rank < extra else 0))


def _take(t, s):
    return None if t is None else t[s]


class ShardedData:
    """Wraps ArrayData, a lazy dataset or a BatchStream: same interface (``batches``,
    ``steps``, ``peek``/``sample_shape``), yielding only this rank's slices."""

    def __init__(self, data, rank: int, world: int) -> None:
        self.data, self.rank, self.world = data, rank, world
        self.count = 0

    def __len__(self) -> int:
        return len(self.data)

    def __getattr__(self, name):  # sample_shape, peek, arg, batches_here, ...
        if name == "data":
            raise AttributeError(name)
        return getattr(self.data, name)

    def steps(self, batch_size: Optional[int]) -> Optional[int]:
        return self.data.steps(batch_size)

    def batches(self, batch_size: int, shuffle: bool = False,
                generator: Optional[torch.Generator] = None) -> Iterator[tuple]:
        for x, y, w, m in self.data.batches(batch_size, shuffle, generator):
            n = int(x.shape[0])
            s = local_slice(n, self.rank, self.world)
            self.count = s.stop - s.start
            if self.count == 0:  # fewer samples than ranks in the last batch
                one = slice(0, 1)
                zero = torch.zeros(1, dtype=torch.float32) if w is None else \
                    torch.zeros_like(w[one], dtype=torch.float32)
                yield x[one], _take(y, one), zero, _take(m, one)
                continue
            yield x[s], _take(y, s), _take(w, s), _take(m, s)


def check_batch_size(batch_size: int, world: int) -> None:
    if batch_size % world:
        lower = batch_size - batch_size % world
        raise ValueError(
            f"`batch_size`={batch_size} is the global batch and must divide evenly among the "
            f"{world} processes (each takes batch_size / {world}); use {lower or world} or "
            f"{lower + world}")


