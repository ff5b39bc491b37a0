"""Mixed precision policies: outputs close to float32 (stated tolerances), float32
weights / optimizer state / recurrence, a loss scale for float16, and training
that converges on a small task."""
import numpy as np
import pytest
import torch

from rnnkit import mixed_precision
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential
from rnnkit.seed import set_random_seed

# bfloat16 keeps 8 significant bits (relative rounding 2^-8 = 0.4 %), float16 11 bits
# (0.05 %); through one Dense matmul of 16 terms and a float32 recurrence the outputs
# (of size ~1) stay within a few roundings: the bounds below, about 10x the rounding.
TOL = {"mixed_bfloat16": 4e-2, "mixed_float16": 5e-3}


@pytest.fixture(autouse=True)
def _reset_policy():
    yield
    mixed_precision.set_global_policy("float32")


def _task():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 10, 2)).astype("float32")
    y = (X[:, :, :1].mean(1) - 0.5 * X[:, -1, 1:2]).astype("float32")
    return X, y


def _model():
    set_random_seed(0)
    m = Sequential([LSTM(16, input_shape=(10, 2)), Dense(8, activation="tanh"), Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


def test_policy_names():
    assert mixed_precision.global_policy().name == "float32"
    mixed_precision.set_global_policy("mixed_bfloat16")
    p = mixed_precision.global_policy()
    assert (p.compute_dtype, p.variable_dtype) == (torch.bfloat16, torch.float32)
    with pytest.raises(ValueError, match=r"`policy` must be one of .* got 'mixed_bf16'"):
        mixed_precision.set_global_policy("mixed_bf16")
    with pytest.raises(TypeError, match="`policy`"):
        mixed_precision.set_global_policy(16)


@pytest.mark.parametrize("name", ["mixed_bfloat16", "mixed_float16"])
def test_outputs_close_to_float32(name):
    X, _ = _task()
    m = _model()
    x = torch.from_numpy(X)
    with torch.no_grad():
        ref = m(x)
        prec = mixed_precision.TrainingPrecision(torch.device("cpu"),
                                                 mixed_precision.Policy(name))
        with prec.autocast():
            low = m(x)
    err = float((low.float() - ref).abs().max())
    assert 0 < err < TOL[name], err  # > 0: the Dense matmuls really ran in low precision
    assert "computes and accumulates the recurrence in float32" in m.layers[0].kernel_report()


def test_recurrence_runs_in_float32_under_autocast():
    lstm = LSTM(4, return_sequences=True)
    lstm.build((50, 3))
    x = torch.randn(2, 50, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = lstm(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, lstm(x), rtol=0, atol=0)  # the same numbers as float32


@pytest.mark.parametrize("name", ["mixed_bfloat16", "mixed_float16"])
def test_training_converges_and_keeps_float32_state(name):
    X, y = _task()
    ref = _model()
    h_ref = ref.fit(X, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    mixed_precision.set_global_policy(name)
    m = _model()
    h = m.fit(X, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert h[-1] < 0.5 * h[0]  # it learns
    assert abs(h[-1] - h_ref[-1]) < 0.25 * h_ref[-1] + 1e-3  # about as well as float32
    assert all(p.dtype == torch.float32 for p in m.parameters())
    for state in m.optimizer.torch.state.values():
        assert all(v.dtype == torch.float32 for v in state.values() if torch.is_tensor(v)
                   and v.dim() > 0)


def test_float16_uses_a_loss_scale():
    p = mixed_precision.TrainingPrecision(torch.device("cpu"), mixed_precision.Policy("mixed_float16"))
    assert p.scaler is not None and p.scaler.get_scale() > 1
    b = mixed_precision.TrainingPrecision(torch.device("cpu"),
                                          mixed_precision.Policy("mixed_bfloat16"))
    assert b.scaler is None
