"""Losses against hand-computed numbers (Keras's formulas), then against Keras itself."""
import math
import os

import numpy as np
import pytest
import torch

from rnnkit import losses as L
from rnnkit.training.losses import get_loss

T = torch.tensor


def test_mse_mae_huber_hand_computed():
    y = T([[0.0, 1.0], [2.0, 3.0]])
    p = T([[1.0, 1.0], [2.0, 5.0]])
    # per-sample means over the last axis: mse [0.5, 2.0], mae [0.5, 1.0]
    assert float(L.MeanSquaredError()(y, p)) == pytest.approx(1.25)
    assert float(L.MeanAbsoluteError()(y, p)) == pytest.approx(0.75)
    # huber(delta=1): errors 1, 0, 0, 2 -> 0.5, 0, 0, 1*(2 - 0.5) = 1.5 -> [0.25, 0.75]
    assert float(L.Huber()(y, p)) == pytest.approx(0.5)
    assert float(L.Huber(delta=2.0)(y, p)) == pytest.approx((0.25 + (0.0 + 2.0) / 2) / 2)


def test_binary_crossentropy_hand_computed_and_clipped():
    y = T([[1.0], [0.0]])
    p = T([[0.8], [0.4]])
    expected = (-math.log(0.8) - math.log(0.6)) / 2
    assert float(L.BinaryCrossentropy()(y, p)) == pytest.approx(expected, rel=1e-6)
    # p = 0 for a positive: clipped at eps = 1e-7 -> -log(1e-7), not inf
    got = float(L.BinaryCrossentropy()(T([[1.0]]), T([[0.0]])))
    assert got == pytest.approx(-math.log(1e-7), rel=1e-5)
    # logits: z = 0 is p = 0.5 -> log 2
    assert float(L.BinaryCrossentropy(from_logits=True)(T([[1.0]]), T([[0.0]]))) == \
        pytest.approx(math.log(2.0), rel=1e-6)


def test_categorical_and_sparse_hand_computed():
    p = T([[0.2, 0.5, 0.3]])
    assert float(L.CategoricalCrossentropy()(T([[0.0, 1.0, 0.0]]), p)) == pytest.approx(math.log(2))
    # unnormalised probabilities are renormalised first: [1, 2, 1] -> [.25, .5, .25]
    assert float(L.CategoricalCrossentropy()(T([[0.0, 1.0, 0.0]]), T([[1.0, 2.0, 1.0]]))) == \
        pytest.approx(math.log(2))
    assert float(L.SparseCategoricalCrossentropy()(T([1]), p)) == pytest.approx(math.log(2))
    assert float(L.SparseCategoricalCrossentropy()(T([[1]]), p)) == pytest.approx(math.log(2))
    z = T([[1.0, 2.0, 3.0]])
    lse = math.log(math.e + math.e ** 2 + math.e ** 3)
    assert float(L.SparseCategoricalCrossentropy(from_logits=True)(T([2]), z)) == \
        pytest.approx(lse - 3.0, rel=1e-6)
    assert float(L.CategoricalCrossentropy(from_logits=True)(T([[0.0, 0.0, 1.0]]), z)) == \
        pytest.approx(lse - 3.0, rel=1e-6)


def test_sample_weight_divides_by_batch_size_as_keras():
    y = T([[0.0, 1.0], [2.0, 3.0]])
    p = T([[1.0, 1.0], [2.0, 5.0]])  # per-sample mse [0.5, 2.0]
    assert float(L.MeanSquaredError()(y, p, sample_weight=T([1.0, 0.0]))) == pytest.approx(0.25)
    assert float(L.MeanSquaredError(reduction="sum")(y, p)) == pytest.approx(2.5)
    np.testing.assert_allclose(L.MeanSquaredError(reduction="none")(y, p).numpy(), [0.5, 2.0])


def test_mask_averages_over_valid_steps_only():
    y = torch.zeros(1, 3, 1)
    p = T([[[1.0], [2.0], [3.0]]])  # per-step losses 1, 4, 9
    mask = T([[True, True, False]])
    assert float(L.MeanSquaredError()(y, p, mask=mask)) == pytest.approx(2.5, rel=1e-6)


def test_targets_aligned_with_a_trailing_axis_of_one():
    y = T([1.0, 2.0])          # (B,)
    p = T([[1.0], [4.0]])      # (B, 1)
    assert float(L.MeanSquaredError()(y, p)) == pytest.approx(2.0)


def test_shape_mismatch_is_refused_not_broadcast():
    with pytest.raises(ValueError, match=r"`y` has shape \(2, 5\).*\(2, 1\)"):
        L.MeanSquaredError()(torch.zeros(2, 5), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="class id 3"):
        L.SparseCategoricalCrossentropy()(T([3]), T([[0.2, 0.5, 0.3]]))


def test_names_aliases_and_suggestions():
    assert isinstance(get_loss("mse"), L.MeanSquaredError)
    assert isinstance(get_loss("mean_squared_error"), L.MeanSquaredError)
    assert isinstance(get_loss("MAE"), L.MeanAbsoluteError)
    assert isinstance(get_loss("huber"), L.Huber) and get_loss("huber").delta == 1.0
    with pytest.raises(ValueError, match="did you mean 'mean_squared_error'"):
        get_loss("mean_sqared_error")
    with pytest.raises(TypeError, match="`loss`"):
        get_loss(3)


def test_user_functions_and_torch_modules():
    y, p = T([[0.0], [2.0]]), T([[1.0], [2.0]])
    fn = get_loss(lambda t, q: torch.abs(t - q).squeeze(-1) * 10)
    assert float(fn(y, p)) == pytest.approx(5.0)
    assert float(get_loss(torch.nn.MSELoss())(y, p)) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("name,kw", [("MeanSquaredError", {}), ("MeanAbsoluteError", {}),
                                     ("Huber", {}), ("BinaryCrossentropy", {}),
                                     ("BinaryCrossentropy", {"from_logits": True}),
                                     ("CategoricalCrossentropy", {}),
                                     ("CategoricalCrossentropy", {"from_logits": True})])
def test_matches_keras(keras, name, kw):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, size=(6, 4, 3)).astype("float32")
    y = rng.uniform(0, 1, size=(6, 4, 3)).astype("float32")
    if "Categorical" in name:
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=(6, 4))]
    w = rng.uniform(0, 2, size=(6, 4)).astype("float32")  # (B, T): Keras needs full shape
    want = float(getattr(keras.losses, name)(**kw)(y, p, sample_weight=w))
    got = float(getattr(L, name)(**kw)(torch.from_numpy(y), torch.from_numpy(p),
                                       sample_weight=torch.from_numpy(w)))
    assert got == pytest.approx(want, rel=1e-5)


def test_sparse_matches_keras(keras):
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 1, size=(5, 4)).astype("float32")
    y = rng.integers(0, 4, size=(5,))
    want = float(keras.losses.SparseCategoricalCrossentropy()(y, p))
    got = float(L.SparseCategoricalCrossentropy()(torch.from_numpy(y), torch.from_numpy(p)))
    assert got == pytest.approx(want, rel=1e-5)
