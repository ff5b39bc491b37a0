"""Keras 3's MaxPooling2D/3D and UpSampling2D/3D (no weights).

Inputs (B, *S, C) with ``data_format="channels_last"`` (default) or (B, C, *S).
"same" pooling pads with −∞ the way Keras's convolutions pad with zeros
(output ⌈S / stride⌉, an odd padding's extra cell at the end), so padded
cells never win the max.
"""
from __future__ import annotations

from typing import Any, Optional

import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.conv_base import PADDINGS, as_tuple, check_choice, conv_out_size, same_pads
from rnnkit.layers.base import Layer, register_layer
from rnnkit.layers.spatial import channels_back, channels_first, keras_name
from rnnkit.layers.conv_nd import check_data_format, check_spatial_input

_POOL = {2: F.max_pool2d, 3: F.max_pool3d}


class _MaxPooling(Layer):
    rank = 0

    def __init__(self, pool_size=2, strides=None, padding: str = "valid",
                 data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**keras_name(type(self), kwargs))
        self.pool_size = as_tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else as_tuple(strides, self.rank,
                                                                        "strides")
        self.padding = check_choice(padding, PADDINGS, "padding")
        self.data_format = check_data_format(data_format)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        x = channels_first(check_spatial_input(self, x, self.rank), self.data_format, 1)
        if self.padding == "same":
            pads = [same_pads(n, k, s, 1) for n, k, s in
                    zip(x.shape[2:], self.pool_size, self.strides)]
            x = F.pad(x, [p for lo_hi in reversed(pads) for p in lo_hi], value=float("-inf"))
        y = _POOL[self.rank](x, self.pool_size, self.strides)
        return channels_back(y, self.data_format, 1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        first = self.data_format == "channels_first"
        S = input_shape[1:] if first else input_shape[:-1]
        C = input_shape[0] if first else input_shape[-1]
        S = tuple(conv_out_size(n, k, s, self.padding, 1)
                  for n, k, s in zip(S, self.pool_size, self.strides))
        return (C,) + S if first else S + (C,)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(pool_size=list(self.pool_size), strides=list(self.strides),
                   padding=self.padding, data_format=self.data_format)
        return cfg


@register_layer
class MaxPooling2D(_MaxPooling):
    """Max over pool_size windows, as Keras 3's.

    Args:
        pool_size: int or (ph, pw) (default 2). strides: default None, i.e. pool_size.
        padding: ``"valid"`` (default) or ``"same"``. data_format: default ``"channels_last"``.

    Example::

        >>> MaxPooling2D()(torch.zeros(1, 8, 8, 3)).shape
        torch.Size([1, 4, 4, 3])
    """

    rank = 2


@register_layer
class MaxPooling3D(_MaxPooling):
    """Max over (pd, ph, pw) windows, as Keras 3's; arguments as :class:`MaxPooling2D`."""

    rank = 3


class _UpSampling(Layer):
    rank = 0
    _modes = ("nearest",)

    def __init__(self, size=2, data_format: Optional[str] = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(**keras_name(type(self), kwargs))
        self.size = as_tuple(size, self.rank, "size")
        self.data_format = check_data_format(data_format)
        self.interpolation = check_choice(interpolation, self._modes, "interpolation")

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        x = channels_first(check_spatial_input(self, x, self.rank), self.data_format, 1)
        if self.interpolation == "nearest":
            for axis, s in enumerate(self.size):
                x = x.repeat_interleave(s, dim=2 + axis)  # Keras repeats each cell s times
        else:
            # half-pixel centres, no antialiasing when enlarging (as Keras's resize)
            x = F.interpolate(x, scale_factor=self.size, mode=self.interpolation,
                              align_corners=False)
        return channels_back(x, self.data_format, 1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        first = self.data_format == "channels_first"
        S = input_shape[1:] if first else input_shape[:-1]
        S = tuple(n * s for n, s in zip(S, self.size))
        return (input_shape[0],) + S if first else S + (input_shape[-1],)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(size=list(self.size), data_format=self.data_format)
        if self.rank == 2:
            cfg["interpolation"] = self.interpolation
        return cfg


@register_layer
class UpSampling2D(_UpSampling):
    """Repeat rows and columns ``size`` times, as Keras 3's.

    Args:
        size: int or (sh, sw) (default 2). data_format: default ``"channels_last"``.
        interpolation: ``"nearest"`` (default) or ``"bilinear"``.
    """

    rank = 2
    _modes = ("nearest", "bilinear")


@register_layer
class UpSampling3D(_UpSampling):
    """Repeat the three spatial axes ``size`` times (nearest), as Keras 3's."""

    rank = 3

    def __init__(self, size=2, data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(size, data_format, **kwargs)

