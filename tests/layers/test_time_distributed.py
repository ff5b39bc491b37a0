"""TimeDistributed: the inner layer on every step, weights shared."""
import pytest
import torch

import rnnkit.layers as L


def test_time_distributed_dense_equals_dense_on_sequences():
    torch.manual_seed(0)
    td = L.TimeDistributed(L.Dense(2, activation="tanh"))
    x = torch.randn(4, 5, 3)
    y = td(x)
    dense = L.Dense(2, activation="tanh")
    dense.maybe_build((3,))
    dense.set_weights(td.get_weights())
    torch.testing.assert_close(y, dense(x))
    torch.testing.assert_close(y[:, 2], dense(x[:, 2]))
    assert td.count_params() == 3 * 2 + 2
    assert td.compute_output_shape((5, 3)) == (5, 2)
    mask = torch.ones(4, 5, dtype=torch.bool)
    assert td.compute_mask(x, mask) is mask


def test_time_distributed_over_flatten_and_errors():
    y = L.TimeDistributed(L.Flatten())(torch.zeros(2, 3, 4, 5))
    assert y.shape == (2, 3, 20)
    with pytest.raises(TypeError, match="argument `layer`"):
        L.TimeDistributed(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="at least 3-D"):
        L.TimeDistributed(L.Dense(2))(torch.zeros(2, 3))
