"""Keras 3's HDF5 weight layout: the keys and groups rnnkit reads and writes."""
import numpy as np
import pytest

import rnnkit
from rnnkit.models.keras_weights import groups, keyed_layers, snake

h5py = pytest.importorskip("h5py")
L = rnnkit.layers


@pytest.mark.parametrize("name,want", [("SimpleRNN", "simple_rnn"), ("LSTM", "lstm"),
                                       ("GlobalAveragePooling1D", "global_average_pooling1d"),
                                       ("MultiHeadAttention", "multi_head_attention"),
                                       ("Conv1D", "conv1d"), ("GRUCell", "gru_cell")])
def test_snake_case_as_keras(name, want):
    assert snake(name) == want


def test_keys_number_classes_not_names():
    model = rnnkit.Sequential([L.Dense(3, name="first", input_shape=(2,)), L.Dense(2, name="x"),
                               L.Dense(1)])
    assert [k for k, _ in keyed_layers(model)] == ["dense", "dense_1", "dense_2"]


def test_groups_follow_get_weights_order():
    bi = L.Bidirectional(L.LSTM(3))
    bi.maybe_build((4, 2))
    assert groups(bi) == [("forward_layer/cell/vars", 3), ("backward_layer/cell/vars", 3)]
    mha = L.MultiHeadAttention(2, 3, use_bias=False)
    mha.build((4, 5), (4, 5))
    assert groups(mha) == [(g, 1) for g in ("query_dense/vars", "key_dense/vars",
                                            "value_dense/vars", "output_dense/vars")]


def test_weights_file_round_trip_and_mismatch(tmp_path):
    model = rnnkit.Sequential([L.GRU(3, input_shape=(4, 2)), L.Dense(1)])
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert f["layers/gru/cell/vars/0"].shape == (2, 9)  # Keras's kernel (I, 3u)
    other = rnnkit.Sequential([L.GRU(3, input_shape=(4, 2)), L.Dense(1)])
    other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    wrong = rnnkit.Sequential([L.GRU(5, input_shape=(4, 2)), L.Dense(1)])
    with pytest.raises(ValueError, match="gru"):
        wrong.load_weights(tmp_path / "w.weights.h5")
