"""``pad_sequences`` with the semantics of Keras' ``keras.utils.pad_sequences``,
plus the boolean mask a recurrent layer needs (True = real step, False = padding).

Keras defaults are kept: ``padding='pre'`` and ``truncating='pre'`` (pad and cut at
the START), because an RNN's final state then sits right after the real data.  Pass
``'post'`` to pad/cut at the end instead (what ``pack_padded_sequence`` expects).

    >>> x, m = pad_sequences([[1, 2], [3, 4, 5, 6]], maxlen=3)
    >>> x.tolist(), m.tolist()
    ([[0, 1, 2], [4, 5, 6]], [[False, True, True], [True, True, True]])
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from rnnkit.data._checks import check_choice, check_int

__all__ = ["pad_sequences"]


def pad_sequences(sequences: Sequence, maxlen: Optional[int] = None, dtype="int32",
                  padding: str = "pre", truncating: str = "pre",
                  value=0.0) -> Tuple[np.ndarray, np.ndarray]:
    """Pad (or cut) each sequence to the same length.

    Parameters
    ----------
    sequences : list of N sequences; each of shape (L_i,) or (L_i, *sample_shape)
        (e.g. MFCC frames (L_i, 13)); all must share ``sample_shape``.
    maxlen : output length; default the longest sequence.
    dtype : output dtype (default int32, as Keras).
    padding : 'pre' or 'post' -- where the padding ``value`` goes.
    truncating : 'pre' or 'post' -- cut the start or the end of sequences longer
        than ``maxlen``.
    value : padding value (0 = Keras' mask_zero convention).

    Returns
    -------
    padded : array (N, maxlen, *sample_shape) of ``dtype``
    mask : bool array (N, maxlen), True where a step holds real data.
    """
    check_choice("padding", padding, ("pre", "post"))
    check_choice("truncating", truncating, ("pre", "post"))
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise TypeError(f"sequences: expected a list of sequences, got {type(sequences).__name__}")
    arrays = []
    for i, s in enumerate(sequences):
        if isinstance(s, (str, bytes)) or not hasattr(s, "__len__"):
            raise TypeError(f"sequences[{i}]: expected a sequence (list/array), got "
                            f"{type(s).__name__} {s!r}; encode text to ids first")
        arrays.append(np.asarray(s))
    sample_shape = next((a.shape[1:] for a in arrays if len(a)), ())
    for i, a in enumerate(arrays):
        if len(a) and a.shape[1:] != sample_shape:
            raise ValueError(f"sequences[{i}]: expected steps of shape {sample_shape} (as the "
                             f"first non-empty sequence), got {a.shape[1:]}")
    lengths = [len(a) for a in arrays]
    maxlen = max(lengths, default=0) if maxlen is None else check_int("maxlen", maxlen, 0)

    dtype = np.dtype(dtype)
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.object_)
    if isinstance(value, str) and not is_text:
        raise TypeError(f"value: expected a number for dtype {dtype}, got the str {value!r} "
                        f"(use dtype=object to pad with strings)")
    padded = np.full((len(arrays), maxlen) + sample_shape, value, dtype=dtype)
    mask = np.zeros((len(arrays), maxlen), dtype=bool)
    for i, a in enumerate(arrays):
        if maxlen == 0 or len(a) == 0:
            continue
        kept = a[-maxlen:] if truncating == "pre" else a[:maxlen]
        n = len(kept)
        sl = slice(maxlen - n, maxlen) if padding == "pre" else slice(0, n)
        padded[i, sl] = kept
        mask[i, sl] = True
    return padded, mask
