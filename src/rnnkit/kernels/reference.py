"""The reference engine: one plain time loop over the cell functions.

It supports every option and is the oracle that every fused kernel is tested
against. Input is time-first: x (T, B, I), mask (T, B) with True = valid step.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from rnnkit.kernels.base import Kernel, StepKernel
from rnnkit.kernels.masks import keep_mask
from rnnkit.kernels.spec import RecurrentSpec
from rnnkit.kernels.stack import run_stack

Weights = dict  # name -> Tensor, the names of rnnkit.cells.param_shapes


def _step_fn(spec: RecurrentSpec) -> Callable:
    """(x_t, state, h_rec, w) -> new state tuple: the spec's family's step (rnnkit.cells.family)."""
    fam_step = spec.family.bind(spec)
    return lambda x, state, h_rec, w: fam_step(x, state, w, h_rec)


def run_direction(spec: RecurrentSpec, w: Weights, x: Tensor, state: tuple[Tensor, ...],
                  mask: Optional[Tensor], *, reverse: bool, training: bool,
                  generator: Optional[torch.Generator] = None) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One layer, one direction. x (T, B, I); state: (h,) or (h, c), each (B, ·).

    Returns the outputs (T, B, P) aligned with x's time axis (zeros at masked
    steps) and the final state, which for each sample is its state at its last
    valid step in processing order.
    """
    T, B, I = x.shape
    step = _step_fn(spec)
    # Gal & Ghahramani 2016: one dropout mask per sequence, reused at every step.
    dx = keep_mask((B, I), spec.input_dropout, x, generator) \
        if training and spec.input_dropout > 0 else None
    dh = keep_mask(tuple(state[0].shape), spec.recurrent_dropout, x, generator) \
        if training and spec.recurrent_dropout > 0 else None
    if training and spec.dropconnect > 0:
        # Wan et al. 2013 / AWD-LSTM: one mask on W_hh per forward pass.
        w_hh = w["weight_hh"]
        w = dict(w, weight_hh=w_hh * keep_mask(tuple(w_hh.shape), spec.dropconnect, x, generator))
    zone = (spec.zoneout_h, spec.zoneout_c)
    outs: list[Optional[Tensor]] = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        x_t = x[t]  # (B, I)
        m = None
        if mask is not None:
            m = mask[t].unsqueeze(-1)  # (B, 1)
            # Padding is never read: a NaN there would poison the gradient through 0 * NaN.
            x_t = torch.where(m, x_t, torch.zeros((), dtype=x.dtype, device=x.device))
        if dx is not None:
            x_t = x_t * dx
        h_rec = state[0] * dh if dh is not None else state[0]
        new = step(x_t, state, h_rec, w)
        if any(zone):
            # Krueger et al. 2016: each unit keeps its previous value with probability z;
            # at eval time the expectation z·old + (1 − z)·new, as haste does.
            mixed = []
            for old, cur, z in zip(state, new, zone):
                if z > 0:
                    if training:
                        keep = torch.bernoulli(torch.full_like(cur, z), generator=generator).bool()
                        cur = torch.where(keep, old, cur)
                    else:
                        cur = z * old + (1.0 - z) * cur
                mixed.append(cur)
            new = tuple(mixed)
        if m is not None:
            new = tuple(torch.where(m, n, o) for n, o in zip(new, state))
            outs[t] = torch.where(m, new[0], torch.zeros((), dtype=x.dtype, device=x.device))
        else:
            outs[t] = new[0]
        state = new
    return torch.stack(outs, 0), state  # (T, B, P)


def run(spec: RecurrentSpec, weights: list[Weights], x: Tensor, hx: tuple[Tensor, ...],
        mask: Optional[Tensor], *, training: bool,
        generator: Optional[torch.Generator] = None):
    """The whole stack through the one stack engine (:mod:`rnnkit.kernels.stack`).

    hx: (h0,) or (h0, c0), each (L*D, B, ·). Returns (output, final state tuple)
    with the final states stacked as torch.nn does, (L*D, B, ·).
    """
    return run_stack(spec, weights, x, hx, mask, training=training, run_direction=run_direction,
                     generator=generator)


def step(spec: RecurrentSpec, w: Weights, x: Tensor,
         state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """One step of a 1-layer, 1-direction spec: x (B, I), state (h,) or (h, c) (each (B, H)) ->
    the new state, by the family's step function (rnnkit.cells.family); zoneout as its
    inference-time expectation (Krueger et al. 2016: h_t = z h_{t-1} + (1 − z) h̃_t), as
    the reference loop in eval."""
    new = spec.family.bind(spec)(x, state, w, state[0])
    zs = (spec.zoneout_h, spec.zoneout_c)
    return tuple(z * old + (1.0 - z) * s if z > 0 else s for z, old, s in zip(zs, state, new))


# Collected by rnnkit.kernels.registry (every kernel module declares its kernels and priorities).
KERNELS = (Kernel("reference", 0, lambda spec, **_: None, run,
                  "the plain time loop over rnnkit.cells: every option, the oracle"),)
STEP_KERNELS = (StepKernel("reference", 0, lambda spec, **_: None, step,
                           "rnnkit.cells' step functions: every option, the oracle"),)
