"""The gate-update contract in torch ops against the cells (the oracle) and against
numbers worked out by hand; runs without triton."""
import math

import pytest
import torch

from rnnkit.cells.conv_base import conv_param_shapes
from rnnkit.cells.conv_gru import conv_gru_update
from rnnkit.cells.conv_lstm import conv_lstm_update
from rnnkit.kernels.triton_conv_torch import (conv_gru_step_update, conv_lstm_step_update,
                                              gru_gates_torch, gru_reset_torch, lstm_gates_torch)


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def test_lstm_gates_hand_computed():
    # F=1, one position: A = (i, f, g, o) pre-activations = (0, ln 3, 0.5, -1), C_prev = 2
    pre = torch.tensor([0.0, math.log(3.0), 0.5, -1.0], dtype=torch.float64).view(1, 4, 1)
    c_prev = torch.tensor([2.0], dtype=torch.float64).view(1, 1, 1)
    h, c = lstm_gates_torch(pre, c_prev)
    i, f, g, o = 0.5, 0.75, math.tanh(0.5), sig(-1.0)  # σ(ln 3) = 3/4
    c_want = f * 2.0 + i * g  # 1.5 + 0.5·tanh(0.5)
    assert c.item() == pytest.approx(c_want, abs=1e-15)
    assert h.item() == pytest.approx(o * math.tanh(c_want), abs=1e-15)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_gates_hand_computed(reset_after):
    # F=1: X = (r, z, n) = (0, 0, 0.2), H = (0, ln 3, 0.4), H_prev = -1
    xg = torch.tensor([0.0, 0.0, 0.2], dtype=torch.float64).view(1, 3, 1)
    hg = torch.tensor([0.0, math.log(3.0), 0.4], dtype=torch.float64).view(1, 3, 1)
    h_prev = torch.tensor([-1.0], dtype=torch.float64).view(1, 1, 1)
    z = 0.75  # σ(0 + ln 3)
    # reset_after: r = σ(0) = 1/2 scales H_n; otherwise H_n already holds W ⋆ (r ∘ H_prev)
    n = math.tanh(0.2 + 0.5 * 0.4) if reset_after else math.tanh(0.2 + 0.4)
    out = gru_gates_torch(xg, hg, h_prev, reset_after)
    assert out.item() == pytest.approx(z * -1.0 + (1 - z) * n, abs=1e-15)
    assert gru_reset_torch(xg, hg, h_prev).item() == pytest.approx(0.5 * -1.0, abs=1e-15)


def _weights(mode, C, F, k, g, dtype=torch.float64):
    shapes = conv_param_shapes(mode, C, F, k, bias_hh=True, peephole=False, state_size=None,
                               layer_norm=False)
    return {n: (torch.randn(s, generator=g, dtype=dtype) * 0.4).requires_grad_()
            for n, s in shapes.items()}


def _grads(out, leaves):
    out = out if isinstance(out, tuple) else (out,)
    weights = [torch.linspace(-1, 1, o.numel(), dtype=o.dtype).view(o.shape) for o in out]
    return torch.autograd.grad(sum((o * w).sum() for o, w in zip(out, weights)), leaves)


@pytest.mark.parametrize("S,k", [((4, 3), (3, 3)), ((5,), (3,)), ((2, 3, 2), (1, 3, 2))])
@pytest.mark.parametrize("masks", [False, True])
def test_lstm_step_update_is_the_cell(S, k, masks):
    g = torch.Generator().manual_seed(1)
    B, F = 2, 3
    w = _weights("conv_lstm", 2, F, k, g)
    gx = torch.randn(B, 4 * F, *S, generator=g, dtype=torch.float64, requires_grad=True)
    h = torch.randn(B, F, *S, generator=g, dtype=torch.float64, requires_grad=True)
    c = torch.randn(B, F, *S, generator=g, dtype=torch.float64, requires_grad=True)
    hm = [torch.bernoulli(torch.full_like(h, 0.7), generator=g) / 0.7 for _ in range(4)] \
        if masks else None
    leaves = [gx, h, c, w["weight_hh"], w["bias_hh"]]
    want = conv_lstm_update(gx, h, c, w, h_masks=hm)
    got = conv_lstm_step_update(gx, h, c, w, h_masks=hm)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)
    for a, b in zip(_grads(got, leaves), _grads(want, leaves)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("masks", [False, True])
def test_gru_step_update_is_the_cell(reset_after, masks):
    g = torch.Generator().manual_seed(2)
    B, F, S = 2, 2, (3, 5)
    w = _weights("conv_gru", 1, F, (3, 3), g)
    gx = torch.randn(B, 3 * F, *S, generator=g, dtype=torch.float64, requires_grad=True)
    h = torch.randn(B, F, *S, generator=g, dtype=torch.float64, requires_grad=True)
    hm = [torch.bernoulli(torch.full_like(h, 0.6), generator=g) / 0.6 for _ in range(3)] \
        if masks else None
    leaves = [gx, h, w["weight_hh"], w["bias_hh"]]
    want = conv_gru_update(gx, h, w, reset_after=reset_after, h_masks=hm)
    got = conv_gru_step_update(gx, h, w, reset_after=reset_after, h_masks=hm)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-14)
    for a, b in zip(_grads(got, leaves), _grads(want, leaves)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)


def test_gru_reset_reads_only_the_r_blocks():
    g = torch.Generator().manual_seed(3)
    xg, hg = torch.randn(2, 6, 4, generator=g), torch.randn(2, 4, 4, generator=g)
    h = torch.randn(2, 2, 4, generator=g)
    base = gru_reset_torch(xg, hg, h)
    xg2, hg2 = xg.clone(), hg.clone()
    xg2[:, 2:] = float("nan")
    hg2[:, 2:] = float("nan")
    torch.testing.assert_close(gru_reset_torch(xg2, hg2, h), base, rtol=0, atol=0)
