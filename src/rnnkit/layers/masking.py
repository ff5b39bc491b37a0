"""Keras 3's Masking layer: steps whose features all equal ``mask_value`` are padding."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from rnnkit.layers.base import Layer, register_layer


@register_layer
class Masking(Layer):
    """Mark padding steps of a (B, T, F) series for the layers after it.

    A step is valid when any of its features differs from ``mask_value``:
    ``mask = any(x != mask_value, axis=-1)``, shape (B, T). The output is x
    with the padding steps set to zero, as Keras's.

    Args:
        mask_value: the padding value (default 0.0).
        name, input_shape, trainable: as every layer.

    Example::

        >>> x = torch.tensor([[[1.0], [0.0]]])
        >>> Masking().compute_mask(x, None)
        tensor([[ True, False]])
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise TypeError("Received an invalid value for argument `mask_value`, expected a "
                            f"number, got {mask_value!r} ({type(mask_value).__name__})")
        self.mask_value = float(mask_value)

    def _keep(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() < 2:
            raise ValueError("`x` must be a tensor of at least 2-D (batch, ..., features), got "
                             f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        return (x != self.mask_value).any(dim=-1)  # (B, T)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        keep = self._keep(x).unsqueeze(-1)  # (B, T, 1)
        return torch.where(keep, x, torch.zeros((), dtype=x.dtype, device=x.device))

    def compute_mask(self, x, mask: Optional[Tensor] = None) -> Tensor:
        return self._keep(torch.as_tensor(x))

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["mask_value"] = self.mask_value
        return cfg
