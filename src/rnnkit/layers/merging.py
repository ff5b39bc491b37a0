"""Keras 3's merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate and Dot, with the lower-case helpers ``add([a, b])``, ...

Each takes a list of tensors (B, ...) and has no weights. The elementwise ones
broadcast as numpy does. Masks (B, T) combine as in Keras: the elementwise
merges and a concatenation along the features keep a step only where every
input's mask keeps it (inputs without a mask keep every step); a concatenation
along time joins the masks.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.layers.base import Layer, register_layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


class _Merge(Layer):
    """Elementwise merge of two or more tensors."""

    min_inputs, max_inputs = 2, None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def _check(self, inputs) -> list[Tensor]:
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{type(self).__name__} layer {self.name!r} must be called on a list "
                            f"of tensors, got {type(inputs).__name__}")
        n = len(inputs)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = (f"exactly {self.min_inputs}" if self.max_inputs == self.min_inputs
                    else f"at least {self.min_inputs}")
            raise ValueError(f"{type(self).__name__} layer {self.name!r} needs {want} inputs, "
                             f"got {n}")
        return [torch.as_tensor(t) for t in inputs]

    def build(self, input_shape) -> None:
        self.built = True

    def forward(self, inputs, mask=None) -> Tensor:
        xs = self._check(inputs)
        try:
            torch.broadcast_shapes(*[x.shape for x in xs])
        except RuntimeError:
            shapes = [tuple(x.shape[1:]) for x in xs]
            raise ValueError(f"{type(self).__name__} layer {self.name!r} needs inputs of "
                             f"compatible shapes, got {shapes} (without the batch axis)") from None
        return self._merge(xs)

    def _merge(self, xs: list[Tensor]) -> Tensor:
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None) -> Optional[Tensor]:
        if mask is None or all(m is None for m in mask):
            return None
        kept = [m.bool() for m in mask if m is not None]
        out = kept[0]
        for m in kept[1:]:
            out = out & m
        return out


@register_layer
class Add(_Merge):
    """Sum of the inputs."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


@register_layer
class Subtract(_Merge):
    """inputs[0] − inputs[1] (exactly two inputs)."""

    max_inputs = 2

    def _merge(self, xs):
        return xs[0] - xs[1]


@register_layer
class Multiply(_Merge):
    """Elementwise product of the inputs."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


@register_layer
class Average(_Merge):
    """Elementwise mean of the inputs."""

    def _merge(self, xs):
        return Add._merge(self, xs) / len(xs)


@register_layer
class Maximum(_Merge):
    """Elementwise maximum of the inputs."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = torch.maximum(out, x)
        return out


@register_layer
class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = torch.minimum(out, x)
        return out


@register_layer
class Concatenate(_Merge):
    """Join the inputs along ``axis`` (default -1, the features); every other
    axis must match."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int) or axis == 0:
            raise ValueError(f"Received an invalid value for argument `axis`, expected a "
                             f"non-zero int (0 is the batch axis), got {axis!r}")
        self.axis = axis

    def forward(self, inputs, mask=None) -> Tensor:
        xs = self._check(inputs)
        ranks = {x.dim() for x in xs}
        if len(ranks) != 1:
            raise ValueError(f"Concatenate layer {self.name!r} needs inputs of the same rank, got "
                             f"shapes {[tuple(x.shape[1:]) for x in xs]} (without the batch axis)")
        rank = ranks.pop()
        ax = self.axis % rank
        for x in xs[1:]:
            if any(a != b for k, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if k != ax):
                raise ValueError(f"Concatenate layer {self.name!r} (axis={self.axis}) needs "
                                 f"inputs that match except on the concatenation axis, got "
                                 f"shapes {[tuple(t.shape[1:]) for t in xs]} (without the "
                                 "batch axis)")
        dtype = torch.promote_types(xs[0].dtype, xs[-1].dtype)
        return torch.cat([x.to(dtype) for x in xs], dim=ax)

    def compute_mask(self, inputs, mask=None) -> Optional[Tensor]:
        if mask is None or all(m is None for m in mask):
            return None
        rank = torch.as_tensor(inputs[0]).dim()
        if rank >= 3 and self.axis % rank == 1:  # along time: the masks join
            full = [torch.ones(torch.as_tensor(x).shape[:2], dtype=torch.bool,
                               device=torch.as_tensor(x).device) if m is None else m.bool()
                    for x, m in zip(inputs, mask)]
            return torch.cat(full, dim=1)
        return super().compute_mask(inputs, mask)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["axis"] = self.axis
        return cfg


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    return F.normalize(x, p=2.0, dim=axis, eps=1e-12)


@register_layer
class Dot(_Merge):
    """Batched dot product of two tensors along ``axes`` (Keras's ``batch_dot``).

    Args:
        axes: an int (the same axis of both) or a pair; axes count the batch
            axis as 0, so for (B, F) inputs ``axes=1``; for (B, T, F) and (B, S, F)
            ``axes=2`` gives the (B, T, S) matrix of products.
        normalize: L2-normalise both along their axes first, giving the cosine
            similarity (default False).

    A (B,) result is returned as (B, 1), as in Keras.
    """

    max_inputs = 2

    def __init__(self, axes, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, int) and not isinstance(axes, bool) else axes
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or \
                not all(isinstance(a, int) and not isinstance(a, bool) for a in pair):
            raise ValueError(f"Received an invalid value for argument `axes`, expected an int or "
                             f"a pair of ints, got {axes!r}")
        self.axes = axes if isinstance(axes, int) else list(axes)
        self._pair = tuple(pair)
        self.normalize = bool(normalize)

    def forward(self, inputs, mask=None) -> Tensor:
        x, y = self._check(inputs)
        ax, ay = self._pair[0] % x.dim(), self._pair[1] % y.dim()
        if ax == 0 or ay == 0:
            raise ValueError(f"Dot layer {self.name!r}: `axes` can't be the batch axis 0, got "
                             f"{self.axes!r}")
        if x.shape[ax] != y.shape[ay]:
            raise ValueError(f"Dot layer {self.name!r} needs equal sizes on the dot axes, got "
                             f"{x.shape[ax]} (axis {ax} of {tuple(x.shape)}) and {y.shape[ay]} "
                             f"(axis {ay} of {tuple(y.shape)})")
        if self.normalize:
            x, y = _l2_normalize(x, ax), _l2_normalize(y, ay)
        B = x.shape[0]
        xm = x.movedim(ax, -1)  # (B, X..., K)
        ym = y.movedim(ay, 1)  # (B, K, Y...)
        xs, ys = xm.shape[1:-1], ym.shape[2:]
        # (B, X, K) @ (B, K, Y) -> (B, X, Y)
        out = torch.bmm(xm.reshape(B, -1, xm.shape[-1]), ym.reshape(B, ym.shape[1], -1))
        out = out.reshape(B, *xs, *ys)
        return out.reshape(B, 1) if out.dim() == 1 else out

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(axes=self.axes, normalize=self.normalize)
        return cfg


def _helper(cls):
    def fn(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = f"``{cls.__name__}(**kwargs)(inputs)``, Keras's functional shortcut."
    return fn


add, subtract, multiply = _helper(Add), _helper(Subtract), _helper(Multiply)
average, maximum, minimum = _helper(Average), _helper(Maximum), _helper(Minimum)
concatenate = _helper(Concatenate)


def dot(inputs, axes=-1, **kwargs):
    """``Dot(axes, **kwargs)(inputs)``, Keras's functional shortcut."""
    return Dot(axes=axes, **kwargs)(inputs)
