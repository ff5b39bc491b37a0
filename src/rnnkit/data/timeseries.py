"""Keras's ``timeseries_dataset_from_array``: sliding windows over an array,
in batches, as an object that ``fit`` / ``evaluate`` / ``predict`` accept.

Window i starts at ``start_index + i · sequence_stride`` and takes
``sequence_length`` rows, ``sampling_rate`` apart. Its target is
``targets[start of window i]`` (Keras's convention: to predict the value after
a window of length L, pass ``targets=data[L:]``). Windows are gathered per
batch, never all at once, so the data isn't copied ``sequence_length`` times.
"""
from __future__ import annotations

import numbers
from typing import Iterator, Optional

import numpy as np

__all__ = ["TimeseriesDataset", "timeseries_dataset_from_array"]


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


class TimeseriesDataset:
    """Re-iterable batches ``(x, y)`` (or ``x`` without targets); ``len()`` is
    the number of batches. ``shuffle`` permutes the windows once, with
    ``numpy.random.RandomState(seed)`` as Keras does, so every pass (epoch)
    sees the same order, and the order is Keras's for the same seed."""

    def __init__(self, data, targets, starts: np.ndarray, offsets: np.ndarray, batch_size: int,
                 shuffle: bool, seed: Optional[int]) -> None:
        self.data, self.targets = data, targets
        self.starts, self.offsets = starts, offsets
        self.batch_size, self.shuffle = batch_size, shuffle
        if shuffle:
            self.starts = starts.copy()
            np.random.RandomState(np.random.randint(1e6) if seed is None else seed).shuffle(
                self.starts)

    def __len__(self) -> int:
        return -(-len(self.starts) // self.batch_size)

    def __iter__(self) -> Iterator:
        for b in range(0, len(self.starts), self.batch_size):
            starts = self.starts[b:b + self.batch_size]
            x = self.data[starts[:, None] + self.offsets[None, :]]  # (B, L, ...)
            if self.targets is None:
                yield x
            else:
                yield x, self.targets[starts]


def timeseries_dataset_from_array(data, targets, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: Optional[int] = 128,
                                  shuffle: bool = False, seed: Optional[int] = None,
                                  start_index: Optional[int] = None,
                                  end_index: Optional[int] = None) -> TimeseriesDataset:
    """Windows of ``data`` (N, ...) with Keras's arguments and defaults
    (``batch_size=None`` yields one window per batch; Keras yields them without a batch
    axis, which fit could not take)."""
    a = np.asarray(data)
    if a.ndim == 0 or a.dtype.kind not in "biuf":
        raise TypeError(f"`data` must be a numeric array with a time axis first, got "
                        f"{type(data).__name__} of dtype {a.dtype}")
    L = _int("sequence_length", sequence_length, 1)
    stride = _int("sequence_stride", sequence_stride, 1)
    rate = _int("sampling_rate", sampling_rate, 1)
    start = _int("start_index", 0 if start_index is None else start_index, 0)
    end = len(a) if end_index is None else _int("end_index", end_index, 1)
    if end > len(a) or start >= end:
        raise ValueError(f"`start_index`={start} and `end_index`={end} must satisfy 0 <= "
                         f"start_index < end_index <= len(data)={len(a)}")
    t = None
    if targets is not None:
        t = np.asarray(targets)
        if len(t) < 1:
            raise ValueError("`targets` is empty")
    span = (L - 1) * rate + 1
    last = end - span
    if last < start:
        raise ValueError(f"`data` from {start} to {end} has {end - start} steps, fewer than one "
                         f"window of sequence_length={L} at sampling_rate={rate} ({span} steps)")
    starts = np.arange(start, last + 1, stride)
    if t is not None:
        starts = starts[starts < len(t)]  # Keras: as many windows as targets
    bs = 1 if batch_size is None else _int("batch_size", batch_size, 1)
    return TimeseriesDataset(a, t, starts, np.arange(L) * rate, bs, bool(shuffle), seed)
