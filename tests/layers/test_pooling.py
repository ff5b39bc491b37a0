"""1-D pooling and UpSampling1D against Keras 3 (torch backend)."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L

X = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")


def _keras_out(layer, x, **kw):
    return np.asarray(layer(x, **kw).detach().cpu())


@pytest.mark.parametrize("cls", ["MaxPooling1D", "AveragePooling1D"])
@pytest.mark.parametrize("kw", [dict(pool_size=2), dict(pool_size=3), dict(pool_size=3, strides=1),
                                dict(pool_size=2, padding="same"),
                                dict(pool_size=3, strides=2, padding="same"),
                                dict(pool_size=2, data_format="channels_first")])
def test_pooling_matches_keras(keras, cls, kw):
    x = X if kw.get("data_format") != "channels_first" else X.transpose(0, 2, 1).copy()
    ours, theirs = getattr(L, cls)(**kw), getattr(keras.layers, cls)(**kw)
    got = ours(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, _keras_out(theirs, x), atol=1e-6)
    assert ours.compute_output_shape(x.shape[1:]) == got.shape[1:]


@pytest.mark.parametrize("cls", ["GlobalAveragePooling1D", "GlobalMaxPooling1D"])
@pytest.mark.parametrize("kw", [dict(), dict(keepdims=True), dict(data_format="channels_first")])
def test_global_pooling_matches_keras(keras, cls, kw):
    ours, theirs = getattr(L, cls)(**kw), getattr(keras.layers, cls)(**kw)
    got = ours(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(got, _keras_out(theirs, X), atol=1e-6)
    assert ours.compute_output_shape(X.shape[1:]) == got.shape[1:]


def test_global_average_pooling_with_mask_matches_keras(keras):
    mask = np.array([[1, 1, 1, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1, 1]], bool)
    got = L.GlobalAveragePooling1D()(torch.from_numpy(X), mask=torch.from_numpy(mask)).numpy()
    want = _keras_out(keras.layers.GlobalAveragePooling1D(), X, mask=mask)
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got[0], X[0, :3].mean(0), atol=1e-6)  # hand: the 3 real steps


def test_average_pooling_same_counts_only_real_steps():
    x = torch.tensor([[[1.0], [2.0], [3.0]]])
    y = L.AveragePooling1D(2, padding="same")(x)
    assert y.squeeze().tolist() == [1.5, 3.0]  # the last window holds one real step


@pytest.mark.parametrize("size", [1, 3])
def test_upsampling_matches_keras(keras, size):
    got = L.UpSampling1D(size)(torch.from_numpy(X)).numpy()
    np.testing.assert_array_equal(got, _keras_out(keras.layers.UpSampling1D(size), X))


def test_pooling_bad_arguments():
    with pytest.raises(ValueError, match="padding"):
        L.MaxPooling1D(padding="causal")
    with pytest.raises(ValueError, match="pool_size"):
        L.AveragePooling1D(0)
    with pytest.raises(ValueError, match="data_format"):
        L.GlobalMaxPooling1D(data_format="NCW")
    with pytest.raises(ValueError, match="3-D"):
        L.UpSampling1D()(torch.zeros(2, 3))
