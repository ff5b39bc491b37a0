import numpy as np
import pytest
import torch

from rnnkit import set_random_seed
from rnnkit.layers import GRU, LSTM, Dense, SimpleRNN
from rnnkit.tools.stacks import build_regressor, recurrent_layer


@pytest.mark.parametrize("cell, cls, extras", [
    ("rnn", SimpleRNN, {}), ("lstm", LSTM, {}), ("gru", GRU, {}),
    ("LSTM-ln", LSTM, {"layer_norm": True}), ("lstm-peephole", LSTM, {"peephole": True}),
    ("gru-ln", GRU, {"layer_norm": True}), ("rnn-ln", SimpleRNN, {"layer_norm": True}),
])
def test_cell_names_pick_the_layer_and_its_extras(cell, cls, extras):
    layer = recurrent_layer(cell, 3, return_sequences=True)
    assert type(layer) is cls and layer.units == 3 and layer.return_sequences
    assert layer.layer_norm == extras.get("layer_norm", False)
    assert layer.peephole == extras.get("peephole", False)


def test_regressor_stack_shapes_and_parameter_count_by_hand():
    m = build_regressor("gru", (10, 2), units=4, layers=2, outputs=3)
    assert [type(la) for la in m.layers] == [GRU, GRU, Dense]
    assert [la.return_sequences for la in m.layers[:2]] == [True, False]
    assert m.input_shape == (None, 10, 2) and m.output_shape == (None, 3)
    # Keras's GRU (reset_after): kernel I x 3H, recurrent H x 3H, bias 2 x 3H
    gru = lambda i, h: i * 3 * h + h * 3 * h + 2 * 3 * h  # noqa: E731
    assert m.count_params() == gru(2, 4) + gru(4, 4) + 4 * 3 + 3
    assert m(torch.zeros(5, 10, 2)).shape == (5, 3)


def test_the_same_seed_builds_the_same_weights():
    set_random_seed(3)
    a = build_regressor("lstm", (4, 1), units=2).get_weights()
    set_random_seed(3)
    b = build_regressor("lstm", (4, 1), units=2).get_weights()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown cell 'gru-peephole'"):
        build_regressor("gru-peephole", (4, 1))
    with pytest.raises(ValueError, match="layers: expected a positive integer, got 0"):
        build_regressor("gru", (4, 1), layers=0)
    with pytest.raises(ValueError, match="units: expected a positive integer"):
        recurrent_layer("lstm", 0)
    with pytest.raises(TypeError, match="cell: expected a str"):
        recurrent_layer(3, 2)
