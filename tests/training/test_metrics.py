"""Streaming metrics against hand-computed numbers, and Keras's choice of accuracy."""
import math

import pytest
import torch

from rnnkit import metrics as M
from rnnkit.training.metrics import get_metric

T = torch.tensor


def test_mae_mse_accumulate_over_batches_weighted_by_samples():
    m = M.MeanAbsoluteError()
    m.update_state(T([[0.0], [0.0]]), T([[1.0], [3.0]]))   # errors 1, 3
    m.update_state(T([[0.0]]), T([[5.0]]))                  # error 5
    assert m.result() == pytest.approx(3.0)                # (1 + 3 + 5) / 3, not mean(2, 5)
    s = M.MeanSquaredError()
    s.update_state(T([[0.0, 0.0]]), T([[1.0, 3.0]]))         # per-sample (1 + 9) / 2 = 5
    assert s.result() == pytest.approx(5.0)
    s.reset_state()
    assert math.isnan(s.result())


def test_rmse_is_sqrt_of_the_total_mean_not_a_mean_of_roots():
    m = M.RootMeanSquaredError()
    m.update_state(T([[0.0]]), T([[1.0]]))
    m.update_state(T([[0.0], [0.0]]), T([[3.0], [3.0]]))
    assert m.result() == pytest.approx(math.sqrt((1 + 9 + 9) / 3))


def test_sample_weights_and_masks():
    m = M.MeanAbsoluteError()
    m.update_state(T([[0.0], [0.0]]), T([[1.0], [3.0]]), sample_weight=T([3.0, 1.0]))
    assert m.result() == pytest.approx((3 * 1 + 1 * 3) / 4)
    a = M.SparseCategoricalAccuracy()
    y = T([[1, 0, 2]])
    p = torch.eye(3)[T([[1, 1, 2]])]              # (1, 3, 3): right, wrong, right
    a.update_state(y, p, mask=T([[True, False, True]]))
    assert a.result() == pytest.approx(1.0)       # the wrong step is padding
    a.reset_state()
    a.update_state(y, p)
    assert a.result() == pytest.approx(2 / 3)


def test_binary_categorical_sparse_accuracy():
    b = M.BinaryAccuracy()
    b.update_state(T([1.0, 0.0, 1.0, 0.0]), T([[0.7], [0.2], [0.4], [0.6]]))
    assert b.result() == pytest.approx(0.5)
    c = M.CategoricalAccuracy()
    c.update_state(T([[0, 1, 0], [1, 0, 0]]), T([[0.1, 0.8, 0.1], [0.2, 0.7, 0.1]]))
    assert c.result() == pytest.approx(0.5)


@pytest.mark.parametrize("y_shape,p_shape,loss,expected", [
    ((4,), (4, 1), None, M.BinaryAccuracy),
    ((4, 1), (4, 1), None, M.BinaryAccuracy),
    ((4,), (4, 3), None, M.SparseCategoricalAccuracy),
    ((4, 1), (4, 3), None, M.SparseCategoricalAccuracy),
    ((4, 3), (4, 3), None, M.CategoricalAccuracy),
    ((4, 3), (4, 3), "binary_crossentropy", M.BinaryAccuracy),  # multi-label
    ((4, 1), (4, 3), "sparse_categorical_crossentropy", M.SparseCategoricalAccuracy),
])
def test_accuracy_is_chosen_as_keras(y_shape, p_shape, loss, expected):
    acc = get_metric("accuracy", loss_name=loss)
    y = torch.zeros(y_shape)
    acc.update_state(y, torch.rand(p_shape))
    assert type(acc.inner) is expected
    assert acc.name == "accuracy" and acc.direction == "up"


def test_names_as_given_and_unknown_names():
    assert get_metric("mae").name == "mae"
    assert isinstance(get_metric("rmse"), M.RootMeanSquaredError)
    assert get_metric("acc").name == "acc"
    with pytest.raises(ValueError, match="did you mean 'accuracy'"):
        get_metric("acuracy")
    with pytest.raises(TypeError, match="metrics"):
        get_metric(3.5)


def test_function_metric():
    m = get_metric(lambda t, p: (p - t).abs().max(dim=-1).values)
    m.update_state(T([[0.0, 0.0]]), T([[1.0, -4.0]]))
    assert m.result() == pytest.approx(4.0)
