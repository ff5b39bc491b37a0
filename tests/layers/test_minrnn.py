"""rnnkit.layers.MinGRU / MinLSTM: Keras-style layers over the same kernels as
rnnkit.nn, with Keras's RNN behaviours (masks, return_state, go_backwards,
Bidirectional, step, config and weights round trips)."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L
import rnnkit.nn as rnn

pytestmark = pytest.mark.usefixtures("one_thread")
B, T, I, U = 2, 6, 3, 4


def _x():
    return torch.randn(B, T, I, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


@pytest.mark.parametrize("cls,ncls,G", [(L.MinGRU, rnn.MinGRU, 2), (L.MinLSTM, rnn.MinLSTM, 3)])
def test_weights_are_the_transposed_torch_layout_and_match_rnnkit_nn(cls, ncls, G):
    layer = cls(U, return_sequences=True, return_state=True)
    layer.maybe_build((T, I))
    layer.double()
    kernel, bias = layer.get_weights()
    assert kernel.shape == (I, G * U) and bias.shape == (G * U,)
    assert not np.any(bias)  # bias_initializer="zeros"
    m = ncls(I, U, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(kernel.T))
        m.bias_ih_l0.copy_(torch.from_numpy(bias))
    out, h = layer(_x())
    want, h_n = m(_x())
    torch.testing.assert_close(out, want, rtol=0, atol=1e-12)
    torch.testing.assert_close(h, h_n[0], rtol=0, atol=1e-12)
    layer.set_weights([kernel * 2, bias + 1])
    torch.testing.assert_close(torch.from_numpy(layer.get_weights()[0]), torch.from_numpy(kernel * 2))
    with pytest.raises(ValueError, match=r"must hold 2 arrays \(kernel, bias\)"):
        layer.set_weights([kernel])


def test_masked_steps_repeat_the_last_output_and_keep_the_state():
    layer = L.MinGRU(U, return_sequences=True, return_state=True)
    layer.maybe_build((T, I))
    layer.double()
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1]], dtype=torch.bool)
    out, h = layer(_x(), mask=mask)
    assert torch.equal(out[0, 4], out[0, 3]) and torch.equal(out[0, 5], out[0, 3])
    assert torch.equal(out[1, 0], torch.zeros(U, dtype=torch.float64))
    torch.testing.assert_close(h[0], out[0, 3], rtol=0, atol=0)
    alone, h0 = layer(_x()[:1, :4])
    torch.testing.assert_close(h0[0], h[0], rtol=0, atol=1e-12)


def test_go_backwards_bidirectional_and_step():
    torch.manual_seed(0)
    layer = L.MinLSTM(U, return_sequences=True)
    layer.maybe_build((T, I))
    layer.double().eval()
    x = _x()
    seq = layer(x)
    outs, states = [], None
    for t in range(T):
        o, states = layer.step(x[:, t], states)
        outs.append(o)
    torch.testing.assert_close(torch.stack(outs, 1), seq, rtol=0, atol=1e-12)
    back = L.MinLSTM(U, return_sequences=True, go_backwards=True)
    back.maybe_build((T, I))
    back.double().set_weights(layer.get_weights())
    torch.testing.assert_close(back(x), layer(x.flip(1)), rtol=0, atol=1e-12)
    bi = L.Bidirectional(L.MinGRU(U, return_sequences=True))
    assert bi(x.float()).shape == (B, T, 2 * U)


def test_config_round_trip_and_bad_arguments():
    layer = L.MinGRU(5, use_bias=False, dropout=0.2, seed=3, return_state=True, name="m")
    again = L.layer_from_config({"class_name": "MinGRU", "config": layer.get_config()})
    assert again.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="argument `units`, expected a positive integer, got 0"):
        L.MinLSTM(0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'recurrent_dropout'"):
        L.MinGRU(4, recurrent_dropout=0.1)


def test_a_sequential_model_trains_and_saves_with_it(tmp_path):
    from rnnkit.models import Sequential, load_model

    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(32, T, I)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    model = Sequential([L.MinGRU(8, input_shape=(T, I)), L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    path = tmp_path / "m.rnnkit"
    model.save(path)
    np.testing.assert_allclose(load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=0, atol=1e-6)
