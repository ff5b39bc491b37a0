"""Forecast monthly airline passengers with a GRU; compare with the seasonal-naive baseline.

    python examples/airline_forecast.py [--smoke]

The series has a trend and a multiplicative yearly season, so a network fed raw
levels would have to extrapolate beyond anything it saw in training.  We model
the monthly log-growth d_t = log y_t - log y_{t-1} instead (windows of 24 months)
and rebuild the one-month-ahead forecast as y_t * exp(d̂_{t+1}).  Baseline:
seasonal naive, ŷ_{t+1} = y_{t+1-12}.
About 15 s on a 2-core CPU; ``--smoke`` (or RNNKIT_SMOKE=1) runs two epochs.
"""
import argparse
import os

import numpy as np
import torch

from rnnkit import datasets
from rnnkit.tools.forecast import prepare_forecast, rmse, seasonal_naive_forecast
from rnnkit.tools.regressor import RecurrentRegressor
from rnnkit.tools.training import fit, predict


def main(smoke: bool = False) -> dict:
    torch.manual_seed(0)
    y = datasets.load("airline")["passengers"]                  # (144,) thousands
    d = np.diff(np.log(y))                                      # (143,) d[i] = log y[i+1] - log y[i]
    data = prepare_forecast(d, d, window=24, target_name="log-growth", val=0.15, test=0.2)
    model = RecurrentRegressor("gru", 1, units=8 if smoke else 32)
    fit(model, data.X["train"], data.y["train"], data.X["val"], data.y["val"],
        epochs=2 if smoke else 200, seed=0, lr=3e-3)
    s = data.start["test"]                                      # index into d; month s + 1 of y
    growth = data.unscale(predict(model, data.X["test"]))[:, 0]
    pred = y[s] * np.exp(growth)                                # forecast of y[s + 1]
    truth = y[s + 1]
    res = {"gru": rmse(pred, truth),
           "seasonal naive": rmse(seasonal_naive_forecast(y, s + 1, 1, 12)[:, 0], truth)}
    print(f"airline passengers, last {len(s)} months, one-month-ahead RMSE (thousands):")
    for k, v in res.items():
        print(f"  {k:<15} {v:7.2f}")
    return res


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few steps only (tests)")
    main(smoke=p.parse_args().smoke or os.environ.get("RNNKIT_SMOKE") == "1")
