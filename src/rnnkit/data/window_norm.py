"""How a forecaster's windows are put into the network's units, and back.

Two pre-processings, both fitted on the training part only:

``"level"`` -- a per-feature StandardScaler on the values themselves::

    x̃_{t,j} = (x_{t,j} − μ_j) / σ_j            ỹ_{t+k} = (y_{t+k} − μ_y) / σ_y

  Good for a series whose level stays where the training part had it.  On a
  trending series the test part lies outside the training range, where a tanh
  network saturates: it loses to persistence by construction.

``"diff"`` -- per-window normalisation to the last observed value (the model
  predicts the *change* from it)::

    x̃_{t,j} = (x_{t,j} − x_{T,j}) / δ_j        ỹ_{T+k} = (y_{T+k} − y_T) / δ_y
    ŷ_{T+k} = y_T + δ_y · (network output)_k

  where T is the window's last step and δ the standard deviation of the one-step
  changes x_t − x_{t−1} on the training part.  A level never seen in training
  looks like any other window, so a trend no longer pushes the inputs out of
  range (the "change from the last value" set-up of Hyndman & Athanasopoulos,
  *Forecasting: Principles and Practice*, 3rd ed., §9.1 on differencing).

Saved as a plain JSON-able dict (``to_dict`` / ``window_norm_from_dict``): no pickle.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from rnnkit.data._checks import check_choice

__all__ = ["MODES", "WindowNorm", "window_norm_from_dict"]

MODES = ("level", "diff")


class WindowNorm:
    """Pre-processing of windows X (N, W, F) and targets y (N, K); see the module doc.

    ``last`` (N,) is the last observed target value y_T of each window (only used
    by ``"diff"``; the target must then be one of the input features).
    """

    def __init__(self, mode: str = "level") -> None:
        self.mode = check_choice("mode", mode, MODES)
        self.offset_x: Optional[np.ndarray] = None   # (F,)
        self.scale_x: Optional[np.ndarray] = None    # (F,)
        self.offset_y = 0.0
        self.scale_y = 1.0

    def fit(self, values, target) -> "WindowNorm":
        """Statistics of the training part: ``values`` (T, F), ``target`` (T,)."""
        values = np.asarray(values, dtype=np.float64)
        target = np.asarray(target, dtype=np.float64)
        if values.ndim != 2 or target.ndim != 1 or len(values) != len(target):
            raise ValueError(f"values/target: expected (T, F) and (T,), got shapes "
                             f"{values.shape} and {target.shape}")
        if len(values) < 2:
            raise ValueError(f"values: expected at least 2 training steps, got {len(values)}")
        if not (np.isfinite(values).all() and np.isfinite(target).all()):
            raise ValueError("values: expected finite numbers (no NaN/inf) in the training part")
        if self.mode == "level":
            ox, sx, oy, sy = values.mean(0), values.std(0), target.mean(), target.std()
        else:
            ox, oy = np.zeros(values.shape[1]), 0.0
            sx, sy = np.diff(values, axis=0).std(0), np.diff(target).std()
        # a constant column would divide by zero; leave it unscaled (as scikit-learn does)
        self.offset_x, self.scale_x = ox, np.where(sx > 0, sx, 1.0)
        self.offset_y, self.scale_y = float(oy), float(sy) if sy > 0 else 1.0
        return self

    def _check(self):
        if self.scale_x is None:
            raise ValueError("WindowNorm: not fitted; call fit(values, target) first")

    def inputs(self, X) -> np.ndarray:
        """Windows X (N, W, F) in original units -> network inputs (N, W, F)."""
        self._check()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3 or X.shape[-1] != len(self.scale_x):
            raise ValueError(f"X: expected (N, W, {len(self.scale_x)}), got shape {X.shape}")
        if self.mode == "level":
            return (X - self.offset_x) / self.scale_x
        return (X - X[:, -1:, :]) / self.scale_x                          # (N, W, F)

    def targets(self, y, last) -> np.ndarray:
        """Targets y (N, K) in original units -> network units (N, K)."""
        self._check()
        y = np.asarray(y, dtype=np.float64)
        return (y - self._anchor(last, len(y))) / self.scale_y

    def inverse(self, out, last) -> np.ndarray:
        """Network outputs (N, K) -> forecasts in original units (N, K)."""
        self._check()
        out = np.asarray(out, dtype=np.float64)
        return out * self.scale_y + self._anchor(last, len(out))

    def _anchor(self, last, n: int):
        if self.mode == "level":
            return self.offset_y
        last = np.asarray(last, dtype=np.float64).reshape(-1)
        if len(last) != n:
            raise ValueError(f"last: expected one last observed value per window ({n}), "
                             f"got {len(last)}")
        return last[:, None]                                              # (N, 1)

    def to_dict(self) -> Dict[str, Any]:
        self._check()
        return {"type": "WindowNorm", "mode": self.mode,
                "offset_x": self.offset_x.tolist(), "scale_x": self.scale_x.tolist(),
                "offset_y": self.offset_y, "scale_y": self.scale_y}


def window_norm_from_dict(d: Dict[str, Any]) -> WindowNorm:
    """Rebuild a fitted WindowNorm from ``to_dict()`` output."""
    if not isinstance(d, dict) or d.get("type") != "WindowNorm":
        got = d.get("type") if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"d: expected a dict from WindowNorm.to_dict(), got type {got!r}")
    w = WindowNorm(d["mode"])
    w.offset_x = np.asarray(d["offset_x"], dtype=np.float64)
    w.scale_x = np.asarray(d["scale_x"], dtype=np.float64)
    w.offset_y, w.scale_y = float(d["offset_y"]), float(d["scale_y"])
    return w
