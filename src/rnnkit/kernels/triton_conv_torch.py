r"""The gate updates of :mod:`rnnkit.kernels.triton_conv` in plain torch ops: the
contract any fused version (Triton on CUDA, native code on the CPU) must match,
and what runs where none is available. Same signatures, same equations (listed
in triton_conv's docstring), any device and dtype; backward by autograd.

They are the element-wise tail of ``rnnkit.cells.conv_lstm.conv_lstm_update`` and
``rnnkit.cells.conv_gru.conv_gru_update`` with σ = sigmoid, act = tanh, no peephole
and no layer norm; tests/kernels/test_triton_conv.py checks them against those
cell functions, the oracle.
"""
from __future__ import annotations

import torch
from torch import Tensor


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
