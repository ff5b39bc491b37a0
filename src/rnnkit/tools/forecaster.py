"""A trained forecaster that carries its own preprocessing: model + window,
horizon, target, feature columns and scaler parameters, saved in one ``.rnnkit``
file (see :mod:`rnnkit.tools.modelfile`).

``rnnkit train`` makes one; ``rnnkit predict``/``evaluate``/``diagnose`` read a
CSV with the stored columns, scale it with the stored (train-only) statistics
and window it exactly as in training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

import numpy as np

from rnnkit.data import make_windows, scaler_from_dict
from rnnkit.tools.modelfile import load_model_file, save_model
from rnnkit.tools.regressor import RecurrentRegressor
from rnnkit.tools.training import predict

__all__ = ["Forecaster"]


@dataclass
class Forecaster:
    model: RecurrentRegressor
    meta: Dict[str, Any]   # window, horizon, target, features, scaler_x, scaler_y, ...

    @property
    def window(self) -> int:
        return int(self.meta["window"])

    @property
    def horizon(self) -> int:
        return int(self.meta["horizon"])

    def save(self, path) -> None:
        save_model(path, self.model, "forecaster", self.model.config, self.meta)

    @classmethod
    def load(cls, path) -> "Forecaster":
        kind, config, meta, state = load_model_file(path)
        if kind != "forecaster":
            raise ValueError(f"model: {str(path)!r} is a {kind!r} model, expected a forecaster "
                             f"(made by `rnnkit train --data/--dataset`)")
        model = RecurrentRegressor.from_config(config)
        model.load_state_dict(state)
        model.eval()
        return cls(model, meta)

    # --- using it on new data ----------------------------------------------------------
    def _scaled(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.meta["features"]):
            raise ValueError(f"values: expected (T, {len(self.meta['features'])}) for features "
                             f"{self.meta['features']}, got shape {values.shape}")
        if len(values) < self.window:
            raise ValueError(f"window: the model reads windows of {self.window} steps but the "
                             f"data has only {len(values)} rows")
        return scaler_from_dict(self.meta["scaler_x"]).transform(values)

    def forecast(self, values: np.ndarray) -> np.ndarray:
        """One forecast per window of ``values`` (T, F), the last window included:
        row i predicts steps i + W .. i + W + K - 1, in original units; (T - W + 1, K)."""
        z = self._scaled(values)
        W = self.window
        idx = np.arange(len(z) - W + 1)[:, None] + np.arange(W)[None, :]   # (N, W)
        pred = predict(self.model, z[idx].astype(np.float32))              # (N, K)
        return scaler_from_dict(self.meta["scaler_y"]).inverse_transform(pred)

    def windows_with_truth(self, values: np.ndarray, target: np.ndarray):
        """(X scaled (N, W, F) float32, truth (N, K) original units, start (N,))."""
        z = self._scaled(values)
        X, _ = make_windows(z, self.window, self.horizon, target=np.asarray(target, float))
        start = np.arange(len(X)) + self.window
        truth = np.asarray(target, float)[start[:, None] + np.arange(self.horizon)[None, :]]
        return X.astype(np.float32), truth, start
