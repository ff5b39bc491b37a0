import numpy as np
import pytest
import torch

from rnnkit.tools.gradflow import gradient_flow, unrolled_states
from rnnkit.tools.regressor import RecurrentRegressor


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "lstm-ln", "lstm-peephole", "gru-ln"])
def test_unrolled_states_match_the_models_forward(cell):
    torch.manual_seed(0)
    m = RecurrentRegressor(cell, 3, 5, layers=2)
    x = torch.randn(4, 7, 3)
    out, _ = m.rnn(x)                                  # (B, T, H), whichever kernel ran
    hs = unrolled_states(m.rnn, x)
    torch.testing.assert_close(torch.stack(hs, 1), out, atol=1e-5, rtol=1e-5)


def test_last_step_gradient_equals_autograd_on_the_fused_output():
    torch.manual_seed(1)
    m = RecurrentRegressor("lstm", 2, 6)
    x, y = torch.randn(5, 9, 2), torch.randn(5, 1)
    out, _ = m.rnn(x)
    h_T = out[:, -1]
    (g,) = torch.autograd.grad(torch.nn.functional.mse_loss(m.head(h_T), y), h_T)
    flow = gradient_flow(m, x, y)
    assert flow.norms.shape == (9,)
    np.testing.assert_allclose(flow.norms[-1], g.norm(dim=-1).mean().item(), rtol=1e-5)
    assert all(p.grad is None for p in m.parameters())   # the model is left untouched


def test_one_unit_tanh_rnn_chain_rule_by_hand():
    # h_t = tanh(u x_t + w h_{t-1} + b):  dL/dh_{t-1} = dL/dh_t * w * (1 - h_t^2)
    m = RecurrentRegressor("rnn", 1, 1)
    with torch.no_grad():
        m.rnn.weight_ih_l0.fill_(0.5)
        m.rnn.weight_hh_l0.fill_(0.75)
        m.rnn.bias_ih_l0.zero_()
        m.rnn.bias_hh_l0.zero_()
        m.head.weight.fill_(1.0)
        m.head.bias.zero_()
    x = torch.tensor([[[1.0], [-0.5], [0.25], [2.0]]])
    h, hs = 0.0, []
    for v in x[0, :, 0].tolist():
        h = np.tanh(0.5 * v + 0.75 * h)
        hs.append(h)
    g = [2 * (hs[-1] - 0.25)]                            # dL/dh_T for L = (h_T - y)^2
    for t in range(3, 0, -1):
        g.insert(0, g[0] * 0.75 * (1 - hs[t] ** 2))
    flow = gradient_flow(m, x, torch.tensor([[0.25]]))
    np.testing.assert_allclose(flow.norms, np.abs(g), rtol=1e-10)
    assert flow.ratio == pytest.approx(abs(g[0] / g[-1]))
