"""Forecasting data larger than memory: ``rnnkit train --data big.csv --stream``.

The recipe of :func:`rnnkit.tools.forecast.prepare_forecast` with ``preprocess="level"`` (70/15/15
time-ordered split, StandardScalers fit on the training rows only, a window
belongs to the part holding all of its targets, inputs may reach back into the
previous part), but nothing is held whole:

1. the CSV's columns are streamed in chunks into a float32 ``.npy`` in a
   temporary folder (:func:`rnnkit.data.lazy.csv_to_npy`);
2. the training rows' mean and std are summed chunk by chunk (float64);
3. train / validation / test are :class:`~rnnkit.data.lazy.WindowDataset` views
   of the memory-mapped file, scaled as they are read;
4. test RMSE and the persistence baseline are accumulated batch by batch.

The saved file is the same Forecaster as the in-memory path makes.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from rnnkit.data import StandardScaler, split_sizes
from rnnkit.data.lazy import WindowDataset, csv_to_npy, open_npy

__all__ = ["StreamedForecast", "stream_forecast", "column_stats"]

CHUNK = 1 << 20  # rows per pass over the memory-mapped file


def column_stats(series, stop: int) -> tuple:
    """Population mean and std of ``series[:stop]`` per column, one chunk at a time."""
    total = np.zeros(series.shape[1])
    squares = np.zeros(series.shape[1])
    for s in range(0, stop, CHUNK):
        block = np.asarray(series[s:min(s + CHUNK, stop)], dtype=np.float64)
        total += block.sum(0)
        squares += np.square(block).sum(0)
    mean = total / stop
    std = np.sqrt(np.maximum(squares / stop - mean ** 2, 0.0))
    return mean, np.where(std > 0, std, 1.0)  # a constant column stays unscaled


@dataclass
class StreamedForecast:
    folder: str                          # the temporary .npy lives here; close() removes it
    parts: Dict[str, WindowDataset]      # train / val / test windows (scaled)
    last_target: Dict[str, WindowDataset]  # windows of the target alone (persistence)
    meta: dict
    rows: int

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def stream_forecast(csv_path, target: str, features: List[str], window: int,
                    horizon: int = 1, val: float = 0.15, test: float = 0.15,
                    chunksize: int = 100_000) -> StreamedForecast:
    columns = list(dict.fromkeys(list(features) + [target]))  # features first, target once
    folder = tempfile.mkdtemp(prefix="rnnkit-stream-")
    try:
        csv_to_npy(csv_path, os.path.join(folder, "series.npy"), columns, chunksize)
        series = open_npy(os.path.join(folder, "series.npy"))
        T = series.shape[0]
        n_tr, n_va, n_te = split_sizes(T, val, test)
        if window + horizon > n_tr or n_te < horizon or (val > 0 and n_va < horizon):
            raise ValueError(f"window: window + horizon ({window} + {horizon}) must fit in the "
                             f"training part ({n_tr} of {T} rows) and the horizon in the "
                             f"validation/test parts ({n_va}/{n_te})")
        mean, std = column_stats(series, n_tr)
        feat = [columns.index(c) for c in features]
        tgt = [columns.index(target)]
        # a part's windows: targets in [a, b); inputs reach back `window` rows before a
        bounds = {"train": (0, n_tr), "val": (n_tr, n_tr + n_va), "test": (n_tr + n_va, T)}
        parts, last = {}, {}
        for name, (a, b) in bounds.items():
            lo = max(a - window, 0)
            if b - lo < window + horizon:
                continue
            view = series[lo:b]
            kw = dict(window=window, horizon=horizon, offset=mean, scale=std)
            parts[name] = WindowDataset(view, features=feat, targets=tgt, **kw)
            last[name] = WindowDataset(view, features=tgt, targets=tgt, **kw)
        sx = StandardScaler.from_dict({"type": "StandardScaler", "offset": mean[feat].tolist(),
                                       "scale": std[feat].tolist()})
        sy = StandardScaler.from_dict({"type": "StandardScaler", "offset": float(mean[tgt[0]]),
                                       "scale": float(std[tgt[0]])})
        meta = {"window": int(window), "horizon": int(horizon), "target": target,
                "features": list(features), "scaler_x": sx.to_dict(), "scaler_y": sy.to_dict()}
        return StreamedForecast(folder, parts, last, meta, T)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def streamed_rmse(model, data: StreamedForecast, part: str = "test",
                  batch_size: int = 4096) -> tuple:
    """(model RMSE, persistence RMSE) in original units, accumulated batch by batch."""
    scale = data.meta["scaler_y"]["scale"]
    err = base = n = 0.0
    windows, last = data.parts[part], data.last_target[part]
    for s in range(0, len(windows), batch_size):
        idx = np.arange(s, min(s + batch_size, len(windows)))
        x, y, _, _ = windows.take(idx)
        xl, _, _, _ = last.take(idx)
        pred = model.predict(x.numpy(), batch_size=batch_size)       # (B, K) scaled
        y = y.numpy()
        persist = np.repeat(xl.numpy()[:, -1, :1], y.shape[1], axis=1)  # last observed target
        err += float(np.square((pred - y) * scale).sum())
        base += float(np.square((persist - y) * scale).sum())
        n += y.size
    return float(np.sqrt(err / n)), float(np.sqrt(base / n))
