"""A zoo of functional models, each written ONCE and built twice: with Keras 3
(torch backend) and with rnnkit, only the module changed. Keras's weights go
into rnnkit layer by layer (which also checks that ``model.layers`` come in
Keras's order); predictions and parameter counts must then agree."""
import numpy as np
import pytest

import rnnkit

rng = np.random.default_rng(0)


def encoder_decoder(k):
    enc_in = k.Input(shape=(None, 6))
    _, h, c = k.layers.LSTM(8, return_state=True)(enc_in)
    dec_in = k.Input(shape=(None, 5))
    y, _, _ = k.layers.LSTM(8, return_sequences=True, return_state=True)(dec_in,
                                                                        initial_state=[h, c])
    out = k.layers.Dense(5, activation="softmax")(y)
    return k.Model([enc_in, dec_in], out), [rng.normal(size=(3, 7, 6)), rng.normal(size=(3, 4, 5))]


def multi_in_out(k):
    seq = k.Input(shape=(9, 3), name="seq")
    meta = k.Input(shape=(4,), name="meta")
    h = k.layers.GRU(6)(seq)
    m = k.layers.Dense(6, activation="relu")(meta)
    both = k.layers.Concatenate()([h, m])
    score = k.layers.Dense(1, name="score")(both)
    label = k.layers.Dense(3, activation="softmax", name="label")(k.layers.Average()([h, m]))
    return (k.Model([seq, meta], [score, label]),
            [rng.normal(size=(4, 9, 3)), rng.normal(size=(4, 4))])


def shared_layers(k):
    a, b = k.Input(shape=(None, 4)), k.Input(shape=(None, 4))
    enc = k.layers.LSTM(5)
    ea, eb = enc(a), enc(b)
    sim = k.layers.Dot(axes=1, normalize=True)([ea, eb])
    diff = k.layers.Subtract()([ea, eb])
    prod = k.layers.Multiply()([ea, eb])
    mx = k.layers.Maximum()([ea, eb])
    out = k.layers.Dense(1, activation="sigmoid")(k.layers.Concatenate()([sim, diff, prod, mx]))
    return k.Model([a, b], out), [rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 6, 4))]


def nested(k):
    inner_in = k.Input(shape=(5, 2))
    inner_out = k.layers.SimpleRNN(4, return_sequences=True)(inner_in)
    inner = k.Model(inner_in, k.layers.Permute((2, 1))(inner_out))
    x = k.Input(shape=(5, 2))
    y = k.layers.Reshape((20,))(inner(x))
    return k.Model(x, k.layers.Dense(2)(y)), [rng.normal(size=(3, 5, 2))]


def masked_text(k):
    tokens = k.Input(shape=(None,), dtype="int32")
    e = k.layers.Embedding(30, 8, mask_zero=True)(tokens)
    h = k.layers.Bidirectional(k.layers.LSTM(6, return_sequences=True))(e)
    h = k.layers.GRU(5)(h)
    return k.Model(tokens, k.layers.Dense(1, activation="sigmoid")(h)), [
        np.array([[3, 7, 9, 0, 0, 0], [1, 2, 3, 4, 5, 6], [8, 0, 0, 0, 0, 0]])]


ZOO = {f.__name__: f for f in (encoder_decoder, multi_in_out, shared_layers, nested, masked_text)}


def _copy_weights(theirs, ours):
    assert [type(la).__name__ for la in ours.layers] == [
        "Model" if type(la).__name__ == "Functional" else type(la).__name__
        for la in theirs.layers]
    for lt, lo in zip(theirs.layers, ours.layers):
        lo.set_weights(lt.get_weights())


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_model_predicts_as_keras(keras, name):
    theirs, x = ZOO[name](keras)
    ours, _ = ZOO[name](rnnkit)
    x = [a if a.dtype.kind == "i" else a.astype("float32") for a in x]
    x = x[0] if len(x) == 1 else x
    _copy_weights(theirs, ours)
    assert ours.count_params() == theirs.count_params()
    mine, keras_w = ours.get_weights(), theirs.get_weights()  # the model-level order too
    assert len(mine) == len(keras_w)
    for a, b in zip(mine, keras_w):
        np.testing.assert_array_equal(a, b)
    want = theirs.predict(x, verbose=0)
    got = ours.predict(x)
    want, got = (want, got) if isinstance(want, list) else ([want], [got])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, np.asarray(w), atol=2e-5)


@pytest.mark.parametrize("name", ["encoder_decoder", "masked_text"])
def test_zoo_model_round_trips_through_a_file(tmp_path, name):
    model, x = ZOO[name](rnnkit)
    x = [a if a.dtype.kind == "i" else a.astype("float32") for a in x]
    x = x[0] if len(x) == 1 else x
    model.save(tmp_path / "z.rnnkit")
    np.testing.assert_array_equal(rnnkit.models.load_model(tmp_path / "z.rnnkit").predict(x),
                                  model.predict(x))
