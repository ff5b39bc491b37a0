"""Dropout: inverted dropout in training only, noise_shape broadcasting, seeds."""
import pytest
import torch

import rnnkit.layers as L


def test_identity_in_eval_scaled_in_training():
    d = L.Dropout(0.25, seed=0)
    x = torch.ones(200, 50)
    d.eval()
    assert d(x) is x
    y = d(x, training=True)
    kept = y != 0
    assert torch.all(y[kept] == 1 / 0.75)  # kept units scale by 1/(1 − rate)
    assert float(kept.float().mean()) == pytest.approx(0.75, abs=0.02)
    d.train()
    assert (d(x) == 0).any()


def test_noise_shape_shares_the_mask_over_time_and_seed_repeats():
    d = L.Dropout(0.5, noise_shape=(None, 1, None), seed=3)
    y = d(torch.ones(4, 6, 5), training=True)
    assert torch.equal(y, y[:, :1].expand_as(y))
    again = L.Dropout(0.5, noise_shape=(None, 1, None), seed=3)(torch.ones(4, 6, 5), training=True)
    assert torch.equal(y, again)
    mask = torch.ones(4, 6, dtype=torch.bool)
    assert d.compute_mask(y, mask) is mask


def test_bad_rate():
    with pytest.raises(ValueError, match=r"argument `rate`, expected a float in \[0, 1\), got 1.5"):
        L.Dropout(1.5)
