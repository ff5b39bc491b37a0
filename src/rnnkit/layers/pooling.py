"""Keras 3's 1-D pooling layers: MaxPooling1D, AveragePooling1D (windows along
time) and GlobalAveragePooling1D, GlobalMaxPooling1D (the whole time axis)."""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.layers._options import check_data_format, one_int
from rnnkit.layers.base import Layer, register_layer
from rnnkit.layers.convolutional import same_padding


class _Pooling1D(Layer):
    """Windows of ``pool_size`` steps every ``strides`` steps (default: pool_size).
    padding ``"valid"`` drops the steps past the last whole window; ``"same"``
    pads (TF's split) to ceil(T/strides) windows, and padded steps never count:
    max ignores them, average divides by the number of real steps."""

    _reduce = ""

    def __init__(self, pool_size=2, strides=None, padding: str = "valid",
                 data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = one_int(pool_size, "pool_size", cls)
        self.strides = self.pool_size if strides is None else one_int(strides, "strides", cls)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{cls}: `padding` must be 'valid' or 'same', got {padding!r}")
        self.padding = padding.lower()
        self.data_format = check_data_format(data_format, cls)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: `x` must be 3-D, got "
                             f"shape {tuple(x.shape)}")
        if self.data_format == "channels_last":
            x = x.transpose(1, 2)  # (B, C, T)
        left, right = (same_padding(x.shape[-1], self.pool_size, self.strides, 1)
                       if self.padding == "same" else (0, 0))
        if self._reduce == "max":
            xp = F.pad(x, (left, right), value=float("-inf"))
            y = F.max_pool1d(xp, self.pool_size, self.strides)
        else:
            xp = F.pad(x, (left, right))
            ones = F.pad(torch.ones_like(x[:1, :1]), (left, right))  # 1 = a real step
            y = (F.avg_pool1d(xp, self.pool_size, self.strides)
                 / F.avg_pool1d(ones, self.pool_size, self.strides))
        return y.transpose(1, 2) if self.data_format == "channels_last" else y

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        t_axis = 0 if self.data_format == "channels_last" else 1
        T = input_shape[t_axis]
        if T is not None:
            T = -(-T // self.strides) if self.padding == "same" else (
                (T - self.pool_size) // self.strides + 1)
        out = list(input_shape)
        out[t_axis] = T
        return tuple(out)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(pool_size=[self.pool_size], strides=[self.strides], padding=self.padding,
                   data_format=self.data_format)
        return cfg


@register_layer
class MaxPooling1D(_Pooling1D):
    """y[b, t, c] = max over the window of x[b, t·s + k, c]. Args: pool_size=2,
    strides=None (= pool_size), padding="valid", data_format=None (channels_last)."""
    _reduce = "max"


@register_layer
class AveragePooling1D(_Pooling1D):
    """y[b, t, c] = mean over the window's real steps of x[b, t·s + k, c]. Args:
    pool_size (required, as in Keras), strides=None (= pool_size), padding="valid",
    data_format=None."""
    _reduce = "avg"

    def __init__(self, pool_size, strides=None, padding: str = "valid",
                 data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling1D(Layer):
    def __init__(self, data_format: Optional[str] = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def _time_axis(self) -> int:
        return 1 if self.data_format == "channels_last" else 2

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        t = self._time_axis() - 1
        if self.keepdims:
            return tuple(1 if k == t else d for k, d in enumerate(input_shape))
        return tuple(d for k, d in enumerate(input_shape) if k != t)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(data_format=self.data_format, keepdims=self.keepdims)
        return cfg


@register_layer
class GlobalAveragePooling1D(_GlobalPooling1D):
    """y[b, c] = Σ_t m[b, t] x[b, t, c] / Σ_t m[b, t]  (m = the mask; all ones without one).

    Args: data_format=None (channels_last: (B, T, C) -> (B, C)), keepdims=False.
    """

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        axis = self._time_axis()
        if mask is None:
            return x.mean(dim=axis, keepdim=self.keepdims)
        m = mask.to(x.dtype).unsqueeze(-1 if axis == 1 else 1)  # (B, T, 1) or (B, 1, T)
        return (x * m).sum(dim=axis, keepdim=self.keepdims) / m.sum(dim=axis, keepdim=self.keepdims)


@register_layer
class GlobalMaxPooling1D(_GlobalPooling1D):
    """y[b, c] = max_t x[b, t, c]; as Keras's, it ignores a mask.

    Args: data_format=None (channels_last: (B, T, C) -> (B, C)), keepdims=False.
    """

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        return x.amax(dim=self._time_axis(), keepdim=self.keepdims)


@register_layer
class UpSampling1D(Layer):
    """Repeat each time step ``size`` times: (B, T, C) -> (B, size·T, C). Args: size=2."""

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = one_int(size, "size", "UpSampling1D")

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"UpSampling1D layer {self.name!r}: `x` must be 3-D (B, T, C), got "
                             f"shape {tuple(x.shape)}")
        return x.repeat_interleave(self.size, dim=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        T = None if input_shape[0] is None else input_shape[0] * self.size
        return (T,) + tuple(input_shape[1:])

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(size=self.size)
        return cfg
