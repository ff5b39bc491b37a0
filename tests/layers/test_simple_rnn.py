"""rnnkit.layers.SimpleRNN against torch.nn.RNN with hand-transposed weights."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L


def test_count_params_hand_computed():
    for I, u in [(1, 1), (4, 6)]:
        r = L.SimpleRNN(u)
        r.maybe_build((3, I))
        assert r.count_params() == I * u + u * u + u


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("backend", ["reference", "auto"])
def test_matches_torch_nn_rnn(activation, backend):
    I, u, B, T = 3, 4, 2, 5
    rng = np.random.default_rng(0)
    kernel, rec, bias = (rng.normal(scale=0.4, size=s) for s in [(I, u), (u, u), (u,)])
    ours = L.SimpleRNN(u, activation=activation, return_sequences=True, return_state=True,
                       backend=backend)
    ours.maybe_build((T, I))
    ours.double()
    ours.set_weights([kernel, rec, bias])
    ref = torch.nn.RNN(I, u, nonlinearity=activation, batch_first=True).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(kernel.T))
        ref.weight_hh_l0.copy_(torch.from_numpy(rec.T))
        ref.bias_ih_l0.copy_(torch.from_numpy(bias))
        ref.bias_hh_l0.zero_()
    x = torch.randn(B, T, I, dtype=torch.float64)
    seq, h = ours(x)
    want, hn = ref(x)
    torch.testing.assert_close(seq, want, atol=1e-6, rtol=0)
    torch.testing.assert_close(h, hn[0], atol=1e-6, rtol=0)


def test_hand_computed_single_unit():
    # h1 = tanh(0.5·1 + 0) , h2 = tanh(0.5·2 + 2·h1 + 0.1) with bias 0.1 on both steps.
    r = L.SimpleRNN(1, return_sequences=True)
    r.maybe_build((2, 1))
    r.set_weights([np.array([[0.5]]), np.array([[2.0]]), np.array([0.1])])
    out = r(torch.tensor([[[1.0], [2.0]]]))[0, :, 0]
    h1 = np.tanh(0.5 + 0.1)
    h2 = np.tanh(1.0 + 2.0 * h1 + 0.1)
    np.testing.assert_allclose(out.detach().numpy(), [h1, h2], rtol=1e-6)
