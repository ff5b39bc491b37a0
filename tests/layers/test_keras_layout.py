"""Keras arrays <-> torch layout, checked on hand-made blocks of known values."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L
from rnnkit.cells.base import param_shapes
from rnnkit.layers.keras_layout import from_keras, keras_names, to_keras


def _blocks(rows, cols, values):
    """A (rows, len(values)*cols) array whose column block k is filled with values[k]."""
    return np.concatenate([np.full((rows, cols), v, dtype="float32") for v in values], axis=1)


def test_gru_keras_zrh_columns_map_to_torch_rzn_rows():
    I, u = 2, 3
    kernel = _blocks(I, u, [1.0, 2.0, 3.0])      # z = 1, r = 2, h = 3
    rec = _blocks(u, u, [10.0, 20.0, 30.0])
    bias = np.stack([np.repeat([100.0, 200.0, 300.0], u), np.repeat([-1.0, -2.0, -3.0], u)])
    g = L.GRU(u)
    g.maybe_build((4, I))
    g.set_weights([kernel, rec, bias.astype("float32")])
    # torch's rows: r (= Keras's 2nd block), then z (1st), then n (3rd).
    assert g.weight_ih.shape == (3 * u, I)
    assert (g.weight_ih[:u] == 2.0).all() and (g.weight_ih[u:2 * u] == 1.0).all()
    assert (g.weight_ih[2 * u:] == 3.0).all()
    assert (g.weight_hh[:u] == 20.0).all() and (g.weight_hh[u:2 * u] == 10.0).all()
    assert (g.weight_hh[2 * u:] == 30.0).all()
    assert g.bias_ih.tolist() == [200.0] * u + [100.0] * u + [300.0] * u
    assert g.bias_hh.tolist() == [-2.0] * u + [-1.0] * u + [-3.0] * u
    back = g.get_weights()
    for a, b in zip(back, [kernel, rec, bias]):
        np.testing.assert_array_equal(a, b)


def test_gru_reset_before_has_a_single_bias():
    u = 2
    g = L.GRU(u, reset_after=False)
    g.maybe_build((4, 1))
    assert "bias_hh" not in dict(g.named_parameters())
    g.set_weights([_blocks(1, u, [1, 2, 3]), _blocks(u, u, [4, 5, 6]),
                   np.repeat([7.0, 8.0, 9.0], u).astype("float32")])
    assert g.bias_ih.tolist() == [8.0] * u + [7.0] * u + [9.0] * u


def test_lstm_keras_ifco_is_torch_ifgo_transposed():
    I, u = 3, 2
    kernel = np.arange(I * 4 * u, dtype="float32").reshape(I, 4 * u)
    rec = np.arange(u * 4 * u, dtype="float32").reshape(u, 4 * u) + 100
    bias = np.arange(4 * u, dtype="float32") - 50
    lstm = L.LSTM(u)
    lstm.maybe_build((5, I))
    lstm.set_weights([kernel, rec, bias])
    np.testing.assert_array_equal(lstm.weight_ih.detach().numpy(), kernel.T)
    np.testing.assert_array_equal(lstm.weight_hh.detach().numpy(), rec.T)
    np.testing.assert_array_equal(lstm.bias_ih.detach().numpy(), bias)
    assert "bias_hh" not in dict(lstm.named_parameters())  # Keras's single bias


def test_extras_follow_keras_arrays_in_the_documented_order():
    assert [k for k, _ in keras_names("lstm", use_bias=True, layer_norm=True, peephole=True)] == [
        "kernel", "recurrent_kernel", "bias", "peephole_i", "peephole_f", "peephole_o",
        "ln_kernel_gain", "ln_recurrent_gain", "ln_cell_gain", "ln_cell_shift"]
    u = 2
    g = L.GRU(u, layer_norm=True)
    g.maybe_build((3, 1))
    ws = g.get_weights()
    assert [w.shape for w in ws] == [(1, 6), (2, 6), (2, 6), (6,), (6,)]
    gain = np.repeat([1.0, 2.0, 3.0], u).astype("float32")  # z, r, h
    g.set_weights(ws[:3] + [gain, gain])
    assert g.ln_ih.tolist() == [2.0] * u + [1.0] * u + [3.0] * u  # torch's r, z, n


def test_round_trip_every_variant():
    torch.manual_seed(0)
    for mode, kw in [("lstm", dict(layer_norm=True, peephole=True)), ("gru", dict(layer_norm=True)),
                     ("rnn", dict(layer_norm=True)), ("lstm", dict(bias=False))]:
        shapes = param_shapes(mode, 3, 4, bias=kw.get("bias", True), bias_hh=mode == "gru",
                              layer_norm=kw.get("layer_norm", False),
                              peephole=kw.get("peephole", False))
        params = {n: torch.randn(s) for n, s in shapes.items()}
        opts = dict(use_bias=kw.get("bias", True), layer_norm=kw.get("layer_norm", False),
                    peephole=kw.get("peephole", False))
        back = from_keras(mode, [t.numpy() for t in to_keras(mode, params, **opts)], shapes, **opts)
        assert back.keys() == params.keys()
        for n in params:
            assert torch.equal(back[n], params[n]), (mode, n)


def test_wrong_shapes_and_counts_name_the_array():
    lstm = L.LSTM(2)
    lstm.maybe_build((5, 3))
    ws = lstm.get_weights()
    with pytest.raises(ValueError, match=r"`weights`\[1\] \(recurrent_kernel\).*\(2, 8\), got \(8, 2\)"):
        lstm.set_weights([ws[0], ws[1].T, ws[2]])
    with pytest.raises(ValueError, match="must hold 3 arrays.*got 2"):
        lstm.set_weights(ws[:2])
    with pytest.raises(ValueError, match="isn't built yet"):
        L.LSTM(2).set_weights(ws)
