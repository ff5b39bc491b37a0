"""The simple forecasters every recurrent model is measured against, on the same
validation and test windows, in original units:

* ``mean`` -- the training part's mean (what a model that learnt nothing predicts);
* ``persistence`` -- the last observed value, ŷ_{T+k} = y_T;
* ``seasonal naive`` -- the value one season earlier, with the season found on the
  training part (:func:`rnnkit.tools.seasonality.detect_season`); absent without one;
* ``AR(p)`` -- least squares on the training part, iterated over the horizon, with
  the order p in 1..P chosen by the validation RMSE (P = max(12, season), at most
  60 and a fifth of the training part).  Only validation chooses p: the test
  part is scored once, after.

Exponential smoothing is left out: it needs statsmodels, which rnnkit does not
depend on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict

import numpy as np

from rnnkit.tools.forecast import (ForecastData, ar_forecast, fit_ar, mean_forecast,
                                   persistence_forecast, rmse, seasonal_naive_forecast)

__all__ = ["BaselineForecast", "baseline_forecasts", "max_ar_order"]


@dataclass
class BaselineForecast:
    name: str
    val: np.ndarray      # (N_val, K) original units
    test: np.ndarray     # (N_test, K)
    note: str = ""
    params: dict = field(default_factory=dict)   # what it needs on new data (JSON-able)


def max_ar_order(season, n_train: int) -> int:
    return int(max(1, min(max(12, season or 0), 60, n_train // 5)))


def baseline_forecasts(data: ForecastData) -> Dict[str, BaselineForecast]:
    """name -> forecasts of the validation and test windows (see module doc)."""
    y, K = data.target, data.horizon
    n_tr = data.bounds[0]
    sv, st = data.start["val"], data.start["test"]
    out = {
        "mean": BaselineForecast("mean", mean_forecast(y[:n_tr], sv, K),
                                 mean_forecast(y[:n_tr], st, K), "the training mean"),
        "persistence": BaselineForecast("persistence", persistence_forecast(y, sv, K),
                                        persistence_forecast(y, st, K),
                                        "the last observed value"),
    }
    m = data.season
    if m is not None and m >= 2 and m <= n_tr:
        out["seasonal naive"] = BaselineForecast(
            "seasonal naive", seasonal_naive_forecast(y, sv, K, m),
            seasonal_naive_forecast(y, st, K, m), f"the value {m} steps earlier")
    best = None
    truth_val = data.truth("val")
    for p in range(1, max_ar_order(m, n_tr) + 1):
        try:
            coef = fit_ar(y[:n_tr], p)
        except (ValueError, np.linalg.LinAlgError):
            break
        pred = ar_forecast(coef, y, sv, K)
        score = rmse(pred, truth_val) if len(sv) else 0.0
        if np.isfinite(score) and (best is None or score < best[0]):
            best = (score, p, coef, pred)
    if best is not None:
        _, p, coef, pred = best
        out[f"AR({p})"] = BaselineForecast(f"AR({p})", pred, ar_forecast(coef, y, st, K),
                                           f"order {p} chosen on validation",
                                           {"coef": [float(c) for c in coef]})
    return out
