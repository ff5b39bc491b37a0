"""Conv2D, Conv3D, Conv2DTranspose against Keras 3 (torch backend), weight for weight."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L
from rnnkit.layers.base import layer_from_config


def keras_pair(keras, cls, shape, **kw):
    ours = getattr(L, cls)(**kw)
    ours.maybe_build(shape)
    theirs = getattr(keras.layers, cls)(**kw)
    theirs.build((None,) + shape)
    rng = np.random.default_rng(0)
    ws = [rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    return ours, theirs


def assert_same_output(ours, theirs, shape):
    x = np.random.default_rng(1).normal(size=(2,) + shape).astype("float32")
    got = ours(torch.from_numpy(x)).detach().numpy()
    want = theirs(x).detach().cpu().numpy()
    assert got.shape == want.shape and ours.compute_output_shape(shape) == want.shape[1:]
    np.testing.assert_allclose(got, want, atol=1e-5)


CASES = [
    ("Conv2D", (7, 6, 2), dict(filters=3, kernel_size=3, padding="same", strides=2)),
    ("Conv2D", (7, 6, 2), dict(filters=3, kernel_size=4, padding="same")),
    ("Conv2D", (2, 7, 6), dict(filters=3, kernel_size=(3, 2), data_format="channels_first",
                               dilation_rate=2, activation="relu")),
    ("Conv2D", (7, 6, 2), dict(filters=3, kernel_size=3, use_bias=False)),
    ("Conv3D", (4, 5, 6, 2), dict(filters=3, kernel_size=2, padding="same")),
    ("Conv3D", (4, 5, 6, 2), dict(filters=3, kernel_size=(2, 3, 1), strides=(1, 2, 2))),
    ("Conv2DTranspose", (5, 4, 2), dict(filters=3, kernel_size=3, strides=2, padding="same")),
    ("Conv2DTranspose", (5, 4, 2), dict(filters=3, kernel_size=3, strides=2)),
    ("Conv2DTranspose", (5, 4, 2), dict(filters=3, kernel_size=2, strides=3, padding="same")),
    ("Conv2DTranspose", (5, 4, 2), dict(filters=3, kernel_size=1, strides=3)),
    ("Conv2DTranspose", (2, 5, 4), dict(filters=3, kernel_size=4, strides=2, padding="same",
                                        data_format="channels_first")),
]


@pytest.mark.parametrize("cls,shape,kw", CASES)
def test_matches_keras(keras, cls, shape, kw):
    ours, theirs = keras_pair(keras, cls, shape, **kw)
    assert_same_output(ours, theirs, shape)


def test_config_round_trip_and_keras_init_fans():
    layer = L.Conv2D(4, 3, padding="same", activation="tanh")
    layer.maybe_build((8, 8, 2))
    twin = layer_from_config({"class_name": "Conv2D", "config": layer.get_config()})
    twin.maybe_build((8, 8, 2))
    twin.set_weights(layer.get_weights())
    x = torch.randn(1, 8, 8, 2)
    torch.testing.assert_close(twin(x), layer(x))
    # glorot_uniform over Keras's fans: fan_in = 3·3·2, fan_out = 3·3·4
    limit = np.sqrt(6 / (18 + 36))
    assert np.abs(layer.get_weights()[0]).max() <= limit


@pytest.mark.parametrize("make,x,match", [
    (lambda: L.Conv2D(2, 3), torch.zeros(2, 8, 8), "rank 4"),
    (lambda: L.Conv2D(2, (3, 3, 3)), None, "kernel_size.* 2 value"),
    (lambda: L.Conv3D(2, 3, strides=(1, 2)), None, "strides.* 3 value"),
    (lambda: L.Conv2DTranspose(2, 3, data_format="NHWC"), None, "data_format"),
    (lambda: L.Conv2D(0, 3), None, "filters"),
])
def test_bad_input_names_the_argument(make, x, match):
    with pytest.raises(ValueError, match=match):
        layer = make()
        layer(x)


def test_channel_mismatch_after_build():
    layer = L.Conv2D(2, 3)
    layer(torch.zeros(1, 5, 5, 3))
    with pytest.raises(ValueError, match="4 channels but the layer was built for 3"):
        layer(torch.zeros(1, 5, 5, 4))


def test_keras_arguments_taken_only_at_their_defaults_are_named():
    assert L.Conv2D(4, 3, groups=1).filters == 4
    assert L.Conv2DTranspose(4, 3, output_padding=None).filters == 4
    with pytest.raises(ValueError, match=r"Conv3D: argument `groups`=2 isn't supported by rnnkit"):
        L.Conv3D(4, 3, groups=2)
    with pytest.raises(ValueError,
                       match=r"Conv2DTranspose: argument `output_padding`=1 isn't supported"):
        L.Conv2DTranspose(4, 3, strides=2, output_padding=1)
    with pytest.raises(TypeError, match="output_padding"):
        L.Conv2D(4, 3, output_padding=1)  # not an argument of Conv2D at all


def test_regularizer_and_constraint_in_keras_layout(keras):
    """L2 on the kernel is Keras's penalty; MaxNorm over axes (0, 1, 2) of Keras's
    (kh, kw, C, F) kernel bounds each filter's norm, as in Keras."""
    ours, theirs = keras_pair(keras, "Conv2D", (6, 6, 2), filters=3, kernel_size=3,
                              kernel_regularizer={"class_name": "L2", "config": {"l2": 0.1}},
                              kernel_constraint={"class_name": "MaxNorm",
                                                 "config": {"max_value": 0.5,
                                                            "axis": [0, 1, 2]}})
    k = theirs.get_weights()[0]
    assert float(ours.losses[0].detach()) == pytest.approx(0.1 * float((k ** 2).sum()), rel=1e-5)
    ours.apply_constraints()
    want = keras.ops.convert_to_numpy(theirs.kernel_constraint(theirs.kernel.value))
    np.testing.assert_allclose(ours.get_weights()[0], want, atol=1e-6)
    norms = np.sqrt((ours.get_weights()[0] ** 2).sum(axis=(0, 1, 2)))
    np.testing.assert_allclose(norms, 0.5, rtol=1e-5)  # every filter's norm was above 0.5
