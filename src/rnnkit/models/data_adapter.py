"""What ``fit`` / ``evaluate`` / ``predict`` accept, turned into batches of tensors.

In-memory data (:class:`ArrayData`): numpy arrays, torch tensors, pandas
DataFrames/Series, nested lists. A list of sequences of different lengths
(token ids, or (L_i, F) frames) is padded at the END with zeros and gets a
(N, T) mask, True = real step, which the model passes to its first layer.

Batch streams (:class:`BatchStream`): a DataLoader or any iterable of
``(x, y)`` / ``(x, y, sample_weight)`` batches; a map-style torch Dataset of
``(x, y)`` items is batched here with fit's own shuffle generator.

Everything is checked at the boundary: numeric dtype, no NaN/inf, no empty
data, the same number of samples in x, y and sample_weight.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterator, Optional

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, IterableDataset

__all__ = ["ArrayData", "BatchStream", "Batch", "to_tensor", "adapt", "is_batch_stream"]

Batch = tuple  # (x, y or None, sample_weight or None, mask or None)


def _is_pandas(value) -> bool:
    return type(value).__module__.split(".")[0] == "pandas"


def _ragged(value, arg: str) -> tuple[Tensor, Tensor]:
    """Pad variable-length sequences at the end with zeros; (N, T, ...) + (N, T) mask."""
    from rnnkit.data.padding import pad_sequences

    arrays = []
    for i, s in enumerate(value):
        try:
            a = np.asarray(s.detach().cpu().numpy() if isinstance(s, Tensor) else s)
        except (ValueError, TypeError, RuntimeError):
            a = np.asarray(None)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"`{arg}[{i}]` must be a sequence of numbers (a list of "
                            f"variable-length sequences), got {type(s).__name__}; to pass "
                            "(x, y) batches use a DataLoader or an iterator, not a list")
        if a.ndim == 0 or len(a) == 0:
            raise ValueError(f"`{arg}[{i}]` must be a sequence with at least one step, got "
                             f"shape {a.shape}")
        arrays.append(a)
    integer = all(a.dtype.kind in "biu" for a in arrays)
    padded, mask = pad_sequences(arrays, dtype="int64" if integer else "float32", padding="post",
                                 truncating="post", value=0)
    return torch.from_numpy(padded), torch.from_numpy(mask)


def to_tensor(value, arg: str, allow_ragged: bool = True) -> tuple[Tensor, Optional[Tensor]]:
    """``value`` as a CPU tensor (floats stay float, ints become int64, bools float32)
    and the padding mask when it was a list of variable-length sequences."""
    mask = None
    if isinstance(value, Tensor):
        t = value.detach()
    else:
        if _is_pandas(value):
            value = value.to_numpy()
        if isinstance(value, (str, bytes)):
            raise TypeError(f"`{arg}` must be numeric (an array, tensor or list of numbers), "
                            f"got the string {value!r}")
        try:
            a = np.asarray(value)
        except ValueError:  # numpy >= 1.24 refuses ragged nested lists
            a = None
        if a is None or (a.dtype == object and a.ndim == 1 and len(a)
                         and all(hasattr(s, "__len__") and not isinstance(s, (str, bytes))
                                 for s in a)):
            if not allow_ragged:
                raise ValueError(f"`{arg}` holds sequences of different lengths; pad them first")
            return _ragged(value, arg)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"`{arg}` must be numeric, got an array of dtype {a.dtype} "
                            f"(e.g. strings or mixed objects); encode it as numbers first")
        a = np.ascontiguousarray(a)
        t = torch.from_numpy(a if a.flags.writeable else a.copy())  # pandas gives read-only views
    if t.dtype == torch.bool:
        t = t.to(torch.float32)
    elif not torch.is_floating_point(t):
        if t.is_complex():
            raise TypeError(f"`{arg}` must be real-valued, got dtype {t.dtype}")
        t = t.to(torch.int64)
    if t.dim() == 0:
        raise ValueError(f"`{arg}` must have a batch axis (N, ...), got a scalar")
    return t, mask


def check_finite(t: Tensor, arg: str) -> None:
    if torch.is_floating_point(t):
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            first = tuple(int(i) for i in torch.nonzero(bad)[0])
            raise ValueError(f"`{arg}` contains {int(bad.sum())} NaN or infinite value(s), the "
                             f"first at index {first}; clean or impute the data first")


def _n(t) -> int:
    if isinstance(t, tuple):  # several inputs / outputs: they share the sample count
        return _n(next(u for u in t if u is not None))
    return int(t.shape[0])


def _pick(t, idx):
    if t is None:
        return None
    if isinstance(t, tuple):
        return tuple(_pick(u, idx) for u in t)
    return t[idx]


def to_tensors(value, names: list[str], arg: str, allow_missing: bool = False
               ) -> tuple[tuple, Optional[tuple]]:
    """Several arrays for a model with several inputs (or outputs) named ``names``:
    a list/tuple in that order or a dict by name. Returns (tensors, masks or None),
    every array checked to hold the same number of samples."""
    n = len(names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        missing = [k for k in names if k not in value]
        if unknown or (missing and not allow_missing):
            raise ValueError(f"`{arg}` must be a dict with keys {names}, got keys "
                             f"{sorted(value)}" + (f" (unknown: {unknown})" if unknown else ""))
        parts = [value.get(k) for k in names]
    elif isinstance(value, (list, tuple)) and n > 1:
        if len(value) != n:
            raise ValueError(f"`{arg}` must hold {n} arrays, one for each of {names}, got "
                             f"{len(value)}")
        parts = list(value)
    elif (n == 1 and isinstance(value, list) and len(value) == 1
          and (isinstance(value[0], (np.ndarray, Tensor)) or _is_pandas(value[0]))):
        parts = list(value)
    else:
        if n != 1:
            raise ValueError(f"the model has {n} {'inputs' if arg.endswith('x') else 'outputs'} "
                             f"{names}; `{arg}` must be a list of {n} arrays or a dict by name, "
                             f"got one {type(value).__name__}")
        parts = [value]
    tensors, masks = [], []
    first = None
    for k, (name, part) in enumerate(zip(names, parts)):
        where = f"{arg}[{k}] ({name!r})" if n > 1 else arg
        if part is None:
            if not allow_missing:
                raise ValueError(f"`{where}` is None")
            tensors.append(None)
            masks.append(None)
            continue
        t, m = to_tensor(part, where)
        check_finite(t, where)
        if first is None:
            first = (where, _n(t))
        elif _n(t) != first[1]:
            raise ValueError(f"`{where}` has {_n(t)} samples but `{first[0]}` has {first[1]}; "
                             "every input and target array needs the same number of samples")
        tensors.append(t)
        masks.append(m)
    return tuple(tensors), (tuple(masks) if any(m is not None for m in masks) else None)


def class_weights_to_sample_weights(y: Tensor, class_weight: dict) -> Tensor:
    """Keras's rule: class = argmax of one-hot y, else round(y); unknown classes weigh 1."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"`class_weight` must be a dict {{class index: weight}}, got "
                        f"{type(class_weight).__name__}")
    yy = y.reshape(y.shape[0], -1) if y.dim() > 1 else y.unsqueeze(-1)
    if y.dim() > 2 or (y.dim() == 2 and y.shape[-1] > 1):
        if y.dim() > 2:
            raise ValueError("`class_weight` needs one label per sample; for sequence targets "
                             "pass `sample_weight` of shape (N, T) instead")
        classes = torch.argmax(y, dim=-1)
    else:
        classes = torch.round(yy[:, 0].double()).long()
    w = torch.ones(len(classes), dtype=torch.float32)
    for k, v in class_weight.items():
        w[classes == int(k)] = float(v)
    return w


@dataclass
class ArrayData:
    """In-memory samples, batched by index."""
    x: Tensor
    y: Optional[Tensor] = None
    sample_weight: Optional[Tensor] = None
    mask: Optional[Tensor] = None

    def __len__(self) -> int:
        return _n(self.x)

    @property
    def sample_shape(self):
        if isinstance(self.x, tuple):
            return tuple(tuple(t.shape[1:]) for t in self.x)
        return tuple(self.x.shape[1:])

    def steps(self, batch_size: int) -> int:
        return math.ceil(len(self) / batch_size)

    def take(self, idx) -> "ArrayData":
        return ArrayData(_pick(self.x, idx), _pick(self.y, idx), _pick(self.sample_weight, idx),
                         _pick(self.mask, idx))

    def split(self, validation_split: float) -> tuple["ArrayData", "ArrayData"]:
        """Keras: the LAST ``validation_split`` fraction (before any shuffling) validates."""
        n = len(self)
        split_at = int(math.floor(n * (1.0 - validation_split)))
        if split_at == 0 or split_at == n:
            raise ValueError(f"`validation_split`={validation_split} of {n} samples leaves "
                             f"{split_at} for training and {n - split_at} for validation; both "
                             "need at least one")
        return self.take(slice(0, split_at)), self.take(slice(split_at, n))

    def batches(self, batch_size: int, shuffle: bool = False,
                generator: Optional[torch.Generator] = None) -> Iterator[Batch]:
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else None
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size] if shuffle else slice(start, start + batch_size)
            b = self.take(idx)
            yield b.x, b.y, b.sample_weight, b.mask


class BatchStream:
    """Batches from a DataLoader / iterable, or a map-style Dataset batched here."""

    def __init__(self, source, arg: str = "x", has_targets: bool = True,
                 x_names: Optional[list] = None, y_names: Optional[list] = None) -> None:
        self.source, self.arg, self.has_targets = source, arg, has_targets
        self.x_names, self.y_names = x_names, y_names  # a functional model's inputs / outputs
        self.peeked: Optional[Batch] = None
        self._pending = False  # the peeked batch still has to be yielded (one-shot iterators)

    @property
    def batches_here(self) -> bool:
        """True for a map-style Dataset, which fit batches with its batch_size."""
        return isinstance(self.source, Dataset) and not isinstance(self.source, IterableDataset)

    def steps(self, batch_size: Optional[int] = None) -> Optional[int]:
        if self.batches_here:
            return math.ceil(len(self.source) / (batch_size or 32))
        try:
            return len(self.source)
        except TypeError:
            return None

    def _iterable(self, batch_size, shuffle, generator):
        if self.batches_here:
            return DataLoader(self.source, batch_size=batch_size or 32, shuffle=shuffle,
                              generator=generator if shuffle else None)
        return self.source

    def _convert(self, item, i: int) -> Batch:
        arg = f"{self.arg} batch {i}"
        if isinstance(item, dict):
            raise TypeError(f"{arg}: dict batches aren't supported; yield (x, y) tuples")
        parts = list(item) if isinstance(item, (tuple, list)) else [item]
        if not self.has_targets:
            parts = parts[:1]  # predict: only x matters
        if self.has_targets and len(parts) not in (2, 3):
            raise ValueError(f"{arg}: expected a tuple (x, y) or (x, y, sample_weight), got "
                             f"{len(parts)} element(s)")
        if self.x_names is not None:
            x, mask = to_tensors(parts[0], self.x_names, f"{arg}: x")
        else:
            x, mask = to_tensor(parts[0], f"{arg}: x")
            check_finite(x, f"{arg}: x")
        out = [x, None, None, mask]
        if self.y_names is not None and len(parts) > 1 and parts[1] is not None:
            y, _ = to_tensors(parts[1], self.y_names, f"{arg}: y", allow_missing=True)
            if _n(y) != _n(x):
                raise ValueError(f"{arg}: x has {_n(x)} samples but y has {_n(y)}")
            out[1] = y
        for j, name in ((1, "y"), (2, "sample_weight")):
            if j == 1 and self.y_names is not None:
                continue
            if len(parts) > j and parts[j] is not None:
                t, _ = to_tensor(parts[j], f"{arg}: {name}")
                check_finite(t, f"{arg}: {name}")
                if _n(t) != _n(x):
                    raise ValueError(f"{arg}: x has {_n(x)} samples but {name} has {_n(t)}")
                out[j] = t
        if self.has_targets and out[1] is None:
            raise ValueError(f"{arg}: the batch has no targets y")
        return tuple(out)

    def peek(self) -> Batch:
        """The first batch (kept for the first epoch when the source is a one-shot iterator)."""
        if self.peeked is None:
            it = iter(self._iterable(None, False, None))
            try:
                self.peeked = self._convert(next(it), 0)
            except StopIteration:
                raise ValueError(f"`{self.arg}` yielded no batches (empty data)") from None
            if it is self.source:  # a one-shot iterator: the peeked batch must be replayed
                self._pending = True
        return self.peeked

    def batches(self, batch_size: Optional[int] = None, shuffle: bool = False,
                generator: Optional[torch.Generator] = None) -> Iterator[Batch]:
        it = iter(self._iterable(batch_size, shuffle, generator))
        i = 0
        if self._pending:
            self._pending = False
            yield self.peeked
            i = 1
        for item in it:
            yield self._convert(item, i)
            i += 1


def is_batch_stream(x) -> bool:
    if isinstance(x, (Tensor, np.ndarray, list, tuple, str, bytes, dict)) or _is_pandas(x):
        return False
    return isinstance(x, (DataLoader, Dataset)) or hasattr(x, "__iter__")


def adapt(x, y=None, sample_weight=None, class_weight=None, *, prefix: str = "",
          need_y: bool = True, x_names: Optional[list] = None, y_names: Optional[list] = None):
    """ArrayData or BatchStream for ``x`` (and ``y``, weights), fully validated.
    With ``x_names`` / ``y_names`` (a functional model's inputs / outputs), x / y
    are tuples of tensors in that order (see :func:`to_tensors`)."""
    ax, ay, asw = f"{prefix}x", f"{prefix}y", f"{prefix}sample_weight"
    if x is None:
        raise ValueError(f"`{ax}` is required, got None")
    from rnnkit.data.lazy import WindowDataset

    if isinstance(x, WindowDataset):  # lazy windows (x and y together), read batch by batch
        for name, v in ((ay, y), (asw, sample_weight), ("class_weight", class_weight)):
            if v is not None:
                raise ValueError(f"`{name}` must be None when `{ax}` is a WindowDataset (it "
                                 f"yields x and y), got {type(v).__name__}")
        return x
    if is_batch_stream(x):
        for name, v in ((ay, y), (asw, sample_weight), ("class_weight", class_weight)):
            if v is not None:
                raise ValueError(f"`{name}` must be None when `{ax}` is a DataLoader / iterable of "
                                 f"batches (put it in the batches), got {type(v).__name__}")
        return BatchStream(x, ax, has_targets=need_y, x_names=x_names, y_names=y_names)
    if x_names is not None:
        xt, mask = to_tensors(x, x_names, ax)
    else:
        xt, mask = to_tensor(x, ax)
        check_finite(xt, ax)
    if _n(xt) == 0:
        raise ValueError(f"`{ax}` is empty: it has 0 samples")
    data = ArrayData(xt, mask=mask)
    if y is None:
        if need_y:
            raise ValueError(f"`{ay}` is required with array input `{ax}`, got None")
        return data
    if y_names is not None:
        yt, _ = to_tensors(y, y_names, ay, allow_missing=True)
    else:
        yt, _ = to_tensor(y, ay)
        check_finite(yt, ay)
    if _n(yt) != _n(xt):
        shape = (lambda t: [tuple(u.shape) for u in t if u is not None] if isinstance(t, tuple)
                 else tuple(t.shape))
        raise ValueError(f"`{ax}` and `{ay}` must have the same number of samples; got "
                         f"{_n(xt)} in {ax} (shape {shape(xt)}) and {_n(yt)} in {ay} "
                         f"(shape {shape(yt)})")
    data = replace(data, y=yt)
    if sample_weight is not None and class_weight is not None:
        raise ValueError("pass either `sample_weight` or `class_weight`, not both")
    if class_weight is not None:
        if isinstance(yt, tuple):
            raise ValueError("`class_weight` isn't supported for models with several outputs "
                             "(nor in Keras); pass `sample_weight` instead")
        data = replace(data, sample_weight=class_weights_to_sample_weights(yt, class_weight))
    elif sample_weight is not None:
        sw, _ = to_tensor(sample_weight, asw, allow_ragged=False)
        check_finite(sw, asw)
        if _n(sw) != _n(xt):
            raise ValueError(f"`{asw}` must hold one weight per sample ({_n(xt)}), got shape "
                             f"{tuple(sw.shape)}")
        data = replace(data, sample_weight=sw.to(torch.float32))
    return data
