"""The learning check of minGRU and minLSTM (issue 12): the adding problem of
Hochreiter & Schmidhuber (1997) at T = 100, where predicting the constant 1
costs MSE 1/6 ≈ 0.167 and a model must carry two marked values across up to
100 steps to get below it. Slow: run with ``pytest -m slow``. The result is in
the README (section "minGRU and minLSTM")."""
import pytest
import torch

import rnnkit.layers as L
from rnnkit import set_random_seed
from rnnkit.data import ADDING_BASELINE_MSE, adding_problem
from rnnkit.models import Sequential
from rnnkit.tools.adding import _FreshBatches
from rnnkit.tools.fitting import compile_regressor

T, STEPS, EVERY, BATCH = 100, 3000, 500, 64


def train(cls, seed: int = 0) -> list[float]:
    """Test MSE after every EVERY fresh batches (Adam 3e-3, global norm clipped at 1)."""
    set_random_seed(seed)
    X_te, y_te = (torch.from_numpy(a) for a in adding_problem(500, T, seed=10_000 + seed))
    model = Sequential([cls(32, input_shape=(T, 2)), L.Dense(1)])
    compile_regressor(model, 3e-3, clip=1.0)
    hist = model.fit(_FreshBatches(STEPS, EVERY, BATCH, T, seed), epochs=STEPS // EVERY,
                     validation_data=(X_te, y_te), validation_batch_size=500, verbose=0)
    return [float(v) for v in hist.history["val_loss"]]


@pytest.mark.slow
@pytest.mark.parametrize("cls", [L.MinGRU, L.MinLSTM], ids=["MinGRU", "MinLSTM"])
def test_min_cells_learn_the_adding_problem_at_T100(cls):
    mse = train(cls)
    print(f"{cls.__name__}: test MSE by {EVERY} batches: {[round(v, 4) for v in mse]}")
    assert mse[-1] < 0.1 * ADDING_BASELINE_MSE  # ten times better than the constant guess
