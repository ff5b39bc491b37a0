"""rnnkit.cells.minrnn: the minGRU/minLSTM equations by hand, the log-space
coefficients, and Heinsen's scan against the sequential step."""
import math

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit.cells.minrnn import (g, log_coeffs_mingru, log_coeffs_minlstm, log_g, mingru_step,
                                 minlstm_step, scan)

D = torch.float64


def test_g_is_the_papers_positive_activation_and_log_g_its_log():
    v = torch.tensor([-3.0, -0.5, 0.0, 0.25, 4.0], dtype=D)
    expect = torch.tensor([1 / (1 + math.exp(3)), 1 / (1 + math.exp(0.5)), 0.5, 0.75, 4.5], dtype=D)
    torch.testing.assert_close(g(v), expect, rtol=0, atol=1e-15)
    torch.testing.assert_close(log_g(v), torch.log(expect), rtol=0, atol=1e-15)


def test_mingru_step_by_hand():
    # W_z = 0 -> z = 1/2; W_h = 1, x = 1 -> h̃ = g(1) = 1.5; h0 = 0.5
    w = {"weight_ih": torch.tensor([[0.0], [1.0]], dtype=D), "bias_ih": torch.zeros(2, dtype=D)}
    h1 = mingru_step(torch.tensor([[1.0]], dtype=D), torch.tensor([[0.5]], dtype=D), w)
    assert h1.item() == pytest.approx(0.5 * 0.5 + 0.5 * 1.5, abs=1e-15)  # = 1.0
    # x = -2 -> h̃ = σ(-2); h2 = 0.5 * 1.0 + 0.5 * σ(-2)
    h2 = mingru_step(torch.tensor([[-2.0]], dtype=D), h1, w)
    assert h2.item() == pytest.approx(0.5 + 0.5 / (1 + math.exp(2)), abs=1e-15)


def test_minlstm_step_by_hand():
    # f = σ(log 3) = 3/4, i = σ(0) = 1/2 -> f' = 0.6, i' = 0.4; h̃ = g(1) = 1.5; h0 = 0.5
    w = {"weight_ih": torch.tensor([[math.log(3)], [0.0], [1.0]], dtype=D)}
    h1 = minlstm_step(torch.tensor([[1.0]], dtype=D), torch.tensor([[0.5]], dtype=D), w)
    assert h1.item() == pytest.approx(0.6 * 0.5 + 0.4 * 1.5, abs=1e-15)  # = 0.9


@pytest.mark.parametrize("coeffs,step,G", [(log_coeffs_mingru, mingru_step, 2),
                                           (log_coeffs_minlstm, minlstm_step, 3)])
def test_log_coefficients_are_the_steps_a_and_b(coeffs, step, G):
    torch.manual_seed(0)
    H = 4
    xg = torch.randn(1, 3, G * H, dtype=D) * 3
    log_a, log_b = coeffs(xg)
    # with an identity projection, one step from h is a ⊙ h + b
    w = {"weight_ih": torch.eye(G * H, dtype=D)}
    h = torch.randn(3, H, dtype=D)
    torch.testing.assert_close(step(xg[0], h, w), log_a[0].exp() * h + log_b[0].exp(),
                               rtol=0, atol=1e-14)
    assert (log_a < 0).all()  # 0 < a < 1: the recurrence contracts


def _sequential(log_a, log_b, h0, mask):
    h, out = h0, []
    for t in range(log_a.shape[0]):
        new = log_a[t].exp() * h + log_b[t].exp()
        h = torch.where(mask[t].unsqueeze(-1), new, h) if mask is not None else new
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("T", [1, 7, 300])
@pytest.mark.parametrize("masked", [False, True])
def test_scan_equals_the_sequential_recurrence_in_float64(T, masked):
    torch.manual_seed(T)
    B, H = 3, 5
    log_a, log_b = log_coeffs_minlstm(torch.randn(T, B, 3 * H, dtype=D) * 2)
    h0 = torch.randn(B, H, dtype=D)  # any sign
    mask = None
    if masked:
        mask = torch.rand(T, B) > 0.3
        mask[:, 2] = False  # a row with no valid step keeps h0
    ins = [t.requires_grad_() for t in (log_a, log_b, h0)]
    got, want = scan(*ins, mask), _sequential(*ins, mask)
    assert (got - want).abs().max() < 1e-10
    if masked:
        assert torch.equal(got[-1, 2], h0[2].detach())
    wsum = torch.sin(torch.arange(got.numel(), dtype=D)).reshape(got.shape)
    g1 = torch.autograd.grad((got * wsum).sum(), ins)
    g2 = torch.autograd.grad((want * wsum).sum(), ins)
    for a, b in zip(g1, g2):
        assert torch.isfinite(a).all() and (a - b).abs().max() < 1e-10


def test_scan_gradcheck():
    torch.manual_seed(1)
    T, B, H = 6, 2, 3
    mask = torch.tensor([[1, 0], [1, 0], [0, 1], [1, 1], [1, 0], [0, 1]], dtype=torch.bool)
    args = (torch.randn(T, B, 2 * H, dtype=D, requires_grad=True),
            torch.randn(B, H, dtype=D, requires_grad=True))
    assert gradcheck(lambda xg, h0: scan(*log_coeffs_mingru(xg), h0, mask), args)
