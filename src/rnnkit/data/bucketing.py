"""Batches of similar-length sequences, to waste little compute on padding.

Sorting the whole set by length gives the least padding but the same batches every
epoch; the usual compromise (e.g. torchtext's BucketIterator, tf.data's
``bucket_by_sequence_length``) is: shuffle, cut into pools of ``pool_size`` batches,
sort each pool by length, cut into batches, shuffle the batch order.

``BucketBatchSampler`` is an iterable of index arrays with ``len()``, so it plugs
into ``torch.utils.data.DataLoader(dataset, batch_sampler=...)``.
"""
from __future__ import annotations

from typing import Iterator, List, Sequence, Union

import numpy as np

from rnnkit.data._checks import check_int
from rnnkit.data.synthetic import as_generator

__all__ = ["BucketBatchSampler", "bucket_batches"]


class BucketBatchSampler:
    """Yield arrays of indices (each (<= batch_size,)) grouping similar ``lengths``.

    Parameters
    ----------
    lengths : (N,) sequence lengths, index i refers to sample i.
    batch_size : samples per batch (the last batch of a pool may be smaller).
    shuffle : randomise pools and batch order each epoch; False gives a fixed
        order sorted by length (shortest first).
    pool_size : batches per sorting pool when shuffling (default 50).
    drop_last : drop batches smaller than ``batch_size``.
    seed : int, None or numpy Generator for the shuffling.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 pool_size: int = 50, drop_last: bool = False,
                 seed: Union[int, np.random.Generator, None] = None) -> None:
        arr = np.asarray(lengths)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer) or (arr < 0).any():
            raise ValueError(f"lengths: expected a 1-D sequence of non-negative ints, got "
                             f"{arr.dtype} array of shape {arr.shape}")
        self.lengths = arr
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.pool_size = check_int("pool_size", pool_size, 1)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self._rng = as_generator(seed)

    def _batches(self) -> List[np.ndarray]:
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            pools = [order]
        else:
            perm = self._rng.permutation(n)
            step = bs * self.pool_size
            # stable sort inside each pool keeps the random order among equal lengths
            pools = [p[np.argsort(self.lengths[p], kind="stable")]
                     for p in (perm[i:i + step] for i in range(0, n, step))]
        batches = [p[i:i + bs] for p in pools for i in range(0, len(p), bs)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == bs]
        if self.shuffle:
            batches = [batches[i] for i in self._rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self._batches())

    def __len__(self) -> int:
        n, bs = len(self.lengths), self.batch_size
        if self.drop_last:
            if not self.shuffle:
                return n // bs
            step = bs * self.pool_size
            return sum(min(step, n - i) // bs for i in range(0, n, step))
        if not self.shuffle:
            return -(-n // bs)
        step = bs * self.pool_size
        return sum(-(-min(step, n - i) // bs) for i in range(0, n, step))


def bucket_batches(lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                   pool_size: int = 50, drop_last: bool = False,
                   seed: Union[int, np.random.Generator, None] = None) -> List[np.ndarray]:
    """One epoch of :class:`BucketBatchSampler` as a list of index arrays."""
    return list(BucketBatchSampler(lengths, batch_size, shuffle, pool_size, drop_last, seed))
