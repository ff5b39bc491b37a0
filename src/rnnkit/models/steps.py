"""The default steps of the one loop, and the batch they receive.

``Trainer.train_step`` / ``test_step`` / ``predict_step`` (the defaults of
``model.train_step`` ...) are the functions below, each given the trainer, so
that its seams are read in one place: ``trainer.strategy`` (the forward, the
global batch loss), ``trainer.precision`` (autocast, loss scale) and
``trainer.tbptt`` (one optimizer step per window, the state in
``trainer.carry``). A batch (x, y, w, m)::

    y_pred, m_out = forward(x, m)              # strategy.forward: DDP-wrapped or not
    loss = model.compute_loss(y, y_pred, w)    # + regularizer penalties; masked steps excluded
    loss.backward(); optimizer.step()          # through the precision policy (loss scale)
    constraints; metrics; running mean loss Σ value·n / Σ n

A non-finite loss returns ``{"loss": nan}`` before any update; the trainer then
raises or stops (TerminateOnNaN).
"""
from __future__ import annotations

import math

from rnnkit.distributed.strategy import SingleProcess
from rnnkit.layers.constraints import apply_all as apply_constraints
from rnnkit.mixed_precision import TrainingPrecision
from rnnkit.training import tbptt as _tbptt

__all__ = ["Batch", "RunningMean", "train_step", "test_step", "predict_step"]


class Batch(tuple):
    """One batch on the model's device: Keras's ``(x, y)``, or ``(x, y, sample_weight)``
    when there are sample weights, so ``x, y = batch`` works as in a Keras
    ``train_step``. ``batch.mask`` is the (B, T) padding mask (True = a real step) of
    variable-length input, or None."""

    def __new__(cls, x, y=None, sample_weight=None, mask=None) -> "Batch":
        self = super().__new__(cls, (x, y) if sample_weight is None else (x, y, sample_weight))
        self.mask = mask
        return self

    @property
    def x(self):
        return self[0]

    @property
    def y(self):
        return self[1]

    @property
    def sample_weight(self):
        return self[2] if len(self) == 3 else None


class RunningMean:
    """The epoch's batch-size-weighted mean loss: Σ value·n / Σ n."""

    def __init__(self) -> None:
        self.total = self.count = 0.0

    def reset(self) -> None:
        self.total = self.count = 0.0

    def update(self, value: float, n: float) -> float:
        """Add a batch's mean ``value`` over ``n`` samples; returns the running mean."""
        self.total += value * n
        self.count += n
        return self.result()

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")


def train_step(trainer, batch: Batch) -> dict:
    """The default ``model.train_step``: one optimizer step (one per window under
    ``tbptt``); returns the epoch's running logs, or ``{"loss": nan}`` without a step."""
    model, k = trainer.model, trainer.tbptt
    strategy = trainer.strategy or SingleProcess()
    precision = trainer.precision or TrainingPrecision(trainer.device)
    x, y, w, m = batch.x, batch.y, batch.sample_weight, batch.mask
    model._clear_activity()
    if k:  # truncated BPTT: one optimizer step per window, inside
        value, n, y_pred, m_out = _tbptt.train_batch(model, trainer.forward, strategy,
                                                     trainer.carry, x, y, w, m, k, precision)
    else:
        model.optimizer.zero_grad()
        with precision.autocast():
            y_pred, m_out = trainer.forward(x, m)
        y_pred = precision.output(y_pred)
        loss = model._compute_loss(y, y_pred, w, m_out)
        # the global batch's loss (all ranks), and this rank's share to back-propagate
        loss, value, n = strategy.step_loss(loss, model._batch_len(x))
    if not math.isfinite(value):
        return {"loss": value}
    if not k:
        precision.backward(loss)
        precision.step(model.optimizer)
        if trainer.constrained:
            apply_constraints(model)  # Keras: after each update
    trainer.train_loss.update(value, n)
    model._update_metrics(y, y_pred, w, m_out)
    if type(strategy) is SingleProcess:  # DataParallel derives from it
        return model._logs(trainer.train_loss.total, trainer.train_loss.count)
    # the global batch's metrics: (total, count) all-reduced over the ranks
    logs = {"loss": trainer.train_loss.result()}
    logs.update(strategy.metric_results(model.compiled_metrics))
    return logs


def test_step(trainer, batch: Batch) -> dict:
    """The default ``model.test_step``: loss and metrics, running over the evaluation."""
    model = trainer.model
    precision = trainer.precision or TrainingPrecision(trainer.device)
    x, y, w, m = batch.x, batch.y, batch.sample_weight, batch.mask
    model._clear_activity()
    with precision.autocast():
        y_pred, m_out = model._forward_with_mask(x, m)
    y_pred = precision.output(y_pred)
    trainer.test_loss.update(float(model._compute_loss(y, y_pred, w, m_out)),
                             float(model._batch_len(x)))
    model._update_metrics(y, y_pred, w, m_out)
    return model._logs(trainer.test_loss.total, trainer.test_loss.count)


def predict_step(trainer, batch: Batch):
    """The default ``model.predict_step``: the model's outputs for ``batch.x``."""
    y_pred, _ = trainer.model._forward_with_mask(batch.x, batch.mask)
    return y_pred
