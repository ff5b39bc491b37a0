"""rnnkit's cells against Keras 3's own layers, weight for weight.

Keras's kernels are (I, G*u) with gate order LSTM i,f,c,o and GRU z,r,h; ours
are torch's (G*H, I) with LSTM i,f,g,o and GRU r,z,n. The mapping is written
out by hand here, independently of rnnkit.layers.
"""
import numpy as np
import pytest
import torch

import rnnkit.nn as rnn


def _rand_weights(layer, rng):
    return [rng.normal(scale=0.4, size=w.shape).astype("float32") for w in layer.get_weights()]


def _gru_rows(block_zrh: np.ndarray, u: int) -> np.ndarray:
    """Keras's (·, 3u) columns z|r|h -> torch's (3u, ·) rows r|z|n."""
    z, r, h = block_zrh[..., :u], block_zrh[..., u:2 * u], block_zrh[..., 2 * u:]
    return np.concatenate([r, z, h], axis=-1).T if block_zrh.ndim == 2 else np.concatenate([r, z, h])


@pytest.mark.parametrize("act,ract", [("tanh", "sigmoid"), ("relu", "hard_sigmoid")])
def test_lstm_matches_keras(keras, act, ract):
    rng = np.random.default_rng(0)
    I, u, T, B = 3, 4, 6, 2
    k = keras.layers.LSTM(u, activation=act, recurrent_activation=ract, return_sequences=True,
                          return_state=True)
    k.build((None, T, I))
    kernel, rec, bias = _rand_weights(k, rng)
    k.set_weights([kernel, rec, bias])
    x = rng.normal(size=(B, T, I)).astype("float32")
    seq, h, c = (np.asarray(t.detach().cpu()) for t in k(x))
    ours = rnn.LSTM(I, u, batch_first=True, activation=act, recurrent_activation=ract)
    sd = {"weight_ih_l0": kernel.T, "weight_hh_l0": rec.T, "bias_ih_l0": bias,
          "bias_hh_l0": np.zeros_like(bias)}
    ours.load_state_dict({n: torch.from_numpy(np.ascontiguousarray(v)) for n, v in sd.items()})
    o, (h2, c2) = ours(torch.from_numpy(x))
    np.testing.assert_allclose(o.detach().numpy(), seq, atol=2e-6)
    np.testing.assert_allclose(h2[0].detach().numpy(), h, atol=2e-6)
    np.testing.assert_allclose(c2[0].detach().numpy(), c, atol=2e-6)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_keras(keras, reset_after):
    rng = np.random.default_rng(1)
    I, u, T, B = 3, 4, 5, 2
    k = keras.layers.GRU(u, reset_after=reset_after, return_sequences=True)
    k.build((None, T, I))
    kernel, rec, bias = _rand_weights(k, rng)
    k.set_weights([kernel, rec, bias])
    x = rng.normal(size=(B, T, I)).astype("float32")
    seq = np.asarray(k(x).detach().cpu())
    ours = rnn.GRU(I, u, batch_first=True, reset_after=reset_after)
    b_ih, b_hh = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    sd = {"weight_ih_l0": _gru_rows(kernel, u), "weight_hh_l0": _gru_rows(rec, u),
          "bias_ih_l0": _gru_rows(b_ih, u), "bias_hh_l0": _gru_rows(b_hh, u)}
    ours.load_state_dict({n: torch.from_numpy(np.ascontiguousarray(v)) for n, v in sd.items()})
    o, _ = ours(torch.from_numpy(x))
    np.testing.assert_allclose(o.detach().numpy(), seq, atol=2e-6)


def test_simple_rnn_matches_keras(keras):
    rng = np.random.default_rng(2)
    I, u, T, B = 2, 3, 7, 2
    k = keras.layers.SimpleRNN(u, return_sequences=True)
    k.build((None, T, I))
    kernel, rec, bias = _rand_weights(k, rng)
    k.set_weights([kernel, rec, bias])
    x = rng.normal(size=(B, T, I)).astype("float32")
    seq = np.asarray(k(x).detach().cpu())
    ours = rnn.RNN(I, u, batch_first=True)
    sd = {"weight_ih_l0": kernel.T, "weight_hh_l0": rec.T, "bias_ih_l0": bias,
          "bias_hh_l0": np.zeros_like(bias)}
    ours.load_state_dict({n: torch.from_numpy(np.ascontiguousarray(v)) for n, v in sd.items()})
    o, _ = ours(torch.from_numpy(x))
    np.testing.assert_allclose(o.detach().numpy(), seq, atol=2e-6)


def test_masked_lstm_matches_keras_masking(keras):
    """Keras's Masking: masked steps keep the state; our mask= does the same."""
    rng = np.random.default_rng(3)
    I, u, T, B = 2, 3, 6, 3
    inp = keras.Input((T, I))
    lstm = keras.layers.LSTM(u)
    model = keras.Model(inp, lstm(keras.layers.Masking(0.0)(inp)))
    kernel, rec, bias = _rand_weights(lstm, rng)
    lstm.set_weights([kernel, rec, bias])
    x = rng.normal(size=(B, T, I)).astype("float32")
    x[0, 4:] = 0.0  # right padding
    x[1, :2] = 0.0  # left padding
    x[2, 2:4] = 0.0  # a hole
    want = np.asarray(model(x).detach().cpu())
    ours = rnn.LSTM(I, u, batch_first=True)
    sd = {"weight_ih_l0": kernel.T, "weight_hh_l0": rec.T, "bias_ih_l0": bias,
          "bias_hh_l0": np.zeros_like(bias)}
    ours.load_state_dict({n: torch.from_numpy(np.ascontiguousarray(v)) for n, v in sd.items()})
    xt = torch.from_numpy(x)
    _, (h, _) = ours(xt, mask=(xt != 0).any(-1))
    np.testing.assert_allclose(h[0].detach().numpy(), want, atol=2e-6)
