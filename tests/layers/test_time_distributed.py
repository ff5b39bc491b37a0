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


def test_time_distributed_conv_stack_matches_keras(keras):
    # A video model's per-frame encoder: Conv2D -> MaxPooling2D -> UpSampling2D per step.
    import numpy as np
    x = np.random.default_rng(0).normal(size=(2, 3, 6, 6, 1)).astype("float32")
    ours_c, theirs_c = L.Conv2D(2, 3, padding="same"), keras.layers.Conv2D(2, 3, padding="same")
    ours_c.maybe_build((6, 6, 1))
    theirs_c.build((None, 6, 6, 1))
    ours_c.set_weights(theirs_c.get_weights())
    got, want = torch.from_numpy(x), x
    for o, t in [(ours_c, theirs_c), (L.MaxPooling2D(), keras.layers.MaxPooling2D()),
                 (L.UpSampling2D(), keras.layers.UpSampling2D())]:
        got = L.TimeDistributed(o)(got)
        want = keras.layers.TimeDistributed(t)(want)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().cpu().numpy(), atol=1e-6)


def test_time_distributed_passes_per_step_masks_to_the_inner_layer():
    # (B, T, T2, F) with a (B, T, T2) mask: the inner LSTM sees each step's own mask,
    # so each (b, t) equals the LSTM run alone on that step with that mask.
    torch.manual_seed(0)
    inner = L.LSTM(3)
    td = L.TimeDistributed(inner)
    x = torch.randn(2, 3, 4, 2)
    mask = torch.rand(2, 3, 4) > 0.3
    mask[..., 0] = True
    y = td(x, mask=mask)
    for b in range(2):
        for t in range(3):
            alone = inner(x[b:b + 1, t], mask=mask[b:b + 1, t])
            torch.testing.assert_close(y[b:b + 1, t], alone)
    assert float((td(x) - y).detach().abs().max()) > 1e-4  # the masks mattered
    with pytest.raises(ValueError, match="batch, timesteps"):
        td(x, mask=torch.ones(3, 2, dtype=torch.bool))
