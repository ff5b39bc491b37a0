r"""ConvLSTM cell (Shi et al. 2015): the LSTM with its matrix products replaced
by convolutions ⋆; gate order i, f, g, o (torch's order = Keras's i, f, c, o).

With X_t (B, C, *S_in), H_{t-1} and C_{t-1} (B, F, *S)::

    A_t = W_x ⋆ X_t + b_x + W_h ⋆ H_{t-1} + b_h           # (B, 4F, *S), split as i | f | g | o
    i_t = σ(A_i + W_ci ∘ C_{t-1})        # W_ci only with peephole=True
    f_t = σ(A_f + W_cf ∘ C_{t-1})        # W_cf only with peephole=True
    g_t = act(A_g)
    C_t = f_t ∘ C_{t-1} + i_t ∘ g_t
    o_t = σ(A_o + W_co ∘ C_t)            # W_co only with peephole=True
    H_t = o_t ∘ act(C_t)

W_x ⋆ X_t uses the layer's strides, padding and dilation; W_h ⋆ H_{t-1} always
uses stride 1 and "same" padding, so H keeps its size S (as Keras's
ConvLSTMCell.recurrent_conv). The peephole weights W_ci, W_cf, W_co are
per position and channel, (F, *S), as in the paper's Hadamard products ∘.
σ is ``recurrent_activation`` (sigmoid), act is ``activation`` (tanh).

With ``layer_norm=True`` (Ba et al. 2016, as rnnkit's LSTM) each convolution
is normalised per sample over all its channels and positions, with a gain per
channel, before the biases; and C_t is normalised before the output activation::

    A_t = LN(W_x ⋆ X_t) γ_x + b_x + LN(W_h ⋆ H_{t-1}) γ_h + b_h
    H_t = o_t ∘ act(LN(C_t) γ_c + β_c)                     # C_t is carried un-normalised

The input part ``W_x ⋆ X_t (+ LN) + b_x`` is :func:`conv_lstm_input`, which the
fast path runs for all time steps at once; :func:`conv_lstm_update` is the rest.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

import torch
from torch import Tensor

from rnnkit.cells.conv_base import conv_nd, spatial_ln

GATES = 4  # i, f, g, o


def _bias(v: Tensor, b: Optional[Tensor]) -> Tensor:
    return v if b is None else v + b.view((1, -1) + (1,) * (v.dim() - 2))


def gate_conv(x: Tensor, w: Tensor, masks: Optional[Sequence[Tensor]], **conv) -> Tensor:
    """W ⋆ x, or with dropout masks (one per gate, Keras's ConvLSTMCell) the gate
    blocks W_g ⋆ (x ∘ m_g) stacked: (B, G·F, *S)."""
    if masks is None:
        return conv_nd(x, w, **conv)
    blocks = w.chunk(len(masks), dim=0)
    return torch.cat([conv_nd(x * m, wg, **conv) for m, wg in zip(masks, blocks)], dim=1)


def conv_lstm_input(x: Tensor, w: Mapping[str, Optional[Tensor]], *, stride: Sequence[int],
                    padding: str, dilation: Sequence[int], layer_norm: bool = False,
                    eps: float = 1e-5, masks: Optional[Sequence[Tensor]] = None) -> Tensor:
    """``LN(W_x ⋆ X) γ_x + b_x`` for x (N, C, *S_in) -> (N, G·F, *S); N may be B·T.
    Serves every convolutional cell (the gate count comes from weight_ih)."""
    conv = dict(stride=stride, padding=padding, dilation=dilation)
    if layer_norm or masks is not None:
        gx = gate_conv(x, w["weight_ih"], masks, **conv)
        if layer_norm:
            gx = spatial_ln(gx, w["ln_ih"], None, eps)
        return _bias(gx, w.get("bias_ih"))
    return conv_nd(x, w["weight_ih"], w.get("bias_ih"), **conv)  # bias fused into the conv


def recurrent_conv(h: Tensor, weight: Tensor, masks: Optional[Sequence[Tensor]] = None) -> Tensor:
    """W_h ⋆ H with stride 1 and "same" padding: (B, F, *S) -> (B, G·F, *S)."""
    ones = (1,) * (h.dim() - 2)
    return gate_conv(h, weight, masks, stride=ones, padding="same", dilation=ones)


def conv_lstm_update(gx: Tensor, h: Tensor, c: Tensor, w: Mapping[str, Optional[Tensor]], *,
                     act: Callable[[Tensor], Tensor] = torch.tanh,
                     ract: Callable[[Tensor], Tensor] = torch.sigmoid,
                     layer_norm: bool = False, peephole: bool = False, eps: float = 1e-5,
                     h_masks: Optional[Sequence[Tensor]] = None) -> tuple[Tensor, Tensor]:
    """One step from the input part gx (B, 4F, *S) and the state h, c (B, F, *S)."""
    gh = recurrent_conv(h, w["weight_hh"], h_masks)  # (B, 4F, *S)
    if layer_norm:
        gh = spatial_ln(gh, w["ln_hh"], None, eps)
    a = _bias(gx + gh, w.get("bias_hh"))
    a_i, a_f, a_g, a_o = a.chunk(GATES, dim=1)  # each (B, F, *S)
    if peephole:
        a_i = a_i + w["weight_ci"] * c
        a_f = a_f + w["weight_cf"] * c
    i = ract(a_i)
    f = ract(a_f)
    g = act(a_g)
    c_new = f * c + i * g
    if peephole:
        a_o = a_o + w["weight_co"] * c_new
    o = ract(a_o)
    c_out = spatial_ln(c_new, w["ln_c_weight"], w["ln_c_bias"], eps) if layer_norm else c_new
    h_new = o * act(c_out)
    return h_new, c_new


def conv_lstm_step(x: Tensor, h: Tensor, c: Tensor, w: Mapping[str, Optional[Tensor]], *,
                   stride: Sequence[int], padding: str, dilation: Sequence[int],
                   act: Callable[[Tensor], Tensor] = torch.tanh,
                   ract: Callable[[Tensor], Tensor] = torch.sigmoid,
                   layer_norm: bool = False, peephole: bool = False, eps: float = 1e-5,
                   x_masks: Optional[Sequence[Tensor]] = None,
                   h_masks: Optional[Sequence[Tensor]] = None) -> tuple[Tensor, Tensor]:
    """One ConvLSTM step: x (B, C, *S_in), h and c (B, F, *S) -> (H_t, C_t).
    ``w``: weight_ih (4F, C, *k), weight_hh (4F, F, *k), optional bias_ih, bias_hh (4F),
    weight_ci/cf/co (F, *S), ln_ih, ln_hh (4F), ln_c_weight, ln_c_bias (F)."""
    gx = conv_lstm_input(x, w, stride=stride, padding=padding, dilation=dilation,
                         layer_norm=layer_norm, eps=eps, masks=x_masks)
    return conv_lstm_update(gx, h, c, w, act=act, ract=ract, layer_norm=layer_norm,
                            peephole=peephole, eps=eps, h_masks=h_masks)
