"""Keras 3's TimeDistributed wrapper: one layer applied to every time step."""
from __future__ import annotations

import inspect
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from rnnkit.layers.base import Layer, layer_from_config, register_layer


@register_layer
class TimeDistributed(Layer):
    """Apply ``layer`` to each step of (B, T, ...) with the same weights.

    Keras loops over the steps; folding T into the batch, (B·T, ...), computes
    the same thing in one call for every layer that treats samples
    independently (Dense, Dropout, Flatten, Conv2D, MaxPooling2D, ...). The
    mask passes through to the next layer. A mask with per-step structure,
    (B, T, ...) such as (B, T, T2) for sequences of sequences, is also passed
    to the inner layer step by step, (B·T, ...), when its forward takes
    ``mask`` (as Keras passes ``mask[:, t]``); a (B, T) mask has one flag per
    step, which the inner layer has no use for.

    Args:
        layer: the layer to apply per step.
        name, input_shape, trainable: as every layer.

    Weights: the inner layer's.

    Example::

        >>> TimeDistributed(Dense(2))(torch.zeros(4, 5, 3)).shape
        torch.Size([4, 5, 2])
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise TypeError("Received an invalid value for argument `layer`, expected an "
                            f"rnnkit layer, got {type(layer).__name__}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) < 2:
            raise ValueError("TimeDistributed needs inputs of at least 3-D (batch, timesteps, "
                             f"...), got input_shape {tuple(input_shape)} without the batch axis")
        self.layer.maybe_build(tuple(input_shape[1:]))
        self.built = True

    def forward(self, x: Tensor, mask: Optional[Tensor] = None,
                training: Optional[bool] = None) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() < 3:
            raise ValueError("`x` must be at least 3-D (batch, timesteps, ...), got shape "
                             f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        B, T = x.shape[:2]
        kwargs = {} if training is None or not _takes(self.layer, "training") else {"training": training}
        if mask is not None:
            mask = torch.as_tensor(mask, device=x.device)
            if mask.dim() < 2 or tuple(mask.shape[:2]) != (B, T):
                raise ValueError(f"`mask` must start with the input's (batch, timesteps) = "
                                 f"{(B, T)}, got shape {tuple(mask.shape)}")
            if mask.dim() > 2 and _takes(self.layer, "mask"):
                kwargs["mask"] = mask.reshape(B * T, *mask.shape[2:])  # per-step masks
        y = self.layer(x.reshape(B * T, *x.shape[2:]), **kwargs)  # (B*T, ...)
        return y.reshape(B, T, *y.shape[1:])

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0],) + tuple(self.layer.compute_output_shape(tuple(input_shape[1:])))

    def compute_mask(self, x, mask: Optional[Tensor]) -> Optional[Tensor]:
        return mask

    def get_weights(self) -> list[np.ndarray]:
        return self.layer.get_weights()

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self.layer.set_weights(weights)

    def get_config(self) -> dict:
        cfg = super().get_config()
        inner = self.layer.get_config()
        cfg["layer"] = {"class_name": type(self.layer).__name__, "config": inner}
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "TimeDistributed":
        config = dict(config)
        config["layer"] = layer_from_config(config["layer"])
        return cls(**config)


def _takes(layer: Layer, arg: str) -> bool:
    return arg in inspect.signature(layer.forward).parameters
