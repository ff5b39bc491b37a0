"""MaxPooling2D/3D and UpSampling2D/3D against Keras 3 (torch backend)."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L


def keras_pair(keras, cls, shape, **kw):
    ours, theirs = getattr(L, cls)(**kw), getattr(keras.layers, cls)(**kw)
    ours.maybe_build(shape)
    theirs.build((None,) + shape)
    return ours, theirs


def assert_same_output(ours, theirs, shape):
    x = np.random.default_rng(1).normal(size=(2,) + shape).astype("float32")
    got = ours(torch.from_numpy(x)).detach().numpy()
    want = theirs(x).detach().cpu().numpy()
    assert got.shape == want.shape and ours.compute_output_shape(shape) == want.shape[1:]
    np.testing.assert_allclose(got, want, atol=1e-5)

CASES = [
    ("MaxPooling2D", (7, 6, 2), dict(pool_size=3, strides=2, padding="same")),
    ("MaxPooling2D", (7, 6, 2), dict()),
    ("MaxPooling2D", (2, 7, 6), dict(pool_size=(2, 3), data_format="channels_first")),
    ("MaxPooling3D", (5, 7, 6, 2), dict(padding="same")),
    ("UpSampling2D", (3, 4, 2), dict(size=(2, 3))),
    ("UpSampling2D", (3, 4, 2), dict(size=2, interpolation="bilinear")),
    ("UpSampling2D", (2, 3, 4), dict(size=2, data_format="channels_first")),
    ("UpSampling3D", (2, 3, 4, 2), dict(size=(1, 2, 3))),
]


@pytest.mark.parametrize("cls,shape,kw", CASES)
def test_matches_keras(keras, cls, shape, kw):
    ours, theirs = keras_pair(keras, cls, shape, **kw)
    assert_same_output(ours, theirs, shape)


def test_same_pooling_never_picks_the_padding():
    # All values negative: a zero-padded max would return 0 at the border.
    x = -torch.arange(1.0, 26.0).view(1, 5, 5, 1)
    y = L.MaxPooling2D(2, padding="same")(x)
    assert y.shape == (1, 3, 3, 1) and float(y.max()) == -1.0
    assert float(y[0, 2, 2, 0]) == -25.0  # the corner window holds x[4, 4] alone


@pytest.mark.parametrize("make,match", [
    (lambda: L.MaxPooling3D(pool_size=(2, 2)), "pool_size.* 3 value"),
    (lambda: L.UpSampling2D(interpolation="bicubic"), "interpolation"),
    (lambda: L.UpSampling3D(data_format="channels_middle"), "data_format"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_rank_names_x():
    with pytest.raises(ValueError, match="`x` for MaxPooling2D must be 4-D"):
        L.MaxPooling2D()(torch.zeros(2, 4, 4))
