"""Keras 3's streaming metrics: accumulate over the batches of an epoch, then
``result()``.

A :class:`MeanMetricWrapper` computes per-sample values with a function that
reduces the last axis (as the losses do) and keeps their weighted mean::

    total += sum(values * w);  count += sum(w)      # w = sample weights x mask, or 1
    result = total / count

:class:`RootMeanSquaredError` is ``sqrt`` of the mean of the elementwise
squared errors. Sums are kept in float64 Python numbers so long epochs don't
lose precision.

``"accuracy"`` is resolved as Keras does (``keras/src/trainers/compile_utils.py``):
binary accuracy (threshold 0.5) when the model outputs one value per sample,
sparse categorical accuracy when ``y`` holds class ids (one axis fewer than the
output, or a last axis of 1 against several outputs), categorical accuracy
otherwise. The loss decides first when it says which kind of targets it takes
(binary / categorical / sparse categorical crossentropy), as Keras 2 did, so a
multi-label model trained with binary crossentropy gets binary accuracy.
"""
from __future__ import annotations

import difflib
import math
from typing import Callable, Optional

import torch
from torch import Tensor

from rnnkit.training.losses import align, mean_absolute_error, mean_squared_error

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "MeanSquaredError", "MeanAbsoluteError",
           "RootMeanSquaredError", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "Accuracy", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "get_metric"]


def binary_accuracy(y_true: Tensor, y_pred: Tensor, threshold: float = 0.5) -> Tensor:
    y_true, y_pred = align(y_true, y_pred)
    return torch.mean((y_true == (y_pred > threshold).to(y_true.dtype)).to(y_pred.dtype), dim=-1)


def categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return (torch.argmax(y_true, dim=-1) == torch.argmax(y_pred, dim=-1)).to(y_pred.dtype)


def sparse_categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_true.long() == torch.argmax(y_pred, dim=-1)).to(y_pred.dtype)


class Metric:
    """Base class: ``reset_state()``, ``update_state(y_true, y_pred, sample_weight=None,
    mask=None)``, ``result()`` -> float. ``direction`` is "up" when larger is better."""
    direction = "down"
    default_name = "metric"

    def __init__(self, name: Optional[str] = None) -> None:
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self) -> None:
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """Weighted mean of the values given to :meth:`update_values`."""
    default_name = "mean"

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_values(self, values: Tensor, weights: Optional[Tensor] = None) -> None:
        values = values.detach()
        if weights is None or values.dim() == 0:
            self.total += float(values.double().sum())
            self.count += values.numel()
            return
        w = weights.detach().to(values.device, torch.float64)
        w = w.reshape(tuple(w.shape) + (1,) * (values.dim() - w.dim()))
        w = torch.broadcast_to(w, values.shape)
        self.total += float((values.double() * w).sum())
        self.count += float(w.sum())

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")


def _weights(values: Tensor, sample_weight, mask) -> Optional[Tensor]:
    w = None
    for extra in (sample_weight, mask):
        if extra is None:
            continue
        extra = torch.as_tensor(extra, device=values.device).to(torch.float64)
        while extra.dim() > values.dim() and extra.shape[-1] == 1:
            extra = extra.squeeze(-1)
        extra = extra.reshape(tuple(extra.shape) + (1,) * (values.dim() - extra.dim()))
        w = extra if w is None else w * extra
    return w


class MeanMetricWrapper(Mean):
    """Mean of ``fn(y_true, y_pred)``'s per-sample values (Keras argument order)."""

    def __init__(self, fn: Callable, name: Optional[str] = None, direction: str = "down",
                 float_targets: bool = True) -> None:
        self.fn = fn
        self.direction = direction
        self.float_targets = float_targets
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def update_state(self, y_true, y_pred: Tensor, sample_weight=None, mask=None) -> None:
        y_pred = y_pred.detach()
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        if self.float_targets:
            y_true = y_true.to(y_pred.dtype)
        values = torch.as_tensor(self.fn(y_true, y_pred))
        self.update_values(values, _weights(values, sample_weight, mask))


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_squared_error"):
        super().__init__(lambda t, p: mean_squared_error(*align(t, p)), name)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_error"):
        super().__init__(lambda t, p: mean_absolute_error(*align(t, p)), name)


class RootMeanSquaredError(Mean):
    """sqrt(weighted mean of (y_pred - y_true)² over every element seen)."""
    default_name = "root_mean_squared_error"

    def update_state(self, y_true, y_pred: Tensor, sample_weight=None, mask=None) -> None:
        y_pred = y_pred.detach()
        y_true, y_pred = align(torch.as_tensor(y_true, device=y_pred.device).to(y_pred.dtype),
                               y_pred)
        sq = torch.square(y_pred - y_true)
        self.update_values(sq, _weights(sq, sample_weight, mask))

    def result(self) -> float:
        return math.sqrt(super().result())


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "binary_accuracy", threshold: float = 0.5):
        super().__init__(lambda t, p: binary_accuracy(t, p, threshold), name, direction="up")


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "categorical_accuracy"):
        super().__init__(categorical_accuracy, name, direction="up")


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_accuracy, name, direction="up",
                         float_targets=False)


class Accuracy(Metric):
    """Keras's ``"accuracy"``: picks binary / categorical / sparse categorical
    accuracy on the first batch (from the loss, else from the shapes)."""
    direction = "up"
    default_name = "accuracy"

    def __init__(self, name: str = "accuracy", loss_name: Optional[str] = None) -> None:
        self.loss_name = loss_name
        self.inner: Optional[MeanMetricWrapper] = None
        super().__init__(name)

    def reset_state(self) -> None:
        if self.inner is not None:
            self.inner.reset_state()

    def _choose(self, y_true: Tensor, y_pred: Tensor) -> MeanMetricWrapper:
        by_loss = {"binary_crossentropy": BinaryAccuracy,
                   "categorical_crossentropy": CategoricalAccuracy,
                   "sparse_categorical_crossentropy": SparseCategoricalAccuracy}
        if self.loss_name in by_loss:
            return by_loss[self.loss_name](self.name)
        if y_pred.shape[-1] == 1:
            return BinaryAccuracy(self.name)
        if y_true.dim() < y_pred.dim() or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1):
            return SparseCategoricalAccuracy(self.name)
        return CategoricalAccuracy(self.name)

    def update_state(self, y_true, y_pred: Tensor, sample_weight=None, mask=None) -> None:
        y_true = torch.as_tensor(y_true)
        if self.inner is None:
            self.inner = self._choose(y_true, y_pred)
        self.inner.update_state(y_true, y_pred, sample_weight, mask)

    def result(self) -> float:
        return self.inner.result() if self.inner is not None else float("nan")


_BY_NAME: dict[str, Callable[[str, Optional[str]], Metric]] = {
    "accuracy": lambda n, loss: Accuracy(n, loss), "acc": lambda n, loss: Accuracy(n, loss),
    "binary_accuracy": lambda n, loss: BinaryAccuracy(n),
    "categorical_accuracy": lambda n, loss: CategoricalAccuracy(n),
    "sparse_categorical_accuracy": lambda n, loss: SparseCategoricalAccuracy(n),
    "mse": lambda n, loss: MeanSquaredError(n), "mean_squared_error": lambda n, loss: MeanSquaredError(n),
    "mae": lambda n, loss: MeanAbsoluteError(n),
    "mean_absolute_error": lambda n, loss: MeanAbsoluteError(n),
    "rmse": lambda n, loss: RootMeanSquaredError(n),
    "root_mean_squared_error": lambda n, loss: RootMeanSquaredError(n),
}
METRIC_NAMES = tuple(_BY_NAME)


def get_metric(identifier, loss_name: Optional[str] = None) -> Metric:
    """A fresh :class:`Metric` from a name (the name becomes its key in the logs,
    as in Keras: ``metrics=["mae"]`` logs ``"mae"`` and ``"val_mae"``), a Metric,
    or a function ``fn(y_true, y_pred)`` -> per-sample values."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            close = difflib.get_close_matches(key, list(_BY_NAME), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown metric {identifier!r} in `metrics`{hint} Known metrics: "
                             f"{sorted(_BY_NAME)}")
        return _BY_NAME[key](identifier, loss_name)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"each entry of `metrics` must be a metric name, a rnnkit.metrics.Metric or "
                    f"a function, got {type(identifier).__name__} {identifier!r}")
