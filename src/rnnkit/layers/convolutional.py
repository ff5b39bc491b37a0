"""Keras 3's Conv1D: a 1-D convolution over the time axis of (B, T, C) inputs."""
from __future__ import annotations

from typing import Any, Optional

import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.layers._options import check_data_format, one_int
from rnnkit.layers.activations import get_activation
from rnnkit.layers.base import Layer, check_units, register_layer
from rnnkit.layers.initializers import get_initializer


def same_padding(length: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's (and Keras's) "same" padding: the output has ceil(T/stride) steps,
    the odd padded step goes to the right."""
    span = (kernel - 1) * dilation + 1
    out = -(-length // stride)
    total = max((out - 1) * stride + span - length, 0)
    return total // 2, total - total // 2


@register_layer
class Conv1D(Layer):
    """y[b, t, f] = activation(bias[f] + Σ_k Σ_c x[b, t·s + k·d, c] · kernel[k, c, f])

    (s = strides, d = dilation_rate; with ``groups`` > 1 each group of
    C/groups input channels feeds its own filters/groups filters.)

    Args:
        filters: number of output channels.
        kernel_size: int (or 1-tuple), the window length.
        strides: default 1.
        padding: ``"valid"`` (default), ``"same"`` (ceil(T/s) steps, TF's
            split) or ``"causal"`` (all padding on the left: y[t] sees x[≤t]).
        data_format: ``"channels_last"`` (default, (B, T, C)) or ``"channels_first"`` ((B, C, T)).
        dilation_rate: default 1. groups: default 1.
        activation: default None (linear). use_bias: default True.
        kernel_initializer: default ``"glorot_uniform"``; bias_initializer: default ``"zeros"``.

    Weights, in Keras's layout and order: kernel (k, C/groups, filters), bias (filters,).
    """

    _weight_roles = {"kernel": (("kernel",), False), "bias": (("bias",), False)}

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: Optional[str] = None, dilation_rate=1, groups: int = 1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = check_units(filters, "filters")
        self.kernel_size = one_int(kernel_size, "kernel_size", "Conv1D")
        self.strides = one_int(strides, "strides", "Conv1D")
        self.dilation_rate = one_int(dilation_rate, "dilation_rate", "Conv1D")
        self.groups = check_units(groups, "groups")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same", "causal"):
            raise ValueError(f"Conv1D: `padding` must be 'valid', 'same' or 'causal', got {padding!r}")
        self.padding = padding.lower()
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError("Conv1D: `strides` > 1 together with `dilation_rate` > 1 isn't "
                             f"supported (as in Keras), got {self.strides} and {self.dilation_rate}")
        if self.filters % self.groups:
            raise ValueError(f"Conv1D: `filters` ({self.filters}) must be divisible by `groups` "
                             f"({self.groups})")
        self.data_format = check_data_format(data_format, "Conv1D")
        self.activation, self._act = get_activation(activation, "activation")
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        get_initializer(kernel_initializer, "kernel_initializer")
        get_initializer(bias_initializer, "bias_initializer")

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 2:
            raise ValueError(f"Conv1D needs inputs of shape (T, C) without the batch axis, got "
                             f"{tuple(input_shape)}")
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[0]
        if channels is None or channels % self.groups:
            raise ValueError(f"Conv1D: the input's channel count ({channels}) must be known and "
                             f"divisible by `groups` ({self.groups})")
        self.channels = int(channels)
        shape = (self.kernel_size, self.channels // self.groups, self.filters)
        self.kernel = nn.Parameter(get_initializer(self.kernel_initializer, "kernel_initializer")(shape))
        self.bias = (nn.Parameter(get_initializer(self.bias_initializer, "bias_initializer")(
            (self.filters,))) if self.use_bias else None)
        self.built = True

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"Conv1D layer {self.name!r}: `x` must be 3-D (B, T, C), got shape "
                             f"{tuple(x.shape)}")
        x = x.to(self.kernel.dtype)
        if self.data_format == "channels_last":
            x = x.transpose(1, 2)  # (B, C, T)
        if x.shape[1] != self.channels:
            raise ValueError(f"Conv1D layer {self.name!r}: `x` has {x.shape[1]} channels but the "
                             f"layer was built for {self.channels}")
        if self.padding == "same":
            x = F.pad(x, same_padding(x.shape[-1], self.kernel_size, self.strides, self.dilation_rate))
        elif self.padding == "causal":
            x = F.pad(x, ((self.kernel_size - 1) * self.dilation_rate, 0))
        w = self.kernel.permute(2, 1, 0)  # (filters, C/groups, k): torch's layout
        y = F.conv1d(x, w, self.bias, stride=self.strides, dilation=self.dilation_rate,
                     groups=self.groups)  # (B, filters, T')
        if self.data_format == "channels_last":
            y = y.transpose(1, 2)  # (B, T', filters)
        return self._act(y)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        T = input_shape[0] if self.data_format == "channels_last" else input_shape[1]
        if T is not None:
            span = (self.kernel_size - 1) * self.dilation_rate + 1
            T = -(-T // self.strides) if self.padding == "same" else (
                (T - (span if self.padding == "valid" else 1)) // self.strides + 1)
        return (T, self.filters) if self.data_format == "channels_last" else (self.filters, T)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(filters=self.filters, kernel_size=[self.kernel_size], strides=[self.strides],
                   padding=self.padding, data_format=self.data_format,
                   dilation_rate=[self.dilation_rate], groups=self.groups,
                   activation=self.activation, use_bias=self.use_bias,
                   kernel_initializer=self.kernel_initializer,
                   bias_initializer=self.bias_initializer)
        return cfg
