import numpy as np
import pytest
import torch

from rnnkit import set_random_seed
from rnnkit.tools.fitting import fit_regressor
from rnnkit.tools.stacks import build_regressor


def _sine():
    x = np.sin(np.arange(200) / 4)
    X = np.stack([x[i:i + 8] for i in range(180)])[..., None].astype(np.float32)  # (180, 8, 1)
    y = x[8:188, None].astype(np.float32)                                            # (180, 1)
    return X[:150], y[:150], X[150:], y[150:]


def test_loss_falls_and_the_best_validation_weights_are_kept():
    set_random_seed(0)
    X, y, Xv, yv = _sine()
    m = build_regressor("gru", (8, 1), units=8)
    seen = []
    h = fit_regressor(m, X, y, Xv, yv, epochs=6, on_epoch=lambda e, logs: seen.append(e))
    assert h["loss"][-1] < h["loss"][0]
    assert seen == list(range(6)) and len(h["epoch_time"]) == 6 and min(h["epoch_time"]) > 0
    with torch.no_grad():
        val = torch.nn.functional.mse_loss(m(torch.from_numpy(Xv)), torch.from_numpy(yv))
    assert float(val) == pytest.approx(min(h["val_loss"]), rel=1e-5)
    assert h["val_loss"][h["best_epoch"] - 1] == min(h["val_loss"])
    assert m.optimizer.global_clipnorm == 1.0 and m.optimizer.learning_rate == pytest.approx(3e-3)


def test_without_validation_the_last_epoch_counts():
    set_random_seed(0)
    X, y, _, _ = _sine()
    h = fit_regressor(build_regressor("rnn", (8, 1), units=2), X, y, epochs=2)
    assert h["val_loss"] == [] and h["best_epoch"] == 2


def test_nan_loss_is_an_error_not_silent():
    X = np.ones((4, 3, 1), np.float32)
    y = np.full((4, 1), 1e30, np.float32)      # squared error overflows float32 to inf
    with pytest.raises(FloatingPointError, match="diverged"):
        fit_regressor(build_regressor("rnn", (3, 1), units=2), X, y, epochs=1)


def test_epochs_must_be_positive():
    X, y, _, _ = _sine()
    with pytest.raises(ValueError, match="epochs: expected a positive integer, got 0"):
        fit_regressor(build_regressor("rnn", (8, 1), units=2), X, y, epochs=0)
