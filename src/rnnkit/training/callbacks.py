"""Keras 3's callbacks: hooks into ``fit`` / ``evaluate`` / ``predict``.

Order of calls in ``fit`` (epochs and batches count from 0, as in Keras)::

    on_train_begin(logs)
      on_epoch_begin(epoch, logs)
        on_train_batch_begin(batch, logs) ... on_train_batch_end(batch, logs)
      on_epoch_end(epoch, logs)         # logs: loss, metrics, val_loss, val_<metric>
    on_train_end(logs)

Batch logs hold the running means of the epoch so far. ``on_batch_begin/end``
are what ``on_train_batch_begin/end`` call by default (Keras's aliases).
A callback sets ``self.model.stop_training = True`` to end training after the
current batch.

The base classes live in ``callback_base`` (so that the file-writing callbacks
can subclass them without importing this module); this module holds the
callbacks that write no files and re-exports :class:`ModelCheckpoint`,
:class:`CSVLogger` (``file_callbacks``) and :class:`BackupAndRestore` (``backup``).
"""
from __future__ import annotations

import math
import sys
from typing import Callable, Iterable, Optional

from rnnkit.training.backup import BackupAndRestore
from rnnkit.training.callback_base import Callback, MonitorCallback
from rnnkit.training.file_callbacks import CSVLogger, ModelCheckpoint

__all__ = ["Callback", "CallbackList", "History", "MonitorCallback", "EarlyStopping",
           "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN", "LambdaCallback",
           "ModelCheckpoint", "CSVLogger", "BackupAndRestore"]


class History(Callback):
    """Records every epoch's logs: ``history.history["loss"]`` is a list with one
    value per epoch; ``history.epoch`` lists the epoch indices."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


class CallbackList(Callback):
    """Calls every callback's hook in order; History last (so it sees what the
    others add to the logs, e.g. ``learning_rate``), the progress bar first."""

    def __init__(self, callbacks: Optional[Iterable[Callback]] = None, model=None,
                 history: Optional[History] = None, progbar: Optional[Callback] = None,
                 params: Optional[dict] = None) -> None:
        super().__init__()
        callbacks = list(callbacks or [])
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(f"`callbacks[{i}]` must be a rnnkit.callbacks.Callback, got "
                                f"{type(cb).__name__}")
        self.callbacks = ([progbar] if progbar else []) + callbacks + ([history] if history else [])
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            cb.set_params(params or {})

    def has(self, kind: type) -> bool:
        return any(isinstance(cb, kind) for cb in self.callbacks)

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs)
    def on_train_batch_begin(self, batch, logs=None): self._call("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch, logs=None): self._call("on_train_batch_end", batch, logs)
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs)
    def on_test_batch_begin(self, batch, logs=None): self._call("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._call("on_test_batch_end", batch, logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs)
    def on_predict_batch_begin(self, batch, logs=None): self._call("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch, logs=None): self._call("on_predict_batch_end", batch, logs)


class LambdaCallback(Callback):
    """Callback from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, **hooks: Callable) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}")
            setattr(self, name, fn)


class EarlyStopping(MonitorCallback):
    """Stop when ``monitor`` hasn't improved by more than ``min_delta`` for
    ``patience`` epochs (Keras 3 semantics).

    Args:
        monitor: default "val_loss". mode: "auto" | "min" | "max".
        min_delta: default 0. patience: default 0.
        baseline: training stops unless the monitor beats it within ``patience`` epochs.
        restore_best_weights: default False; at the end of training, set the
            weights of the best epoch (whether or not training stopped early).
        start_from_epoch: epochs to wait before monitoring (default 0).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: Optional[float] = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta, baseline)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"`patience` must be an int >= 0, got {patience!r}")
        self.patience = patience
        self.verbose = verbose
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best, self.best_weights = None, None

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved
    for ``patience`` epochs; then wait ``cooldown`` epochs. Adds ``learning_rate``
    to the epoch logs. Defaults as Keras: factor 0.1, patience 10, min_delta 1e-4,
    cooldown 0, min_lr 0."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0) -> None:
        super().__init__(monitor, mode, min_delta)
        if not 0.0 < float(factor) < 1.0:
            raise ValueError(f"`factor` must lie in (0, 1), got {factor!r}")
        self.factor, self.patience, self.verbose = float(factor), int(patience), verbose
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = self.model.optimizer.learning_rate
        current = self.get_monitor_value(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = self.model.optimizer.learning_rate
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new
                    if self.verbose:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)``
    (or ``schedule(epoch)``); adds ``learning_rate`` to the epoch logs."""

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"`schedule` must be a function of (epoch, lr), got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = self.model.optimizer.learning_rate
        try:
            new = self.schedule(epoch, lr)
        except TypeError:  # Keras also accepts schedule(epoch)
            new = self.schedule(epoch)
        if isinstance(new, bool) or not isinstance(new, (int, float)) or not math.isfinite(new):
            raise ValueError(f"`schedule` must return a finite float learning rate, got {new!r} "
                             f"at epoch {epoch}")
        self.model.optimizer.learning_rate = float(new)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class TerminateOnNaN(Callback):
    """Stop training, with a message on stderr, when the loss becomes NaN or inf.

    Without this callback ``fit`` raises FloatingPointError instead. With it, the
    step that produced the bad loss is not applied, so the weights stay finite.
    """

    def __init__(self) -> None:
        super().__init__()
        self.terminated_at: Optional[tuple[int, int]] = None  # (epoch, batch)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.terminated_at = (self._epoch, batch)
            print(f"Epoch {self._epoch + 1}, batch {batch}: invalid loss ({loss}), terminating "
                  "training", file=sys.stderr)
            self.model.stop_training = True
