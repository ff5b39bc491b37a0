"""``compile`` for :class:`rnnkit.models.Sequential`: resolve the optimizer, loss
and metrics (by Keras name or object) and the device, all-or-nothing."""
from __future__ import annotations

from typing import Optional

import torch

from rnnkit.training.losses import Loss, get_loss, serialize_loss
from rnnkit.training.metrics import Metric, get_metric
from rnnkit.training.optimizers import get_optimizer, serialize_optimizer

__all__ = ["CompileMixin", "NotCompiledError"]


class NotCompiledError(ValueError, RuntimeError):
    """fit/evaluate before compile (a RuntimeError in Keras, a ValueError by rnnkit's rule)."""


def _resolve_device(device) -> Optional[torch.device]:
    if device is None:
        return None
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"`device` must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device`={device!r} was requested but CUDA isn't available "
                         "(torch.cuda.is_available() is False); use 'cpu' or 'auto'")
    return dev


class CompileMixin:
    """Keras's ``compile``; mixed into Sequential."""

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, device=None) -> None:
        """Configure training.

        Args:
            optimizer: a name ("adam", "sgd", "rmsprop", "adagrad", "adamw"; Keras's
                defaults), a ``rnnkit.optimizers`` object, or a torch optimizer.
                Default "rmsprop", as Keras.
            loss: a Keras loss name ("mse", "binary_crossentropy", ...), a
                ``rnnkit.losses`` object, or a function ``fn(y_true, y_pred)``.
            metrics: list of names ("accuracy", "mae", "mse", "rmse"), Metric objects
                or functions; logged as given (``"mae"`` -> ``mae``, ``val_mae``).
            device: None keeps the model where it is (CPU by default); "cuda",
                "cuda:1", "cpu" or "auto" (CUDA when available) moves it.
        """
        # Everything is resolved before the model changes: a bad name leaves it as it was.
        dev = _resolve_device(device)
        opt = get_optimizer(optimizer)
        loss_obj = None if loss is None else get_loss(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, Metric)) or callable(metrics):
            metrics = [metrics]
        elif isinstance(metrics, dict):
            raise TypeError("`metrics` must be a list (per-output dicts need a multi-output "
                            "model, which Sequential is not)")
        loss_name = loss_obj.default_name if isinstance(loss_obj, Loss) else None
        compiled_metrics = [get_metric(m, loss_name) for m in metrics]
        names = [m.name for m in compiled_metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"`metrics` must have distinct names other than 'loss', got {names}")
        self.loss, self.compiled_metrics = loss_obj, compiled_metrics
        if dev is not None:
            self.to(dev)
        self.optimizer = opt
        if self.built and any(True for _ in self.parameters()):
            opt.build(self.parameters())
        self._metric_specs = [m if isinstance(m, str) else None for m in metrics]
        self.compiled = True

    def get_compile_config(self) -> Optional[dict]:
        """JSON-able compile arguments (None when not compiled); user functions are
        stored as null (they can't be saved without pickle)."""
        if not getattr(self, "compiled", False):
            return None
        return {"optimizer": serialize_optimizer(self.optimizer),
                "loss": None if self.loss is None else serialize_loss(self.loss),
                "metrics": [s for s in self._metric_specs if s is not None]}

    def _require_compiled(self, what: str) -> None:
        if not getattr(self, "compiled", False):
            raise NotCompiledError(f"You must call `compile(optimizer, loss)` before `{what}()`")
        if self.loss is None:
            raise ValueError(f"`{what}()` needs a loss; call compile(..., loss='mse') (or another "
                             "loss) first")

    def _build_optimizer(self) -> None:
        if self.optimizer is None or self.optimizer.built:
            return
        params = list(self.parameters())
        if not params:
            raise ValueError("the model has no weights to train; add a layer with weights "
                             "(e.g. Dense) before fit()")
        self.optimizer.build(params)

