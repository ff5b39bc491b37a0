"""Keras's weight regularizers: a penalty on a weight, added to the training loss.

    L1(l1):        penalty(W) = l1 · Σ|W|
    L2(l2):        penalty(W) = l2 · Σ W²
    L1L2(l1, l2):  penalty(W) = l1 · Σ|W| + l2 · Σ W²

Defaults as Keras 3: ``"l1"`` and ``"l2"`` mean a factor of 0.01, ``"l1_l2"``
0.01 each; ``L1L2()`` has both factors 0. The sums are over every entry, so
they don't depend on the layout a weight is stored in (rnnkit keeps recurrent
kernels in torch's layout; the penalty equals Keras's). A layer's
``activity_regularizer`` adds penalty(output) / batch size for each call, as
Keras 3 does. ``fit`` and ``evaluate`` add every layer's penalties to the loss
they train on and report, as Keras does.
"""
from __future__ import annotations

import numbers

from torch import Tensor

from rnnkit.layers._identifiers import resolve

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get_regularizer", "serialize_regularizer"]


def _factor(value, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{arg}` must be a non-negative float, got {type(value).__name__} "
                        f"{value!r}")
    if not value >= 0:
        raise ValueError(f"`{arg}` must be a non-negative float, got {value!r}")
    return float(value)


class Regularizer:
    """Base class: ``reg(weight)`` is a scalar penalty tensor."""

    def __call__(self, w: Tensor) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """penalty(W) = l1 · Σ|W| + l2 · Σ W² (default 0 for both, as Keras)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = _factor(l1, "l1"), _factor(l2, "l2")

    def __call__(self, w: Tensor) -> Tensor:
        out = w.new_zeros(())
        if self.l1:
            out = out + self.l1 * w.abs().sum()
        if self.l2:
            out = out + self.l2 * w.square().sum()
        return out

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """penalty(W) = l1 · Σ|W| (default l1 = 0.01, as Keras)."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    """penalty(W) = l2 · Σ W² (default l2 = 0.01, as Keras)."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
_NAMES = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01), "l1l2": lambda: L1L2(0.01, 0.01)}


def get_regularizer(identifier, arg: str = "regularizer"):
    """A Regularizer from an object, a name (``"l1"``, ``"l2"``, ``"l1_l2"``), a
    Keras config dict ``{"class_name": "L2", "config": {"l2": 0.01}}``, or a
    function ``fn(weight) -> scalar tensor``."""
    return resolve(identifier, arg, Regularizer, "regularizer", _NAMES, _CLASSES)


def serialize_regularizer(reg):
    """A Keras-style config dict; a plain function can't be saved (no pickle)."""
    if isinstance(reg, Regularizer) and type(reg).__name__ in _CLASSES:
        return {"class_name": type(reg).__name__, "config": reg.get_config()}
    raise ValueError(f"regularizer {reg!r} is a function or custom class, which can't be saved "
                     "without pickle; use rnnkit.regularizers.L1, L2 or L1L2")


def total_penalty(model) -> Tensor | None:
    """Sum of every layer's penalties in ``model`` (None when there are none): the
    weights' penalties and the activity penalties of the calls since
    :func:`clear_activity`."""
    total = None
    for m in model.modules():
        pairs = getattr(m, "_all_penalties", None)
        if pairs is None:
            continue
        terms = [reg(getattr(m, pname)) for pname, reg in pairs()] + list(m._activity_losses)
        for t in terms:
            total = t if total is None else total + t
    return total


def clear_activity(model) -> None:
    """Forget recorded activity penalties (before a forward whose loss counts)."""
    for m in model.modules():
        if getattr(m, "_activity_losses", None):
            m._activity_losses.clear()


def has_penalties(model) -> bool:
    return any(getattr(m, "_all_penalties", None) is not None and
               (m._all_penalties() or m.activity_regularizer is not None)
               for m in model.modules())
