"""Forecast next year's sunspot number with an LSTM; compare with persistence and AR.

    python examples/sunspots_forecast.py [--smoke]

Chronological 70/15/15 split, scaler fitted on the training years, windows of 20
years (about two solar cycles), best-validation weights.  Baselines: persistence
(next year = this year) and AR(9) fitted by least squares on the training years.
About 15 s on a 2-core CPU; ``--smoke`` (or RNNKIT_SMOKE=1) runs a few epochs.
"""
import argparse
import os

import torch

from rnnkit.tools.forecast import (ar_forecast, fit_ar, load_series, persistence_forecast,
                                   prepare_forecast, rmse)
from rnnkit.tools.regressor import RecurrentRegressor
from rnnkit.tools.training import fit, predict


def main(smoke: bool = False) -> dict:
    torch.manual_seed(0)
    values, target, name, window = load_series("sunspots")
    data = prepare_forecast(values, target, window, target_name=name)
    model = RecurrentRegressor("lstm", 1, units=8 if smoke else 32)
    fit(model, data.X["train"], data.y["train"], data.X["val"], data.y["val"],
        epochs=2 if smoke else 150, seed=0)
    truth, start = data.truth("test"), data.start["test"]
    res = {"lstm": rmse(data.unscale(predict(model, data.X["test"])), truth),
           "persistence": rmse(persistence_forecast(target, start, 1), truth),
           "AR(9)": rmse(ar_forecast(fit_ar(target[:data.bounds[0]], 9), target, start, 1), truth)}
    print(f"sunspots, {len(truth)} test years (1963-2008), one-year-ahead RMSE:")
    for k, v in res.items():
        print(f"  {k:<12} {v:7.2f}")
    print(f"LSTM error is {100 * (1 - res['lstm'] / res['persistence']):.0f}% below persistence's")
    return res


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few steps only (tests)")
    main(smoke=p.parse_args().smoke or os.environ.get("RNNKIT_SMOKE") == "1")
