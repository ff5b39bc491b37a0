"""Feature scalers fitted on the training part only, saved as plain JSON-able dicts.

Both scalers treat the LAST axis as features: fit on (T,) (one feature), (T, F) or
(N, window, F); statistics are taken over all other axes.  Fit them on the training
split only -- statistics of the whole series would leak the test period's level and
range into training (see splits.py).

``column=j`` applies feature j's statistics to an array of any shape, which is how
predictions ``y`` (N, K) of the target column are mapped back to original units.

No pickle: ``to_dict()`` gives lists and floats (json.dumps-able), ``scaler_from_dict``
rebuilds either scaler from such a dict.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from rnnkit.data._checks import as_float_array, check_int

__all__ = ["StandardScaler", "MinMaxScaler", "scaler_from_dict"]


def _check_finite_stats(flat: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> None:
    """Values near the float64 limit (1e300) overflow mean, std or max - min to inf."""
    bad = ~(np.isfinite(offset) & np.isfinite(scale))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        lo, hi = float(flat[:, j].min()), float(flat[:, j].max())
        raise ValueError(f"data: feature {j} (column {j} of the last axis) spans [{lo:g}, "
                         f"{hi:g}]; its statistics overflow float64 (offset {float(offset[j])}, "
                         "scale {}). Rescale that column (e.g. divide it by a power of ten) "
                         "before fitting the scaler".format(float(scale[j])))


class _Scaler:
    """y = (x - offset) / scale, per feature.  Subclasses set offset and scale in fit."""

    kind = "base"

    def __init__(self) -> None:
        self.offset_: Optional[np.ndarray] = None   # (F,) or () for a 1-D fit
        self.scale_: Optional[np.ndarray] = None    # (F,) or ()

    # -- statistics (subclasses) -------------------------------------------------------
    def _fit_stats(self, flat: np.ndarray):  # flat: (M, F)
        raise NotImplementedError

    def fit(self, data) -> "_Scaler":
        """Learn per-feature statistics from ``data`` (..., F) or (T,); returns self."""
        arr = as_float_array("data", data, ndims=(1, 2, 3))
        if not np.isfinite(arr).all():
            raise ValueError("data: expected finite values (no NaN/inf) to fit a scaler, "
                             f"got {int((~np.isfinite(arr)).sum())} non-finite")
        flat = arr.reshape(-1, 1) if arr.ndim == 1 else arr.reshape(-1, arr.shape[-1])
        with np.errstate(over="ignore", invalid="ignore"):
            offset, scale = self._fit_stats(flat)
        _check_finite_stats(flat, offset, scale)
        # a constant feature would divide by zero; leave it unscaled (as scikit-learn does)
        scale = np.where(scale > 0, scale, 1.0)
        if arr.ndim == 1:
            offset, scale = offset[0], scale[0]
        self.offset_, self.scale_ = np.asarray(offset, float), np.asarray(scale, float)
        return self

    def fit_transform(self, data) -> np.ndarray:
        return self.fit(data).transform(data)

    # -- applying ----------------------------------------------------------------------
    def _params(self, arr: np.ndarray, column: Optional[int]):
        if self.offset_ is None:
            raise ValueError(f"{type(self).__name__}: not fitted; call fit(train) first")
        if column is not None:
            n = self.offset_.size
            column = check_int("column", column, -n)
            if column >= n:
                raise ValueError(f"column: expected an index in [{-n}, {n - 1}], got {column}")
            return self.offset_.reshape(-1)[column], self.scale_.reshape(-1)[column]
        if self.offset_.ndim == 1 and (arr.ndim == 0 or arr.shape[-1] != self.offset_.size):
            raise ValueError(f"data: expected a last axis of {self.offset_.size} features "
                             f"(as in fit), got shape {arr.shape}; pass column=j to use one "
                             f"feature's statistics")
        return self.offset_, self.scale_

    def transform(self, data, column: Optional[int] = None) -> np.ndarray:
        """Scaled copy of ``data`` (same shape)."""
        arr = np.asarray(data, dtype=np.float64)
        offset, scale = self._params(arr, column)
        return (arr - offset) / scale

    def inverse_transform(self, data, column: Optional[int] = None) -> np.ndarray:
        """Back to original units: ``x = y * scale + offset`` (same shape)."""
        arr = np.asarray(data, dtype=np.float64)
        offset, scale = self._params(arr, column)
        return arr * scale + offset

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        if self.offset_ is None:
            raise ValueError(f"{type(self).__name__}: not fitted; nothing to save")
        return {"type": type(self).__name__, **self._extra(),
                "offset": self.offset_.tolist(), "scale": self.scale_.tolist()}

    def _extra(self) -> Dict[str, Any]:
        return {}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "_Scaler":
        if not isinstance(d, dict) or d.get("type") != cls.__name__:
            got = d.get("type") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"d: expected a dict from {cls.__name__}.to_dict(), got type {got!r}")
        obj = cls(**{k: v for k, v in d.items() if k not in ("type", "offset", "scale")})
        try:
            offset = np.asarray(d["offset"], dtype=np.float64)
            scale = np.asarray(d["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"d: 'offset' and 'scale' must be numbers or lists of numbers "
                             f"({type(e).__name__}: {e})") from None
        if offset.ndim > 1 or offset.shape != scale.shape or not (
                np.isfinite(offset).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError(f"d: 'offset' and 'scale' must be finite, of one shape, with "
                             f"scale > 0; got offset {d.get('offset')!r}, scale {d.get('scale')!r}")
        obj.offset_, obj.scale_ = offset, scale
        return obj


class StandardScaler(_Scaler):
    """Zero mean, unit variance per feature: ``(x - mean) / std`` (population std, ddof=0)."""

    def _fit_stats(self, flat):
        return flat.mean(axis=0), flat.std(axis=0)

    @property
    def mean_(self):
        return self.offset_

    @property
    def std_(self):
        return self.scale_


class MinMaxScaler(_Scaler):
    """Maps each feature's training [min, max] onto ``feature_range`` (default [0, 1]).

    Values outside the training range map outside ``feature_range``: a test period
    that exceeds the training maximum (trending series) gives values > 1.
    """

    def __init__(self, feature_range=(0.0, 1.0)) -> None:
        super().__init__()
        try:
            lo, hi = (float(v) for v in feature_range)
        except (TypeError, ValueError):
            raise TypeError(f"feature_range: expected a pair (low, high), got {feature_range!r}") from None
        if not lo < hi:
            raise ValueError(f"feature_range: expected low < high, got {feature_range!r}")
        self.feature_range = (lo, hi)

    def _fit_stats(self, flat):
        lo, hi = self.feature_range
        dmin, dmax = flat.min(axis=0), flat.max(axis=0)
        # (x - dmin) / (dmax - dmin) * (hi - lo) + lo  ==  (x - offset) / scale with:
        scale = (dmax - dmin) / (hi - lo)
        scale = np.where(scale > 0, scale, 1.0)
        return dmin - lo * scale, scale

    def _extra(self):
        return {"feature_range": list(self.feature_range)}


def scaler_from_dict(d: Dict[str, Any]) -> _Scaler:
    """Rebuild a scaler from ``to_dict()`` output, whichever class made it."""
    kinds = {c.__name__: c for c in (StandardScaler, MinMaxScaler)}
    kind = d.get("type") if isinstance(d, dict) else None
    if kind not in kinds:
        raise ValueError(f"d: expected a dict with 'type' in {sorted(kinds)}, got {kind!r}")
    return kinds[kind].from_dict(d)
