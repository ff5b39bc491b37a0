"""The Layer contract: argument checks, lazy building, config round trips."""
import json

import numpy as np
import pytest
import torch

import rnnkit.layers as L
from rnnkit.layers.base import check_rate, check_units, layer_from_config


def test_check_units_messages():
    with pytest.raises(ValueError, match=r"Received an invalid value for argument `units`, "
                                         r"expected a positive integer, got 0"):
        check_units(0)
    with pytest.raises(TypeError, match="`units`.*got 2.5"):
        check_units(2.5)
    with pytest.raises(TypeError, match="`units`"):
        check_units(True)
    assert check_units(np.int64(3)) == 3


def test_check_rate_messages():
    with pytest.raises(ValueError, match=r"`dropout`, expected a float in \[0, 1\), got 1.0"):
        check_rate(1.0, "dropout")
    with pytest.raises(ValueError, match="`recurrent_dropout`.*got -0.1"):
        check_rate(-0.1, "recurrent_dropout")
    with pytest.raises(TypeError, match="`dropout`"):
        check_rate("0.1", "dropout")
    assert check_rate(0, "dropout") == 0.0


def test_unknown_class_name_suggests_the_closest():
    with pytest.raises(ValueError, match="'LSTMM'.*did you mean 'LSTM'"):
        layer_from_config({"class_name": "LSTMM", "config": {}})


def test_unexpected_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="return_sequence"):
        L.LSTM(4, return_sequence=True)


def test_keras_only_arguments_accepted_as_none_refused_otherwise():
    L.Dense(3, kernel_regularizer=None, bias_constraint=None, recurrent_regularizer=None)
    L.Dense(3, kernel_regularizer="l2")  # a Dense kernel takes regularizers now
    with pytest.raises(ValueError, match="`recurrent_regularizer` isn't supported by Dense"):
        L.Dense(3, recurrent_regularizer="l2")
    with pytest.raises(ValueError, match="`embeddings_constraint` isn't supported by LSTM"):
        L.LSTM(3, embeddings_constraint="non_neg")


def test_lazy_build_from_first_input_and_numpy_inputs():
    d = L.Dense(2)
    assert not d.built and d.get_weights() == []
    with pytest.raises(ValueError, match="isn't built yet"):
        d.count_params()
    y = d(np.ones((4, 3), dtype="float32"))  # numpy in, as Keras takes
    assert d.built and y.shape == (4, 2) and d.count_params() == 3 * 2 + 2


def test_input_shape_with_unknown_time_axis_builds():
    lstm = L.LSTM(5, input_shape=(None, 2))
    lstm.maybe_build(lstm.input_shape_arg)
    assert lstm.count_params() == 4 * (2 * 5 + 5 * 5 + 5)
    assert lstm(torch.zeros(1, 7, 2)).shape == (1, 5)
    assert lstm.compute_output_shape((None, 2)) == (5,)


def test_trainable_false_freezes_parameters():
    d = L.Dense(2, trainable=False)
    d(torch.zeros(1, 3))
    assert all(not p.requires_grad for p in d.parameters())


EXAMPLES = [
    L.LSTM(3, return_sequences=True, go_backwards=True, zoneout=(0.1, 0.2), peephole=True,
           layer_norm=True, input_shape=(5, 2), name="enc"),
    L.GRU(3, reset_after=False, dropout=0.1, recurrent_dropout=0.2, seed=4,
          kernel_initializer={"class_name": "RandomNormal", "config": {"stddev": 0.1}}),
    L.SimpleRNN(3, activation="relu", use_bias=False, stateful=True),
    L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="sum"),
    L.Bidirectional(L.GRU(2), merge_mode=None,
                    backward_layer=L.GRU(2, go_backwards=True, name="back")),
    L.Dense(4, activation="relu", use_bias=False, bias_initializer="ones"),
    L.Embedding(10, 3, mask_zero=True, input_length=7),
    L.Masking(mask_value=-1.0),
    L.Activation("relu"),
    L.Dropout(0.3, noise_shape=(None, 1, None), seed=2),
    L.Flatten(),
    L.RepeatVector(3),
    L.TimeDistributed(L.Dense(2, activation="tanh")),
]


@pytest.mark.parametrize("layer", EXAMPLES, ids=lambda l: type(l).__name__)
def test_config_round_trips_through_json(layer):
    cfg = layer.get_config()
    spec = json.loads(json.dumps({"class_name": type(layer).__name__, "config": cfg}))
    again = layer_from_config(spec)
    assert type(again) is type(layer)
    assert again.get_config() == cfg


def test_every_exported_layer_is_registered():
    from rnnkit.layers.base import _LAYERS
    for name in L.__all__:
        obj = getattr(L, name)
        if isinstance(obj, type) and issubclass(obj, L.Layer) and obj not in (
                L.Layer, L.RecurrentLayer):
            assert _LAYERS.get(name) is obj


@pytest.mark.parametrize("cls,name", [("SimpleRNN", "simple_rnn"), ("TimeDistributed", "time_distributed"),
                                      ("RepeatVector", "repeat_vector"), ("LSTM", "lstm"), ("Dense", "dense")])
def test_default_names_are_keras_snake_case(cls, name):
    from rnnkit.layers.base import snake_case
    assert snake_case(cls) == name


# --- issue #10: shapes without memory; mask values ------------------------------------------
def test_shapes_only_builds_on_the_meta_device_without_initialising():
    import rnnkit.layers as L
    from rnnkit.layers.base import shapes_only
    from rnnkit.models import Sequential

    with shapes_only():
        m = Sequential([L.Bidirectional(L.LSTM(20000, return_sequences=True), input_shape=(5, 3)),
                        L.GRU(7), L.Dense(2)])
    assert {p.device.type for p in m.parameters()} == {"meta"}
    assert m.layers[0].forward_layer.weight_hh.shape == (80000, 20000)
    real = Sequential([L.LSTM(2, input_shape=(5, 3))])  # outside: real, initialised layers
    assert real.layers[0].weight_ih.device.type == "cpu" and real.layers[0].weight_ih.abs().sum() > 0
    assert "reset_parameters" not in vars(m.layers[1])  # the shadowing attribute is gone


def test_check_mask_values():
    from rnnkit.layers.base import check_mask_values

    assert check_mask_values(torch.tensor([1.0, 0.0])).tolist() == [True, False]
    assert check_mask_values(torch.tensor([True])).dtype == torch.bool
    with pytest.raises(ValueError, match=r"`m` must be boolean .* values such as \[0.5\]"):
        check_mask_values(torch.tensor([1.0, 0.5]), "m")


def test_two_of_rnnkits_classes_cannot_claim_one_layer_name():
    """Layer modules are discovered: a second rnnkit class registered under an existing
    Keras name would silently replace the first in every config reader."""
    from rnnkit.layers.base import Layer, register_layer, registered_layers

    original = registered_layers()["LSTM"]
    clash = type("LSTM", (Layer,), {"__module__": "rnnkit.layers.somewhere_else"})
    with pytest.raises(ValueError, match="'LSTM' is registered by rnnkit.layers.lstm.LSTM"):
        register_layer(clash)
    assert registered_layers()["LSTM"] is original


def test_a_users_class_may_take_over_its_own_name_again():
    """Re-running a notebook cell registers a new class object under the same name."""
    from rnnkit.layers.base import Layer, register_layer, registered_layers

    first = register_layer(type("MyNotebookLayer", (Layer,), {"__module__": "__main__"}))
    second = register_layer(type("MyNotebookLayer", (Layer,), {"__module__": "__main__"}))
    assert first is not second and registered_layers()["MyNotebookLayer"] is second
