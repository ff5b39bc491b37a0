"""The "scan" kernel: families that are linear recurrences (minGRU, minLSTM) as one
log-space parallel scan per layer and direction, in torch (any device).

The input projection of all steps is one GEMM; the family's table entry turns
it into log a_t, log b_t (rnnkit.cells.family ``log_coeffs``) and
:func:`rnnkit.cells.minrnn.scan` (Heinsen 2023) gives every h_t at once, depth
O(log T) instead of T dependent steps. Layers, directions, dropout between
layers and merging come from the one stack engine (stack.py), so the
regulariser masks are the reference's, drawn in the same order.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.family import FAMILIES
from rnnkit.cells.minrnn import scan
from rnnkit.kernels.base import Kernel
from rnnkit.kernels.masks import keep_mask
from rnnkit.kernels.spec import RecurrentSpec
from rnnkit.kernels.stack import run_stack

# Options a linear-recurrence family may use that the scan runs: none today (the
# families declare none); the structural ones (layers, directions, dropout
# between layers, input dropout, masks, bias) always run.
ACCEPTS: frozenset = frozenset()
DTYPES = (torch.float32, torch.float64)


def scan_families() -> list[str]:
    """The families whose table entry declares a linear recurrence (log_coeffs)."""
    return sorted(n for n, f in FAMILIES.items() if f.log_coeffs is not None)


def why_not(spec: RecurrentSpec, *, dtype=None, **_) -> Optional[str]:
    if spec.family.log_coeffs is None:
        return (f"runs the linear-recurrence families ({', '.join(scan_families())}) only, "
                f"got mode={spec.mode!r}, whose gates read h_(t-1)")
    if dtype is not None and dtype not in DTYPES:
        return f"runs float32 and float64 only (logcumsumexp's precision), got {dtype}"
    return spec.refuse_options(ACCEPTS, "the scan")


def run_direction(spec: RecurrentSpec, w: dict, x: Tensor, state: tuple[Tensor, ...],
                  mask: Optional[Tensor], *, reverse: bool, training: bool,
                  generator: Optional[torch.Generator] = None):
    """One layer, one direction (the stack engine's contract): x (T, B, I) with its
    padded steps zeroed, state (h,) with h (B, H)."""
    B, I = x.shape[1], x.shape[2]
    if training and spec.input_dropout > 0:
        # Gal & Ghahramani 2016: one mask per sequence, drawn where the reference draws it.
        x = x * keep_mask((B, I), spec.input_dropout, x, generator)
    xg = F.linear(x, w["weight_ih"], w.get("bias_ih"))  # (T, B, G*H)
    log_a, log_b = spec.family.log_coeffs(xg)  # each (T, B, H)
    if reverse:
        log_a, log_b = log_a.flip(0), log_b.flip(0)
        mask = None if mask is None else mask.flip(0)
    h = scan(log_a, log_b, state[0], mask)  # (T, B, H) in processing order
    h_n = h[-1]  # a masked step keeps h, so this is each row's state at its last valid step
    if mask is not None:
        h = torch.where(mask.unsqueeze(-1), h, torch.zeros((), dtype=h.dtype, device=h.device))
    if reverse:
        h = h.flip(0)
    return h, (h_n,)


def run(spec: RecurrentSpec, weights: list[dict], x: Tensor, hx: tuple[Tensor, ...],
        mask: Optional[Tensor], *, training: bool, generator: Optional[torch.Generator] = None):
    """Same contract as :func:`rnnkit.kernels.reference.run`."""
    return run_stack(spec, weights, x, hx, mask, training=training, run_direction=run_direction,
                     generator=generator)


# Collected by rnnkit.kernels.registry. Priority 5: the only kernel but the reference for its
# families, and tried after the classic families' kernels, so their choice reports don't list it.
KERNELS = (Kernel("scan", 5, why_not, run,
                  "log-space parallel scan (Heinsen 2023) for minGRU/minLSTM, in torch"),)
