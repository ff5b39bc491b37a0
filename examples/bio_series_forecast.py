"""Forecast an electrocardiogram (MIT-BIH record 208) one step ahead with a GRU;
compare with persistence.

    python examples/bio_series_forecast.py [--smoke]

The first 20 s of lead MLII at 90 Hz (every 4th sample), windows of 0.5 s,
predicting 5 steps (~55 ms) ahead, where persistence is no longer trivial to beat.
About 6 s on a 2-core CPU; ``--smoke`` (or RNNKIT_SMOKE=1) runs one epoch.
"""
import argparse
import os

from rnnkit import set_random_seed
from rnnkit.callbacks import EarlyStopping
from rnnkit.layers import GRU, Dense
from rnnkit.models import Sequential
from rnnkit.optimizers import Adam
from rnnkit.tools.forecast import load_series, persistence_forecast, prepare_forecast, rmse
from rnnkit.tools.threads import torch_threads


def main(smoke: bool = False) -> dict:
    with torch_threads(1):   # small models: see rnnkit.tools.threads
        set_random_seed(0)
        values, target, name, window = load_series("ecg")
        data = prepare_forecast(values, target, window, horizon=5, target_name=name,
                                preprocess="level")                      # y (N, 5)
        epochs = 1 if smoke else 40
        model = Sequential([GRU(8 if smoke else 32, input_shape=(window, 1)), Dense(5)])
        model.compile(optimizer=Adam(3e-3, global_clipnorm=1.0), loss="mse")
        model.fit(data.X["train"], data.y["train"], validation_data=(data.X["val"], data.y["val"]),
                  epochs=epochs, batch_size=32, verbose=0,
                  callbacks=[EarlyStopping(patience=epochs, restore_best_weights=True)])
        truth = data.truth("test")
        res = {"gru": rmse(data.unscale(model.predict(data.X["test"]), "test"), truth),
               "persistence": rmse(persistence_forecast(target, data.start["test"], 5), truth)}
        print(f"ECG (mV), {len(truth)} test windows, 1..5-step-ahead RMSE:")
        for k, v in res.items():
            print(f"  {k:<12} {v:.4f}")
        return res


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few steps only (tests)")
    main(smoke=p.parse_args().smoke or os.environ.get("RNNKIT_SMOKE") == "1")
