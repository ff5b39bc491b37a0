import numpy as np
import pytest
import torch

from rnnkit.tools.regressor import RecurrentRegressor, parse_variant
from rnnkit.tools.training import fit


def test_loss_falls_and_best_validation_weights_are_kept():
    torch.manual_seed(0)
    x = np.sin(np.arange(200) / 4)
    X = np.stack([x[i:i + 8] for i in range(180)])[..., None].astype(np.float32)
    y = x[8:188, None].astype(np.float32)
    m = RecurrentRegressor("gru", 1, 8)
    h = fit(m, X[:150], y[:150], X[150:], y[150:], epochs=6)
    assert h.loss[-1] < h.loss[0]
    with torch.no_grad():
        val = torch.nn.functional.mse_loss(m(torch.from_numpy(X[150:])), torch.from_numpy(y[150:]))
    assert float(val) == pytest.approx(min(h.val_loss), rel=1e-5)
    assert h.val_loss[h.best_epoch - 1] == min(h.val_loss)


def test_nan_loss_is_an_error_not_silent():
    X = np.ones((4, 3, 1), np.float32)
    y = np.full((4, 1), np.nan, np.float32)
    with pytest.raises(FloatingPointError, match="diverged"):
        fit(RecurrentRegressor("rnn", 1, 2), X, y, epochs=1)


def test_variant_names():
    assert parse_variant("LSTM-ln") == {"cell": "lstm", "layer_norm": True, "peephole": False}
    with pytest.raises(ValueError, match="unknown cell 'gru-peephole'"):
        parse_variant("gru-peephole")
