"""Dense: Keras's kernel (in, out) on the last axis, masks passed on."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L


def test_matches_hand_computed_and_last_axis():
    d = L.Dense(2, activation="relu")
    d.maybe_build((3,))
    kernel = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]], dtype="float32")
    d.set_weights([kernel, np.array([0.1, -0.2], dtype="float32")])
    x = torch.tensor([[1.0, 2.0, 3.0]])
    # [1 + 1 + 0 + 0.1, −1 + 4 + 3 − 0.2] = [2.1, 5.8], relu keeps both.
    torch.testing.assert_close(d(x), torch.tensor([[2.1, 5.8]]))
    seq = torch.randn(4, 5, 3)
    torch.testing.assert_close(d(seq), torch.stack([d(seq[:, t]) for t in range(5)], 1))
    assert d.compute_output_shape((5, 3)) == (5, 2)


def test_softmax_is_over_the_last_axis_as_keras():
    d = L.Dense(3, activation="softmax")
    y = d(torch.randn(2, 4, 5))
    torch.testing.assert_close(y.sum(-1), torch.ones(2, 4))


def test_weights_count_and_mask():
    d = L.Dense(4, use_bias=False)
    d(torch.zeros(1, 6))
    assert [w.shape for w in d.get_weights()] == [(6, 4)] and d.count_params() == 24
    full = L.Dense(4)
    full(torch.zeros(1, 6))
    assert full.count_params() == 6 * 4 + 4 and not full.get_weights()[1].any()
    mask = torch.ones(1, 3, dtype=torch.bool)
    assert full.compute_mask(torch.zeros(1, 3, 6), mask) is mask


def test_bad_input():
    with pytest.raises(ValueError, match="argument `units`, expected a positive integer, got -1"):
        L.Dense(-1)
    with pytest.raises(ValueError, match="`activation`.*did you mean 'softmax'"):
        L.Dense(2, activation="softmx")
    with pytest.raises(ValueError, match="`activation`.*did you mean 'relu'"):
        L.Dense(2, activation="rellu")
    d = L.Dense(2)
    d(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="`x` has 4 features .* built for 3"):
        d(torch.zeros(1, 4))
