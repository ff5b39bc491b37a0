"""RNN(cell): built-in cells run the same fused kernels as LSTM/GRU/SimpleRNN;
custom cells run the reference loop; both match Keras 3's RNN layer."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L
from rnnkit.kernels import registry

B, T, I, U = 3, 6, 2, 4
MASK = np.array([[1] * 6, [1] * 4 + [0] * 2, [0, 1, 1, 0, 1, 0]], bool)


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


@pytest.mark.parametrize("cell,layer", [("LSTMCell", "LSTM"), ("GRUCell", "GRU"),
                                        ("SimpleRNNCell", "SimpleRNN")])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_rnn_of_builtin_cell_equals_layer_and_runs_the_fused_kernel(cell, layer, go_backwards,
                                                                    monkeypatch):
    kw = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    rnn, lay = L.RNN(getattr(L, cell)(U), **kw), getattr(L, layer)(U, **kw)
    x = torch.randn(B, T, I)
    rnn(x), lay(x)
    lay.set_weights(rnn.get_weights())
    seen = []
    real = registry.run
    monkeypatch.setattr(registry, "run", lambda spec, *a, **k: seen.append(spec) or real(spec, *a, **k))
    got, want = rnn(x, mask=torch.from_numpy(MASK)), lay(x, mask=torch.from_numpy(MASK))
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=0, atol=0)
    assert len(seen) == 2 and seen[0] == seen[1]  # the same spec, through the registry
    assert rnn.kernel_report().split()[1] == lay.kernel_report().split()[1] != "reference"


class MinimalRNNCell(L.Layer):
    """The RNN guide's custom cell: output = x W + h U."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")

    def call(self, inputs, states):
        prev = states[0]
        output = inputs @ self.kernel + prev @ self.recurrent_kernel
        return output, [output]


def _keras_minimal(keras):
    class KCell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units, self.state_size = units, units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            out = keras.ops.matmul(inputs, self.kernel) + keras.ops.matmul(states[0],
                                                                           self.recurrent_kernel)
            return out, [out]
    return KCell


@pytest.mark.parametrize("kw", [{}, {"go_backwards": True}, {"zero_output_for_mask": True}])
def test_custom_cell_reference_loop_matches_keras(keras, kw):
    ours = L.RNN(MinimalRNNCell(U), return_sequences=True, return_state=True, **kw)
    theirs = keras.layers.RNN(_keras_minimal(keras)(U), return_sequences=True, return_state=True,
                              **kw)
    x = np.random.default_rng(0).normal(size=(B, T, I)).astype("float32")
    theirs(x)
    ours(torch.from_numpy(x))
    ours.set_weights(theirs.get_weights())
    got = ours(torch.from_numpy(x), mask=torch.from_numpy(MASK))
    want = theirs(x, mask=MASK)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), atol=1e-5)
    assert "reference loop" in ours.kernel_report() and "MinimalRNNCell" in ours.kernel_report()


def test_stacked_cells_match_keras(keras):
    ours = L.RNN([L.LSTMCell(3), L.GRUCell(2)], return_sequences=True, return_state=True)
    theirs = keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.GRUCell(2)],
                              return_sequences=True, return_state=True)
    x = np.random.default_rng(1).normal(size=(B, T, I)).astype("float32")
    theirs(x)
    ours(torch.from_numpy(x))
    ours.set_weights(theirs.get_weights())
    got, want = ours(torch.from_numpy(x), mask=torch.from_numpy(MASK)), theirs(x, mask=MASK)
    assert len(got) == len(want) == 3  # output, [h1, c1], [h2]
    assert [len(s) for s in got[1:]] == [len(s) for s in want[1:]] == [2, 1]
    for g, w in zip([got[0], *got[1], *got[2]], [want[0], *want[1], *want[2]]):
        np.testing.assert_allclose(_np(g), _np(w), atol=2e-6)


def test_custom_cell_gradients_float64():
    cell = MinimalRNNCell(2)
    rnn = L.RNN(cell, return_sequences=True)
    x = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    rnn(x.detach().float())
    cell.double()
    mask = torch.tensor([[1, 1, 0, 1], [1, 0, 1, 1]], dtype=torch.bool)
    params = [cell.kernel, cell.recurrent_kernel]
    assert torch.autograd.gradcheck(lambda x, *p: rnn(x, mask=mask), (x, *params))


def test_stateful_rnn_states_and_reset():
    rnn = L.RNN(L.GRUCell(3), stateful=True)
    x = torch.randn(2, 5, 2)
    assert rnn.states is None
    a = rnn(x)
    assert len(rnn.states) == 1 and torch.equal(rnn.states[0], a.detach())
    b = rnn(x)
    assert not torch.allclose(a, b)  # the second call starts from the carried state
    rnn.reset_states()
    torch.testing.assert_close(rnn(x), a)


def test_rnn_config_round_trip_and_bad_input():
    rnn = L.RNN([L.LSTMCell(3), L.SimpleRNNCell(2)], return_sequences=True, go_backwards=True)
    clone = L.layer_from_config({"class_name": "RNN", "config": rnn.get_config()})
    x = torch.randn(2, 4, 5)
    rnn(x), clone(x)
    clone.set_weights(rnn.get_weights())
    torch.testing.assert_close(clone(x), rnn(x))
    with pytest.raises(TypeError, match="expected a cell"):
        L.RNN(L.Dense(3))
    with pytest.raises(ValueError, match=r"`initial_state` for layer 'rnn' must hold 3 tensors"):
        rnn(x, initial_state=[torch.zeros(2, 3)])


def test_sequential_build_knows_the_rnn_output_shape():
    # Sequential.build runs on shapes: the RNN reports the cell's units, not its input's
    # width, so the Dense after it is built for 4 inputs
    from rnnkit.layers import GRUCell, LSTMCell, RNN, Dense, TimeDistributed
    from rnnkit.models import Sequential

    m = Sequential([TimeDistributed(Dense(2)), RNN(GRUCell(4)), Dense(1)])
    m.build((None, 5, 3))
    assert m.layers[2].kernel.shape == (4, 1)
    assert m(torch.zeros(2, 5, 3)).shape == (2, 1)
    seq = RNN(LSTMCell(6), return_sequences=True, return_state=True)
    assert seq.compute_output_shape((5, 3)) == ((5, 6), (6,), (6,))
