"""rnnkit.layers.LSTM: Keras's parameter count and weights, torch.nn's numbers."""
import numpy as np
import pytest
import torch
from torch.autograd import gradcheck
from torch.func import functional_call

import rnnkit.layers as L
import rnnkit.nn as rnn


def test_count_params_hand_computed():
    for I, u in [(1, 64), (64, 32), (3, 5)]:
        lstm = L.LSTM(u)
        lstm.maybe_build((10, I))
        assert lstm.count_params() == 4 * (I * u + u * u + u)
    nobias = L.LSTM(5, use_bias=False)
    nobias.maybe_build((10, 3))
    assert nobias.count_params() == 4 * (3 * 5 + 5 * 5)
    pp = L.LSTM(5, peephole=True, layer_norm=True)
    pp.maybe_build((10, 3))
    assert pp.count_params() == 4 * (3 * 5 + 25 + 5) + 3 * 5 + 2 * 20 + 2 * 5


def test_seed_model_layers_have_29345_parameters():
    l1 = L.LSTM(64, input_shape=(100, 1), return_sequences=True)
    l2 = L.LSTM(32)
    l3 = L.Dense(1, activation="linear")
    shape = l1.input_shape_arg
    for layer in (l1, l2, l3):
        layer.maybe_build(shape)
        shape = layer.compute_output_shape(shape)
    # 4·(1·64 + 64·64 + 64) + 4·(64·32 + 32·32 + 32) + (32 + 1)
    assert 16896 + 12416 + 33 == 29345
    assert sum(layer.count_params() for layer in (l1, l2, l3)) == 29345
    y = l3(l2(l1(torch.randn(2, 100, 1))))
    assert y.shape == (2, 1)


def _keras_arrays(I, u, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.4, size=s).astype("float64") for s in [(I, 4 * u), (u, 4 * u), (4 * u,)]]


@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_matches_torch_nn_lstm_with_hand_mapped_weights(backend):
    I, u, B, T = 3, 4, 2, 5
    kernel, rec, bias = _keras_arrays(I, u, 0)
    ours = L.LSTM(u, return_sequences=True, return_state=True, backend=backend)
    ours.maybe_build((T, I))
    ours.double()
    ours.set_weights([kernel, rec, bias])
    ref = torch.nn.LSTM(I, u, batch_first=True).double()
    with torch.no_grad():  # Keras (I, 4u) columns i|f|c|o = torch's (4u, I) rows i|f|g|o
        ref.weight_ih_l0.copy_(torch.from_numpy(kernel.T))
        ref.weight_hh_l0.copy_(torch.from_numpy(rec.T))
        ref.bias_ih_l0.copy_(torch.from_numpy(bias))
        ref.bias_hh_l0.zero_()
    x = torch.randn(B, T, I, dtype=torch.float64)
    h0, c0 = torch.randn(B, u, dtype=torch.float64), torch.randn(B, u, dtype=torch.float64)
    seq, h, c = ours(x, initial_state=[h0, c0])
    want, (hn, cn) = ref(x, (h0[None], c0[None]))
    torch.testing.assert_close(seq, want, atol=1e-6, rtol=0)
    torch.testing.assert_close(h, hn[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(c, cn[0], atol=1e-6, rtol=0)
    assert ours.last_choice.kernel == backend


def test_extras_match_rnnkit_nn():
    I, u, T = 2, 3, 4
    ours = L.LSTM(u, return_sequences=True, peephole=True, layer_norm=True, backend="reference")
    ours.maybe_build((T, I))
    ref = rnn.LSTM(I, u, batch_first=True, peephole=True, layer_norm=True)
    torch.manual_seed(1)
    ws = [np.random.default_rng(k).normal(size=w.shape).astype("float32")
          for k, w in enumerate(ours.get_weights())]
    ours.set_weights(ws)
    kernel, rec, bias, pi, pf, po, g_ih, g_hh, g_c, b_c = ws
    sd = {"weight_ih_l0": kernel.T, "weight_hh_l0": rec.T, "bias_ih_l0": bias,
          "bias_hh_l0": np.zeros_like(bias), "weight_ci_l0": pi, "weight_cf_l0": pf,
          "weight_co_l0": po, "ln_ih_l0": g_ih, "ln_hh_l0": g_hh, "ln_c_weight_l0": g_c,
          "ln_c_bias_l0": b_c}
    ref.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()})
    x = torch.randn(2, T, I)
    torch.testing.assert_close(ours(x), ref(x)[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("mask_rows,kernel", [
    ([[1, 1, 1, 0], [1, 1, 1, 1]], "torch"),      # right padding: torch's packed kernel
    ([[1, 1, 1, 0], [1, 1, 1, 1]], "reference"),
    ([[0, 1, 1, 1], [1, 0, 1, 1]], "reference"),  # left padding and a hole
    ([[1, 1, 1, 0], [1, 1, 1, 1]], "cpu"),
    ([[0, 1, 1, 1], [1, 0, 1, 1]], "cpu"),
])
def test_gradcheck_with_mask(mask_rows, kernel):
    torch.manual_seed(0)
    lstm = L.LSTM(2, return_sequences=True, backend=kernel)
    lstm.maybe_build((4, 2))
    lstm.double()
    mask = torch.tensor(mask_rows, dtype=torch.bool)
    names = [n for n, _ in lstm.named_parameters()]

    def f(x, *params):
        return functional_call(lstm, dict(zip(names, params)), (x,), {"mask": mask})

    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    params = [p.detach().clone().requires_grad_(True) for p in lstm.parameters()]
    assert gradcheck(f, (x, *params), eps=1e-6, atol=1e-5)
    assert lstm.last_choice.kernel == kernel


def test_return_state_shapes_and_config():
    lstm = L.LSTM(4, return_state=True)
    out, h, c = lstm(torch.randn(3, 5, 2))
    assert out.shape == h.shape == c.shape == (3, 4)
    torch.testing.assert_close(out, h)
    assert lstm.compute_output_shape((5, 2)) == ((4,), (4,), (4,))
    seq = L.LSTM(4, return_sequences=True, return_state=True)
    out, h, c = seq(torch.randn(3, 5, 2))
    assert out.shape == (3, 5, 4)
    torch.testing.assert_close(out[:, -1], h)
