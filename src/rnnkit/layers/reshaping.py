"""Keras 3's shape-only layers: Flatten and RepeatVector."""
from __future__ import annotations

import math
from typing import Any, Optional

from torch import Tensor

from rnnkit.layers.base import Layer, check_units, register_layer


@register_layer
class Flatten(Layer):
    """(B, d1, d2, ...) -> (B, d1·d2·...). Consumes any mask.

    Example::

        >>> Flatten()(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 15])
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() < 1:
            raise ValueError("`x` must be a tensor with a batch axis")
        return x.reshape(x.shape[0], -1)

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
