"""Truncated backpropagation through time: ``fit(..., tbptt=k)``.

Each batch of sequences (B, T, ...) is cut into windows of k steps (the last
may be shorter). The recurrent layers carry their state from one window to the
next, detached -- the values go on, the gradient stops at the window's start
(Williams & Peng 1990) -- and start from zeros at each new batch. This is
Keras's hand-written stateful pattern (``stateful=True``, one
``train_on_batch`` per window, ``reset_states()`` between sequences) as one
option.

- Targets with a time axis (y (B, T, ...), a model returning sequences): every
  window is one optimizer step on its slice of x, y, sample weights and mask.
- One target per sequence (y (B, ...)): the windows before the last only
  advance the state (no gradients); the last window is the optimizer step.

The batch's loss in the logs is the sample-weighted mean of its windows'
losses (weighted by window length when every window is a step).
"""
from __future__ import annotations

import math
import numbers
from contextlib import contextmanager
from typing import Iterator, Optional

import torch

__all__ = ["check_tbptt", "carried_state", "train_batch"]


def check_tbptt(tbptt, T: Optional[int]) -> Optional[int]:
    """None, or a window length k with 1 <= k <= T (the data's time steps)."""
    if tbptt is None:
        return None
    if isinstance(tbptt, bool) or not isinstance(tbptt, numbers.Integral):
        raise TypeError(f"`tbptt` must be a positive int (time steps per window) or None, got "
                        f"{type(tbptt).__name__} {tbptt!r}")
    if tbptt <= 0:
        raise ValueError(f"`tbptt` must be a positive int (time steps per window), got {tbptt}")
    if T is None:
        raise ValueError("`tbptt` needs sequences (batch, timesteps, ...), but the data has no "
                         "time axis")
    if tbptt > T:
        raise ValueError(f"`tbptt`={tbptt} is longer than the sequences ({T} time steps); use "
                         f"a window of at most {T} steps")
    return int(tbptt)


def _recurrent_layers(model) -> list:
    from rnnkit.layers.recurrent import RecurrentLayer
    from rnnkit.nn.recurrent import _RecurrentBase

    return [m for m in model.modules() if isinstance(m, (RecurrentLayer, _RecurrentBase))]


def _reset(layers) -> None:
    for layer in layers:
        if hasattr(layer, "_states"):
            layer._states = None
        else:
            layer._state = None


class Carry:
    """The layers whose state is carried, and (found on the first batch) whether
    the targets have a time axis."""

    def __init__(self, layers: list) -> None:
        self.layers = layers
        self.per_step: Optional[bool] = None


@contextmanager
def carried_state(model) -> Iterator[Carry]:
    """Make every recurrent layer carry its state between calls; restore after."""
    layers = _recurrent_layers(model)
    if not layers:
        raise ValueError("`tbptt` carries recurrent state across windows, but the model has no "
                         "rnnkit recurrent layer")
    for layer in layers:
        if getattr(layer, "go_backwards", False) or getattr(layer, "bidirectional", False):
            raise ValueError(f"`tbptt` carries state forward in time; layer "
                             f"{getattr(layer, 'name', type(layer).__name__)!r} runs backwards "
                             "(go_backwards / Bidirectional), which needs the whole sequence")
    flags = [layer.stateful for layer in layers]
    for layer in layers:
        layer.stateful = True
    _reset(layers)
    try:
        yield Carry(layers)
    finally:
        _reset(layers)
        for layer, flag in zip(layers, flags):
            layer.stateful = flag


def _cut(t, s: slice, T: int):
    """The window's slice of a tensor whose axis 1 is time; others pass whole."""
    if t is None or t.dim() < 2 or t.shape[1] != T:
        return t
    return t[:, s]


def _targets_per_step(model, x, y, m, k: int) -> bool:
    """Does the model return one output per step, matched by y's time axis? Asked
    once, on a probe of the first window (no gradients; the states are reset after)."""
    with torch.no_grad():
        y_pred, _ = model._forward_with_mask(x[:, :k], None if m is None else m[:, :k])
    return (y_pred.dim() >= 2 and y_pred.shape[1] == min(k, x.shape[1])
            and y.dim() >= 2 and y.shape[1] == x.shape[1])


def train_batch(model, forward, strategy, carry: Carry, x, y, w, m, k: int, precision):
    """Run one batch as windows of k steps; returns (loss value, samples, y_pred, mask out),
    value non-finite (and that window not applied) when a window's loss is NaN/inf."""
    T = x.shape[1]
    if carry.per_step is None:
        _reset(carry.layers)
        carry.per_step = _targets_per_step(model, x, y, m, k)
    per_step = carry.per_step
    _reset(carry.layers)
    starts = list(range(0, T, k))
    preds, masks, total, weight, n = [], [], 0.0, 0.0, 0.0
    for i, start in enumerate(starts):
        s = slice(start, min(start + k, T))
        last = i == len(starts) - 1
        xw, mw = x[:, s], None if m is None else m[:, s]
        if not per_step and not last:  # only advance the state
            with torch.no_grad(), precision.autocast():
                forward(xw, mw)
            continue
        model.optimizer.zero_grad()
        with precision.autocast():
            y_pred, m_out = forward(xw, mw)
        y_pred = precision.output(y_pred)
        yw, ww = (_cut(y, s, T), _cut(w, s, T)) if per_step else (y, w)
        loss = model._compute_loss(yw, y_pred, ww, m_out)
        loss, value, n = strategy.step_loss(loss, int(xw.shape[0]))
        if not math.isfinite(value):
            return value, n, y_pred.detach(), m_out
        precision.backward(loss)
        precision.step(model.optimizer)
        span = float(s.stop - s.start) if per_step else 1.0
        total += value * span
        weight += span
        preds.append(y_pred.detach())
        masks.append(m_out)
    y_pred = torch.cat(preds, 1) if per_step else preds[-1]
    m_out = (torch.cat(masks, 1) if per_step and masks[0] is not None else masks[-1])
    return total / weight, n, y_pred, m_out
