"""The adding problem as a gradient-flow experiment (Hochreiter & Schmidhuber 1997, exp. 4).

Each sequence of T steps carries a value and a marker per step; the target is the
sum of the two marked values, one in each half.  Predicting the constant 1 costs
MSE 1/6 ≈ 0.167 (``rnnkit.data.ADDING_BASELINE_MSE``); getting below it means the
model carried a value across up to T steps.  With T = 100 a tanh RNN stays near
the baseline while LSTM and GRU drop below 0.01 -- and ‖∂L/∂h_t‖ shows why: the
RNN's gradient from the loss dies out long before it reaches the first marker.

Fresh batches every step (an unlimited training set) and a fixed test set,
trained with ``Sequential.fit``: one "epoch" is ``eval_every`` fresh batches, and
its validation loss is the test MSE.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional

import numpy as np
import torch

from rnnkit.data import ADDING_BASELINE_MSE, adding_problem
from rnnkit.tools.gradflow import gradient_flow
from rnnkit.tools.stacks import build_regressor
from rnnkit.util import checks

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


class _FreshBatches:
    """An iterable of (X, y) batches for ``fit``: each pass yields the next
    ``per_pass`` fresh batches, until ``total`` batches have been drawn."""

    def __init__(self, total: int, per_pass: int, batch_size: int, length: int, seed: int):
        self.left, self.per_pass = total, per_pass
        self.batch_size, self.length = batch_size, length
        self.rng = np.random.default_rng(seed)

    def __iter__(self) -> Iterator[tuple]:
        for _ in range(min(self.per_pass, self.left)):
            yield adding_problem(self.batch_size, self.length, seed=self.rng)   # (B, T, 2), (B, 1)
            # counted once consumed: fit peeks at one batch for its shape and drops the iterator
            self.left -= 1


def train_adding(cell: str, length: int = 100, steps: int = 2000, units: int = 32,
                 batch_size: int = 64, lr: float = 3e-3, seed: int = 0, eval_every: int = 250,
                 n_test: int = 500, progress: Optional[Callable[[int], None]] = None) -> AddingRun:
    """Train a :func:`~rnnkit.tools.stacks.build_regressor` model on the adding problem
    of length ``length`` for ``steps`` batches (Adam, gradient norm clipped at 1.0)."""
    from rnnkit import set_random_seed
    from rnnkit.callbacks import LambdaCallback
    from rnnkit.tools.fitting import compile_regressor

    for arg, v in (("steps", steps), ("eval_every", eval_every)):
        checks.positive_int(v, arg, style="plain")
    set_random_seed(seed)
    X_te, y_te = (torch.from_numpy(a) for a in adding_problem(n_test, length, seed=10_000 + seed))
    model = build_regressor(cell, (length, 2), units)
    run = AddingRun(cell, length, params=model.count_params())
    probe = (X_te[:100], y_te[:100])
    run.norms_init = gradient_flow(model, *probe).norms
    compile_regressor(model, lr, clip=1.0)                # Pascanu et al. 2013
    passes = -(-steps // eval_every)                      # ceil
    callbacks = [LambdaCallback(on_train_batch_end=lambda b, logs: progress(1))] \
        if progress is not None else []
    t0 = time.perf_counter()
    hist = model.fit(_FreshBatches(steps, eval_every, batch_size, length, seed), epochs=passes,
                     validation_data=(X_te, y_te), validation_batch_size=n_test, verbose=0,
                     callbacks=callbacks)
    run.seconds = time.perf_counter() - t0
    run.test_mse = [float(v) for v in hist.history["val_loss"]]
    run.steps = [min((k + 1) * eval_every, steps) for k in range(passes)]
    run.norms_trained = gradient_flow(model, *probe).norms
    return run
