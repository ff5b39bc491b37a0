"""Keras's default names and the channels-last <-> channels-first moves."""
import torch

from rnnkit.layers.spatial import channels_back, channels_first, keras_name


def test_keras_names():
    class ConvLSTM2D: ...
    class Conv2DTranspose: ...
    class MaxPooling3D: ...
    assert keras_name(ConvLSTM2D, {})["name"] == "conv_lstm2d"
    assert keras_name(Conv2DTranspose, {})["name"] == "conv2d_transpose"
    assert keras_name(MaxPooling3D, {"name": None})["name"] == "max_pooling3d"
    assert keras_name(MaxPooling3D, {"name": "mine"})["name"] == "mine"


def test_channel_moves_are_inverse():
    x = torch.arange(2 * 3 * 4 * 5 * 6.0).view(2, 3, 4, 5, 6)  # (B, T, H, W, C)
    y = channels_first(x, "channels_last", 2)
    assert y.shape == (2, 3, 6, 4, 5) and float(y[1, 2, 5, 3, 4]) == float(x[1, 2, 3, 4, 5])
    torch.testing.assert_close(channels_back(y, "channels_last", 2), x)
    assert channels_first(x, "channels_first", 2) is x
