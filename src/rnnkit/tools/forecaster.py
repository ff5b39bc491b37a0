"""A trained forecaster that carries its own preprocessing: a Sequential model
(:func:`rnnkit.tools.stacks.build_regressor`) saved with ``model.save`` and, in
the same file's JSON metadata, the window, horizon, target, feature columns and
scaler statistics it was trained with.

``rnnkit train`` makes one; ``rnnkit predict``/``evaluate``/``diagnose`` load it
with :func:`rnnkit.models.load_model`, read a CSV with the stored columns, scale
it with the stored (train-only) statistics and window it exactly as in training.
The file is an ordinary rnnkit model file: ``load_model(path)`` gives the model,
``load_model(path).metadata`` the preprocessing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict

import numpy as np

from rnnkit.data import make_windows, scaler_from_dict

__all__ = ["Forecaster", "KIND"]

KIND = "forecaster"   # metadata["kind"] of files made by `rnnkit train --data/--dataset`
_NEEDED = ("window", "horizon", "target", "features", "scaler_x", "scaler_y")


def _check_meta(meta: dict, model, path) -> None:
    """The metadata of a forecaster file is untrusted input too: InvalidModelFile
    unless it has the types and sizes that forecast() relies on."""
    from rnnkit.errors import InvalidModelFile

    def positive(k):
        v = meta[k]
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < 2 ** 31:
            raise InvalidModelFile(path, f"its metadata {k!r} must be a positive int, got {v!r}")

    positive("window")
    positive("horizon")
    feats = meta["features"]
    if not (isinstance(feats, list) and feats and all(isinstance(f, str) for f in feats)) or \
            not isinstance(meta["target"], str):
        raise InvalidModelFile(path, "its metadata needs 'features' (a list of column names) "
                                     "and 'target' (a column name)")
    shape = getattr(model, "_build_input_shape", None)
    if shape is not None and tuple(shape) != (meta["window"], len(feats)):
        raise InvalidModelFile(path, f"its model reads windows of shape {tuple(shape)} but its "
                                     f"metadata says ({meta['window']}, {len(feats)})")
    for key, n in (("scaler_x", len(feats)), ("scaler_y", None)):
        try:
            scaler = scaler_from_dict(meta[key])
        except (ValueError, TypeError, KeyError) as e:
            raise InvalidModelFile(path, f"its metadata {key!r} is not a scaler: {e}") from None
        if n is not None and scaler.offset_.reshape(-1).size != n:
            raise InvalidModelFile(path, f"its metadata {key!r} has {scaler.offset_.size} "
                                         f"features; the model reads {n}")


@dataclass
class Forecaster:
    model: Any               # rnnkit.models.Sequential: (N, W, F) scaled -> (N, K) scaled
    meta: Dict[str, Any]     # window, horizon, target, features, scaler_x, scaler_y, ...

    @property
    def window(self) -> int:
        return int(self.meta["window"])

    @property
    def horizon(self) -> int:
        return int(self.meta["horizon"])

    def save(self, path) -> None:
        self.model.save(path, metadata={**self.meta, "kind": KIND})

    @classmethod
    def load(cls, path) -> "Forecaster":
        """Load with :func:`rnnkit.models.load_model`; ValueError for any other model file."""
        from rnnkit.models import load_model

        model = load_model(path, compile=False)
        meta = model.metadata or {}
        if meta.get("kind") != KIND or any(k not in meta for k in _NEEDED):
            what = f"a {meta['kind']!r} model" if meta.get("kind") else \
                "a Sequential model without a forecaster's window and scalers"
            raise ValueError(f"model: {os.fspath(path)!r} is {what}; expected a forecaster "
                             f"(made by `rnnkit train --data/--dataset`)")
        _check_meta(meta, model, path)
        model.eval()
        return cls(model, dict(meta))

    # --- using it on new data ----------------------------------------------------------
    def predict_scaled(self, X: np.ndarray) -> np.ndarray:
        """Model outputs (N, K) for scaled windows X (N, W, F), float64."""
        if len(X) == 0:
            return np.zeros((0, self.horizon))
        return self.model.predict(np.asarray(X, dtype=np.float32), batch_size=256
                                  ).astype(np.float64)

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
        pred = self.predict_scaled(z[idx])                                 # (N, K)
        return scaler_from_dict(self.meta["scaler_y"]).inverse_transform(pred)

    def windows_with_truth(self, values: np.ndarray, target: np.ndarray):
        """(X scaled (N, W, F) float32, truth (N, K) original units, start (N,))."""
        z = self._scaled(values)
        X, _ = make_windows(z, self.window, self.horizon, target=np.asarray(target, float))
        start = np.arange(len(X)) + self.window
        truth = np.asarray(target, float)[start[:, None] + np.arange(self.horizon)[None, :]]
        return X.astype(np.float32), truth, start
