"""Keras's cells: one step against Keras 3's cells, weight for weight, and the
equation of a hand-computed case."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L

B, I, U = 3, 2, 4


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


@pytest.mark.parametrize("cls,kw", [("SimpleRNNCell", {}), ("LSTMCell", {}), ("GRUCell", {}),
                                    ("GRUCell", {"reset_after": False})])
def test_cell_step_matches_keras(keras, cls, kw):
    ours, theirs = getattr(L, cls)(U, **kw), getattr(keras.layers, cls)(U, **kw)
    theirs.build((None, I))
    ours.maybe_build((I,))
    rng = np.random.default_rng(0)
    ws = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    assert ours.count_params() == theirs.count_params()
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = rng.normal(size=(B, I)).astype("float32")
    n = 2 if cls == "LSTMCell" else 1
    states = [rng.normal(size=(B, U)).astype("float32") for _ in range(n)]
    out, new = ours(torch.from_numpy(x), [torch.from_numpy(s) for s in states])
    k_out, k_new = theirs(x, states)
    np.testing.assert_allclose(_np(out), _np(k_out), atol=2e-6)
    for a, b in zip(new, k_new):
        np.testing.assert_allclose(_np(a), _np(b), atol=2e-6)
    assert ours.state_size == theirs.state_size


def test_simple_rnn_cell_equation_by_hand():
    cell = L.SimpleRNNCell(1, activation="linear")
    cell.maybe_build((2,))
    cell.set_weights([np.array([[0.5], [-1.0]], "float32"), np.array([[2.0]], "float32"),
                      np.array([0.25], "float32")])
    with torch.no_grad():
        out, (h,) = cell(torch.tensor([[1.0, 3.0]]), [torch.tensor([[0.5]])])
    # h = x W + h U + b = 0.5 - 3 + 1 + 0.25
    assert float(out) == pytest.approx(-1.25) and float(h) == pytest.approx(-1.25)


def test_cell_configs_round_trip_and_bad_input():
    cell = L.LSTMCell(3, unit_forget_bias=False, recurrent_activation="hard_sigmoid",
                      kernel_regularizer="l2")
    clone = L.layer_from_config({"class_name": "LSTMCell", "config": cell.get_config()})
    assert clone.get_config() == cell.get_config()
    assert "return_sequences" not in cell.get_config()
    cell.maybe_build((2,))
    with pytest.raises(ValueError, match="has 5 features but cell 'lstm_cell' was built for 2"):
        cell(torch.zeros(1, 5), None)
    with pytest.raises(ValueError, match=r"`states` for LSTMCell must be \[h, c\]"):
        cell(torch.zeros(1, 2), [torch.zeros(1, 3)])


def test_stacked_cells_state_size_and_weights():
    st = L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)])
    assert st.state_size == [3, 3, 2] and st.output_size == 2
    st.maybe_build((4,))
    assert [w.shape for w in st.get_weights()] == [(4, 12), (3, 12), (12,), (3, 6), (2, 6), (2, 6)]
