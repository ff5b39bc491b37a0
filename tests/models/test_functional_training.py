"""compile / fit / evaluate / predict of functional models with several inputs
and outputs: the numbers are checked by hand against the layers' outputs."""
import numpy as np
import pytest
import torch

import rnnkit as keras
from rnnkit import layers


def _two_heads():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    h = layers.Concatenate()([layers.Dense(4, name="da")(a), layers.Dense(4, name="db")(b)])
    reg = layers.Dense(1, name="reg")(h)
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    return keras.Model({"a": a, "b": b}, {"reg": reg, "cls": cls})


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = {"a": rng.normal(size=(n, 3)).astype("float32"), "b": rng.normal(size=(n, 2)).astype("float32")}
    y = {"reg": rng.normal(size=(n, 1)).astype("float32"), "cls": rng.integers(0, 3, n)}
    return x, y


def test_evaluate_is_the_weighted_sum_of_per_output_losses_computed_by_hand():
    keras.set_random_seed(0)
    model = _two_heads()
    model.compile("sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 0.25, "cls": 2.0}, metrics={"cls": ["accuracy"]})
    x, y = _data()
    logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    with torch.no_grad():
        out = model({k: torch.from_numpy(v) for k, v in x.items()})
    mse = float(((out["reg"].numpy() - y["reg"]) ** 2).mean())
    p = out["cls"].numpy()[np.arange(40), y["cls"]]
    xent = float(-np.log(p).mean())
    acc = float((out["cls"].numpy().argmax(-1) == y["cls"]).mean())
    assert logs["reg_loss"] == pytest.approx(mse, rel=1e-5)
    assert logs["cls_loss"] == pytest.approx(xent, rel=1e-5)
    assert logs["loss"] == pytest.approx(0.25 * mse + 2.0 * xent, rel=1e-5)
    assert logs["cls_accuracy"] == pytest.approx(acc)
    assert list(logs) == ["loss", "reg_loss", "cls_loss", "cls_accuracy"]


def test_fit_accepts_lists_and_dicts_and_learns():
    keras.set_random_seed(1)
    model = _two_heads()
    model.compile(keras.optimizers.Adam(0.02), loss=["mse", "sparse_categorical_crossentropy"])
    x, y = _data(200)
    y["reg"] = (x["a"][:, :1] * 2 - x["b"][:, :1]).astype("float32")
    first = model.evaluate([x["a"], x["b"]], [y["reg"], y["cls"]], verbose=0)[1]
    hist = model.fit(x, y, epochs=20, batch_size=20, verbose=0, validation_split=0.2)
    assert hist.history["reg_loss"][-1] < 0.3 * first
    assert "val_cls_loss" in hist.history
    pred = model.predict(x)
    assert pred["reg"].shape == (200, 1) and pred["cls"].shape == (200, 3)


def test_multi_input_fit_with_different_sample_counts_is_a_value_error():
    model = _two_heads()
    model.compile("adam", loss="mse")
    x, y = _data()
    x["b"] = x["b"][:30]
    with pytest.raises(ValueError, match=r"`x\[1\] \('b'\)` has 30 samples but `x\[0\] \('a'\)` "
                                         r"has 40"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"must be a dict with keys \['a', 'b'\]"):
        model.fit({"a": x["a"], "c": x["a"]}, y, verbose=0)
    with pytest.raises(ValueError, match="the model has 2 inputs"):
        model.predict(x["a"])


def test_wrong_sample_shape_names_the_input():
    model = _two_heads()
    model.compile("adam", loss="mse")
    x, y = _data()
    x["a"] = np.zeros((40, 5), "float32")
    with pytest.raises(ValueError, match=r"`x\[0\]` \(input 'a'\) has samples of shape \(5,\)"):
        model.fit(x, y, verbose=0)


def test_frozen_layer_is_not_trained_by_fit():
    keras.set_random_seed(2)
    model = _two_heads()
    model.get_layer("da").trainable = False
    before = [w.copy() for w in model.get_layer("da").get_weights()]
    other = model.get_layer("db").get_weights()[0].copy()
    model.compile("adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"})
    model.fit(*_data(), epochs=2, verbose=0)
    for w0, w1 in zip(before, model.get_layer("da").get_weights()):
        np.testing.assert_array_equal(w0, w1)
    assert not np.array_equal(other, model.get_layer("db").get_weights()[0])
    assert model.get_layer("da").trainable_weights == []


def test_single_output_sequence_model_masks_the_loss():
    keras.set_random_seed(3)
    tokens = keras.Input((None,), dtype="int32")
    e = layers.Embedding(12, 4, mask_zero=True)(tokens)
    y = layers.TimeDistributed(layers.Dense(1))(layers.LSTM(5, return_sequences=True)(e))
    model = keras.Model(tokens, y)
    model.compile("adam", "mse")
    ids = np.array([[3, 4, 0, 0], [1, 2, 3, 4]])
    target = np.zeros((2, 4, 1), "float32")
    loss = model.evaluate(ids, target, verbose=0)
    out = model.predict(ids)
    valid = ids != 0
    assert loss == pytest.approx(float((out[valid] ** 2).mean()), rel=1e-5)


def test_timeseries_batches_feed_fit_and_predict():
    keras.set_random_seed(4)
    t = np.arange(400, dtype="float32")
    series = np.sin(t / 8.0)[:, None]
    ds = keras.utils.timeseries_dataset_from_array(series[:-10], series[10:, 0], 10, batch_size=32)
    inp = keras.Input((10, 1))
    model = keras.Model(inp, layers.Dense(1)(layers.GRU(8)(inp)))
    model.compile("adam", "mse")
    first = model.evaluate(ds, verbose=0)
    model.fit(ds, epochs=15, verbose=0)
    assert model.evaluate(ds, verbose=0) < 0.2 * first
    assert model.predict(ds).shape == (len(ds.starts), 1)


def test_ragged_inputs_and_per_output_sample_weights_are_refused_clearly():
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    model = keras.Model(tokens, layers.Dense(1)(layers.GRU(2)(layers.Embedding(9, 3)(tokens))))
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="input 'tokens' holds sequences of different lengths"):
        model.fit([[1, 2, 3], [4]], np.zeros((2, 1)), verbose=0)
    two = _two_heads()
    two.compile("adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"})
    x, y = _data()
    with pytest.raises(ValueError, match="per-output sample weights aren't supported"):
        two.fit(x, y, sample_weight={"reg": np.ones(40)}, verbose=0)
