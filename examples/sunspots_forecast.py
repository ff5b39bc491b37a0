"""Forecast next year's sunspot number with an LSTM; compare with persistence and AR.

    python examples/sunspots_forecast.py [--smoke]

Chronological 70/15/15 split, scaler fitted on the training years, windows of 20
years (about two solar cycles); a Keras-style ``Sequential([LSTM(32), Dense(1)])``
trained with ``fit``, keeping the best validation epoch's weights (EarlyStopping).
Baselines: persistence (next year = this year) and AR(9) fitted by least squares
on the training years.
About 5 s on a 2-core CPU; ``--smoke`` (or RNNKIT_SMOKE=1) runs a few epochs.
"""
import argparse
import os

from rnnkit import set_random_seed
from rnnkit.callbacks import EarlyStopping
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential
from rnnkit.optimizers import Adam
from rnnkit.tools.forecast import (ar_forecast, fit_ar, load_series, persistence_forecast,
                                   prepare_forecast, rmse)
from rnnkit.tools.threads import torch_threads


def main(smoke: bool = False) -> dict:
    with torch_threads(1):   # small models: see rnnkit.tools.threads
        set_random_seed(0)
        values, target, name, window = load_series("sunspots")
        data = prepare_forecast(values, target, window, target_name=name,
                                preprocess="level")              # X (N, 20, 1), y (N, 1)
        epochs = 2 if smoke else 150
        model = Sequential([LSTM(8 if smoke else 32, input_shape=(window, 1)), Dense(1)])
        model.compile(optimizer=Adam(3e-3, global_clipnorm=1.0), loss="mse")
        model.fit(data.X["train"], data.y["train"], epochs=epochs, batch_size=32, verbose=0,
                  validation_data=(data.X["val"], data.y["val"]),
                  callbacks=[EarlyStopping(patience=epochs, restore_best_weights=True)])
        truth, start = data.truth("test"), data.start["test"]
        res = {"lstm": rmse(data.unscale(model.predict(data.X["test"]), "test"), truth),
               "persistence": rmse(persistence_forecast(target, start, 1), truth),
               "AR(9)": rmse(ar_forecast(fit_ar(target[:data.bounds[0]], 9), target, start, 1),
                             truth)}
        print(f"sunspots, {len(truth)} test years (1963-2008), one-year-ahead RMSE:")
        for k, v in res.items():
            print(f"  {k:<12} {v:7.2f}")
        print(f"LSTM error is {100 * (1 - res['lstm'] / res['persistence']):.0f}% below "
              f"persistence's")
        return res


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few steps only (tests)")
    main(smoke=p.parse_args().smoke or os.environ.get("RNNKIT_SMOKE") == "1")
