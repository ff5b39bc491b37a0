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
        if hasattr(self.data, "index_batches"):  # lazy data: read only this rank's windows
            for idx in self.data.index_batches(batch_size, shuffle, generator):
                s = self._share(len(idx))
                yield self._pad(self.data.take(idx[s] if self.count else idx[:1]))
            return
        for batch in self.data.batches(batch_size, shuffle, generator):
            s = self._share(int(batch[0].shape[0]))
            yield self._pad(tuple(_take(t, s if self.count else slice(0, 1)) for t in batch))

    def _share(self, n: int) -> slice:
        s = local_slice(n, self.rank, self.world)
        self.count = s.stop - s.start
        return s

    def _pad(self, batch: tuple) -> tuple:
        """An empty share (fewer samples than ranks): one sample with weight 0."""
        if self.count:
            return batch
        x, y, w, m = batch
        return x, y, torch.zeros(1, dtype=torch.float32) if w is None else torch.zeros_like(
            w, dtype=torch.float32), m


def check_batch_size(batch_size: int, world: int) -> None:
    if batch_size % world:
        lower = batch_size - batch_size % world
        raise ValueError(
            f"`batch_size`={batch_size} is the global batch and must divide evenly among the "
            f"{world} processes (each takes batch_size / {world}); use {lower or world} or "
            f"{lower + world}")


