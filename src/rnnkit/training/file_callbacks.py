"""Callbacks that write files: ModelCheckpoint and CSVLogger.

Every write is atomic (a temporary file in the same folder, then
``os.replace``): a crash or a full disk leaves the previous file intact,
never a truncated model or a half-written CSV row.
"""
from __future__ import annotations

import csv
import io
import os
from typing import Optional

from rnnkit.util.atomic import write_text
from rnnkit.training.callback_base import Callback, MonitorCallback

__all__ = ["ModelCheckpoint", "CSVLogger"]


class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save``) or its weights (``model.save_weights``)
    at the end of every epoch.

    Args:
        filepath: may hold ``str.format`` fields filled from the epoch (1-based)
            and the logs: ``"ckpt-{epoch:02d}-{val_loss:.2f}.rnnkit"``.
        monitor: quantity compared when ``save_best_only`` (default "val_loss").
        save_best_only: only save when ``monitor`` improves (default False);
            without a formatted filepath the best model overwrites the file.
        save_weights_only: weights only (default False: architecture, weights,
            compile config and optimizer state).
        mode: "auto" | "min" | "max". initial_value_threshold: a value to beat.
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq="epoch",
                 initial_value_threshold: Optional[float] = None) -> None:
        super().__init__(monitor, mode)
        if save_freq != "epoch":
            raise ValueError(f"`save_freq` must be 'epoch' (saving every N batches isn't "
                             f"supported), got {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.initial_value_threshold = initial_value_threshold
        self.best = initial_value_threshold
        self.saved: list[str] = []

    def on_train_begin(self, logs=None):
        self.best = self.initial_value_threshold

    def _path(self, epoch: int, logs: dict) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint: can't fill `filepath` {self.filepath!r} "
                             f"({type(e).__name__}: {e}); available fields: epoch, "
                             f"{', '.join(sorted(logs))}") from None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = self.get_monitor_value(logs)
            if current is None:
                return
            if not self._is_improvement(current, self.best):
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best}")
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                      f"{current}, saving model to {path}")
            self.best = current
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.saved.append(path)


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` (0-based, as Keras) then the logs'
    keys sorted. ``append=True`` continues an existing file (header kept).

    The whole file is rewritten atomically at every epoch end, so a reader sees
    either the previous rows or the previous rows plus the new one.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self._prefix = ""
        self._rows: list[dict] = []
        self.keys: Optional[list[str]] = None

    def on_train_begin(self, logs=None):
        self._prefix, self._rows, self.keys = "", [], None
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as fh:
                self._prefix = fh.read()
            if self._prefix and not self._prefix.endswith("\n"):
                self._prefix += "\n"

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                # Keras reserves val_ columns so rows line up if validation starts later.
                self.keys += [f"val_{k}" for k in self.keys]
        row = {"epoch": epoch}
        row.update({k: logs.get(k, "NA") for k in self.keys})
        self._rows.append(row)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["epoch"] + self.keys, delimiter=self.sep,
                                lineterminator="\n", extrasaction="ignore")
        if not self._prefix:
            writer.writeheader()
        writer.writerows(self._rows)
        write_text(self.filename, self._prefix + buf.getvalue())
