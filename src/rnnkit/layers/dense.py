"""Keras 3's Dense layer: ``activation(x @ kernel + bias)`` on the last axis."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from rnnkit.layers.activations import get_activation
from rnnkit.layers.base import Layer, check_units, register_layer
from rnnkit.layers.initializers import get_initializer


@register_layer
class Dense(Layer):
    """A fully connected layer on the last axis, so (B, F) -> (B, units) and
    (B, T, F) -> (B, T, units) alike.

    Args:
        units: positive integer, the output size.
        activation: name or callable (default None: linear).
        use_bias: learn a bias (default True).
        kernel_initializer: default ``"glorot_uniform"``.
        bias_initializer: default ``"zeros"``.
        name, input_shape, trainable: as every layer.

    Weights: kernel (F, units), bias (units,), stored as Keras stores them.
    A mask passes through unchanged (Keras's supports_masking).

    Example::

        >>> Dense(1)(torch.zeros(4, 32)).shape
        torch.Size([4, 1])
    """

    _weight_roles = {"kernel": (("kernel",), False), "bias": (("bias",), False)}

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = check_units(units, "units")
        self.activation, self._act = get_activation(activation, "activation")
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        get_initializer(kernel_initializer, "kernel_initializer")
        get_initializer(bias_initializer, "bias_initializer")
        self.input_size: Optional[int] = None

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) < 1 or input_shape[-1] is None:
            raise ValueError(f"Dense needs inputs with a known last axis, got input_shape "
                             f"{tuple(input_shape)} without the batch axis")
        self.input_size = check_units(input_shape[-1], "input_shape[-1]")
        self.kernel = nn.Parameter(torch.empty(self.input_size, self.units))  # (F, units)
        self.bias = nn.Parameter(torch.empty(self.units)) if self.use_bias else None
        self.built = True
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.kernel.copy_(get_initializer(self.kernel_initializer, "kernel_initializer")(
                tuple(self.kernel.shape)))
            if self.bias is not None:
                self.bias.copy_(get_initializer(self.bias_initializer, "bias_initializer")(
                    (self.units,)))

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"`x` must be a torch.Tensor or numpy array, got {type(x).__name__}")
        if x.dim() < 2:
            raise ValueError(f"`x` must be at least 2-D (batch, features), got shape "
                             f"{tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"`x` has {x.shape[-1]} features (last axis) but the layer was "
                             f"built for {self.input_size}")
        x = x.to(self.kernel.dtype)
        y = x @ self.kernel  # (..., units)
        if self.bias is not None:
            y = y + self.bias
        return self._act(y)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-1]) + (self.units,)

    def compute_mask(self, x, mask: Optional[Tensor]) -> Optional[Tensor]:
        return mask

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(units=self.units, activation=self.activation, use_bias=self.use_bias,
                   kernel_initializer=self.kernel_initializer,
                   bias_initializer=self.bias_initializer)
        return cfg
