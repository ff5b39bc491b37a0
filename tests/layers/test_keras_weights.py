"""Keras's weight API on rnnkit layers: add_weight, weights lists, trainable."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L


class _KerasStyleDense(L.Layer):
    """A custom layer written as in Keras: build with the batch axis, add_weight, call."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.seen_shape = None

    def build(self, input_shape):
        self.seen_shape = input_shape
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones",
                                 name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b",
                                 trainable=False)

    def call(self, inputs):
        return inputs @ self.w + self.b


def test_keras_style_layer_builds_with_batch_axis_and_add_weight():
    layer = _KerasStyleDense(2)
    y = layer(np.ones((3, 4), dtype="float32"))  # eager, on numpy
    assert layer.seen_shape == (None, 4)
    assert torch.equal(y, torch.full((3, 2), 4.0))
    assert [tuple(w.shape) for w in layer.weights] == [(4, 2), (2,)]
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(4, 2)]
    assert [tuple(w.shape) for w in layer.non_trainable_weights] == [(2,)]
    assert layer.compute_output_shape((None, 4)) == (None, 2)


def test_trainable_flag_freezes_and_unfreezes_but_keeps_frozen_weights():
    layer = _KerasStyleDense(2)
    layer(torch.ones(1, 3))
    layer.trainable = False
    assert layer.trainable_weights == []
    layer.trainable = True
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(3, 2)]  # b stays frozen
    lstm = L.Bidirectional(L.LSTM(2))
    lstm(torch.zeros(1, 3, 2))
    lstm.trainable = False
    assert not any(p.requires_grad for p in lstm.parameters())


def test_add_weight_bad_shape():
    layer = L.Layer()
    with pytest.raises(ValueError, match="`shape` of weight 'w' in layer 'layer' must be a tuple"):
        layer.add_weight(shape=(None, 2), name="w")


def test_weight_layouts_between_rnnkit_and_keras():
    from rnnkit.layers.keras_weights import from_keras_layout, to_keras_layout
    w = torch.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)  # torch conv (F, C, kh, kw)
    k = to_keras_layout(w, "conv")
    assert k.shape == (4, 5, 3, 2) and k[1, 2, 0, 1] == w[1, 0, 1, 2]  # Keras (kh, kw, C, F)
    assert torch.equal(from_keras_layout(k, "conv"), w)
    m = torch.arange(6.0).reshape(2, 3)
    assert torch.equal(to_keras_layout(m, True), m.t()) and to_keras_layout(m, False) is m
    with pytest.raises(ValueError, match="unknown weight layout 'nhwc'"):
        to_keras_layout(m, "nhwc")
