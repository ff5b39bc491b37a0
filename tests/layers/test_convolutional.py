"""Conv1D against Keras 3 (torch backend): same weights in, same outputs out."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L


def _pair(keras, shape, **kw):
    ours, theirs = L.Conv1D(**kw), keras.layers.Conv1D(**kw)
    theirs.build((None,) + shape)
    ours.maybe_build(shape)
    rng = np.random.default_rng(0)
    ws = [rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    assert ours.count_params() == theirs.count_params()
    return ours, theirs


@pytest.mark.parametrize("kw", [
    dict(filters=4, kernel_size=3),
    dict(filters=4, kernel_size=3, padding="same", strides=2),
    dict(filters=4, kernel_size=4, padding="same"),
    dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2, activation="relu"),
    dict(filters=6, kernel_size=2, groups=3, use_bias=False),
    dict(filters=4, kernel_size=(3,), strides=(3,), data_format="channels_first"),
])
def test_conv1d_matches_keras(keras, kw):
    shape = (9, 6) if kw.get("data_format") != "channels_first" else (6, 9)
    ours, theirs = _pair(keras, shape, **kw)
    x = np.random.default_rng(1).normal(size=(2,) + shape).astype("float32")
    got = ours(torch.from_numpy(x)).detach().numpy()
    want = np.asarray(theirs(x).detach().cpu())
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert ours.compute_output_shape(shape) == tuple(want.shape[1:])


def test_conv1d_hand_computed():
    conv = L.Conv1D(1, 2, use_bias=False)
    conv.maybe_build((3, 1))
    conv.set_weights([np.array([[[1.0]], [[10.0]]], "float32")])  # y[t] = x[t] + 10 x[t+1]
    y = conv(torch.tensor([[[1.0], [2.0], [3.0]]]))
    assert y.squeeze().tolist() == [21.0, 32.0]


def test_conv1d_bad_arguments():
    with pytest.raises(ValueError, match="padding"):
        L.Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="groups"):
        L.Conv1D(3, 3, groups=2)
    with pytest.raises(TypeError, match="kernel_size"):
        L.Conv1D(2, 2.5)
    conv = L.Conv1D(2, 3)
    conv.maybe_build((5, 4))
    with pytest.raises(ValueError, match="3 channels but the layer was built for 4"):
        conv(torch.zeros(1, 5, 3))


def test_conv1d_config_round_trip():
    conv = L.Conv1D(3, 2, padding="causal", dilation_rate=2, activation="tanh")
    again = L.layer_from_config({"class_name": "Conv1D", "config": conv.get_config()})
    assert again.get_config() == conv.get_config()
