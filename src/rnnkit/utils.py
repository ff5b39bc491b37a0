"""Keras-style utilities: ``keras.utils.set_random_seed``, ``pad_sequences``,
``to_categorical`` and ``timeseries_dataset_from_array``."""
from __future__ import annotations

from typing import Optional

import numpy as np

from rnnkit._unsupported import module_getattr
from rnnkit.data.padding import pad_sequences as _pad_with_mask
from rnnkit.data.timeseries import timeseries_dataset_from_array
from rnnkit.seed import set_random_seed

__all__ = ["pad_sequences", "set_random_seed", "timeseries_dataset_from_array", "to_categorical"]


def pad_sequences(sequences, maxlen: Optional[int] = None, dtype="int32", padding: str = "pre",
                  truncating: str = "pre", value=0.0) -> np.ndarray:
    """Keras's ``pad_sequences``: one (N, maxlen, ...) array, padded and cut at the
    start by default. (``rnnkit.data.pad_sequences`` also returns the mask.)"""
    return _pad_with_mask(sequences, maxlen=maxlen, dtype=dtype, padding=padding,
                          truncating=truncating, value=value)[0]


def to_categorical(x, num_classes: Optional[int] = None) -> np.ndarray:
    """One-hot float32 vectors for integer class labels, as Keras 3: shape
    ``x.shape + (num_classes,)``, with a trailing axis of size 1 dropped first."""
    a = np.asarray(x)
    if a.dtype.kind not in "biuf" or (a.dtype.kind == "f" and not np.all(a == np.round(a))):
        raise TypeError(f"`x` must hold integer class labels, got dtype {a.dtype}")
    a = a.astype("int64")
    if a.ndim > 1 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.size and a.min() < 0:
        raise ValueError(f"`x` must hold labels >= 0, got {int(a.min())}")
    n = int(a.max()) + 1 if num_classes is None else num_classes
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"`num_classes` must be a positive int, got {num_classes!r}")
    if a.size and a.max() >= n:
        raise ValueError(f"`x` holds label {int(a.max())} but num_classes={n}")
    out = np.zeros(a.shape + (int(n),), dtype="float32")
    np.put_along_axis(out, a[..., None], 1.0, axis=-1)
    return out


__getattr__ = module_getattr("rnnkit.utils", __all__)
