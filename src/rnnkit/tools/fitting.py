"""The tools' training budget on top of ``Sequential.compile``/``fit``.

Adam with global gradient-norm clipping at 1.0 (Pascanu et al. 2013), MSE,
``epochs`` full epochs, and ``EarlyStopping(restore_best_weights=True)`` on the
validation part, so the model ends with the weights of its best validation
epoch. By default ``patience`` is the whole budget: nothing stops early and
every run costs the same number of epochs, which is what makes seconds per
epoch and learning curves comparable across cells in ``rnnkit compare``.

A NaN/inf training loss raises FloatingPointError (Sequential.fit's rule).
"""
from __future__ import annotations

import time
from typing import Callable, List, Optional

import numpy as np

from rnnkit.callbacks import Callback, EarlyStopping
from rnnkit.util import checks

__all__ = ["EpochTimer", "compile_regressor", "fit_regressor", "sec_per_epoch"]


class EpochTimer(Callback):
    """Wall time of every training epoch (validation excluded), ``seconds`` (E,);
    calls ``on_epoch(epoch, logs)`` after each epoch when given (progress bars)."""

    def __init__(self, on_epoch: Optional[Callable[[int, dict], None]] = None) -> None:
        super().__init__()
        self.on_epoch = on_epoch
        self.seconds: List[float] = []
        self._t0 = 0.0
        self._train_end = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # the last batch's end is the end of the epoch's training part
        self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(self._train_end - self._t0)
        if self.on_epoch is not None:
            self.on_epoch(epoch, logs or {})


def sec_per_epoch(seconds) -> float:
    """Seconds per epoch of a run: the median of its epochs after the first.

    The first epoch is the warm-up and is not counted: it pays for one-off work
    (building or loading the native kernel, the allocator's first requests, the
    registry's choice caches) that would otherwise make whichever cell runs first
    look slow.  The median keeps one slow epoch (another process on the machine)
    from moving the figure.  NaN for a single-epoch run: nothing was timed.
    """
    t = np.asarray(seconds, dtype=np.float64)
    return float(np.median(t[1:])) if len(t) >= 2 else float("nan")


def compile_regressor(model, lr: float = 3e-3, clip: Optional[float] = 1.0) -> None:
    """Adam(lr) with global-norm clipping ``clip`` (None: none) and the MSE loss."""
    from rnnkit.optimizers import Adam

    model.compile(optimizer=Adam(learning_rate=lr, global_clipnorm=clip), loss="mse")


def fit_regressor(model, X, y, X_val=None, y_val=None, *, epochs: int = 30,
                  batch_size: int = 32, lr: float = 3e-3, clip: Optional[float] = 1.0,
                  patience: Optional[int] = None,
                  on_epoch: Optional[Callable[[int, dict], None]] = None) -> dict:
    """Compile ``model`` (see :func:`compile_regressor`) and fit it on (X, y).

    With validation data, the weights of the epoch with the lowest ``val_loss``
    are restored at the end; ``patience`` epochs without improvement stop early
    (None: never). Seed with :func:`rnnkit.set_random_seed` before building the
    model: weights and shuffling then repeat.

    Returns ``{"loss": [...], "val_loss": [...], "epoch_time": [...], "best_epoch": n}``
    (``best_epoch`` 1-based; the last epoch without validation data).
    """
    checks.positive_int(epochs, "epochs", style="plain")
    has_val = X_val is not None and len(X_val) > 0
    timer = EpochTimer(on_epoch)
    callbacks: list = [timer]
    if has_val:
        callbacks.insert(0, EarlyStopping(monitor="val_loss", restore_best_weights=True,
                                          patience=epochs if patience is None else patience))
    compile_regressor(model, lr, clip)
    hist = model.fit(X, y, batch_size=batch_size, epochs=epochs, verbose=0,
                     validation_data=(X_val, y_val) if has_val else None, callbacks=callbacks)
    h = hist.history
    out = {"loss": [float(v) for v in h["loss"]],
           "val_loss": [float(v) for v in h.get("val_loss", [])],
           "epoch_time": timer.seconds}
    out["best_epoch"] = (int(np.argmin(out["val_loss"])) + 1 if out["val_loss"]
                         else len(out["loss"]))
    return out
