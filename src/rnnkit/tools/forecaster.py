"""A trained forecaster that carries its own pre-processing: a Sequential model
(:func:`rnnkit.tools.stacks.build_regressor`) saved with ``model.save`` and, in
the same file's JSON metadata, everything needed to use it on new data: the
window, horizon, target and feature columns, the time column, the NaN policy
and CSV separator, the pre-processing (:class:`rnnkit.data.WindowNorm`: level
scaling or change from the last value), the split shares, the season, and the
baselines' parameters (training mean, AR coefficients).

With ``rnnkit train --seeds K`` the file also holds the weights of the other
K − 1 seeds (``metadata["ensemble"]``, float32 little-endian bytes in base64,
no pickle); their spread gives ``predict --future`` its interval.

``rnnkit train`` makes one; ``rnnkit predict``/``evaluate``/``diagnose`` load it.
The file is an ordinary rnnkit model file: ``load_model(path)`` gives the model,
``load_model(path).metadata`` the pre-processing.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any, Dict, List

import numpy as np

from rnnkit.data import WindowNorm, make_windows, scaler_from_dict, window_norm_from_dict

__all__ = ["Forecaster", "KIND", "encode_weights", "decode_weights"]

KIND = "forecaster"   # metadata["kind"] of files made by `rnnkit train --data/--dataset`
_NEEDED = ("window", "horizon", "target", "features")


def encode_weights(weights: List[np.ndarray]) -> List[dict]:
    """Weights -> JSON-able [{"shape": [...], "f32": base64}] (float32, little-endian)."""
    return [{"shape": list(w.shape),
             "f32": base64.b64encode(np.ascontiguousarray(w, dtype="<f4").tobytes()).decode()}
            for w in weights]


def decode_weights(items: List[dict]) -> List[np.ndarray]:
    return [np.frombuffer(base64.b64decode(d["f32"]), dtype="<f4").reshape(d["shape"]).copy()
            for d in items]


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
    if "preprocessing" in meta:
        try:
            norm = window_norm_from_dict(meta["preprocessing"])
            n_x = np.asarray(norm.offset_x).reshape(-1).size
            finite = np.isfinite([*np.asarray(norm.offset_x, float).reshape(-1),
                                  *np.asarray(norm.scale_x, float).reshape(-1),
                                  norm.offset_y, norm.scale_y]).all()
        except (ValueError, TypeError, KeyError) as e:
            raise InvalidModelFile(path, f"its metadata 'preprocessing' is not a pre-processing "
                                         f"record: {e}") from None
        if n_x != len(feats) or not finite:
            raise InvalidModelFile(path, f"its metadata 'preprocessing' has {n_x} features "
                                         f"(finite: {bool(finite)}); the model reads {len(feats)}")
        return
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
    model: Any               # rnnkit.models.Sequential: (N, W, F) network units -> (N, K)
    meta: Dict[str, Any]     # window, horizon, target, features, preprocessing, ...

    @property
    def window(self) -> int:
        return int(self.meta["window"])

    @property
    def horizon(self) -> int:
        return int(self.meta["horizon"])

    @property
    def norm(self) -> WindowNorm:
        if "preprocessing" in self.meta:
            return window_norm_from_dict(self.meta["preprocessing"])
        # files from rnnkit <= 0.x kept two StandardScaler dicts: the "level" set-up
        sx, sy = self.meta["scaler_x"], self.meta["scaler_y"]
        w = WindowNorm("level")
        w.offset_x, w.scale_x = (np.asarray(sx["offset"], float).reshape(-1),
                                 np.asarray(sx["scale"], float).reshape(-1))
        w.offset_y = float(np.asarray(sy["offset"]).reshape(-1)[0])
        w.scale_y = float(np.asarray(sy["scale"]).reshape(-1)[0])
        return w

    @property
    def members(self) -> int:
        """Models in the seed ensemble (1 without ``train --seeds``)."""
        return 1 + len(self.meta.get("ensemble", []))

    def save(self, path) -> None:
        self.model.save(path, metadata={**self.meta, "kind": KIND})

    @classmethod
    def load(cls, path) -> "Forecaster":
        """Load with :func:`rnnkit.models.load_model`; ValueError for any other model file."""
        from rnnkit.models import load_model

        model = load_model(path, compile=False)
        meta = model.metadata or {}
        scaled = "preprocessing" in meta or ("scaler_x" in meta and "scaler_y" in meta)
        if meta.get("kind") != KIND or any(k not in meta for k in _NEEDED) or not scaled:
            what = f"a {meta['kind']!r} model" if meta.get("kind") and meta["kind"] != KIND \
                else "a Sequential model without a forecaster's window and scalers"
            raise ValueError(f"model: {os.path.basename(os.fspath(path))!r} is {what}; expected "
                             f"a forecaster (made by `rnnkit train --data/--dataset`)")
        _check_meta(meta, model, path)
        model.eval()
        return cls(model, dict(meta))

    # --- using it on new data ----------------------------------------------------------
    def predict_scaled(self, X: np.ndarray) -> np.ndarray:
        """Model outputs (N, K) for network-unit windows X (N, W, F), float64."""
        if len(X) == 0:
            return np.zeros((0, self.horizon))
        return self.model.predict(np.asarray(X, dtype=np.float32), batch_size=256
                                  ).astype(np.float64)

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        """Outputs of every seed of the ensemble, (S, N, K); S = 1 without one."""
        outs = [self.predict_scaled(X)]
        if self.members > 1:
            own = self.model.get_weights()
            try:
                for item in self.meta["ensemble"]:
                    self.model.set_weights(decode_weights(item))
                    outs.append(self.predict_scaled(X))
            finally:
                self.model.set_weights(own)
        return np.stack(outs)

    def _check(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.meta["features"]):
            raise ValueError(f"values: expected (T, {len(self.meta['features'])}) for features "
                             f"{self.meta['features']}, got shape {values.shape}")
        if len(values) < self.window:
            raise ValueError(f"window: the model reads windows of {self.window} steps but the "
                             f"data has only {len(values)} rows")
        return values

    def _last(self, values: np.ndarray, ends: np.ndarray, target=None) -> np.ndarray:
        """The target's value at each window's last step ``ends`` (N,)."""
        if target is not None:
            return np.asarray(target, dtype=np.float64)[ends]
        feats = self.meta["features"]
        if self.meta["target"] in feats:
            return values[ends, feats.index(self.meta["target"])]
        return np.zeros(len(ends))            # "level" ignores it; "diff" has the target

    def forecast(self, values: np.ndarray, members: bool = False) -> np.ndarray:
        """One forecast per window of ``values`` (T, F), the last window included:
        row i predicts steps i + W .. i + W + K - 1, in original units; (T - W + 1, K),
        or (S, T - W + 1, K) for every seed with ``members=True``."""
        values = self._check(values)
        W = self.window
        idx = np.arange(len(values) - W + 1)[:, None] + np.arange(W)[None, :]   # (N, W)
        norm = self.norm
        out = self.predict_members(norm.inputs(values[idx]))                    # (S, N, K)
        last = self._last(values, idx[:, -1])
        res = np.stack([norm.inverse(o, last) for o in out])
        return res if members else res[0]

    def windows_with_truth(self, values: np.ndarray, target: np.ndarray):
        """(X in network units (N, W, F) float32, truth (N, K) original units, start (N,))."""
        values = self._check(values)
        target = np.asarray(target, float)
        X, _ = make_windows(values, self.window, self.horizon, target=target)
        start = np.arange(len(X)) + self.window
        truth = target[start[:, None] + np.arange(self.horizon)[None, :]]
        return self.norm.inputs(X).astype(np.float32), truth, start

    def predict_windows(self, X: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Forecasts in original units for windows from :meth:`windows_with_truth`."""
        return self.norm.inverse(self.predict_scaled(X), last)

    def future(self, values: np.ndarray, steps: int) -> np.ndarray:
        """Forecasts of the ``steps`` values after the end of ``values`` (T, F), for every
        seed: (S, steps).  Direct up to the horizon K; beyond it the model's own
        forecasts are fed back K at a time (recursive), which needs a model whose only
        input is its target."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"future: expected a positive number of steps, got {steps!r}")
        values = self._check(values)
        if steps > self.horizon and self.meta["features"] != [self.meta["target"]]:
            raise ValueError(f"future: {steps} steps is beyond the model's horizon "
                             f"({self.horizon}), and forecasting further feeds forecasts back "
                             f"as inputs, which needs a model whose only input is its target "
                             f"{self.meta['target']!r}; its inputs are {self.meta['features']}")
        paths = []
        for s in range(self.members):
            series = values.copy()
            out: List[float] = []
            while len(out) < steps:
                nxt = self.forecast(series[-self.window:], members=True)[s, -1]   # (K,)
                out.extend(nxt.tolist())
                if len(out) < steps:                  # feed back: univariate models only
                    series = np.vstack([series, nxt[:, None]])
            paths.append(out[:steps])
        return np.asarray(paths)
