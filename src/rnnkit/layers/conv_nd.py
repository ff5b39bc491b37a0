"""Keras 3's Conv2D, Conv3D and Conv2DTranspose: the per-frame layers of video models.

Inputs (B, *S, C) with ``data_format="channels_last"`` (Keras's default) or
(B, C, *S). Weights in Keras's layout: Conv kernel (*k, C, F), Conv…Transpose
kernel (*k, F, C), then bias (F,); stored in torch's conv layout. "same"
padding is Keras's (TensorFlow's): output ⌈S / stride⌉, an odd padding's extra
pixel at the end (:func:`rnnkit.cells.conv_base.same_pads`).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.cells.conv_base import (CONV_T, DATA_FORMATS, PADDINGS, as_tuple, check_choice,
                                    conv_nd, conv_out_size)
from rnnkit.layers._options import pop_defaults
from rnnkit.layers.activations import get_activation
from rnnkit.layers.base import Layer, check_units, register_layer
from rnnkit.layers.spatial import channels_back, channels_first, keras_name
from rnnkit.layers.initializers import get_initializer


def check_data_format(data_format: Optional[str]) -> str:
    return check_choice(data_format or "channels_last", DATA_FORMATS, "data_format")


def check_spatial_input(layer: Layer, x, rank: int) -> Tensor:
    """x must be (B, *S, C) / (B, C, *S) with ``rank`` spatial dimensions."""
    if not isinstance(x, Tensor):
        raise TypeError(f"`x` must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if x.dim() != rank + 2:
        raise ValueError(f"`x` for {type(layer).__name__} must be {rank + 2}-D (batch, {rank} "
                         f"spatial dims, channels), got {x.dim()}-D with shape {tuple(x.shape)}")
    return x


class _Conv(Layer):
    rank = 0
    transpose = False
    # Regularizers and constraints by role; "conv": stored in torch's conv layout.
    _weight_roles = {"kernel": (("kernel",), "conv"), "bias": (("bias",), False)}

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: Optional[str] = None, dilation_rate=1, activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs: Any) -> None:
        # Keras's own arguments that rnnkit takes at their defaults only (named if not).
        pop_defaults(type(self).__name__, kwargs,
                     {"output_padding": None} if self.transpose else {"groups": 1})
        super().__init__(**keras_name(type(self), kwargs))
        r = self.rank
        self.filters = check_units(filters, "filters")
        self.kernel_size = as_tuple(kernel_size, r, "kernel_size")
        self.strides = as_tuple(strides, r, "strides")
        self.padding = check_choice(padding, PADDINGS, "padding")
        self.data_format = check_data_format(data_format)
        self.dilation_rate = as_tuple(dilation_rate, r, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"`strides` > 1 is not compatible with `dilation_rate` > 1 (as in "
                             f"Keras), got strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}")
        self.activation, self._act = get_activation(activation, "activation")
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        get_initializer(kernel_initializer, "kernel_initializer")
        get_initializer(bias_initializer, "bias_initializer")
        self.input_channels: Optional[int] = None

    def _channels(self, shape: tuple) -> Optional[int]:
        return shape[0] if self.data_format == "channels_first" else shape[-1]

    def build(self, input_shape: tuple) -> None:
        name, r = type(self).__name__, self.rank
        if len(input_shape) != r + 1 or self._channels(input_shape) is None:
            raise ValueError(f"{name} expects inputs of rank {r + 2} (batch, {r} spatial dims, "
                             f"channels) with known channels; got input_shape "
                             f"{tuple(input_shape)} without the batch axis")
        C = self.input_channels = check_units(self._channels(input_shape), "channels")
        # torch's layouts: conv (F, C, *k), transposed conv (C, F, *k)
        shape = (C, self.filters) if self.transpose else (self.filters, C)
        self.kernel = nn.Parameter(torch.empty(shape + self.kernel_size))
        self.bias = nn.Parameter(torch.empty(self.filters)) if self.use_bias else None
        self.built = True
        self.reset_parameters()

    def _keras_kernel_shape(self) -> tuple:
        C, Fo = self.input_channels, self.filters
        return self.kernel_size + ((Fo, C) if self.transpose else (C, Fo))

    def reset_parameters(self) -> None:
        arrays = [get_initializer(self.kernel_initializer, "kernel_initializer")(
            self._keras_kernel_shape())]
        if self.use_bias:
            arrays.append(get_initializer(self.bias_initializer, "bias_initializer")(
                (self.filters,)))
        self.set_weights([np.asarray(a) for a in arrays])

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        x = channels_first(check_spatial_input(self, x, self.rank), self.data_format, 1)
        if x.shape[1] != self.input_channels:
            raise ValueError(f"`x` has {x.shape[1]} channels but the layer was built for "
                             f"{self.input_channels} ({self.data_format})")
        y = self._conv(x.to(self.kernel.dtype))  # (B, F, *S')
        return channels_back(self._act(y), self.data_format, 1)

    def _conv(self, x: Tensor) -> Tensor:
        return conv_nd(x, self.kernel, self.bias, stride=self.strides, padding=self.padding,
                       dilation=self.dilation_rate)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        S = (input_shape[1:] if self.data_format == "channels_first" else input_shape[:-1])
        S = tuple(self._out(n, i) for i, n in enumerate(S))
        return (self.filters,) + S if self.data_format == "channels_first" else S + (self.filters,)

    def _out(self, n: int, i: int) -> int:
        return conv_out_size(n, self.kernel_size[i], self.strides[i], self.padding,
                             self.dilation_rate[i])

    def get_weights(self) -> list[np.ndarray]:
        if not self.built:
            return []
        r = self.rank
        # torch (A, B, *k) -> Keras (*k, B, A): conv (F, C, *k) -> (*k, C, F), and the
        # transposed conv's (C, F, *k) -> (*k, F, C).
        out = [self.kernel.permute(list(range(2, r + 2)) + [1, 0])]
        if self.bias is not None:
            out.append(self.bias)
        return [t.detach().cpu().numpy().copy() for t in out]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self._check_built_for("set_weights")
        params = [self.kernel] + ([self.bias] if self.bias is not None else [])
        if len(weights) != len(params):
            raise ValueError(f"`weights` for layer {self.name!r} must hold {len(params)} arrays, "
                             f"got {len(weights)}")
        r = self.rank
        k = torch.as_tensor(np.asarray(weights[0]))
        if tuple(k.shape) != self._keras_kernel_shape():
            raise ValueError(f"`weights` for layer {self.name!r}: expected kernel shape "
                             f"{self._keras_kernel_shape()}, got {tuple(k.shape)}")
        arrays = [k.permute([r + 1, r] + list(range(r)))]
        if self.bias is not None:
            b = torch.as_tensor(np.asarray(weights[1]))
            if tuple(b.shape) != (self.filters,):
                raise ValueError(f"`weights` for layer {self.name!r}: expected bias shape "
                                 f"{(self.filters,)}, got {tuple(b.shape)}")
            arrays.append(b)
        with torch.no_grad():
            for p, a in zip(params, arrays):
                p.copy_(a.to(p.dtype))

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(filters=self.filters, kernel_size=list(self.kernel_size),
                   strides=list(self.strides), padding=self.padding,
                   data_format=self.data_format, dilation_rate=list(self.dilation_rate),
                   activation=self.activation, use_bias=self.use_bias,
                   kernel_initializer=self.kernel_initializer,
                   bias_initializer=self.bias_initializer)
        return cfg


@register_layer
class Conv2D(_Conv):
    """2-D convolution, as Keras 3's: ``activation(kernel ⋆ x + bias)``.

    Args:
        filters: output channels F. kernel_size: int or (kh, kw).
        strides: default 1. padding: ``"valid"`` (default) or ``"same"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: default 1 (not with strides > 1). activation: default None (linear).
        use_bias: default True. kernel_initializer: default ``"glorot_uniform"``.
        bias_initializer: default ``"zeros"``. name, input_shape, trainable: as every layer.
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
        bias_constraint: as Keras's (default None); constraints see Keras's layout.
        groups: only 1 (Keras's default) is supported; Conv2DTranspose's
        output_padding only None.

    Weights: kernel (kh, kw, C, F), bias (F,).

    Example::

        >>> Conv2D(8, 3, padding="same")(torch.zeros(2, 16, 16, 1)).shape
        torch.Size([2, 16, 16, 8])
    """

    rank = 2


@register_layer
class Conv3D(_Conv):
    """3-D convolution, as Keras 3's; inputs (B, D, H, W, C). Arguments as :class:`Conv2D`;
    weights kernel (kd, kh, kw, C, F), bias (F,)."""

    rank = 3


@register_layer
class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution (the gradient of Conv2D with respect to its input),
    as Keras 3's. With ``padding="same"`` the output is S·stride; with ``"valid"``
    (S − 1)·stride + max(k', stride), k' = (k − 1)·dilation + 1. Arguments as
    :class:`Conv2D`; weights kernel (kh, kw, F, C), bias (F,).

    Example::

        >>> Conv2DTranspose(4, 3, strides=2, padding="same")(torch.zeros(1, 8, 8, 2)).shape
        torch.Size([1, 16, 16, 4])
    """

    rank = 2
    transpose = True

    def _pads(self, i: int) -> tuple[int, int]:
        """Keras's (left, right) padding of the dilated-input view (JAX's convention,
        keras/src/backend/common/backend_utils.py); the full output is then cropped."""
        k = (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1
        s = self.strides[i]
        if self.padding == "valid":
            return k - 1, k - 1 + max(k, s) - k
        total = s + k - 2
        left = min(total // 2 + total % 2, k - 1)
        return left, total - left

    def _conv(self, x: Tensor) -> Tensor:
        full = CONV_T[self.rank](x, self.kernel, None, stride=self.strides,
                                 dilation=self.dilation_rate)  # (B, F, (S-1)s + k')
        # Keep the window Keras keeps: crop (k' − 1) − pad on each side (negative: zero-pad).
        flat = []
        for i in reversed(range(self.rank)):
            k = (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1
            lo, hi = self._pads(i)
            flat += [lo - (k - 1), hi - (k - 1)]
        y = F.pad(full, flat)
        if self.bias is not None:  # after the crop, so zero-padded margins hold it too
            y = y + self.bias.view((1, -1) + (1,) * self.rank)
        return y

    def _out(self, n: int, i: int) -> int:
        k = (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1
        lo, hi = self._pads(i)
        return (n - 1) * self.strides[i] + 1 + lo + hi - (k - 1)
