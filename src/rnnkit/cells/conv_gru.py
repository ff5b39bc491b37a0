r"""ConvGRU cell (Ballas et al. 2016): the GRU with convolutions ⋆ in place of
matrix products; gate order r, z, n (torch's order), both reset placements.

With X_t (B, C, *S_in) and H_{t-1} (B, F, *S)::

    r_t = σ(W_xr ⋆ X_t + b_xr + W_hr ⋆ H_{t-1} + b_hr)
    z_t = σ(W_xz ⋆ X_t + b_xz + W_hz ⋆ H_{t-1} + b_hz)
    reset_after=True  (cuDNN's and torch.nn's placement, the default):
        H̃_t = act(W_xn ⋆ X_t + b_xn + r_t ∘ (W_hn ⋆ H_{t-1} + b_hn))
    reset_after=False (Ballas et al. 2016, eq. 4-6; Cho et al. 2014):
        H̃_t = act(W_xn ⋆ X_t + b_xn + W_hn ⋆ (r_t ∘ H_{t-1}) + b_hn)
    H_t = z_t ∘ H_{t-1} + (1 − z_t) ∘ H̃_t

The update is rnnkit's GRU convention (z keeps the old state; Ballas et al.
write (1 − z) ∘ h + z ∘ h̃, the same model with the z weights negated).
W_x ⋆ X_t uses the layer's strides, padding and dilation; W_h ⋆ uses stride 1
and "same" padding. σ is ``recurrent_activation``, act is ``activation``.

With ``layer_norm=True`` the input convolution (3F channels), the recurrent
r, z convolution (2F) and the recurrent candidate convolution (F) are each
normalised per sample over channels and positions, with a per-channel gain,
before the biases are added. The input part is
:func:`rnnkit.cells.conv_lstm.conv_lstm_input` (shared by both cells).
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

import torch
from torch import Tensor

from rnnkit.cells.conv_base import spatial_ln
from rnnkit.cells.conv_lstm import _bias, conv_lstm_input, recurrent_conv

GATES = 3  # r, z, n


def _split(t: Optional[Tensor]) -> tuple[Optional[Tensor], Optional[Tensor]]:
    """(3F, ...) -> the r,z block (2F, ...) and the n block (F, ...)."""
    if t is None:
        return None, None
    F = t.shape[0] // GATES
    return t[:2 * F], t[2 * F:]


def conv_gru_update(gx: Tensor, h: Tensor, w: Mapping[str, Optional[Tensor]], *,
                    reset_after: bool = True,
                    act: Callable[[Tensor], Tensor] = torch.tanh,
                    ract: Callable[[Tensor], Tensor] = torch.sigmoid,
                    layer_norm: bool = False, eps: float = 1e-5,
                    h_masks: Optional[Sequence[Tensor]] = None) -> Tensor:
    """One step from the input part gx (B, 3F, *S) and h (B, F, *S) -> H_t."""
    w_rz, w_n = _split(w["weight_hh"])
    b_rz, b_n = _split(w.get("bias_hh"))
    g_rz, g_n = _split(w.get("ln_hh"))
    m_rz = None if h_masks is None else h_masks[:2]
    m_n = None if h_masks is None else h_masks[2:]
    gh_rz = recurrent_conv(h, w_rz, m_rz)  # (B, 2F, *S)
    if layer_norm:
        gh_rz = spatial_ln(gh_rz, g_rz, None, eps)
    gx_r, gx_z, gx_n = gx.chunk(GATES, dim=1)  # each (B, F, *S)
    gh_r, gh_z = _bias(gh_rz, b_rz).chunk(2, dim=1)
    r = ract(gx_r + gh_r)
    z = ract(gx_z + gh_z)
    h_in = h if reset_after else r * h
    gh_n = recurrent_conv(h_in, w_n, m_n)  # (B, F, *S)
    if layer_norm:
        gh_n = spatial_ln(gh_n, g_n, None, eps)
    gh_n = _bias(gh_n, b_n)
    n = act(gx_n + r * gh_n) if reset_after else act(gx_n + gh_n)
    return z * h + (1.0 - z) * n


def conv_gru_step(x: Tensor, h: Tensor, w: Mapping[str, Optional[Tensor]], *,
                  stride: Sequence[int], padding: str, dilation: Sequence[int],
                  reset_after: bool = True,
                  act: Callable[[Tensor], Tensor] = torch.tanh,
                  ract: Callable[[Tensor], Tensor] = torch.sigmoid,
                  layer_norm: bool = False, eps: float = 1e-5,
                  x_masks: Optional[Sequence[Tensor]] = None,
                  h_masks: Optional[Sequence[Tensor]] = None) -> Tensor:
    """One ConvGRU step: x (B, C, *S_in), h (B, F, *S) -> H_t (B, F, *S).
    ``w``: weight_ih (3F, C, *k), weight_hh (3F, F, *k), optional bias_ih, bias_hh (3F),
    ln_ih, ln_hh (3F)."""
    gx = conv_lstm_input(x, w, stride=stride, padding=padding, dilation=dilation,
                         layer_norm=layer_norm, eps=eps, masks=x_masks)
    return conv_gru_update(gx, h, w, reset_after=reset_after, act=act, ract=ract,
                           layer_norm=layer_norm, eps=eps, h_masks=h_masks)
