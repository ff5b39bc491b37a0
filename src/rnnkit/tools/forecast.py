"""Series -> scaled, windowed, chronologically split data for forecasting.

The recipe (shared by ``rnnkit train``, ``compare`` and the examples):

1. cut the series in time order: train | val | test (70/15/15 by default);
2. fit the scalers on the train part only (statistics of the whole series would
   leak the test period's level into training);
3. cut windows over the whole scaled series (``rnnkit.data.make_windows``) and give
   each window to the part that holds *all* of its targets; windows whose
   targets straddle two parts are dropped.  Inputs may reach back into the
   previous part -- that is information a forecaster really has at that time.

Baselines in original units: persistence (the last observed value, repeated),
seasonal naive (the value one season earlier) and an AR(p) model fitted by least
squares on the training part.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from rnnkit.data import StandardScaler, make_windows, split_sizes
from rnnkit.util import checks

__all__ = ["SERIES_DATASETS", "ForecastData", "prepare_forecast", "load_series",
           "persistence_forecast", "seasonal_naive_forecast", "fit_ar", "ar_forecast",
           "rmse", "mae"]

# dataset name -> (key of the series in Dataset.data, default window, note)
SERIES_DATASETS: Dict[str, tuple] = {
    "sunspots": ("sunspots", 20, "yearly"),
    "airline": ("passengers", 12, "monthly"),
    # first 20 s of the ECG, every 4th sample (90 Hz): enough beats, CPU-sized
    "ecg": ("ecg", 45, "90 Hz, first 20 s"),
}


def load_series(name: str):
    """(values (T, 1), target (T,), target_name, default_window) of a bundled series."""
    from rnnkit import datasets

    info = datasets.get_info(name)          # ValueError naming the closest dataset if unknown
    if info.name not in SERIES_DATASETS:
        raise ValueError(f"dataset: {info.name!r} is a {info.task} dataset; expected a time "
                         f"series, one of {sorted(SERIES_DATASETS)}")
    key, window, _ = SERIES_DATASETS[info.name]
    series = np.asarray(datasets.load(info.name)[key], dtype=np.float64)
    if info.name == "ecg":
        series = series[:7200:4]
    return series[:, None], series, key, window


@dataclass
class ForecastData:
    """Windows of one series, split and scaled.  X_* (N, W, F) and y_* (N, K) are in
    scaled units (float32); ``start_*`` (N,) is the index of each window's first
    target step in the series; ``target`` (T,) holds the original values."""

    values: np.ndarray
    target: np.ndarray
    columns: List[str]
    target_name: str
    window: int
    horizon: int
    bounds: tuple                      # (n_train, n_val, n_test) steps
    scaler_x: StandardScaler
    scaler_y: StandardScaler
    X: Dict[str, np.ndarray]
    y: Dict[str, np.ndarray]
    start: Dict[str, np.ndarray]

    def unscale(self, y_scaled: np.ndarray) -> np.ndarray:
        return self.scaler_y.inverse_transform(y_scaled)

    def truth(self, part: str) -> np.ndarray:
        """Targets of ``part`` in original units, (N, K)."""
        idx = self.start[part][:, None] + np.arange(self.horizon)[None, :]
        return self.target[idx]

    def meta(self) -> dict:
        """What is needed to window and scale new data the same way (JSON-able)."""
        return {"window": self.window, "horizon": self.horizon, "target": self.target_name,
                "features": list(self.columns), "scaler_x": self.scaler_x.to_dict(),
                "scaler_y": self.scaler_y.to_dict()}


def prepare_forecast(values, target, window: int, horizon: int = 1, columns=None,
                     target_name: str = "y", val: float = 0.15, test: float = 0.15
                     ) -> ForecastData:
    """Split, scale and window ``values`` (T, F) to predict ``target`` (T,)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    target = np.asarray(target, dtype=np.float64)
    T = len(values)
    for arg, v in (("window", window), ("horizon", horizon)):
        checks.positive_int(v, arg, style="plain")
    if window + horizon > T:
        raise ValueError(f"window: window + horizon ({window} + {horizon}) must be <= the "
                         f"series length {T}, got window={window}")
    n_tr, n_va, n_te = split_sizes(T, val, test)
    if window + horizon > n_tr:
        raise ValueError(f"window: window + horizon ({window} + {horizon}) must fit in the "
                         f"training part ({n_tr} of {T} steps), got window={window}")
    if n_te < horizon or (val > 0 and n_va < horizon):
        raise ValueError(f"horizon: {horizon} steps do not fit in the validation/test parts "
                         f"({n_va}/{n_te} of {T} steps); use a longer series or a shorter horizon")
    sx, sy = StandardScaler().fit(values[:n_tr]), StandardScaler().fit(target[:n_tr])
    X_all, y_all = make_windows(sx.transform(values), window, horizon,
                                target=sy.transform(target))          # (N, W, F), (N, K)
    first = np.arange(len(X_all)) + window                                # first target index
    last = first + horizon - 1
    parts = {"train": (0, n_tr), "val": (n_tr, n_tr + n_va), "test": (n_tr + n_va, T)}
    X, y, start = {}, {}, {}
    for name, (a, b) in parts.items():
        sel = (first >= a) & (last < b)
        X[name], y[name] = X_all[sel].astype(np.float32), y_all[sel].astype(np.float32)
        start[name] = first[sel]
    columns = list(columns) if columns is not None else [target_name]
    return ForecastData(values, target, columns, target_name, int(window), int(horizon),
                        (n_tr, n_va, n_te), sx, sy, X, y, start)


# --- baselines and metrics (original units) --------------------------------------------
def persistence_forecast(target: np.ndarray, start: np.ndarray, horizon: int) -> np.ndarray:
    """ŷ_{s+k} = y_{s-1} for k = 0..K-1: (N, K)."""
    return np.repeat(np.asarray(target)[start - 1][:, None], horizon, axis=1)


def seasonal_naive_forecast(target: np.ndarray, start: np.ndarray, horizon: int,
                            season: int) -> np.ndarray:
    """ŷ_{s+k} = y_{s+k-m·⌈(k+1)/m⌉}: the last observed value of the same season, (N, K)."""
    k = np.arange(horizon)[None, :]
    back = season * ((k // season) + 1)
    return np.asarray(target)[start[:, None] + k - back]


def fit_ar(train: np.ndarray, p: int) -> np.ndarray:
    """AR(p) coefficients [c, a_1..a_p] by least squares: y_t = c + Σ a_i y_{t-i}."""
    train = np.asarray(train, dtype=np.float64)
    if len(train) <= p:
        raise ValueError(f"p: AR order {p} needs more than {p} training values, got {len(train)}")
    lags = np.stack([train[p - i:len(train) - i] for i in range(1, p + 1)], axis=1)  # (M, p)
    A = np.hstack([np.ones((len(lags), 1)), lags])
    coef, *_ = np.linalg.lstsq(A, train[p:], rcond=None)
    return coef


def ar_forecast(coef: np.ndarray, target: np.ndarray, start: np.ndarray, horizon: int) -> np.ndarray:
    """Iterated AR forecasts from the p values before each start: (N, K)."""
    p = len(coef) - 1
    hist = np.stack([np.asarray(target)[s - p:s] for s in start])      # (N, p), oldest first
    out = np.empty((len(start), horizon))
    for k in range(horizon):
        nxt = coef[0] + hist[:, ::-1] @ coef[1:]                         # a_1 · y_{t-1} + ...
        out[:, k] = nxt
        hist = np.hstack([hist[:, 1:], nxt[:, None]])
    return out


def rmse(pred, truth) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(truth)) ** 2)))


def mae(pred, truth) -> float:
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(truth))))
