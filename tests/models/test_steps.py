"""The default steps (src/rnnkit/models/steps.py): the batch a step receives, the
running mean loss, and one default training / test step checked by hand."""
import numpy as np
import pytest
import torch

from rnnkit.layers import Dense
from rnnkit.models import Batch, Sequential
from rnnkit.models import steps

pytestmark = pytest.mark.usefixtures("one_thread")


def test_batch_is_keras_data_with_a_mask():
    x, y, w, m = torch.zeros(2, 3), torch.ones(2, 1), torch.ones(2), torch.ones(2, 3).bool()
    b = Batch(x, y)
    xb, yb = b
    assert xb is x and yb is y and b.sample_weight is None and b.mask is None
    b = Batch(x, y, w, m)
    xb, yb, wb = b
    assert wb is w and b.mask is m and b.x is x and b.y is y


def test_running_mean_weights_batches_by_size():
    r = steps.RunningMean()
    assert np.isnan(r.result())
    assert r.update(2.0, 4) == 2.0
    assert r.update(5.0, 2) == pytest.approx((2.0 * 4 + 5.0 * 2) / 6)  # 3.0
    r.reset()
    assert np.isnan(r.result())


def _model():
    torch.manual_seed(0)
    m = Sequential([Dense(1, input_shape=(2,))])
    m.compile(optimizer="sgd", loss="mse")  # Keras's SGD: lr 0.01
    return m


X = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.0, 3.0]])
Y = torch.tensor([[1.0], [0.0], [2.0]])


def test_the_default_train_step_is_one_sgd_step_by_hand():
    m = _model()
    w, b = [a.astype(np.float64) for a in m.get_weights()]
    r = X.double().numpy() @ w + b - Y.double().numpy()  # (3, 1) residuals
    logs = steps.train_step(m.trainer, Batch(X, Y))
    assert logs == {"loss": pytest.approx(float(np.mean(r ** 2)), rel=1e-6)}
    # ∂/∂w mean(r²) = 2 Xᵀ r / n, ∂/∂b = 2 mean(r)
    want_w = w - 0.01 * 2 * X.double().numpy().T @ r / 3
    want_b = b - 0.01 * 2 * r.mean(0)
    got_w, got_b = m.get_weights()
    np.testing.assert_allclose(got_w, want_w, rtol=1e-6)
    np.testing.assert_allclose(got_b, want_b, rtol=1e-6)
    assert m.trainer.train_loss.count == 3.0


def test_a_nan_loss_returns_before_any_update():
    m = _model()
    before = m.get_weights()
    logs = steps.train_step(m.trainer, Batch(X, torch.full_like(Y, float("nan"))))
    assert np.isnan(logs["loss"])
    for a, b in zip(m.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_the_default_test_step_runs_the_mean_over_batches():
    m = _model()
    w, b = m.get_weights()
    sq = (X.numpy() @ w + b - Y.numpy()) ** 2  # (3, 1)
    with torch.no_grad():
        steps.test_step(m.trainer, Batch(X[:2], Y[:2]))
        logs = steps.test_step(m.trainer, Batch(X[2:], Y[2:]))
    # Σ (batch mean · batch size) / Σ sizes = the mean over all three samples
    assert logs["loss"] == pytest.approx(float(sq.mean()), rel=1e-6)
    np.testing.assert_allclose(steps.predict_step(m.trainer, Batch(X, None)).detach().numpy(),
                               X.numpy() @ w + b, rtol=1e-6)
