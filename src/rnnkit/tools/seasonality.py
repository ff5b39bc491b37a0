"""What a forecaster's set-up reads from the training part of the series itself:
whether the level wanders (a trend or a random walk), the dominant season, and
from it the window.

* **Level or change.**  The augmented Dickey–Fuller regression (Dickey & Fuller
  1979; Said & Dickey 1984)::

      Δy_t = α + γ·y_{t−1} + Σ_{i=1..p} β_i·Δy_{t−i} + ε_t

  with p chosen by the AIC up to ⌊12·(n/100)^{1/4}⌋ lags (Schwert 1989).  When the
  t-statistic of γ is above −2.86 -- the 5% asymptotic critical value with a
  constant and no trend (MacKinnon 2010, table 1) -- a unit root is not
  rejected: the level wanders,
  and the model is fed changes from the last observed value (``"diff"`` in
  :mod:`rnnkit.data.window_norm`).  Otherwise the series is treated as
  stationary around its mean (``"level"``).  A deterministic trend also fails the
  test (there is no trend term in the regression), which is what we want: a
  trend is a level the training part never saw.

* **Season.**  The autocorrelation of the training part (its one-step changes in
  ``"diff"`` mode, so that a trend does not dominate it): the lag ≥ 2 of the
  highest local maximum above the white-noise band z/√n, with z the two-sided 95%
  quantile Bonferroni-corrected for the number of lags looked at (z ≈ 3.5 for
  100 lags).  None if no lag qualifies.

* **Window.**  One season (a multiple of it when the season is under ``MIN_WINDOW``
  steps), so that the value one season back is inside every window; 20 steps
  without a season; always within [MIN_WINDOW, a quarter of the training part].
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Optional

import numpy as np

__all__ = ["ADF_CRITICAL_5PCT", "adf_statistic", "choose_preprocessing", "detect_season",
           "choose_window", "MIN_WINDOW", "MAX_WINDOW", "DEFAULT_WINDOW"]

ADF_CRITICAL_5PCT = -2.86      # MacKinnon (2010), constant, no trend, n -> inf
MIN_WINDOW, MAX_WINDOW, DEFAULT_WINDOW = 8, 200, 20


def _adf_design(y: np.ndarray, p: int, skip: int):
    """Rows from t = skip + 1 on: columns [1, y_{t-1}, Δy_{t-1} .. Δy_{t-p}] and Δy_t."""
    dy = np.diff(y)                                                 # (n-1,)
    cols = [np.ones(len(dy) - skip), y[skip:-1]]
    cols += [dy[skip - i:len(dy) - i] for i in range(1, p + 1)]
    return np.stack(cols, axis=1), dy[skip:]                        # (rows, 2 + p), (rows,)


def adf_statistic(y, lags: Optional[int] = None) -> float:
    """t-statistic of γ in the ADF regression above (constant, no trend).

    ``lags=None`` picks p in 0..⌊12·(n/100)^{1/4}⌋ by the AIC on a common sample, then
    refits with all rows (the ``autolag="AIC"`` rule of statsmodels' adfuller).
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n = len(y)
    pmax = max(0, min(int(12 * (n / 100) ** 0.25), n // 4))
    if n - 1 - pmax < pmax + 8:
        raise ValueError(f"y: {n} values are too few for a Dickey-Fuller test")
    if lags is None:
        aic = []
        for p in range(pmax + 1):
            A, b = _adf_design(y, p, pmax)
            resid = b - A @ np.linalg.lstsq(A, b, rcond=None)[0]
            aic.append(len(b) * math.log(max(float(resid @ resid) / len(b), 1e-300))
                       + 2 * A.shape[1])
        lags = int(np.argmin(aic))
    A, b = _adf_design(y, int(lags), int(lags))
    coef, *_ = np.linalg.lstsq(A, b, rcond=None)
    resid = b - A @ coef
    sigma2 = float(resid @ resid) / (len(b) - A.shape[1])
    cov = sigma2 * np.linalg.pinv(A.T @ A)
    return float(coef[1] / math.sqrt(max(cov[1, 1], 1e-300)))


def choose_preprocessing(train_target) -> tuple:
    """("level" | "diff", the ADF statistic) for the training part of the target."""
    y = np.asarray(train_target, dtype=np.float64)
    if np.ptp(y) == 0:
        return "level", float("-inf")                              # constant: nothing wanders
    stat = adf_statistic(y)
    return ("level" if stat < ADF_CRITICAL_5PCT else "diff"), stat


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    x = x - x.mean()
    denom = float(x @ x)
    if denom == 0:
        return np.zeros(max_lag + 1)
    return np.array([float(x[:len(x) - k] @ x[k:]) / denom for k in range(max_lag + 1)])


def detect_season(train_target, mode: str = "level", max_lag: Optional[int] = None
                  ) -> Optional[int]:
    """The dominant season (in steps) of the training part, or None (see module doc)."""
    y = np.asarray(train_target, dtype=np.float64)
    x = np.diff(y) if mode == "diff" else y
    n = len(x)
    max_lag = min(n // 3, 400) if max_lag is None else min(int(max_lag), n - 1)
    if max_lag < 3:
        return None
    r = _acf(x, max_lag)                                            # (max_lag + 1,)
    # a 95% white-noise band, Bonferroni-corrected for the max_lag lags looked at, so that
    # noise alone rarely yields a "season"
    band = NormalDist().inv_cdf(1 - 0.025 / max_lag) / math.sqrt(n)
    peaks = [k for k in range(2, max_lag) if r[k] > band and r[k] >= r[k - 1]
             and r[k] > r[k + 1]]
    if not peaks:
        return None
    return int(max(peaks, key=lambda k: r[k]))


def choose_window(season: Optional[int], n_train: int, horizon: int = 1) -> int:
    """Window for a season (see module doc); fits the training part with the horizon."""
    upper = max(1, min(MAX_WINDOW, n_train // 4, n_train - horizon))
    if season is None:
        w = DEFAULT_WINDOW
    else:
        w = season * math.ceil(MIN_WINDOW / season)                 # a whole number of seasons
    return int(max(min(w, upper), min(MIN_WINDOW, upper)))
