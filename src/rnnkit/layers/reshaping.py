"""Keras 3's shape-only layers: Flatten, RepeatVector, Reshape and Permute."""
from __future__ import annotations

import math
from typing import Any, Optional

from torch import Tensor

from rnnkit.layers.base import Layer, check_units, register_layer


@register_layer
class Flatten(Layer):
    """(B, d1, d2, ...) -> (B, d1·d2·...). Consumes any mask.

    Args:
        data_format: ``"channels_last"`` (default) or ``"channels_first"``, as Keras's:
            channels_first inputs (B, C, *S) are flattened in channels-last order
            (B, *S, C), so the result is the same for both layouts of one image.

    Example::

        >>> Flatten()(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 15])
    """

    def __init__(self, data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError("`data_format` must be 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        self.data_format = data_format or "channels_last"

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() < 1:
            raise ValueError("`x` must be a tensor with a batch axis")
        if self.data_format == "channels_first" and x.dim() > 2:
            x = x.permute(0, *range(2, x.dim()), 1)  # (B, C, *S) -> (B, *S, C)
        return x.reshape(x.shape[0], -1)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if any(s is None for s in input_shape):
            return (None,)
        return (math.prod(input_shape),)


@register_layer
class RepeatVector(Layer):
    """(B, F) -> (B, n, F): the input repeated n times along a new time axis,
    as the encoder-decoder idiom ``LSTM(...) -> RepeatVector(T) -> LSTM(...,
    return_sequences=True)`` needs.

    Args:
        n: positive integer, the number of repetitions.

    Example::

        >>> RepeatVector(3)(torch.zeros(2, 4)).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = check_units(n, "n")

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 2:
            raise ValueError("`x` must be 2-D (batch, features), got shape "
                             f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        return x.unsqueeze(1).expand(-1, self.n, -1)  # (B, n, F)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (self.n,) + tuple(input_shape)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["n"] = self.n
        return cfg


@register_layer
class Reshape(Layer):
    """(B, ...) -> (B, *target_shape); one entry of target_shape may be -1
    (inferred), as in Keras. Consumes any mask.

    Example::

        >>> Reshape((3, 4))(torch.zeros(2, 12)).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, target_shape, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = tuple(target_shape) if isinstance(target_shape, (list, tuple)) else None
        if not target or any(isinstance(d, bool) or not isinstance(d, int) or (d <= 0 and d != -1)
                             for d in target) or target.count(-1) > 1:
            raise ValueError("Received an invalid value for argument `target_shape`, expected a "
                             "tuple of positive ints with at most one -1, got "
                             f"{target_shape!r}")
        self.target_shape = target

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        n = math.prod(x.shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and n % known) or (-1 not in self.target_shape and n != known):
            raise ValueError(f"Reshape layer {self.name!r} can't reshape samples of shape "
                             f"{tuple(x.shape[1:])} ({n} values) to {self.target_shape}")
        return x.reshape(x.shape[0], *self.target_shape)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if -1 not in self.target_shape:
            return self.target_shape
        if any(d is None for d in input_shape):
            return tuple(None if d == -1 else d for d in self.target_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        return tuple(math.prod(input_shape) // known if d == -1 else d for d in self.target_shape)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["target_shape"] = list(self.target_shape)
        return cfg


@register_layer
class Permute(Layer):
    """Permute the non-batch axes: ``dims`` counts from 1, so ``Permute((2, 1))``
    swaps time and features: (B, T, F) -> (B, F, T). Consumes any mask."""

    def __init__(self, dims, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dims = tuple(dims) if isinstance(dims, (list, tuple)) else None
        if not dims or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Received an invalid value for argument `dims`, expected a "
                             "permutation of 1..n (the batch axis is 0 and not permuted), got "
                             f"{dims!r}")
        self.dims = dims

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if x.dim() != len(self.dims) + 1:
            raise ValueError(f"Permute layer {self.name!r} with dims={self.dims} needs "
                             f"{len(self.dims) + 1}-D inputs, got shape {tuple(x.shape)}")
        return x.permute(0, *self.dims)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[d - 1] for d in self.dims)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["dims"] = list(self.dims)
        return cfg
