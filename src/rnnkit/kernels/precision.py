"""Mixed precision at the recurrence: under ``torch.autocast`` the recurrent
kernels compute -- and accumulate the state -- in float32.

Why: the state c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t is a running sum over up to
T steps; in bfloat16 (8 significant bits) each step's rounding (~0.4 %) adds
up over long sequences, so the recurrence keeps float32 while the layers
around it (Dense, the loss's inputs) run in the autocast dtype. rnnkit's
native CPU kernel has no bfloat16 path (no AVX512-BF16 / AMX code), and says
so in its kernel report: the note below is appended to the Choice.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch

__all__ = ["float32_recurrence", "autocast_dtype"]


def autocast_dtype(device: torch.device):
    """The autocast dtype active for ``device``'s type, or None when autocast is off."""
    kind = device.type
    if kind not in ("cpu", "cuda") or not torch.is_autocast_enabled(kind):
        return None
    return torch.get_autocast_dtype(kind)


def float32_recurrence(runner: Callable) -> Callable:
    """Wrap a ``registry.run``-style runner: outside autocast it runs unchanged;
    inside, with autocast off and x, hx in float32, and the Choice says so."""

    def run(spec, weights, x, hx, mask=None, **kw):
        low = autocast_dtype(x.device)
        if low is None:
            return runner(spec, weights, x, hx, mask, **kw)
        with torch.autocast(x.device.type, enabled=False):
            out, state, choice = runner(spec, weights, x.float(), tuple(h.float() for h in hx),
                                        mask, **kw)
        note = (f"mixed precision: autocast {str(low).replace('torch.', '')} is on, but this "
                f"kernel computes and accumulates the recurrence in float32 (no "
                f"{str(low).replace('torch.', '')} recurrent kernel; inputs cast up, outputs "
                "float32)")
        return out, state, dataclasses.replace(choice, notes=choice.notes + (note,))

    return run
