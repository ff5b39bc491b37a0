"""The adding problem as a gradient-flow experiment (Hochreiter & Schmidhuber 1997, exp. 4).

Each sequence of T steps carries a value and a marker per step; the target is the
sum of the two marked values, one in each half.  Predicting the constant 1 costs
MSE 1/6 ≈ 0.167 (``rnnkit.data.ADDING_BASELINE_MSE``); getting below it means the
model carried a value across up to T steps.  With T = 100 a tanh RNN stays near
the baseline while LSTM and GRU drop below 0.01 -- and ‖∂L/∂h_t‖ shows why: the
RNN's gradient from the loss dies out long before it reaches the first marker.

Fresh batches every step (an unlimited training set), a fixed test set.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import numpy as np
import torch

from rnnkit.data import ADDING_BASELINE_MSE, adding_problem
from rnnkit.tools.gradflow import gradient_flow
from rnnkit.tools.regressor import RecurrentRegressor

__all__ = ["AddingRun", "train_adding", "ADDING_BASELINE_MSE"]


@dataclass
class AddingRun:
    cell: str
    length: int
    steps: List[int] = field(default_factory=list)       # step numbers of the evaluations
    test_mse: List[float] = field(default_factory=list)  # test MSE at those steps
    norms_init: Optional[np.ndarray] = None              # (T,) ‖∂L/∂h_t‖ before training
    norms_trained: Optional[np.ndarray] = None           # (T,) after training
    seconds: float = 0.0
    params: int = 0

    @property
    def final_mse(self) -> float:
        return self.test_mse[-1]


def train_adding(cell: str, length: int = 100, steps: int = 2000, units: int = 32,
                 batch_size: int = 64, lr: float = 3e-3, seed: int = 0, eval_every: int = 250,
                 n_test: int = 500, progress: Optional[Callable[[int], None]] = None) -> AddingRun:
    """Train a :class:`RecurrentRegressor` on the adding problem of length ``length``."""
    torch.manual_seed(seed)
    X_te, y_te = (torch.from_numpy(a) for a in adding_problem(n_test, length, seed=10_000 + seed))
    model = RecurrentRegressor(cell, 2, units)
    run = AddingRun(cell, length, params=model.count_params())
    probe = (X_te[:100], y_te[:100])
    run.norms_init = gradient_flow(model, *probe).norms
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        X, y = (torch.from_numpy(a) for a in adding_problem(batch_size, length, seed=rng))
        model.train()
        loss = torch.nn.functional.mse_loss(model(X), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training diverged: loss {float(loss)} at step {step}")
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # Pascanu et al. 2013
        opt.step()
        if step % eval_every == 0 or step == steps:
            model.eval()
            with torch.no_grad():
                run.test_mse.append(float(torch.nn.functional.mse_loss(model(X_te), y_te)))
            run.steps.append(step)
        if progress is not None:
            progress(1)
    run.seconds = time.perf_counter() - t0
    run.norms_trained = gradient_flow(model, *probe).norms
    return run
