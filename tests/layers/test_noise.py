"""SpatialDropout1D and GaussianNoise: Keras's semantics (random, so checked by their laws)."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L


def test_spatial_dropout_drops_whole_channels():
    layer = L.SpatialDropout1D(0.5, seed=1)
    x = torch.ones(64, 7, 16)
    y = layer(x, training=True)
    # One keep decision per (sample, channel): constant along time, values 0 or 1/(1-rate).
    assert torch.equal(y, y[:, :1, :].expand_as(y))
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert 0.35 < (y[:, 0, :] == 0).float().mean().item() < 0.65
    assert torch.equal(layer(x, training=False), x)  # inference: identity
    assert torch.equal(layer.eval()(x), x)


def test_spatial_dropout_inference_matches_keras(keras):
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    want = np.asarray(keras.layers.SpatialDropout1D(0.3)(x, training=False).detach().cpu())
    np.testing.assert_array_equal(L.SpatialDropout1D(0.3).eval()(torch.from_numpy(x)).numpy(), want)


def test_gaussian_noise_statistics():
    layer = L.GaussianNoise(0.5, seed=0)
    x = torch.full((200, 50, 4), 3.0)
    noise = layer(x, training=True) - x
    assert abs(noise.mean().item()) < 0.01
    assert abs(noise.std().item() - 0.5) < 0.01
    assert torch.equal(layer(x, training=False), x)


def test_noise_layers_keep_the_mask_and_config():
    m = torch.tensor([[True, False]])
    assert torch.equal(L.GaussianNoise(0.1).compute_mask(None, m), m)
    assert torch.equal(L.SpatialDropout1D(0.1).compute_mask(None, m), m)
    cfg = L.SpatialDropout1D(0.2, seed=3).get_config()
    again = L.layer_from_config({"class_name": "SpatialDropout1D", "config": cfg})
    assert again.rate == 0.2 and again.seed == 3
    assert L.layer_from_config({"class_name": "GaussianNoise",
                                "config": L.GaussianNoise(0.4).get_config()}).stddev == 0.4


def test_noise_bad_arguments():
    with pytest.raises(ValueError, match="stddev"):
        L.GaussianNoise(-1.0)
    with pytest.raises(TypeError, match="stddev"):
        L.GaussianNoise("big")
    with pytest.raises(ValueError, match="rate"):
        L.SpatialDropout1D(1.5)
    with pytest.raises(ValueError, match="3-D"):
        L.SpatialDropout1D(0.5)(torch.zeros(2, 3), training=True)
