"""Keras 3's losses on torch tensors: the same names, defaults and numbers.

Every loss is computed in two steps, as Keras does (``keras/src/losses/loss.py``):

1. a per-sample function reduces the LAST axis: ``y_pred`` (B, O) -> (B,),
   (B, T, O) -> (B, T);
2. a reduction turns those values into one number. The default,
   ``"sum_over_batch_size"``, is ``sum(values * w) / values.numel()``, where
   ``w`` are the sample weights (1 when not given). A (B, T) mask of valid
   steps (from Masking / Embedding(mask_zero=True)) counts each valid step
   ``numel / n_valid`` times and each padded one 0 times, i.e. the mean over
   the valid steps.

Targets are aligned first: ``y`` (B,) against an output (B, 1) becomes (B, 1).
Probabilities (``from_logits=False``) are clipped to [eps, 1 - eps] with
eps = 1e-7 (Keras's ``backend.epsilon()``), so log(0) never happens.
"""
from __future__ import annotations

import difflib
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "LossFunctionWrapper",
           "mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "get_loss", "EPSILON"]

EPSILON = 1e-7  # keras.backend.epsilon()
REDUCTIONS = ("sum_over_batch_size", "sum", "none")


def _shape(t: Tensor) -> tuple:
    return tuple(t.shape)


def align(y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor]:
    """Keras's ``squeeze_or_expand_to_same_rank``: fix a rank difference of one
    when the extra axis has size 1 ((B,) vs (B, 1); (B, T) vs (B, T, 1))."""
    rt, rp = y_true.dim(), y_pred.dim()
    if rp == rt + 1 and y_pred.shape[-1] == 1:
        y_true = y_true.unsqueeze(-1) if rt == 1 else y_true
        y_pred = y_pred if rt == 1 else y_pred.squeeze(-1)
    elif rt == rp + 1 and y_true.shape[-1] == 1:
        y_pred = y_pred.unsqueeze(-1) if rp == 1 else y_pred
        y_true = y_true if rp == 1 else y_true.squeeze(-1)
    return y_true, y_pred


def _same_shape(y_true: Tensor, y_pred: Tensor, what: str) -> None:
    # Refuse broadcasting: (B, 1) against (B, 5) would silently average 5x the pairs.
    if _shape(y_true) != _shape(y_pred):
        raise ValueError(f"{what}: `y` has shape {_shape(y_true)} but the model's output has "
                         f"shape {_shape(y_pred)}; they must match (up to a trailing axis of 1)")


# --- per-sample functions (reduce the last axis) --------------------------------------------
def mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return torch.mean(torch.square(y_pred - y_true), dim=-1)


def mean_absolute_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return torch.mean(torch.abs(y_pred - y_true), dim=-1)


def huber(y_true: Tensor, y_pred: Tensor, delta: float = 1.0) -> Tensor:
    """0.5 e² where |e| <= delta, else delta (|e| - 0.5 delta); e = y_pred - y_true."""
    e = y_pred - y_true
    a = torch.abs(e)
    return torch.mean(torch.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta * delta), dim=-1)


def binary_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                        label_smoothing: float = 0.0) -> Tensor:
    """-(y log p + (1 - y) log(1 - p)), averaged over the last axis."""
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        p = torch.clamp(y_pred, EPSILON, 1.0 - EPSILON)
        bce = -(y_true * torch.log(p) + (1.0 - y_true) * torch.log(1.0 - p))
    return torch.mean(bce, dim=-1)


def categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                             label_smoothing: float = 0.0) -> Tensor:
    """-sum_c y_c log p_c over the last (class) axis; p renormalised to sum to 1."""
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        log_p = torch.log_softmax(y_pred, dim=-1)
    else:
        p = y_pred / torch.sum(y_pred, dim=-1, keepdim=True)
        log_p = torch.log(torch.clamp(p, EPSILON, 1.0 - EPSILON))
    return -torch.sum(y_true * log_p, dim=-1)


def sparse_categorical_crossentropy(y_true: Tensor, y_pred: Tensor,
                                    from_logits: bool = False) -> Tensor:
    """-log p[y] with integer class ids ``y`` (B, ...) against ``y_pred`` (B, ..., C)."""
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if _shape(y_true) != _shape(y_pred)[:-1]:
        raise ValueError(f"sparse_categorical_crossentropy: `y` holds class ids of shape "
                         f"{_shape(y_true)}, so the model's output must have shape "
                         f"{_shape(y_true) + ('C',)}; got {_shape(y_pred)}")
    if torch.is_floating_point(y_true) and bool((y_true != torch.round(y_true)).any()):
        raise ValueError("sparse_categorical_crossentropy: `y` must hold integer class ids, "
                         "got non-integer values (use categorical_crossentropy for one-hot or "
                         "soft targets)")
    ids = y_true.long()
    C = y_pred.shape[-1]
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= C):
        raise ValueError(f"sparse_categorical_crossentropy: `y` holds class id "
                         f"{int(ids.min()) if int(ids.min()) < 0 else int(ids.max())} but the "
                         f"model outputs {C} classes (ids must lie in [0, {C}))")
    if from_logits:
        log_p = torch.log_softmax(y_pred, dim=-1)
    else:
        p = y_pred / torch.sum(y_pred, dim=-1, keepdim=True)
        log_p = torch.log(torch.clamp(p, EPSILON, 1.0 - EPSILON))
    return -torch.gather(log_p, -1, ids.unsqueeze(-1)).squeeze(-1)


# --- reduction ---------------------------------------------------------------------------
def _expand_weights(w: Tensor, values: Tensor, arg: str) -> Tensor:
    """(B,) or (B, T) weights -> broadcastable against ``values`` (B, ...)."""
    w = w.to(dtype=values.dtype, device=values.device)
    while w.dim() > values.dim() and w.shape[-1] == 1:
        w = w.squeeze(-1)
    if w.dim() > values.dim() or _shape(w) != _shape(values)[:w.dim()]:
        raise ValueError(f"`{arg}` has shape {_shape(w)}, which doesn't fit the per-sample "
                         f"losses of shape {_shape(values)}")
    return w.reshape(_shape(w) + (1,) * (values.dim() - w.dim()))


def reduce_weighted(values: Tensor, sample_weight: Optional[Tensor] = None,
                    mask: Optional[Tensor] = None,
                    reduction: str = "sum_over_batch_size") -> Tensor:
    """Keras's ``reduce_weighted_values``: weights times mask, then the reduction."""
    if values.dim() == 0:  # a user function already reduced everything
        return values
    w = None if sample_weight is None else _expand_weights(sample_weight, values, "sample_weight")
    if mask is not None:
        m = _expand_weights(mask, values, "mask")
        if reduction == "sum_over_batch_size":
            # Each valid entry weighs total/valid, so the mean runs over valid entries only.
            m = m * (m.numel() / (m.sum() + EPSILON))
        w = m if w is None else w * m
    if w is not None:
        values = values * w
    if reduction == "none":
        return values
    total = torch.sum(values)
    return total if reduction == "sum" else total / max(values.numel(), 1)


# --- loss objects ------------------------------------------------------------------------
class Loss:
    """Base class. Subclasses implement ``call(y_true, y_pred)`` -> per-sample values.

    ``loss(y_true, y_pred, sample_weight=None, mask=None)`` returns the reduced
    loss (a 0-d tensor unless ``reduction="none"``). Note Keras's argument
    order: targets first (torch.nn's losses take the prediction first).
    """
    default_name = "loss"
    sparse_targets = False  # integer class ids instead of values shaped like y_pred

    def __init__(self, name: Optional[str] = None, reduction: str = "sum_over_batch_size"):
        if reduction not in REDUCTIONS:
            raise ValueError(f"`reduction` must be one of {list(REDUCTIONS)}, got {reduction!r}")
        self.name = name or self.default_name
        self.reduction = reduction

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, y_true, y_pred: Tensor, sample_weight=None, mask=None) -> Tensor:
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        if not self.sparse_targets:
            y_true = y_true.to(y_pred.dtype)
            y_true, y_pred = align(y_true, y_pred)
            _same_shape(y_true, y_pred, self.name)
        if sample_weight is not None:
            sample_weight = torch.as_tensor(sample_weight, device=y_pred.device)
        return reduce_weighted(self.call(y_true, y_pred), sample_weight, mask, self.reduction)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MeanSquaredError(Loss):
    default_name = "mean_squared_error"

    def call(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(Loss):
    default_name = "mean_absolute_error"

    def call(self, y_true, y_pred):
        return mean_absolute_error(y_true, y_pred)


class Huber(Loss):
    """Huber loss with threshold ``delta`` (default 1.0, as Keras)."""
    default_name = "huber_loss"

    def __init__(self, delta: float = 1.0, name: Optional[str] = None,
                 reduction: str = "sum_over_batch_size"):
        super().__init__(name, reduction)
        if not float(delta) > 0:
            raise ValueError(f"`delta` must be a positive number, got {delta!r}")
        self.delta = float(delta)

    def call(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class _Crossentropy(Loss):
    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 name: Optional[str] = None, reduction: str = "sum_over_batch_size"):
        super().__init__(name, reduction)
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"`label_smoothing` must lie in [0, 1], got {label_smoothing!r}")
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class BinaryCrossentropy(_Crossentropy):
    default_name = "binary_crossentropy"

    def call(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing)


class CategoricalCrossentropy(_Crossentropy):
    default_name = "categorical_crossentropy"

    def call(self, y_true, y_pred):
        return categorical_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing)


class SparseCategoricalCrossentropy(Loss):
    default_name = "sparse_categorical_crossentropy"
    sparse_targets = True

    def __init__(self, from_logits: bool = False, name: Optional[str] = None,
                 reduction: str = "sum_over_batch_size"):
        super().__init__(name, reduction)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


class LossFunctionWrapper(Loss):
    """A user function ``fn(y_true, y_pred)`` (Keras order) returning per-sample
    values or a scalar; or a torch.nn loss module, called as ``fn(y_pred, y_true)``."""

    def __init__(self, fn: Callable, name: Optional[str] = None,
                 reduction: str = "sum_over_batch_size"):
        super().__init__(name or getattr(fn, "__name__", type(fn).__name__), reduction)
        self.fn = fn

    def call(self, y_true, y_pred):
        if isinstance(self.fn, nn.Module):  # torch.nn losses take (input, target)
            return self.fn(y_pred, y_true)
        return self.fn(y_true, y_pred)


LOSSES: dict[str, Callable[[], Loss]] = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy, "cce": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "scce": SparseCategoricalCrossentropy,
}
_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, Huber,
                                    BinaryCrossentropy, CategoricalCrossentropy,
                                    SparseCategoricalCrossentropy)}


def get_loss(identifier) -> Loss:
    """A :class:`Loss` from a Keras name ("mse", "binary_crossentropy", ...), a
    ``{"class_name", "config"}`` dict, a Loss, or a callable."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier if identifier in LOSSES else identifier.lower()
        if key not in LOSSES:
            close = difflib.get_close_matches(identifier.lower(), list(LOSSES), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown `loss` {identifier!r}{hint} Known losses: "
                             f"{sorted(LOSSES)}")
        return LOSSES[key]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"`loss` must be a loss name, a rnnkit.losses.Loss or a callable, got "
                    f"{type(identifier).__name__} {identifier!r}")


def serialize_loss(loss: Loss) -> Optional[dict]:
    """JSON for a built-in loss; None for a user function (it can't be saved safely)."""
    if type(loss).__name__ in _CLASSES and type(loss) is _CLASSES[type(loss).__name__]:
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    return None
