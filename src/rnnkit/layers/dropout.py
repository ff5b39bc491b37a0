"""Keras 3's Dropout layer (Srivastava et al. 2014), inverted: kept units scale by 1/(1−rate)."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from rnnkit.layers.base import Layer, check_rate, register_layer


@register_layer
class Dropout(Layer):
    """Zero each input unit with probability ``rate`` while training.

    Args:
        rate: in [0, 1).
        noise_shape: shape of the keep mask, broadcast over x; None entries
            take x's size, e.g. ``(None, 1, None)`` drops the same features at
            every time step (default None: x's shape).
        seed: seeds the masks (default None: torch's global generator).
        name, input_shape, trainable: as every layer.

    Active when the layer is in training mode (``train()``) or called with
    ``training=True``; the identity otherwise. A mask passes through.
    """

    def __init__(self, rate: float, noise_shape: Optional[Sequence[Optional[int]]] = None,
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = check_rate(rate, "rate")
        self.noise_shape = None if noise_shape is None else [
            None if s is None else int(s) for s in noise_shape]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"Received an invalid value for argument `seed`, expected an integer "
                            f"or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._generator = None if seed is None else torch.Generator().manual_seed(self.seed)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None,
                training: Optional[bool] = None) -> Tensor:
        training = self.training if training is None else bool(training)
        if not training or self.rate == 0.0:
            return x
        shape = tuple(x.shape)
        if self.noise_shape is not None:
            if len(self.noise_shape) != x.dim():
                raise ValueError(f"`noise_shape` {self.noise_shape} must have one entry per axis "
                                 f"of `x`, whose shape is {shape}")
            shape = tuple(n if s is None else s for s, n in zip(self.noise_shape, x.shape))
        keep = torch.bernoulli(torch.full(shape, 1.0 - self.rate, dtype=x.dtype),
                               generator=self._generator).to(x.device)
        return x * keep / (1.0 - self.rate)

    def compute_mask(self, x, mask: Optional[Tensor]) -> Optional[Tensor]:
        return mask

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return cfg
