"""Constraints: the projections against Keras's, applied after each optimizer
step in fit, in Keras's weight layout."""
import numpy as np
import pytest
import torch

import rnnkit as keras
import rnnkit.layers as L
from rnnkit.layers.constraints import MaxNorm, MinMaxNorm, NonNeg, UnitNorm

W = np.array([[3.0, -0.1, 0.0], [4.0, 0.2, -2.0]], "float32")


@pytest.mark.parametrize("name,kw", [("MaxNorm", {"max_value": 2.0}), ("MaxNorm", {"axis": 1}),
                                     ("NonNeg", {}), ("UnitNorm", {}), ("UnitNorm", {"axis": 1}),
                                     ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.0,
                                                     "rate": 0.5})])
def test_constraints_match_keras(keras, name, kw):
    ours = {"MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm,
            "MinMaxNorm": MinMaxNorm}[name](**kw)
    theirs = getattr(keras.constraints, name)(**kw)
    np.testing.assert_allclose(ours(torch.from_numpy(W)).numpy(), np.asarray(theirs(W)),
                               atol=1e-6)


def test_max_norm_by_hand():
    out = MaxNorm(2.0)(torch.from_numpy(W)).numpy()
    # column 0 has norm 5 -> scaled to 2; the others are under 2 and stay
    np.testing.assert_allclose(out[:, 0], [1.2, 1.6], atol=1e-6)
    np.testing.assert_allclose(out[:, 1:], W[:, 1:], atol=1e-6)


def test_fit_applies_constraints_after_each_step_in_keras_layout():
    keras.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 4, 3)).astype("float32") * 5
    y = np.random.default_rng(1).normal(size=(32, 1)).astype("float32") * 5
    inp = keras.Input((4, 3))
    lstm = L.LSTM(3, kernel_constraint=MaxNorm(0.3), recurrent_constraint=NonNeg())
    dense = L.Dense(1, kernel_constraint="non_neg")
    model = keras.Model(inp, dense(lstm(inp)))
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    kernel, recurrent, _ = lstm.get_weights()  # (I, 4u), (u, 4u): Keras's layout
    assert np.linalg.norm(kernel, axis=0).max() <= 0.3 + 1e-5
    assert recurrent.min() >= 0 and dense.get_weights()[0].min() >= 0


def test_add_weight_with_constraint_and_regularizer():
    class Scale(L.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w",
                                     regularizer=keras.regularizers.L2(1.0),
                                     constraint=keras.constraints.NonNeg())

        def call(self, x):
            return x * self.w

    layer = Scale()
    layer(torch.ones(1, 3))
    assert float(sum(layer.losses).detach()) == pytest.approx(3.0)
    with torch.no_grad():
        layer.w.fill_(-1.0)
    layer.apply_constraints()
    assert torch.equal(layer.w.detach(), torch.zeros(3))
