"""Layer-side activations: Keras's softmax family and the Activation layer."""
import pytest
import torch

import rnnkit.layers as L
from rnnkit.layers.activations import get_activation


def test_softmax_family_over_the_last_axis():
    x = torch.randn(2, 3, 5)
    name, fn = get_activation("softmax")
    assert name == "softmax"
    torch.testing.assert_close(fn(x), torch.softmax(x, dim=-1))
    torch.testing.assert_close(get_activation("log_softmax")[1](x), torch.log_softmax(x, -1))
    assert get_activation(None)[0] == "linear"
    assert get_activation("tanh")[1] is torch.tanh  # the registry recognises its defaults by identity


def test_activation_layer():
    a = L.Activation("softmax")
    torch.testing.assert_close(a(torch.zeros(1, 4)), torch.full((1, 4), 0.25))
    assert L.Activation.from_config(a.get_config()).activation == "softmax"
    mask = torch.ones(1, 3, dtype=torch.bool)
    assert a.compute_mask(torch.zeros(1, 3, 4), mask) is mask
    with pytest.raises(ValueError, match="`activation`.*did you mean 'log_softmax'"):
        L.Activation("log_sofmax")
