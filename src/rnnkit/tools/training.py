"""A small, explicit training loop for the tools (Adam, MSE, best-validation weights).

Per epoch it records the training loss, the validation loss and the wall time,
which is what ``rnnkit compare`` tabulates and plots.  It refuses to go on
silently with a NaN/inf loss (the project rule: no silent NaN training).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["History", "fit", "predict", "as_tensor"]


@dataclass
class History:
    loss: List[float] = field(default_factory=list)       # mean training loss per epoch
    val_loss: List[float] = field(default_factory=list)   # validation loss per epoch (if any)
    epoch_time: List[float] = field(default_factory=list)  # seconds per epoch
    best_epoch: int = 0                                    # 1-based epoch whose weights were kept

    def to_dict(self) -> dict:
        return {"loss": self.loss, "val_loss": self.val_loss, "epoch_time": self.epoch_time,
                "best_epoch": self.best_epoch}


def as_tensor(a) -> Tensor:
    return a if isinstance(a, Tensor) else torch.as_tensor(np.asarray(a), dtype=torch.float32)


def _loss_on(model: nn.Module, X: Tensor, y: Tensor, loss_fn, batch_size: int) -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            total += float(loss_fn(model(X[i:i + batch_size]), y[i:i + batch_size])) \
                * len(X[i:i + batch_size])
    return total / len(X)


def fit(model: nn.Module, X, y, X_val=None, y_val=None, *, epochs: int = 30,
        batch_size: int = 32, lr: float = 3e-3, clip: Optional[float] = 1.0, seed: int = 0,
        loss_fn: Callable = nn.functional.mse_loss, restore_best: bool = True,
        on_epoch: Optional[Callable[[int, History], None]] = None) -> History:
    """Train ``model`` on (X, y) with Adam; returns a :class:`History`.

    With validation data and ``restore_best`` the weights of the epoch with the lowest
    validation loss are restored at the end (early stopping without stopping early,
    so every run costs the same budget).  ``clip`` is the global gradient-norm
    clipping threshold (Pascanu et al. 2013; None disables).  ``on_epoch(epoch, history)``
    is called after each epoch (progress bars).

    Raises FloatingPointError when a training loss is NaN or infinite.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs: expected a positive integer, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    X, y = as_tensor(X), as_tensor(y)
    if len(X) == 0 or len(X) != len(y):
        raise ValueError(f"X, y: expected the same non-zero number of samples, got {len(X)} "
                         f"and {len(y)}")
    has_val = X_val is not None and len(X_val) > 0
    if has_val:
        X_val, y_val = as_tensor(X_val), as_tensor(y_val)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist = History()
    best, best_state = float("inf"), None
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for i in range(0, len(X), batch_size):
            idx = perm[i:i + batch_size]
            loss = loss_fn(model(X[idx]), y[idx])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training diverged: loss is {float(loss.detach())} at epoch "
                                         f"{epoch}; lower the learning rate (lr={lr}) or check "
                                         f"the data for extreme values")
            opt.zero_grad()
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            total += float(loss.detach()) * len(idx)
        hist.loss.append(total / len(X))
        hist.epoch_time.append(time.perf_counter() - t0)
        if has_val:
            v = _loss_on(model, X_val, y_val, loss_fn, 256)
            hist.val_loss.append(v)
            if v < best:
                best, hist.best_epoch = v, epoch
                best_state = copy.deepcopy(model.state_dict())
        else:
            hist.best_epoch = epoch
        if on_epoch is not None:
            on_epoch(epoch, hist)
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return hist


def predict(model: nn.Module, X, batch_size: int = 256) -> np.ndarray:
    """Model outputs for X as a float64 numpy array (eval mode, no gradients)."""
    X = as_tensor(X)
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            outs.append(model(X[i:i + batch_size]).double().numpy())
    return np.concatenate(outs) if outs else np.zeros((0,))
