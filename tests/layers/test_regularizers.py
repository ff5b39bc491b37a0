"""Regularizers: penalties computed by hand, matched against Keras's, and added
to the loss that fit trains on and evaluate reports."""
import numpy as np
import pytest
import torch

import rnnkit
import rnnkit as keras
import rnnkit.layers as L
from rnnkit.layers.regularizers import L1, L1L2, L2, get_regularizer

W = torch.tensor([[1.0, -2.0], [0.5, 0.0]])


def test_penalties_by_hand():
    assert float(L1(0.1)(W)) == pytest.approx(0.1 * 3.5)
    assert float(L2(0.1)(W)) == pytest.approx(0.1 * 5.25)
    assert float(L1L2(0.1, 0.2)(W)) == pytest.approx(0.35 + 1.05)
    assert float(get_regularizer("l2")(W)) == pytest.approx(0.01 * 5.25)  # Keras's default


def test_penalties_match_keras(keras):
    for ours, theirs in ((L1(0.3), keras.regularizers.L1(0.3)), (L2(0.3), keras.regularizers.L2(0.3)),
                         (L1L2(0.1, 0.2), keras.regularizers.L1L2(0.1, 0.2))):
        assert float(ours(W)) == pytest.approx(float(theirs(W.numpy())), rel=1e-6)


def test_layer_losses_cover_its_weights_in_any_layout():
    lstm = L.LSTM(3, kernel_regularizer=L2(0.5), recurrent_regularizer=L1(0.25))
    lstm.maybe_build((None, 2))
    kernel, recurrent, _ = lstm.get_weights()  # Keras's layout; rnnkit stores them transposed
    want = 0.5 * (kernel ** 2).sum() + 0.25 * np.abs(recurrent).sum()
    assert float(sum(lstm.losses).detach()) == pytest.approx(float(want), rel=1e-5)


def test_fit_and_evaluate_add_the_penalty_to_the_loss():
    keras.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = np.zeros((16, 1), "float32")
    inp = keras.Input((3,))
    dense = L.Dense(1, kernel_regularizer=L2(0.1), bias_regularizer="l1")
    model = keras.Model(inp, dense(inp))
    model.compile("sgd", "mse")
    loss = model.evaluate(x, y, verbose=0)
    pred = model.predict(x)
    k, b = dense.get_weights()
    want = float((pred ** 2).mean()) + 0.1 * float((k ** 2).sum()) + 0.01 * float(np.abs(b).sum())
    assert loss == pytest.approx(want, rel=1e-5)
    norm0 = float(np.linalg.norm(k))
    model.fit(x, y, epochs=20, verbose=0)  # with a zero target only the penalty and mse pull
    assert float(np.linalg.norm(dense.get_weights()[0])) < norm0


def test_config_round_trip_and_bad_values():
    d = L.Dense(2, kernel_regularizer=L1L2(0.1, 0.2))
    assert d.get_config()["kernel_regularizer"] == {"class_name": "L1L2",
                                                    "config": {"l1": 0.1, "l2": 0.2}}
    clone = L.Dense.from_config(d.get_config())
    assert clone._regs["kernel"].l2 == 0.2
    with pytest.raises(ValueError, match="`kernel_regularizer` must be one of"):
        L.Dense(2, kernel_regularizer="l3")
    with pytest.raises(ValueError, match="`l2` must be a non-negative float, got -1"):
        L2(-1)
    with pytest.raises(ValueError, match="can't be saved without pickle"):
        L.Dense(2, kernel_regularizer=lambda w: w.sum()).get_config()


def test_activity_regularizer_matches_keras_and_counts_in_evaluate(keras):
    x = np.random.default_rng(2).normal(size=(5, 3)).astype("float32")
    ours = L.Dense(2, activity_regularizer=L2(0.1))
    theirs = keras.layers.Dense(2, activity_regularizer=keras.regularizers.L2(0.1))
    theirs(x)
    ours(torch.from_numpy(x))
    ours.set_weights(theirs.get_weights())
    ours._activity_losses.clear()
    y = ours(torch.from_numpy(x))
    theirs(x)
    want = 0.1 * float((y.detach() ** 2).sum()) / 5  # penalty(output) / batch size
    assert float(ours.losses[0].detach()) == pytest.approx(want, rel=1e-5)
    assert float(ours.losses[0].detach()) == pytest.approx(float(theirs.losses[-1].detach()),
                                                           rel=1e-5)
    inp = rnnkit.Input((3,))
    model = rnnkit.Model(inp, ours(inp))
    model.compile("sgd", "mse")
    loss = model.evaluate(x, np.zeros((5, 2), "float32"), batch_size=5, verbose=0)
    pred = model.predict(x)
    assert loss == pytest.approx(float((pred ** 2).mean()) + 0.1 * float((pred ** 2).sum()) / 5,
                                 rel=1e-5)
    assert L.Dense.from_config(ours.get_config()).activity_regularizer.l2 == 0.1
