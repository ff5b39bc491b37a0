"""Forecast monthly airline passengers with a GRU; compare with the seasonal-naive baseline.

    python examples/airline_forecast.py [--smoke]

The series has a trend and a multiplicative yearly season, so a network fed raw
levels would have to extrapolate beyond anything it saw in training.  We model
the monthly log-growth d_t = log y_t - log y_{t-1} instead (windows of 24 months)
and rebuild the one-month-ahead forecast as y_t * exp(d̂_{t+1}).  Baseline:
seasonal naive, ŷ_{t+1} = y_{t+1-12}.
About 5 s on a 2-core CPU; ``--smoke`` (or RNNKIT_SMOKE=1) runs two epochs.
"""
import argparse
import os

import numpy as np

from rnnkit import datasets, set_random_seed
from rnnkit.callbacks import EarlyStopping
from rnnkit.layers import GRU, Dense
from rnnkit.models import Sequential
from rnnkit.optimizers import Adam
from rnnkit.tools.forecast import prepare_forecast, rmse, seasonal_naive_forecast
from rnnkit.tools.threads import torch_threads


def main(smoke: bool = False) -> dict:
    with torch_threads(1):   # small models: see rnnkit.tools.threads
        set_random_seed(0)
        y = datasets.load("airline")["passengers"]   # (144,) thousands
        d = np.diff(np.log(y))                       # (143,) d[i] = log y[i+1] - log y[i]
        data = prepare_forecast(d, d, window=24, target_name="log-growth", val=0.15, test=0.2,
                                preprocess="level")
        epochs = 2 if smoke else 200
        model = Sequential([GRU(8 if smoke else 32, input_shape=(24, 1)), Dense(1)])
        model.compile(optimizer=Adam(3e-3, global_clipnorm=1.0), loss="mse")
        model.fit(data.X["train"], data.y["train"], validation_data=(data.X["val"], data.y["val"]),
                  epochs=epochs, batch_size=32, verbose=0,
                  callbacks=[EarlyStopping(patience=epochs, restore_best_weights=True)])
        s = data.start["test"]                       # index into d; month s + 1 of y
        growth = data.unscale(model.predict(data.X["test"]), "test")[:, 0]
        pred = y[s] * np.exp(growth)                 # forecast of y[s + 1]
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
