"""Series -> scaled, windowed, chronologically split data for forecasting.

The recipe (shared by ``rnnkit train``, ``compare`` and the examples):

1. cut the series in time order: train | val | test (70/15/15 by default);
2. choose the pre-processing (level, or change from the last value) and the window
   from the train part (:mod:`rnnkit.tools.seasonality`), and fit its statistics on
   the train part only (statistics of the whole series would leak the test
   period's level into training; :mod:`rnnkit.data.window_norm`);
3. cut windows over the whole series (``rnnkit.data.make_windows``) and give
   each window to the part that holds *all* of its targets; windows whose
   targets straddle two parts are dropped.  Inputs may reach back into the
   previous part -- that is information a forecaster really has at that time.

Baseline forecasts in original units: the training mean, persistence (the last
observed value, repeated), seasonal naive (the value one season earlier) and an
AR(p) model fitted by least squares on the training part (see baselines.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from rnnkit.data import make_windows, split_sizes
from rnnkit.data._checks import check_choice
from rnnkit.data.window_norm import MODES, WindowNorm
from rnnkit.tools.seasonality import (ADF_CRITICAL_5PCT, choose_preprocessing, choose_window,
                                      detect_season)

__all__ = ["SERIES_DATASETS", "ForecastData", "prepare_forecast", "load_series", "series_time",
           "mean_forecast", "persistence_forecast", "seasonal_naive_forecast", "fit_ar",
           "ar_forecast",
           "rmse", "mae"]

# dataset name -> (key of the series in Dataset.data, default window, note)
SERIES_DATASETS: Dict[str, tuple] = {
    "sunspots": ("sunspots", 20, "yearly"),
    "airline": ("passengers", 12, "monthly"),
    # first 20 s of the ECG, every 4th sample (90 Hz): enough beats, CPU-sized
    "ecg": ("ecg", 45, "90 Hz, first 20 s"),
}


_TIME_KEYS = {"sunspots": "year", "airline": "month"}     # the time axis of a bundled series


def series_time(name: str):
    """(labels (T,) as text, column name) of a bundled series' time axis, or (None, None)."""
    from rnnkit import datasets

    info = datasets.get_info(name)
    key = _TIME_KEYS.get(info.name)
    if key is None:
        return None, None
    return np.asarray([str(v) for v in datasets.load(info.name)[key]], dtype=object), key


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
    """Windows of one series, split and pre-processed.  X[part] (N, W, F) and y[part]
    (N, K) are in network units (float32, see :class:`rnnkit.data.WindowNorm`);
    ``start[part]`` (N,) is the index of each window's first target step in the
    series; ``target`` (T,) holds the original values; ``time`` (T,) the labels of
    the series' own time axis (dates or an index column; 0..T-1 when it has none)."""

    values: np.ndarray
    target: np.ndarray
    columns: List[str]
    target_name: str
    window: int
    horizon: int
    bounds: tuple                      # (n_train, n_val, n_test) steps
    norm: WindowNorm
    X: Dict[str, np.ndarray]
    y: Dict[str, np.ndarray]
    start: Dict[str, np.ndarray]
    season: Optional[int] = None       # dominant season of the training part, if any
    choice: Dict[str, str] = field(default_factory=dict)   # how window/pre-processing were chosen
    time: Optional[np.ndarray] = None  # (T,) labels of the time axis
    time_name: Optional[str] = None
    fractions: tuple = (0.15, 0.15)    # (val, test) shares of the steps

    def last(self, part: str) -> np.ndarray:
        """y_T, the last observed target value before each window's targets, (N,)."""
        return self.target[self.start[part] - 1]

    def unscale(self, out: np.ndarray, part: str) -> np.ndarray:
        """Network outputs (N, K) for the windows of ``part`` -> original units."""
        return self.norm.inverse(out, self.last(part))

    def truth(self, part: str) -> np.ndarray:
        """Targets of ``part`` in original units, (N, K)."""
        idx = self.start[part][:, None] + np.arange(self.horizon)[None, :]
        return self.target[idx]

    def meta(self) -> dict:
        """What is needed to window and pre-process new data the same way (JSON-able)."""
        return {"window": self.window, "horizon": self.horizon, "target": self.target_name,
                "features": list(self.columns), "preprocessing": self.norm.to_dict(),
                "season": self.season, "split": {"val": self.fractions[0],
                                                 "test": self.fractions[1]}}


def prepare_forecast(values, target, window: Optional[int] = None, horizon: int = 1,
                     columns=None, target_name: str = "y", val: float = 0.15,
                     test: float = 0.15, preprocess: str = "auto", time=None,
                     time_name: Optional[str] = None) -> ForecastData:
    """Split, pre-process and window ``values`` (T, F) to predict ``target`` (T,).

    ``window=None`` chooses it from the season of the training part and
    ``preprocess="auto"`` chooses ``"level"`` or ``"diff"`` with the Dickey-Fuller
    check of :mod:`rnnkit.tools.seasonality`; both use the training part only.
    ``"diff"`` needs the target among the input columns (it is read at the end of
    every window); ``"auto"`` falls back to ``"level"`` when it is not.
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    target = np.asarray(target, dtype=np.float64)
    T = len(values)
    columns = list(columns) if columns is not None else [target_name]
    for arg, v in (("window", window), ("horizon", horizon)):
        if v is None and arg == "window":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{arg}: expected a positive integer, got {v!r}")
    check_choice("preprocess", preprocess, ("auto",) + MODES)
    n_tr, n_va, n_te = split_sizes(T, val, test)
    if n_te < horizon or (val > 0 and n_va < horizon):
        raise ValueError(f"horizon: {horizon} steps do not fit in the validation/test parts "
                         f"({n_va}/{n_te} of {T} steps); use a longer series or a shorter horizon")
    choice = {}
    has_target = target_name in columns
    if preprocess == "auto":
        if has_target and n_tr >= 20:
            preprocess, stat = choose_preprocessing(target[:n_tr])
            choice["preprocess"] = (
                f"{preprocess}: augmented Dickey-Fuller statistic {stat:.2f} on the training "
                f"part is {'below' if preprocess == 'level' else 'above'} the 5% critical "
                f"value {ADF_CRITICAL_5PCT} ("
                + ("stationary around its mean" if preprocess == "level" else
                   "the level wanders: the model predicts the change from the last value")
                + ")")
        else:
            preprocess = "level"
            choice["preprocess"] = ("level: the target is not an input column, so changes "
                                    "from its last value cannot be read" if not has_target
                                    else "level: too short a training part to test")
    else:
        if preprocess == "diff" and not has_target:
            raise ValueError(f"preprocess: 'diff' predicts the change from the target's last "
                             f"value, so the target {target_name!r} must be an input column; "
                             f"got features {columns}")
        choice["preprocess"] = f"{preprocess}: as requested"
    season = detect_season(target[:n_tr], preprocess) if n_tr >= 12 else None
    if window is None:
        window = choose_window(season, n_tr, horizon)
        choice["window"] = (f"{window} steps: covers the season of {season} steps found by "
                            f"autocorrelation" if season else
                            f"{window} steps: no season found by autocorrelation")
    else:
        choice["window"] = f"{window} steps: as requested"
    if window + horizon > T:
        raise ValueError(f"window: window + horizon ({window} + {horizon}) must be <= the "
                         f"series length {T}, got window={window}")
    if window + horizon > n_tr:
        raise ValueError(f"window: window + horizon ({window} + {horizon}) must fit in the "
                         f"training part ({n_tr} of {T} steps), got window={window}")
    norm = WindowNorm(preprocess).fit(values[:n_tr], target[:n_tr])
    X_all, y_all = make_windows(values, window, horizon, target=target)   # (N, W, F), (N, K)
    first = np.arange(len(X_all)) + window                                # first target index
    last = first + horizon - 1
    parts = {"train": (0, n_tr), "val": (n_tr, n_tr + n_va), "test": (n_tr + n_va, T)}
    X, y, start = {}, {}, {}
    for name, (a, b) in parts.items():
        sel = (first >= a) & (last < b)
        X[name] = norm.inputs(X_all[sel]).astype(np.float32)
        y[name] = norm.targets(y_all[sel], target[first[sel] - 1]).astype(np.float32)
        start[name] = first[sel]
    if time is not None and len(time) != T:
        raise ValueError(f"time: expected one label per step ({T}), got {len(time)}")
    return ForecastData(values, target, columns, target_name, int(window), int(horizon),
                        (n_tr, n_va, n_te), norm, X, y, start, season, choice,
                        None if time is None else np.asarray(time), time_name, (val, test))


# --- baselines and metrics (original units) --------------------------------------------
def mean_forecast(train: np.ndarray, start: np.ndarray, horizon: int) -> np.ndarray:
    """ŷ_{s+k} = mean of the training part, for every window: (N, K)."""
    return np.full((len(start), horizon), float(np.mean(train)))


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
