"""The callback base classes (Keras 3's Callback and MonitorCallback).

Every callback, whether it writes files or not, subclasses these; the order of
the hooks in ``fit`` is documented in :mod:`rnnkit.training.callbacks`.
"""
from __future__ import annotations

import warnings
from typing import Any, Optional

__all__ = ["Callback", "MonitorCallback"]


class Callback:
    """Base class with no-op hooks. ``self.model`` and ``self.params`` (epochs,
    steps, verbose) are set by ``fit`` before ``on_train_begin``.

    ``self.trainer`` is the loop running the hooks (``model.trainer``, a
    :class:`rnnkit.models.Trainer`), the public interface to it:

    - ``trainer.epoch`` / ``trainer.step``: the epoch (0-based) and the batch in it;
    - ``trainer.stop_training``: True ends training after this batch (the same
      flag as Keras's ``self.model.stop_training``);
    - ``trainer.history``: this fit's :class:`History` (updated after the other
      callbacks' ``on_epoch_end``);
    - ``trainer.state_dict()`` / ``trainer.load_state_dict(state)``: the loop's
      state at an epoch boundary (next epoch, history, shuffle order) for an exact
      resume; loaded in ``on_train_begin``, the run continues from it.
    """

    def __init__(self) -> None:
        self.model = None
        self.params: dict[str, Any] = {}

    def set_model(self, model) -> None:
        self.model = model

    @property
    def trainer(self):
        """The model's trainer (see the class docstring)."""
        trainer = getattr(self.model, "trainer", None)
        if trainer is None:
            raise ValueError(f"{type(self).__name__}.trainer: the callback has no model with a "
                             f"trainer (set_model got {type(self.model).__name__}); it is set "
                             "when fit / evaluate / predict starts")
        return trainer

    def set_params(self, params: dict) -> None:
        self.params = dict(params)

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)


class MonitorCallback(Callback):
    """Shared by callbacks that watch one logged quantity (Keras's MonitorCallback).

    ``mode="auto"`` minimises losses and errors and maximises accuracies: the
    direction comes from the model's metric of that name when it has one, else
    from the name ("acc" in it -> max, else min).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", min_delta: float = 0.0,
                 baseline: Optional[float] = None) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"`mode` must be 'auto', 'min' or 'max', got {mode!r}")
        if not isinstance(monitor, str):
            raise TypeError(f"`monitor` must be a str such as 'val_loss', got {monitor!r}")
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.baseline = baseline
        self.best: Optional[float] = None

    def _maximise(self) -> bool:
        if self.mode != "auto":
            return self.mode == "max"
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        for m in getattr(self.model, "compiled_metrics", None) or []:
            if m.name == name:
                return getattr(m, "direction", "down") == "up"
        return "acc" in name

    def _is_improvement(self, current: float, reference: Optional[float]) -> bool:
        if reference is None:
            return True
        if self._maximise():
            return current - self.min_delta > reference
        return current + self.min_delta < reference

    def get_monitor_value(self, logs) -> Optional[float]:
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__} is conditioned on `{self.monitor}`, which is "
                          f"not in the logs; available: {sorted(logs or {})}", stacklevel=3)
            return None
        return float(value)
