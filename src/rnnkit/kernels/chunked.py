"""Gradient checkpointing over chunks of time: ``checkpoint_every=k``.

The sequence (T steps) is run as ceil(T / k) chunks of k steps through
:func:`rnnkit.kernels.registry.run`, each under
``torch.utils.checkpoint.checkpoint`` (non-reentrant). The forward keeps only
each chunk's input state for backward -- T / k states -- and the backward
re-runs one chunk at a time, holding its k steps' activations. Memory for
backward is O(T/k + k) states instead of O(T) (Chen et al. 2016, "Training Deep
Nets with Sublinear Memory Cost"; k ~ sqrt(T) minimises it). The outputs (T, B, H)
are returned as usual, so they are still O(T); a loss on the last step only
lets the caller drop them.

The chunks compute the same operations as one pass, so gradients are equal
(to rounding) to the run without chunks. Refused, because chunks would change
their meaning: bidirectional stacks (the reverse direction needs the whole
sequence first) and, in training, the regularisers that draw one mask per
sequence (input/recurrent dropout, zoneout, DropConnect) -- a chunk would draw
its own.
"""
from __future__ import annotations

import dataclasses
import numbers
from typing import Optional

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from rnnkit.kernels import registry
from rnnkit.kernels.spec import RecurrentSpec

__all__ = ["check_checkpoint_every", "run"]

_PER_SEQUENCE = ("input_dropout", "recurrent_dropout", "zoneout_h", "zoneout_c", "dropconnect")


def check_checkpoint_every(value) -> Optional[int]:
    """None, or a positive int (the number of time steps per chunk)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"Received an invalid value for argument `checkpoint_every`, expected a "
                        f"positive integer (time steps per chunk) or None, got "
                        f"{type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"Received an invalid value for argument `checkpoint_every`, expected a "
                         f"positive integer (time steps per chunk) or None, got {value}")
    return int(value)


def _why_not(spec: RecurrentSpec, training: bool) -> Optional[str]:
    if spec.bidirectional:
        return "a bidirectional stack (its reverse direction needs the whole sequence)"
    if training:
        on = [name for name in _PER_SEQUENCE if getattr(spec, name)]
        if on:
            return (f"{', '.join(on)} in training (one mask per sequence; a chunk would draw "
                    "its own)")
    return None


def run(every: int, spec: RecurrentSpec, weights: list[dict], x: Tensor, hx: tuple[Tensor, ...],
        mask: Optional[Tensor] = None, *, training: bool = False, backend: str = "auto",
        generator: Optional[torch.Generator] = None):
    """:func:`registry.run`'s contract (x (T, B, I), hx each (L*D, B, ·)), in checkpointed
    chunks of ``every`` steps when gradients are recorded; one plain pass otherwise."""
    why = _why_not(spec, training)
    if why is not None:
        raise ValueError(f"`checkpoint_every`={every} can't chunk {why}; set checkpoint_every=None")
    if not torch.is_grad_enabled() or x.shape[0] <= every:
        return registry.run(spec, weights, x, hx, mask, training=training, backend=backend,
                            generator=generator)
    if spec.go_backwards:  # process last step first: flip once, then chunk in that order
        x = x.flip(0)
        mask = None if mask is None else mask.flip(0)
        spec = dataclasses.replace(spec, go_backwards=False)
    choices = []

    def chunk(xs: Tensor, ms: Optional[Tensor], *state: Tensor):
        out, new, choice = registry.run(spec, weights, xs, tuple(state), ms, training=training,
                                        backend=backend, generator=generator)
        choices.append(choice)
        return (out, *new)

    outs, state = [], tuple(hx)
    for s in range(0, x.shape[0], every):
        ms = None if mask is None else mask[s:s + every]
        res = checkpoint(chunk, x[s:s + every], ms, *state, use_reentrant=False)
        outs.append(res[0])  # (k, B, D*H)
        state = tuple(res[1:])
    return torch.cat(outs, 0), state, choices[-1]  # (T, B, D*H)
