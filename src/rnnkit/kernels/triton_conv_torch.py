r"""The gate updates of :mod:`rnnkit.kernels.triton_conv` in plain torch ops: the
contract any fused version (Triton on CUDA, native code on the CPU) must match,
and what runs where none is available. Same signatures, same equations (listed
in triton_conv's docstring), any device and dtype; backward by autograd.

They are the element-wise tail of ``rnnkit.cells.conv_lstm.conv_lstm_update`` and
``rnnkit.cells.conv_gru.conv_gru_update`` with σ = sigmoid, act = tanh, no peephole
and no layer norm; tests/kernels/test_triton_conv.py checks them against those
cell functions, the oracle.

:func:`conv_lstm_step_update` and :func:`conv_gru_step_update` are the rest of a
step around any implementation of the contract (the recurrent convolution and
the biases, as the cells compute them): a dispatcher passes the gate functions
it chose, e.g. ``gates=triton_conv.lstm_gates`` for CUDA tensors.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

import torch
from torch import Tensor

from rnnkit.cells.conv_gru import _split
from rnnkit.cells.conv_lstm import _bias, recurrent_conv


def lstm_gates_torch(pre: Tensor, c_prev: Tensor) -> tuple[Tensor, Tensor]:
    """pre (B, 4F, *S) as i | f | g | o, c_prev (B, F, *S) -> h, c (B, F, *S)."""
    a_i, a_f, a_g, a_o = pre.chunk(4, dim=1)  # each (B, F, *S)
    i = torch.sigmoid(a_i)
    f = torch.sigmoid(a_f)
    g = torch.tanh(a_g)
    o = torch.sigmoid(a_o)
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    return h, c


def gru_gates_torch(xg: Tensor, hg: Tensor, h_prev: Tensor, reset_after: bool) -> Tensor:
    """xg, hg (B, 3F, *S) as r | z | n with biases, h_prev (B, F, *S) -> h (B, F, *S).
    With reset_after=False, hg's n block is W_hn ⋆ (r ∘ h_prev) + b_hn and its r block unused."""
    x_r, x_z, x_n = xg.chunk(3, dim=1)  # each (B, F, *S)
    h_r, h_z, h_n = hg.chunk(3, dim=1)
    z = torch.sigmoid(x_z + h_z)
    if reset_after:
        r = torch.sigmoid(x_r + h_r)
        n = torch.tanh(x_n + r * h_n)
    else:
        n = torch.tanh(x_n + h_n)
    return z * h_prev + (1.0 - z) * n


def gru_reset_torch(xg: Tensor, hg: Tensor, h_prev: Tensor) -> Tensor:
    """r = σ(X_r + H_r) from the first F channels of xg and hg; returns r ∘ h_prev (B, F, *S)."""
    F = h_prev.shape[1]
    r = torch.sigmoid(xg[:, :F] + hg[:, :F])
    return r * h_prev


def conv_lstm_step_update(gx: Tensor, h: Tensor, c: Tensor, w: Mapping[str, Optional[Tensor]], *,
                          gates: Callable = lstm_gates_torch,
                          h_masks: Optional[Sequence[Tensor]] = None) -> tuple[Tensor, Tensor]:
    """``rnnkit.cells.conv_lstm.conv_lstm_update`` (σ, tanh, no peephole, no layer norm)
    with its gate update done by ``gates``: pre = gx + W_h ⋆ H + b_h (B, 4F, *S)."""
    pre = _bias(gx + recurrent_conv(h, w["weight_hh"], h_masks), w.get("bias_hh"))
    return gates(pre, c)


def conv_gru_step_update(gx: Tensor, h: Tensor, w: Mapping[str, Optional[Tensor]], *,
                         reset_after: bool, gates: Callable = gru_gates_torch,
                         reset: Callable = gru_reset_torch,
                         h_masks: Optional[Sequence[Tensor]] = None) -> Tensor:
    """``rnnkit.cells.conv_gru.conv_gru_update`` (σ, tanh, no layer norm) with its gate
    update done by ``gates`` (and, for reset_after=False, r ∘ H by ``reset``)."""
    if reset_after:  # one recurrent convolution for all three gates
        hg = _bias(recurrent_conv(h, w["weight_hh"], h_masks), w.get("bias_hh"))  # (B, 3F, *S)
        return gates(gx, hg, h, True)
    w_rz, w_n = _split(w["weight_hh"])
    b_rz, b_n = _split(w.get("bias_hh"))
    m_rz = None if h_masks is None else h_masks[:2]
    m_n = None if h_masks is None else h_masks[2:]
    gh_rz = _bias(recurrent_conv(h, w_rz, m_rz), b_rz)  # (B, 2F, *S)
    gh_n = _bias(recurrent_conv(reset(gx, gh_rz, h), w_n, m_n), b_n)  # (B, F, *S)
    return gates(gx, torch.cat([gh_rz, gh_n], dim=1), h, False)
