"""Keras's weight constraints: a projection applied to a weight after each
optimizer step (``fit`` calls them, as Keras's optimizers do).

    MaxNorm(max_value=2, axis=0):  W ← W · clip(‖W‖, 0, m) / (ε + ‖W‖)
    NonNeg():                      W ← W · [W ≥ 0]
    UnitNorm(axis=0):              W ← W / (ε + ‖W‖)
    MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0):
                                   W ← W · (r · clip(‖W‖, lo, hi) + (1 − r) · ‖W‖) / (ε + ‖W‖)

‖W‖ is the L2 norm along ``axis`` (kept for broadcasting), ε = 1e-7 (Keras's
epsilon). ``axis=0`` means Keras's layout, where a Dense kernel is (in, out):
one norm per output unit. rnnkit stores recurrent kernels transposed; layers
apply constraints in Keras's layout (see ``Layer.apply_constraints``).
"""
from __future__ import annotations

import numbers

import torch
from torch import Tensor

from rnnkit.layers._identifiers import resolve

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get_constraint",
           "serialize_constraint"]

EPSILON = 1e-7  # keras.config.epsilon()


def _norm(w: Tensor, axis) -> Tensor:
    return torch.sqrt(torch.sum(w.square(), dim=axis, keepdim=True))


def _axis(axis):
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"`axis` must be an int or a list of ints, got {axis!r}")
    return int(axis)


class Constraint:
    def __call__(self, w: Tensor) -> Tensor:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Constraint":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Scale each slice along ``axis`` down to norm ``max_value`` when above it."""

    def __init__(self, max_value: float = 2.0, axis=0) -> None:
        if isinstance(max_value, bool) or not isinstance(max_value, numbers.Real) or max_value <= 0:
            raise ValueError(f"`max_value` must be a positive number, got {max_value!r}")
        self.max_value, self.axis = float(max_value), _axis(axis)

    def __call__(self, w: Tensor) -> Tensor:
        norms = _norm(w, self.axis)
        return w * (norms.clamp(0, self.max_value) / (EPSILON + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Set negative entries to 0."""

    def __call__(self, w: Tensor) -> Tensor:
        return w * (w >= 0).to(w.dtype)


class UnitNorm(Constraint):
    """Scale each slice along ``axis`` to norm 1."""

    def __init__(self, axis=0) -> None:
        self.axis = _axis(axis)

    def __call__(self, w: Tensor) -> Tensor:
        return w / (EPSILON + _norm(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keep each slice's norm in [min_value, max_value], moving it by ``rate``."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis=0) -> None:
        if not 0 <= min_value <= max_value:
            raise ValueError(f"`min_value` and `max_value` must satisfy 0 <= min_value <= "
                             f"max_value, got {min_value!r} and {max_value!r}")
        self.min_value, self.max_value = float(min_value), float(max_value)
        self.rate, self.axis = float(rate), _axis(axis)

    def __call__(self, w: Tensor) -> Tensor:
        norms = _norm(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


_CLASSES = {"MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm}
_NAMES = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
          "min_max_norm": MinMaxNorm}


def get_constraint(identifier, arg: str = "constraint"):
    """A Constraint from an object, a name (``"max_norm"``, ``"non_neg"``,
    ``"unit_norm"``, ``"min_max_norm"``), a Keras config dict, or a function
    ``fn(weight) -> weight``."""
    return resolve(identifier, arg, Constraint, "constraint", _NAMES, _CLASSES)


def serialize_constraint(con):
    if isinstance(con, Constraint) and type(con).__name__ in _CLASSES:
        return {"class_name": type(con).__name__, "config": con.get_config()}
    raise ValueError(f"constraint {con!r} is a function or custom class, which can't be saved "
                     "without pickle; use rnnkit.constraints.MaxNorm, NonNeg, UnitNorm or "
                     "MinMaxNorm")


def apply_all(model) -> None:
    """Apply every layer's constraints in ``model``."""
    for m in model.modules():
        apply = getattr(m, "apply_constraints", None)
        if apply is not None and m._all_constraints():
            apply()


def has_constraints(model) -> bool:
    return any(getattr(m, "_all_constraints", None) is not None and m._all_constraints()
               for m in model.modules())
