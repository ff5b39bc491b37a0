import numpy as np
import pytest
import torch

from rnnkit import set_random_seed
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN
from rnnkit.models import Sequential
from rnnkit.tools.gradflow import first_recurrent_layer, gradient_flow, unrolled_states
from rnnkit.tools.stacks import build_regressor


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "lstm-ln", "lstm-peephole", "gru-ln"])
def test_unrolled_states_match_the_layers_forward(cell):
    set_random_seed(0)
    m = build_regressor(cell, (7, 3), units=5, layers=2)
    x = torch.randn(4, 7, 3)
    first = m.layers[0]
    out = first(x)                                     # (B, T, H), whichever kernel ran
    hs = unrolled_states(first, x)
    torch.testing.assert_close(torch.stack(hs, 1), out, atol=1e-5, rtol=1e-5)


def test_zoneout_uses_its_expectation_as_the_layer_does_in_eval_mode():
    set_random_seed(1)
    layer = LSTM(4, return_sequences=True, zoneout=(0.3, 0.1))
    x = torch.randn(3, 6, 2)
    layer.eval()
    out = layer(x)                                     # builds it
    torch.testing.assert_close(torch.stack(unrolled_states(layer, x), 1), out,
                               atol=1e-5, rtol=1e-5)
    layer.train()
    assert not torch.allclose(layer(x), out)           # zoneout really acts in training


def test_last_step_gradient_equals_autograd_on_the_fused_output():
    set_random_seed(1)
    m = build_regressor("lstm", (9, 2), units=6)
    x, y = torch.randn(5, 9, 2), torch.randn(5, 1)
    h_T = m.layers[0](x)                               # (B, H), the fused kernel's output
    (g,) = torch.autograd.grad(torch.nn.functional.mse_loss(m.layers[1](h_T), y), h_T)
    flow = gradient_flow(m, x, y)
    assert flow.norms.shape == (9,)
    np.testing.assert_allclose(flow.norms[-1], g.norm(dim=-1).mean().item(), rtol=1e-5)
    assert all(p.grad is None for p in m.parameters())   # the model is left untouched
    assert m.training and next(m.parameters()).dtype == torch.float32


def test_the_first_of_two_stacked_layers_is_diagnosed_through_the_second():
    set_random_seed(2)
    m = build_regressor("gru", (6, 2), units=3, layers=2)
    x, y = torch.randn(4, 6, 2), torch.randn(4, 1)
    h = m.layers[0](x)                                 # (B, T, H) of the first layer
    # h_T of the first layer reaches L only as the second layer's last input, so the
    # gradient of the fused output at T is already the total derivative
    loss = torch.nn.functional.mse_loss(m.layers[2](m.layers[1](h)), y)
    (g,) = torch.autograd.grad(loss, h)
    flow = gradient_flow(m, x, y)
    assert flow.norms.shape == (6,)
    np.testing.assert_allclose(flow.norms[-1], g[:, -1].norm(dim=-1).mean().item(), rtol=1e-5)


def test_one_unit_tanh_rnn_chain_rule_by_hand():
    # h_t = tanh(u x_t + w h_{t-1} + b):  dL/dh_{t-1} = dL/dh_t * w * (1 - h_t^2)
    m = build_regressor("rnn", (4, 1), units=1)
    m.set_weights([np.array([[0.5]]), np.array([[0.75]]), np.zeros(1),   # SimpleRNN
                   np.array([[1.0]]), np.zeros(1)])                      # Dense
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


def test_layers_before_the_recurrent_one_run_first():
    set_random_seed(3)
    m = Sequential([Embedding(7, 3, input_shape=(5,)), SimpleRNN(4), Dense(2)])
    ids = torch.tensor([[1, 2, 3, 4, 5], [6, 5, 4, 3, 2]])
    y = torch.randn(2, 2)
    emb = m.layers[0](ids)
    h_T = m.layers[1](emb)
    (g,) = torch.autograd.grad(torch.nn.functional.mse_loss(m.layers[2](h_T), y), h_T)
    flow = gradient_flow(m, ids, y)
    np.testing.assert_allclose(flow.norms[-1], g.norm(dim=-1).mean().item(), rtol=1e-5)


def test_models_it_cannot_diagnose_are_refused_by_name():
    with pytest.raises(ValueError, match="recurrent layer"):
        first_recurrent_layer(Sequential([Dense(2, input_shape=(3,))]))
    with pytest.raises(ValueError, match="Bidirectional"):
        first_recurrent_layer(Sequential([Bidirectional(GRU(2), input_shape=(4, 3)), Dense(1)]))
    back = Sequential([GRU(2, go_backwards=True, input_shape=(4, 3)), Dense(1)])
    with pytest.raises(ValueError, match="go_backwards"):
        gradient_flow(back, torch.zeros(2, 4, 3), torch.zeros(2, 1))
    masked = Sequential([Embedding(5, 2, mask_zero=True, input_shape=(4,)), GRU(2), Dense(1)])
    with pytest.raises(ValueError, match="padding"):
        gradient_flow(masked, torch.tensor([[1, 2, 0, 0]]), torch.zeros(1, 1))
