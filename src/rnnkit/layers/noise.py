"""Keras 3's SpatialDropout1D (Tompson et al. 2015) and GaussianNoise: regularisers
active only while training (``train()`` or ``training=True``), the identity otherwise."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from rnnkit.layers.base import Layer, register_layer
from rnnkit.layers.dropout import Dropout


@register_layer
class SpatialDropout1D(Dropout):
    """Drop whole channels: one keep mask per (sample, channel), shared by every step.

        y[b, t, c] = x[b, t, c] · keep[b, c] / (1 − rate),  keep ~ Bernoulli(1 − rate)

    Args: rate in [0, 1); seed (default None). Input (B, T, C). A mask passes through.
    """

    def __init__(self, rate: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        kwargs.pop("noise_shape", None)  # fixed: (B, 1, C)
        super().__init__(rate, noise_shape=None, seed=seed, **kwargs)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None,
                training: Optional[bool] = None) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"SpatialDropout1D layer {self.name!r}: `x` must be 3-D (B, T, C), "
                             f"got shape {tuple(x.shape)}")
        self.noise_shape = [None, 1, None]
        try:
            return super().forward(x, mask, training)
        finally:
            self.noise_shape = None

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.pop("noise_shape", None)
        return cfg


@register_layer
class GaussianNoise(Layer):
    """y = x + ε, ε ~ N(0, stddev²) elementwise, while training.

    Args: stddev ≥ 0; seed (default None). A mask passes through.
    """

    def __init__(self, stddev: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float, np.floating)):
            raise TypeError(f"Received an invalid value for argument `stddev`, expected a float, "
                            f"got {stddev!r}")
        if stddev < 0:
            raise ValueError(f"Received an invalid value for argument `stddev`, expected a "
                             f"non-negative float, got {stddev}")
        self.stddev = float(stddev)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"GaussianNoise: `seed` must be an integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._gen = None if seed is None else torch.Generator().manual_seed(self.seed)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None,
                training: Optional[bool] = None) -> Tensor:
        training = self.training if training is None else bool(training)
        if not training or self.stddev == 0:
            return x
        noise = torch.randn(x.shape, generator=self._gen, dtype=x.dtype).to(x.device)
        return x + self.stddev * noise

    def compute_mask(self, x, mask: Optional[Tensor]) -> Optional[Tensor]:
        return mask

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(stddev=self.stddev, seed=self.seed)
        return cfg
