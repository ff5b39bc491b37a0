"""Progress output of fit / evaluate / predict, as Keras's ``verbose``:

- 0: silent;
- 1: a tqdm bar per epoch (stderr) with the ETA and the running loss/metrics;
- 2: one line per epoch on stdout: ``Epoch 3/10 - 0.4s - loss: 0.1234 - val_loss: 0.2345``.
"""
from __future__ import annotations

import sys
import time
from typing import Optional

from rnnkit.training.callbacks import Callback

__all__ = ["ProgbarLogger", "format_logs", "resolve_verbose"]


def resolve_verbose(verbose, arg: str = "verbose") -> int:
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"`{arg}` must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _fmt(value) -> str:
    v = float(value)
    return f"{v:.4f}" if v == 0 or abs(v) >= 1e-3 else f"{v:.4e}"


def format_logs(logs: Optional[dict]) -> str:
    return " - ".join(f"{k}: {_fmt(v)}" for k, v in (logs or {}).items())


class ProgbarLogger(Callback):
    """Prints training progress; added by ``fit``/``evaluate`` when verbose > 0."""

    def __init__(self, verbose: int = 1, stream=None) -> None:
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self._bar = None
        self._t0 = 0.0

    def _new_bar(self, total, desc: str):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit="step", leave=True, dynamic_ncols=True,
                    file=self.stream or sys.stderr)

    # --- fit ------------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        desc = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}"
        if self.verbose == 1:
            self._bar = self._new_bar(self.params.get("steps"), desc)

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=True)
            self._bar.close()
            self._bar = None
        elif self.verbose == 2:
            dt = time.perf_counter() - self._t0
            line = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')} - {dt:.1f}s"
            if logs:
                line += " - " + format_logs(logs)
            print(line, file=self.stream or sys.stdout, flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # --- evaluate -------------------------------------------------------------------------
    def on_test_begin(self, logs=None):
        if self.verbose == 1 and self.params.get("mode") == "evaluate":
            self._bar = self._new_bar(self.params.get("steps"), "Evaluate")
        self._t0 = time.perf_counter()

    def on_test_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.update(1)

    def on_test_end(self, logs=None):
        if self.params.get("mode") != "evaluate":
            return
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=True)
            self._bar.close()
            self._bar = None
        elif self.verbose == 2:
            print(f"{time.perf_counter() - self._t0:.1f}s - {format_logs(logs)}",
                  file=self.stream or sys.stdout, flush=True)

    # --- predict --------------------------------------------------------------------------
    def on_predict_begin(self, logs=None):
        if self.verbose == 1:
            self._bar = self._new_bar(self.params.get("steps"), "Predict")

    def on_predict_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)

    def on_predict_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
