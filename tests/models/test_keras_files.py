"""Keras's files, with Keras 3 (torch backend) as the oracle: written by Keras and read by
rnnkit, written by rnnkit and read by Keras, the same predictions both ways."""
import os
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import rnnkit  # noqa: E402
from rnnkit.models import load_model  # noqa: E402
from rnnkit.models.keras_files import KerasFileError  # noqa: E402

KL = keras.layers


def _randomize(model, seed=0):
    """Random weights, layer by layer (Keras's or rnnkit's model); BatchNormalization's
    moving variance positive, since a negative one makes every prediction NaN on both
    sides, and assert_allclose counts NaN == NaN as equal."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = [rng.normal(scale=0.3, size=np.shape(w)).astype("float32")
              for w in layer.get_weights()]
        if type(layer).__name__ == "BatchNormalization":
            ws[-1] = np.abs(ws[-1]) + 0.5
        layer.set_weights(ws)


def _zoo():
    """name -> (keras model builder, input sample)."""
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(3, 8, 4)).astype("float32")
    tokens = rng.integers(1, 20, size=(3, 8))
    tokens[0, 5:] = 0

    def sequential():
        return keras.Sequential([keras.Input((8, 4)), KL.Conv1D(6, 3, padding="causal"),
                                 KL.MaxPooling1D(2), KL.LSTM(5, return_sequences=True),
                                 KL.BatchNormalization(), KL.GRU(4), KL.Dense(2)])

    def text():
        inp = keras.Input((8,), dtype="int32")
        x = KL.Embedding(20, 6, mask_zero=True)(inp)
        x = KL.Bidirectional(KL.LSTM(4, return_sequences=True))(x)
        x = KL.GlobalAveragePooling1D()(KL.LayerNormalization()(x))
        return keras.Model(inp, KL.Dense(3, activation="softmax")(x))

    def encoder_decoder():
        enc_in, dec_in = keras.Input((8, 4)), keras.Input((5, 4))
        _, h, c = KL.LSTM(6, return_state=True)(enc_in)
        y = KL.LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
        att = KL.Attention(use_scale=True)([y, KL.Conv1D(6, 1)(enc_in)])
        z = KL.Concatenate()([y, att, KL.MultiHeadAttention(2, 3)(y, y)])
        return keras.Model([enc_in, dec_in], [KL.TimeDistributed(KL.Dense(3))(z),
                                              KL.AdditiveAttention()([y, y])])

    return {"sequential": (sequential, seq), "text": (text, tokens),
            "encoder_decoder": (encoder_decoder, [seq, seq[:, :5]])}


ZOO = _zoo()


def _predict(model, x):
    out = model.predict(x, verbose=0)
    out = [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [np.asarray(out)]
    assert all(np.isfinite(o).all() for o in out)  # NaN == NaN would pass every comparison
    return out


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("name", list(ZOO))
def test_keras_file_read_by_rnnkit_predicts_the_same(tmp_path, name, fmt):
    build, x = ZOO[name]
    k = build()
    _randomize(k)
    path = tmp_path / f"m.{fmt}"
    k.save(path)
    ours = load_model(path)
    assert ours.count_params() == k.count_params()
    for a, b in zip(_predict(ours, x), _predict(k, x)):
        np.testing.assert_allclose(a, b, atol=2e-5)
    assert "Keras" in ours.origin


@pytest.mark.parametrize("name", list(ZOO))
def test_rnnkit_keras_file_read_by_keras_predicts_the_same(tmp_path, name):
    build, x = ZOO[name]
    k = build()
    _randomize(k, seed=2)
    k.save(tmp_path / "k.keras")
    ours = load_model(tmp_path / "k.keras")
    ours.save(tmp_path / "ours.keras")
    again = keras.models.load_model(tmp_path / "ours.keras")
    for a, b in zip(_predict(again, x), _predict(ours, x)):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_model_built_in_rnnkit_saved_as_keras_loads_in_keras(tmp_path):
    L = rnnkit.layers
    inp = rnnkit.Input((6, 3))
    x = L.Conv1D(4, 2, padding="same", activation="relu")(inp)
    x = L.SpatialDropout1D(0.2)(x)
    x = L.GaussianNoise(0.1)(x)
    x = L.UpSampling1D(2)(x)
    x = L.AveragePooling1D(3, padding="same")(x)
    x = L.SimpleRNN(5, return_sequences=True)(x)
    out = L.Dense(1)(L.GlobalMaxPooling1D()(x))
    model = rnnkit.Model(inp, out)
    model.save(tmp_path / "r.keras", metadata={"vocab": ["a", "b"]})
    back = load_model(tmp_path / "r.keras")
    assert back.metadata == {"vocab": ["a", "b"]} and back.origin.startswith("rnnkit")
    with zipfile.ZipFile(tmp_path / "r.keras") as z:
        assert {"config.json", "metadata.json", "model.weights.h5"} <= set(z.namelist())
    k = keras.models.load_model(tmp_path / "r.keras")
    x = np.random.default_rng(3).normal(size=(2, 6, 3)).astype("float32")
    assert k.count_params() == model.count_params()
    np.testing.assert_allclose(_predict(k, x)[0], _predict(model, x)[0], atol=2e-5)


def test_sequential_weights_h5_both_ways(tmp_path):
    k = ZOO["sequential"][0]()
    _randomize(k, seed=4)
    k.save_weights(tmp_path / "k.weights.h5")
    ours = load_model(_saved(k, tmp_path))
    _randomize(ours, seed=5)  # forget, then load Keras's weights file
    ours.load_weights(tmp_path / "k.weights.h5")
    x = ZOO["sequential"][1]
    np.testing.assert_allclose(_predict(ours, x)[0], _predict(k, x)[0], atol=2e-5)
    _randomize(ours, seed=6)
    ours.save_weights(tmp_path / "ours.weights.h5")
    k.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_allclose(_predict(k, x)[0], _predict(ours, x)[0], atol=2e-5)


def _saved(k, tmp_path):
    path = tmp_path / "arch.keras"
    k.save(path)
    return path


def test_lambda_layer_is_refused_by_name(tmp_path):
    inp = keras.Input((3,))
    k = keras.Model(inp, KL.Dense(2)(KL.Lambda(lambda t: t * 2, name="double")(inp)))
    k.save(tmp_path / "lam.keras")
    with pytest.raises(KerasFileError, match=r"'double' \(Lambda\).*bytecode"):
        load_model(tmp_path / "lam.keras")


def test_unknown_layer_class_is_refused_by_name(tmp_path):
    k = keras.Sequential([keras.Input((4, 4, 1)), KL.SeparableConv2D(2, 2, name="c2"),
                          KL.Flatten()])
    k.save(tmp_path / "c2.keras")
    with pytest.raises(KerasFileError,
                       match=r"'c2' \(SeparableConv2D\).*no layer class 'SeparableConv2D'"):
        load_model(tmp_path / "c2.keras")


def test_rnnkit_only_option_is_refused_when_saving_as_keras(tmp_path):
    model = rnnkit.Sequential([rnnkit.layers.LSTM(3, peephole=True, input_shape=(4, 2))])
    with pytest.raises(KerasFileError, match="peephole"):
        model.save(tmp_path / "p.keras")
    assert not (tmp_path / "p.keras").exists()  # nothing half-written


def test_not_a_keras_file(tmp_path):
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(KerasFileError, match="lacks"):
        load_model(bad)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_model_nested_in_a_model_both_ways(tmp_path, fmt):
    sub = keras.Sequential([keras.Input((5, 3)), KL.GRU(4), KL.Dense(2)], name="sub")
    inp = keras.Input((5, 3))
    k = keras.Model(inp, KL.Dense(1)(sub(inp)))
    _randomize(k, seed=7)
    k.save(tmp_path / f"nest.{fmt}")
    ours = load_model(tmp_path / f"nest.{fmt}")
    x = np.random.default_rng(8).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(_predict(ours, x)[0], _predict(k, x)[0], atol=2e-5)
    ours.save(tmp_path / "ours.keras")
    again = keras.models.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(_predict(again, x)[0], _predict(k, x)[0], atol=2e-5)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_rnn_over_a_list_of_cells_both_ways(tmp_path, fmt):
    k = keras.Sequential([keras.Input((6, 3)),
                          KL.RNN([KL.LSTMCell(4), KL.GRUCell(3), KL.LSTMCell(2)],
                                 return_sequences=True),
                          KL.RNN([KL.SimpleRNNCell(2), KL.SimpleRNNCell(3)], go_backwards=True),
                          KL.Dense(1)])
    _randomize(k, seed=9)
    k.save(tmp_path / f"stack.{fmt}")
    ours = load_model(tmp_path / f"stack.{fmt}")
    assert type(ours.layers[0].cell).__name__ == "StackedRNNCells"
    assert ours.count_params() == k.count_params()
    x = np.random.default_rng(10).normal(size=(2, 6, 3)).astype("float32")
    np.testing.assert_allclose(_predict(ours, x)[0], _predict(k, x)[0], atol=2e-5)
    _randomize(ours, seed=11)
    ours.save(tmp_path / "ours.keras")
    again = keras.models.load_model(tmp_path / "ours.keras")
    assert [type(c).__name__ for c in again.layers[0].cell.cells] == \
        ["LSTMCell", "GRUCell", "LSTMCell"]
    np.testing.assert_allclose(_predict(again, x)[0], _predict(ours, x)[0], atol=2e-5)
