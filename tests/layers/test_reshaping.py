"""Flatten and RepeatVector."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L


def test_flatten():
    x = torch.arange(24.0).reshape(2, 3, 4)
    y = L.Flatten()(x)
    assert y.shape == (2, 12) and torch.equal(y[1], torch.arange(12.0, 24.0))
    assert L.Flatten().compute_output_shape((3, 4)) == (12,)
    assert L.Flatten().compute_mask(x, torch.ones(2, 3, dtype=torch.bool)) is None


def test_flatten_channels_first_flattens_in_channels_last_order():
    x = torch.arange(12.0).reshape(1, 3, 2, 2)  # (B, C, H, W)
    y = L.Flatten(data_format="channels_first")(x)
    # hand-computed: position-major, channels fastest: x[0, :, 0, 0] = 0, 4, 8 first
    assert y[0, :6].tolist() == [0.0, 4.0, 8.0, 1.0, 5.0, 9.0]
    assert torch.equal(y, L.Flatten()(x.permute(0, 2, 3, 1)))
    assert L.Flatten(data_format="channels_first").get_config()["data_format"] == "channels_first"
    with pytest.raises(ValueError, match="`data_format` must be .*got 'nchw'"):
        L.Flatten(data_format="nchw")


def test_repeat_vector():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    r = L.RepeatVector(3)
    y = r(x)
    assert y.shape == (2, 3, 2) and torch.equal(y[1, 2], x[1]) and torch.equal(y[0, 0], x[0])
    assert r.compute_output_shape((2,)) == (3, 2)
    with pytest.raises(ValueError, match=r"`x` must be 2-D"):
        r(torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="argument `n`, expected a positive integer, got 0"):
        L.RepeatVector(0)


@pytest.mark.parametrize("cls,arg", [("Reshape", (2, 10)), ("Reshape", (-1, 5)),
                                     ("Permute", (2, 1)), ("Permute", (1, 2))])
def test_reshape_and_permute_match_keras(keras, cls, arg):
    x = np.arange(2 * 4 * 5, dtype="float32").reshape(2, 4, 5)
    got = getattr(L, cls)(arg)(torch.from_numpy(x))
    want = np.asarray(getattr(keras.layers, cls)(arg)(x))
    np.testing.assert_array_equal(got.numpy(), want)
    assert getattr(L, cls)(arg).compute_output_shape((4, 5)) == want.shape[1:]


def test_reshape_and_permute_bad_arguments():
    with pytest.raises(ValueError, match="`target_shape`"):
        L.Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"can't reshape samples of shape \(4, 5\) \(20 values\)"):
        L.Reshape((3, 7))(torch.zeros(2, 4, 5))
    with pytest.raises(ValueError, match="`dims`, expected a permutation of 1..n"):
        L.Permute((0, 1))
