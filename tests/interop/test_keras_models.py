"""Whole models: `model.set_weights(keras_model.get_weights())` reproduces Keras's predictions."""
import numpy as np
import pytest

from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN
from rnnkit.models import Sequential


def _keras_seed_model(keras, cell):
    return keras.Sequential([keras.Input((100, 1)), cell(64, return_sequences=True), cell(32),
                             keras.layers.Dense(1, activation="linear")])


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_seed_model_predicts_as_keras(keras, name):
    ours_cls = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}[name]
    k = _keras_seed_model(keras, getattr(keras.layers, name))
    rng = np.random.default_rng(0)
    # Scale 0.1 keeps the recurrence contractive (spectral radius ~0.8 at 64 units): a chaotic
    # one would amplify float32 rounding over 100 steps and compare summation orders, not models.
    k.set_weights([rng.normal(scale=0.1, size=w.shape).astype("float32") for w in k.get_weights()])
    model = Sequential()
    model.add(ours_cls(64, input_shape=(100, 1), return_sequences=True))
    model.add(ours_cls(32))
    model.add(Dense(1, activation="linear"))
    assert model.count_params() == k.count_params()
    model.set_weights(k.get_weights())
    x = rng.normal(size=(4, 100, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)
    # and back: our weights, in Keras's layout, load into Keras
    for a, b in zip(model.get_weights(), k.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_seed_model_has_29345_parameters_like_keras(keras):
    k = _keras_seed_model(keras, keras.layers.LSTM)
    assert k.count_params() == 29345
    model = Sequential([LSTM(64, input_shape=(100, 1), return_sequences=True), LSTM(32), Dense(1)])
    assert model.count_params() == 29345


def test_masked_text_model_predicts_as_keras(keras):
    V, T = 20, 7
    k = keras.Sequential([keras.Input((T,), dtype="int32"),
                          keras.layers.Embedding(V, 5, mask_zero=True),
                          keras.layers.Bidirectional(keras.layers.GRU(4, reset_after=False)),
                          keras.layers.Dense(3, activation="softmax")])
    rng = np.random.default_rng(1)
    k.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32") for w in k.get_weights()])
    model = Sequential([Embedding(V, 5, mask_zero=True), Bidirectional(GRU(4, reset_after=False)),
                        Dense(3, activation="softmax")])
    model.build((None, T))
    model.set_weights(k.get_weights())
    x = rng.integers(1, V, size=(5, T))
    x[0, 4:] = 0  # right padded
    x[1, :3] = 0  # left padded
    np.testing.assert_allclose(model.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)
