"""The functional Model: graph structure, Keras's structure API, calling,
configs and files, and the bad-input cases of issue 13."""
import numpy as np
import pytest
import torch

import rnnkit as keras
from rnnkit import layers


def _seq2seq(units=6, n_in=4, n_out=5):
    enc_in = keras.Input(shape=(None, n_in), name="encoder_inputs")
    _, h, c = layers.LSTM(units, return_state=True, name="encoder")(enc_in)
    dec_in = keras.Input(shape=(None, n_out), name="decoder_inputs")
    y = layers.LSTM(units, return_sequences=True, return_state=True, name="decoder")(
        dec_in, initial_state=[h, c])[0]
    out = layers.Dense(n_out, activation="softmax", name="dense")(y)
    return keras.Model([enc_in, dec_in], out)


def test_input_is_symbolic_with_batch_axis():
    x = keras.Input(shape=(None, 3), name="frames")
    assert x.shape == (None, None, 3) and x.dtype == "float32" and x.ndim == 3
    assert keras.Input((7,), batch_size=4, dtype="int32").shape == (4, 7)
    with pytest.raises(TypeError, match="can't take part in Python or torch arithmetic"):
        x + x


def test_layer_on_symbolic_tensor_infers_shapes_and_unknown_axes():
    x = keras.Input(shape=(None, 3))
    y = layers.LSTM(4, return_sequences=True)(x)
    assert y.shape == (None, None, 4)  # the time axis stays unknown
    out, h, c = layers.LSTM(5, return_state=True)(x)
    assert out.shape == h.shape == c.shape == (None, 5)


def test_layers_in_keras_order_and_structure_api():
    model = _seq2seq()
    # Keras's order for this graph (its char-level seq2seq example reads layers[2], layers[3]).
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "InputLayer", "LSTM", "LSTM", "Dense"]
    assert [layer.name for layer in model.layers][:2] == ["encoder_inputs", "decoder_inputs"]
    assert model.get_layer("decoder") is model.layers[3]
    assert len(model.inputs) == 2 and model.input[1] is model.inputs[1]
    assert model.output is model.outputs[0]
    enc = model.get_layer("encoder")
    assert enc.input is model.input[0] and len(enc.output) == 3
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        model.get_layer("nope")


def test_forward_equals_the_same_layers_called_by_hand():
    torch.manual_seed(0)
    model = _seq2seq()
    x1, x2 = torch.randn(3, 7, 4), torch.randn(3, 5, 5)
    enc, dec, dense = (model.get_layer(n) for n in ("encoder", "decoder", "dense"))
    _, h, c = enc(x1)
    want = dense(dec(x2, initial_state=[h, c])[0])
    got = model([x1, x2])
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(model({"encoder_inputs": x1, "decoder_inputs": x2}), want)
    assert isinstance(model, torch.nn.Module)


def test_inference_models_from_a_trained_models_tensors():
    model = _seq2seq()
    encoder = keras.Model(model.input[0], model.layers[2].output[1:])
    x1 = np.random.default_rng(0).normal(size=(2, 6, 4)).astype("float32")
    h, c = encoder.predict(x1)
    _, h_ref, c_ref = model.layers[2](torch.from_numpy(x1))
    np.testing.assert_allclose(h, h_ref.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(c, c_ref.detach().numpy(), atol=1e-6)


def test_shared_layer_shares_weights_and_nested_model_is_a_layer():
    a, b = keras.Input((3,)), keras.Input((3,))
    shared = layers.Dense(2, name="shared")
    merged = layers.Add()([shared(a), shared(b)])
    inner = keras.Model([a, b], merged, name="inner")
    assert inner.count_params() == 3 * 2 + 2  # one kernel, one bias, used twice
    with pytest.raises(ValueError, match="called 2 times"):
        shared.output
    p, q = keras.Input((3,)), keras.Input((3,))
    outer = keras.Model([p, q], layers.Dense(1, name="head")(inner([p, q])))
    x, y = torch.randn(4, 3), torch.randn(4, 3)
    want = outer.get_layer("head")(shared(x) + shared(y))
    torch.testing.assert_close(outer([x, y]), want)
    assert outer.count_params() == 8 + 3


def test_outputs_not_depending_on_inputs_and_unused_inputs_are_errors():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    y = layers.Dense(2)(b)
    with pytest.raises(ValueError, match="depend on input 'b', which is not among"):
        keras.Model(a, y)
    with pytest.raises(ValueError, match=r"inputs \['a'\] are not used"):
        keras.Model([a, b], y)


def test_incompatible_shapes_fail_at_graph_build_time_naming_layer_and_tensors():
    a, b = keras.Input((5, 3), name="a"), keras.Input((4, 3), name="b")
    with pytest.raises(ValueError, match=r"layer 'concatenate' \(Concatenate\) can't be called on "
                                         r"'a' of shape \(None, 5, 3\), 'b' of shape \(None, 4, 3\)"):
        layers.Concatenate()([a, b])
    d = layers.Dense(2)
    d(keras.Input((3,)))
    with pytest.raises(ValueError, match=r"layer 'dense' \(Dense\) can't be called on .*\(None, 4\)"):
        d(keras.Input((4,), name="wide"))
    with pytest.raises(ValueError, match=r"layer 'lstm' \(LSTM\) can't be called"):
        layers.LSTM(3)(keras.Input((4,)))


def test_masks_flow_through_the_graph():
    tokens = keras.Input((None,), dtype="int32")
    e = layers.Embedding(10, 4, mask_zero=True)(tokens)
    y = layers.LSTM(3, return_sequences=True)(e)
    assert e.has_mask and y.has_mask
    model = keras.Model(tokens, y)
    ids = torch.tensor([[3, 4, 0, 0], [1, 2, 3, 4]])
    got = model(ids)
    emb, lstm = model.layers[1], model.layers[2]
    want = lstm(emb(ids), mask=ids != 0)
    torch.testing.assert_close(got, want)
    plain = lstm(emb(ids))  # without the mask the padded steps change the outputs
    assert not torch.allclose(got[0, 2:], plain[0, 2:])


def test_summary_has_connected_to_column():
    lines = []
    text = _seq2seq().summary(print_fn=lines.append)
    assert "Connected to" in text and lines == [text]
    row = next(line for line in text.splitlines() if line.startswith("│ decoder "))
    assert "decoder_inputs[0][0], encoder[0][1], encoder[0][2]" in row
    assert " Total params: " in text


def test_config_and_file_round_trip_predict_identically(tmp_path):
    model = _seq2seq()
    x = [np.random.default_rng(1).normal(size=(3, 6, 4)).astype("float32"),
         np.random.default_rng(2).normal(size=(3, 5, 5)).astype("float32")]
    want = model.predict(x)
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x), want)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "m.rnnkit")
    loaded = keras.models.load_model(tmp_path / "m.rnnkit")
    np.testing.assert_array_equal(loaded.predict(x), want)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.compiled and loaded.optimizer is not None
    # the seq2seq inference pattern on a loaded model
    enc = keras.Model(loaded.input[0], loaded.layers[2].output[1:])
    assert [t.shape for t in enc.outputs] == [(None, 6), (None, 6)]
    model.save_weights(tmp_path / "w.rnnkit")
    other = _seq2seq()
    other.load_weights(tmp_path / "w.rnnkit")
    np.testing.assert_array_equal(other.predict(x), want)


def test_nested_and_shared_models_round_trip(tmp_path):
    a = keras.Input((3,), name="a")
    inner = keras.Model(a, layers.Dense(2, name="d")(a), name="inner")
    p, q = keras.Input((3,), name="p"), keras.Input((3,), name="q")
    out = layers.Concatenate()([inner(p), inner(q)])
    model = keras.Model([p, q], out)
    x = [np.ones((2, 3), "float32"), np.arange(6, dtype="float32").reshape(2, 3)]
    model.save(tmp_path / "n.rnnkit")
    loaded = keras.models.load_model(tmp_path / "n.rnnkit")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.count_params() == 8


def test_dict_outputs_and_unsupported_names():
    a = keras.Input((2,), name="a")
    model = keras.Model({"a": a}, {"y": layers.Dense(1, name="y")(a), "z": layers.Dense(2)(a)})
    out = model({"a": torch.zeros(3, 2)})
    assert set(out) == {"y", "z"} and out["z"].shape == (3, 2)
    with pytest.raises(AttributeError,
                       match="keras.layers.SeparableConv2D is not supported by rnnkit"):
        layers.SeparableConv2D
    with pytest.raises(AttributeError, match="keras.ops is not supported by rnnkit"):
        keras.ops
    with pytest.raises(TypeError, match="subclassed Keras models aren't supported"):
        keras.Model()
