"""Keras configs -> rnnkit models, including tf.keras 2.x's legacy .h5 layout (written here
with h5py as tf.keras 2.x writes it; Keras 3 with the same weights is the oracle)."""
import json
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
h5py = pytest.importorskip("h5py")

from rnnkit.models import load_model  # noqa: E402
from rnnkit.models.keras_config import KerasFileError, model_from_keras  # noqa: E402

INIT = {"kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}}
LSTM_TF2 = dict(trainable=True, dtype="float32", return_sequences=False, return_state=False,
                go_backwards=False, stateful=False, unroll=False, time_major=False,
                activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                recurrent_initializer={"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
                unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                recurrent_dropout=0.0, implementation=2, **INIT)


def _dense(name, units):
    return {"class_name": "Dense", "config": {"name": name, "trainable": True, "dtype": "float32",
                                              "units": units, "activation": "linear",
                                              "use_bias": True, **INIT}}


def _write_tf2_h5(path, config, weights: dict):
    """weights: layer name -> [(weight name, array)], as tf.keras 2.x's save_model writes them."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [n.encode() for n in weights]
        for lname, arrays in weights.items():
            lg = g.create_group(lname)
            lg.attrs["weight_names"] = [w.encode() for w, _ in arrays]
            for wname, a in arrays:
                lg.create_dataset(wname, data=a)


def test_tf_keras2_sequential_h5(tmp_path, keras=pytest.importorskip("keras")):
    k = keras.Sequential([keras.Input((5, 2)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    k.set_weights([rng.normal(scale=0.4, size=w.shape).astype("float32") for w in k.get_weights()])
    w = k.get_weights()
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 5, 2], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "lstm_input"}},
        {"class_name": "LSTM", "config": {"name": "lstm", "units": 4,
                                          "batch_input_shape": [None, 5, 2], **LSTM_TF2}},
        _dense("dense", 1)]}}
    _write_tf2_h5(tmp_path / "tf2.h5", config, {
        "lstm": [("lstm/lstm_cell/kernel:0", w[0]), ("lstm/lstm_cell/recurrent_kernel:0", w[1]),
                 ("lstm/lstm_cell/bias:0", w[2])],
        "dense": [("dense/kernel:0", w[3]), ("dense/bias:0", w[4])]})
    ours = load_model(tmp_path / "tf2.h5")
    assert "2.15.0" in ours.origin
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)


def test_tf_keras2_functional_encoder_decoder_h5(tmp_path, keras=pytest.importorskip("keras")):
    KL = keras.layers
    a, b = keras.Input((5, 2)), keras.Input((3, 2))
    _, h, c = KL.LSTM(4, return_state=True)(a)
    k = keras.Model([a, b], KL.Dense(2)(KL.LSTM(4, return_sequences=True)(b, initial_state=[h, c])))
    rng = np.random.default_rng(1)
    k.set_weights([rng.normal(scale=0.4, size=w.shape).astype("float32") for w in k.get_weights()])
    w = k.get_weights()
    enc = dict(LSTM_TF2, return_state=True)
    dec = dict(LSTM_TF2, return_sequences=True)
    inp = (lambda n, t: {"class_name": "InputLayer", "name": n, "inbound_nodes": [],
                         "config": {"batch_input_shape": [None, t, 2], "dtype": "float32",
                                    "sparse": False, "ragged": False, "name": n}})
    config = {"class_name": "Functional", "config": {"name": "model", "layers": [
        inp("input_1", 5), inp("input_2", 3),
        {"class_name": "LSTM", "name": "lstm", "config": {"name": "lstm", "units": 4, **enc},
         "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {"class_name": "LSTM", "name": "lstm_1", "config": {"name": "lstm_1", "units": 4, **dec},
         "inbound_nodes": [[["input_2", 0, 0, {}], ["lstm", 0, 1, {}], ["lstm", 0, 2, {}]]]},
        {**_dense("dense", 2), "name": "dense", "inbound_nodes": [[["lstm_1", 0, 0, {}]]]}],
        "input_layers": [["input_1", 0, 0], ["input_2", 0, 0]],
        "output_layers": [["dense", 0, 0]]}}
    cell = (lambda n, i: [(f"{n}/lstm_cell/kernel:0", w[i]), (f"{n}/lstm_cell/recurrent_kernel:0", w[i + 1]),
                          (f"{n}/lstm_cell/bias:0", w[i + 2])])
    _write_tf2_h5(tmp_path / "tf2f.h5", config, {
        "input_1": [], "input_2": [], "lstm": cell("lstm", 0), "lstm_1": cell("lstm_1", 3),
        "dense": [("dense/kernel:0", w[6]), ("dense/bias:0", w[7])]})
    ours = load_model(tmp_path / "tf2f.h5")
    xs = [rng.normal(size=(2, 5, 2)).astype("float32"), rng.normal(size=(2, 3, 2)).astype("float32")]
    np.testing.assert_allclose(ours.predict(xs, verbose=0), k.predict(xs, verbose=0), atol=1e-5)


def _seq(*layers):
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4, 2], "name": "in"}}, *layers]}}


def test_unsupported_dtype_policy_is_named():
    spec = _seq({"class_name": "Dense", "config": {"name": "d", "units": 2, "dtype": {
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}}})
    with pytest.raises(KerasFileError, match=r"'d' \(Dense\).*mixed_float16"):
        model_from_keras(spec)


def test_unsupported_argument_is_named():
    spec = _seq({"class_name": "BatchNormalization", "config": {"name": "bn", "renorm": True}})
    with pytest.raises(KerasFileError, match=r"'bn' \(BatchNormalization\).*renorm"):
        model_from_keras(spec)


def test_subclassed_model_is_refused():
    with pytest.raises(KerasFileError, match="MyModel"):
        model_from_keras({"class_name": "MyModel", "config": {}})


def test_custom_backward_layer_is_refused():
    fwd = {"class_name": "GRU", "config": {"name": "f", "units": 3}}
    back = {"class_name": "GRU", "config": {"name": "b", "units": 5, "go_backwards": True}}
    spec = _seq({"class_name": "Bidirectional", "config": {"name": "bi", "layer": fwd,
                                                           "backward_layer": back}})
    with pytest.raises(KerasFileError, match="backward_layer"):
        model_from_keras(spec)
