"""What the convolutional cells share: N-d convolutions with Keras's "same"
padding, argument checks for kernel sizes and strides, and the parameter
table of one convolutional cell.

Tensors are channels-first here, (B, C, *S) with S the 1, 2 or 3 spatial
sizes; layers that take channels-last data move the channel axis before and
after. Convolutions are cross-correlations, as in torch and Keras.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch.nn.functional as F
from torch import Tensor

# rank -> torch's convolution of that rank; anything else is refused by check_rank.
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
PADDINGS = ("same", "valid")
DATA_FORMATS = ("channels_last", "channels_first")
# What a convolutional cell family is: its gates and its states.
CONV_GATES = {"conv_lstm": 4, "conv_gru": 3}
CONV_STATES = {"conv_lstm": 2, "conv_gru": 1}


def check_rank(rank) -> int:
    if rank not in CONV:
        raise ValueError(f"`rank` must be 1, 2 or 3 (spatial dimensions), got {rank!r}")
    return rank


def as_tuple(value, rank: int, arg: str, *, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of ``rank`` ints ≥ minimum, as a tuple (Keras's standardize_tuple)."""
    if isinstance(value, bool):
        raise TypeError(f"`{arg}` must be an int or a tuple of {rank} ints, got {value!r}")
    if isinstance(value, int):
        value = (value,) * rank
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise TypeError(f"`{arg}` must be an int or a tuple of {rank} ints, got {value!r}")
    if len(value) != rank:
        raise ValueError(f"`{arg}` must have {rank} value(s), one per spatial dimension, "
                         f"got {len(value)}: {tuple(value)}")
    if any(v < minimum for v in value):
        raise ValueError(f"`{arg}` values must be ≥ {minimum}, got {tuple(value)}")
    return tuple(int(v) for v in value)


def check_choice(value, choices: Sequence[str], arg: str) -> str:
    v = value.lower() if isinstance(value, str) else value
    if v not in choices:
        raise ValueError(f"`{arg}` must be one of {list(choices)}, got {value!r}")
    return v


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Keras/TensorFlow "same": output ⌈size / stride⌉, the extra pixel of an odd
    total padding at the end (keras/src/backend/torch/nn.py, _compute_padding_length)."""
    k = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + k - size)
    return total // 2, total - total // 2


def conv_nd(x: Tensor, w: Tensor, bias: Optional[Tensor] = None, *,
            stride: Sequence[int], padding: str, dilation: Sequence[int]) -> Tensor:
    """x (B, C, *S) ⋆ w (F, C, *k) (+ bias (F,)) -> (B, F, *S')."""
    rank = w.dim() - 2
    if padding == "valid":
        return CONV[rank](x, w, bias, stride=tuple(stride), dilation=tuple(dilation))
    pads = [same_pads(n, k, s, d) for n, k, s, d in
            zip(x.shape[2:], w.shape[2:], stride, dilation)]
    if all(lo == hi for lo, hi in pads):
        return CONV[rank](x, w, bias, stride=tuple(stride), padding=tuple(lo for lo, _ in pads),
                          dilation=tuple(dilation))
    flat = [p for lo_hi in reversed(pads) for p in lo_hi]  # F.pad: last dimension first
    return CONV[rank](F.pad(x, flat), w, bias, stride=tuple(stride), dilation=tuple(dilation))


def conv_out_size(size: int, kernel: int, stride: int, padding: str, dilation: int) -> int:
    if padding == "same":
        return -(-size // stride)
    k = (kernel - 1) * dilation + 1
    return (size - k) // stride + 1


def spatial_ln(v: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], eps: float) -> Tensor:
    """Layer norm of each sample over its channels and positions (Ba et al. 2016 applied
    to a feature map), with a per-channel gain (C,) and shift (C,)."""
    y = F.layer_norm(v, v.shape[1:], None, None, eps)  # (B, C, *S)
    shape = (1, -1) + (1,) * (v.dim() - 2)
    if weight is not None:
        y = y * weight.view(shape)
    if bias is not None:
        y = y + bias.view(shape)
    return y


def conv_param_shapes(mode: str, in_channels: int, filters: int, kernel_size: Sequence[int], *,
                      bias: bool = True, bias_hh: bool = False, peephole: bool = False,
                      state_size: Optional[Sequence[int]] = None,
                      layer_norm: bool = False) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter of one convolutional cell, in torch's conv layout:
    weight_ih (G·F, C, *k), weight_hh (G·F, F, *k), gates stacked in the cell's order."""
    G, k = CONV_GATES[mode], tuple(kernel_size)
    shapes = {"weight_ih": (G * filters, in_channels) + k, "weight_hh": (G * filters, filters) + k}
    if bias:
        shapes["bias_ih"] = (G * filters,)
        if bias_hh:
            shapes["bias_hh"] = (G * filters,)
    if peephole:
        if mode != "conv_lstm":
            raise ValueError(f"`peephole` is an LSTM option; {mode} has no cell state")
        if state_size is None:
            raise ValueError("peephole=True needs the spatial size of the state (per-position "
                             "weights, Shi et al. 2015); pass `state_size`")
        s = (filters,) + tuple(state_size)
        shapes.update(weight_ci=s, weight_cf=s, weight_co=s)
    if layer_norm:
        shapes.update(ln_ih=(G * filters,), ln_hh=(G * filters,))
        if mode == "conv_lstm":
            shapes.update(ln_c_weight=(filters,), ln_c_bias=(filters,))
    return shapes
