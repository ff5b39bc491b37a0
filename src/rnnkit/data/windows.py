"""Sliding windows over a time series, for sequence-to-value forecasting.

Sample ``i`` (0-based, with ``s = i * stride``) is

    X[i] = series[s : s + window, features]                 shape (window, F)
    y[i] = target[s + window : s + window + horizon]        shape (horizon,)

so ``y`` always holds the *next* ``horizon`` values after the window, and there are
``N = (T - window - horizon) // stride + 1`` samples.  ``y`` is 2-D ``(N, horizon)``
even for ``horizon == 1``: that is what a Keras ``Dense(horizon)`` head (or an
``nn.Linear(hidden, horizon)``) outputs, so it can go straight into an MSE loss.

Example (hand-checkable)::

    >>> X, y = make_windows([1, 2, 3, 4, 5], window=2, horizon=2)
    >>> X[..., 0].tolist(), y.tolist()
    ([[1.0, 2.0], [2.0, 3.0]], [[3.0, 4.0], [4.0, 5.0]])
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from rnnkit.data._checks import as_float_array, check_int

__all__ = ["make_windows", "windows_from_csv", "n_windows"]


def n_windows(length: int, window: int, horizon: int = 1, stride: int = 1) -> int:
    """Number of samples ``make_windows`` yields for a series of ``length`` steps (may be <= 0)."""
    return (length - window - horizon) // stride + 1


def make_windows(series, window: int, horizon: int = 1,
                 target: Union[int, Sequence[float], np.ndarray, None] = None,
                 features: Optional[Sequence[int]] = None,
                 stride: int = 1) -> Tuple[np.ndarray, np.ndarray]:
    """Cut ``series`` into input windows and multi-step targets.

    Parameters
    ----------
    series : array (T,) or (T, F)
        The inputs, time along axis 0.  A 1-D series is treated as (T, 1).
    window : int >= 1
        Steps per input window.
    horizon : int >= 1
        K, the number of future target steps to predict.
    target : int, array (T,) or None
        Column of ``series`` to predict (an index, negative allowed), or a separate
        target series of the same length.  ``None`` is allowed only when the series
        has a single column.
    features : sequence of int, optional
        Columns of ``series`` fed as inputs (default: all).  The target column may
        or may not be among them.
    stride : int >= 1
        Step between the starts of consecutive windows.

    Returns
    -------
    X : float64 array (N, window, F_in)
    y : float64 array (N, horizon)
    """
    data = as_float_array("series", series)
    if data.ndim == 1:
        data = data[:, None]                                   # (T,) -> (T, 1)
    T, F = data.shape
    window = check_int("window", window, 1)
    horizon = check_int("horizon", horizon, 1)
    stride = check_int("stride", stride, 1)

    if target is None:
        if F != 1:
            raise ValueError(f"target: expected a column index (series has {F} columns), got None")
        y_series = data[:, 0]
    elif isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not -F <= target < F:
            raise ValueError(f"target: expected a column index in [{-F}, {F - 1}], got {target}")
        y_series = data[:, target]
    else:
        y_series = as_float_array("target", target, ndims=(1,))
        if y_series.shape[0] != T:
            raise ValueError(f"target: expected a series of length {T} (as series), "
                             f"got length {y_series.shape[0]}")

    if features is not None:
        cols = list(features)
        bad = [c for c in cols if isinstance(c, bool) or not isinstance(c, (int, np.integer))
               or not -F <= c < F]
        if not cols or bad:
            raise ValueError(f"features: expected a non-empty list of column indices in "
                             f"[{-F}, {F - 1}], got {list(features)!r}")
        data = data[:, cols]

    n = n_windows(T, window, horizon, stride)
    if n < 1:
        raise ValueError(f"window: window + horizon ({window} + {horizon}) must be <= the series "
                         f"length {T}, got window={window}")
    starts = np.arange(n) * stride                             # (N,)
    x_idx = starts[:, None] + np.arange(window)[None, :]       # (N, window)
    y_idx = starts[:, None] + window + np.arange(horizon)[None, :]  # (N, horizon)
    return data[x_idx], y_series[y_idx]                        # (N, window, F_in), (N, horizon)


def windows_from_csv(path, window: int, target: str, features: Optional[Sequence[str]] = None,
                     horizon: int = 1, stride: int = 1, nan_policy: str = "raise"
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """Read a CSV with pandas and window it: the ``--target COL --features A B`` recipe.

    ``target`` is the column to predict; ``features`` the input columns (default: the
    target alone, i.e. univariate).  Errors (missing file/column, non-numeric values,
    NaN rows, too-short series) are those of :func:`rnnkit.data.csv_loader.load_csv_series`
    and :func:`make_windows`.

    Returns X (N, window, len(features)) and y (N, horizon), both float64.
    """
    from rnnkit.data.csv_loader import load_csv_series  # pandas is imported there, lazily

    loaded = load_csv_series(path, target=target, features=features, nan_policy=nan_policy)
    return make_windows(loaded.values, window=window, horizon=horizon,
                        target=loaded.target, stride=stride)
