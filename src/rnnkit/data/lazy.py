"""Data larger than memory: windows cut lazily from a memory-mapped series.

:class:`WindowDataset` takes a (N, F) series -- a ``.npy`` file opened with
``np.load(path, mmap_mode="r")``, or any array-like that slices -- and serves
window i as::

    r = i * stride
    x_i = series[r : r + window, features]                 # (window, len(features))
    y_i = series[r + window : r + window + horizon, targets].reshape(-1)   # (horizon*len(targets),)

optionally scaled per column, ``(v - offset) / scale`` (e.g. statistics from
:func:`csv_to_npy`). Only the windows of the batch in hand are read, so a
10 GB series trains in the memory of one batch; the operating system pages
the file in and out (page cache, not the process's own memory).

``fit`` takes a WindowDataset as ``x`` (no ``y``): it batches, shuffles
(``index_batches``) and, under torchrun, shards it by window index, so each
rank reads only its own windows.

:func:`csv_to_npy` streams a CSV file in chunks (pandas ``chunksize``) into a
``.npy`` file on disk -- never the whole CSV in memory -- and returns the
per-column count, mean and standard deviation of the rows it wrote.
"""
from __future__ import annotations

import math
import os
from typing import Iterator, Optional, Sequence

import numpy as np
import torch

__all__ = ["WindowDataset", "csv_to_npy", "open_npy"]


def open_npy(path) -> np.ndarray:
    """A (N, F) float array memory-mapped read-only from a ``.npy`` file."""
    arr = np.load(os.fspath(path), mmap_mode="r")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.dtype.kind not in "fiu":
        raise ValueError(f"`{path}` must hold a numeric (N, F) or (N,) array, got dtype "
                         f"{arr.dtype} shape {arr.shape}")
    return arr


def _columns(value, F: int, arg: str) -> list:
    if value is None:
        return list(range(F))
    cols = [value] if isinstance(value, (int, np.integer)) else list(value)
    if not cols or any(isinstance(c, bool) or not isinstance(c, (int, np.integer))
                       or not -F <= c < F for c in cols):
        raise ValueError(f"`{arg}` must be column indices of the {F}-column series, got {value!r}")
    return [int(c) % F for c in cols]


def _positive(value, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{arg}` must be a positive int, got {value!r}")
    return int(value)


class WindowDataset:
    """Windows of a (N, F) series, read only when a batch needs them.

    Args:
        series: a path to a ``.npy`` file (memory-mapped) or a (N, F) / (N,) array.
        window: input steps per window. horizon: target steps after it (default 1).
        features / targets: column indices (default: every column for both).
        stride: steps between window starts (default 1).
        offset, scale: per-column scaling ``(v - offset) / scale`` (default none).
    """

    def __init__(self, series, window: int, horizon: int = 1,
                 features: Optional[Sequence[int]] = None,
                 targets: Optional[Sequence[int]] = None, stride: int = 1,
                 offset=None, scale=None) -> None:
        if isinstance(series, (str, os.PathLike)):
            series = open_npy(series)
        arr = series if getattr(series, "ndim", 0) == 2 else np.asarray(series).reshape(-1, 1)
        self.series = arr
        F = arr.shape[1]
        self.window, self.horizon = _positive(window, "window"), _positive(horizon, "horizon")
        self.stride = _positive(stride, "stride")
        self.features = _columns(features, F, "features")
        self.targets = _columns(targets, F, "targets")
        self.offset = np.zeros(F) if offset is None else np.asarray(offset, dtype=np.float64)
        self.scale = np.ones(F) if scale is None else np.asarray(scale, dtype=np.float64)
        if self.offset.shape != (F,) or self.scale.shape != (F,) or not (self.scale > 0).all():
            raise ValueError(f"`offset` and `scale` must hold one value per column ({F}), the "
                             f"scales positive; got shapes {self.offset.shape}, {self.scale.shape}")
        span = self.window + self.horizon
        if arr.shape[0] < span:
            raise ValueError(f"the series has {arr.shape[0]} steps, fewer than window + horizon "
                             f"= {span}")
        self._first = 0
        self._count = (arr.shape[0] - span) // self.stride + 1

    # --- the interface fit uses (as ArrayData's) ----------------------------------------------
    def __len__(self) -> int:
        return self._count

    @property
    def sample_shape(self) -> tuple:
        return (self.window, len(self.features))

    def steps(self, batch_size: int) -> int:
        return math.ceil(len(self) / batch_size)

    def peek(self) -> tuple:
        return self.take(torch.tensor([0]))

    def _view(self, first: int, count: int) -> "WindowDataset":
        out = object.__new__(WindowDataset)
        out.__dict__.update(self.__dict__)
        out._first, out._count = self._first + first, count
        return out

    def split(self, validation_split: float) -> tuple["WindowDataset", "WindowDataset"]:
        """Keras's rule: the LAST fraction of the windows validates."""
        n = len(self)
        at = int(math.floor(n * (1.0 - validation_split)))
        if at == 0 or at == n:
            raise ValueError(f"`validation_split`={validation_split} of {n} windows leaves {at} "
                             f"for training and {n - at} for validation; both need at least one")
        return self._view(0, at), self._view(at, n - at)

    def take(self, idx) -> tuple:
        """(x (B, window, F_in), y (B, horizon*F_out), None, None) for window indices ``idx``."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1) + self._first
        rows = idx * self.stride
        f, t = self.features, self.targets
        xs = np.stack([np.asarray(self.series[r:r + self.window]) for r in rows])  # (B, W, F)
        ys = np.stack([np.asarray(self.series[r + self.window:r + self.window + self.horizon])
                       for r in rows])                                             # (B, K, F)
        xs = (xs - self.offset) / self.scale
        ys = (ys - self.offset) / self.scale
        x = torch.from_numpy(np.ascontiguousarray(xs[:, :, f], dtype=np.float32))
        y = torch.from_numpy(np.ascontiguousarray(ys[:, :, t].reshape(len(rows), -1),
                                                  dtype=np.float32))
        bad = ~torch.isfinite(x)
        if bool(bad.any()) or not bool(torch.isfinite(y).all()):
            b = int(torch.nonzero(bad)[0][0]) if bool(bad.any()) else \
                int(torch.nonzero(~torch.isfinite(y))[0][0])
            raise ValueError(f"the series holds NaN or infinite values in window "
                             f"{int(idx[b]) - self._first} (rows {int(rows[b])} to "
                             f"{int(rows[b]) + self.window + self.horizon - 1}); clean it first")
        return x, y, None, None

    def index_batches(self, batch_size: int, shuffle: bool = False,
                      generator: Optional[torch.Generator] = None) -> Iterator[torch.Tensor]:
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]

    def batches(self, batch_size: int, shuffle: bool = False,
                generator: Optional[torch.Generator] = None) -> Iterator[tuple]:
        for idx in self.index_batches(batch_size, shuffle, generator):
            yield self.take(idx)


def csv_to_npy(csv_path, out_path, columns: Sequence[str], chunksize: int = 100_000) -> dict:
    """Stream ``columns`` of a CSV into a float32 (N, len(columns)) ``.npy`` at ``out_path``.

    Two passes, each holding one chunk of rows: count the rows, then fill a
    memory-mapped ``.npy`` written to a temporary name and renamed at the end
    (no half-written file). Returns {"rows", "mean", "std"} (float64 sums over
    every row written; NaN or a non-numeric cell raises ValueError with its line).
    """
    import pandas as pd

    csv_path, out_path = os.fspath(csv_path), os.fspath(out_path)
    columns = list(columns)
    reader = (lambda: pd.read_csv(csv_path, usecols=columns, chunksize=chunksize,
                                  dtype=str, keep_default_na=False))
    try:
        rows = sum(len(chunk) for chunk in reader())
    except ValueError as e:  # pandas names the missing columns
        raise ValueError(f"`{csv_path}`: {e}") from None
    if rows == 0:
        raise ValueError(f"`{csv_path}` has no data rows")
    tmp = out_path + ".part.npy"
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(rows, len(columns)))
    total = np.zeros(len(columns))
    squares = np.zeros(len(columns))
    at = 0
    try:
        for chunk in reader():
            block = chunk[columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
            bad = ~np.isfinite(block)
            if bad.any():
                r, c = np.argwhere(bad)[0]
                raise ValueError(f"`{csv_path}` line {at + r + 2}, column {columns[c]!r}: "
                                 f"{chunk[columns].iat[r, c]!r} is not a finite number")
            out[at:at + len(block)] = block
            total += block.sum(0)
            squares += np.square(block).sum(0)
            at += len(block)
        out.flush()
        del out
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    mean = total / rows
    std = np.sqrt(np.maximum(squares / rows - mean ** 2, 0.0))
    return {"rows": rows, "mean": mean, "std": std}
