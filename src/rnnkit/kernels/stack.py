"""The one stack engine: layers × directions × inter-layer dropout × merge.

A kernel gives one layer in one direction (``run_direction``, the reference's
contract below); :func:`run_stack` composes them, so every kernel stacks,
reverses, drops out and merges the same way. A kernel may instead run the
whole stack at once where that measurably helps (torch_fused's one _VF call).

Masks are drawn from the caller's generator in one documented order, which a
seeded run of every kernel reproduces:

1. for layer k > 0 in training, the between-layer dropout mask on its input,
   (T, B, D·P) (torch.nn's ``dropout``);
2. then, for each direction d (forward first), what ``run_direction`` draws,
   in this order: input dropout (B, I), recurrent dropout (B, P), DropConnect
   on W_hh, then zoneout per step in processing order (h then c).

``run_direction(spec, w, x, state, mask, *, reverse, training, generator)``
takes x (T, B, I) with its padded steps zeroed, state ``(h,)`` or ``(h, c)``
(each (B, ·)), mask (T, B) bool or None; returns the outputs (T, B, P)
aligned with x (zeros at masked steps) and the final state tuple.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from rnnkit.kernels.masks import keep_mask
from rnnkit.kernels.merge import merge
from rnnkit.kernels.spec import RecurrentSpec


def run_stack(spec: RecurrentSpec, weights: list[dict], x: Tensor, hx: tuple[Tensor, ...],
              mask: Optional[Tensor], *, training: bool, run_direction: Callable,
              generator: Optional[torch.Generator] = None):
    """x (T, B, I); hx: each (L*D, B, ·); weights[k * D + d] for layer k, direction d.
    Returns (output (T, B, ·), final states each (L*D, B, ·), stacked as torch.nn does)."""
    D = spec.num_directions
    layer_in = x
    finals: list[list[Tensor]] = [[] for _ in range(spec.n_states)]
    out = x
    for k in range(spec.num_layers):
        if k > 0 and training and spec.dropout > 0:
            layer_in = layer_in * keep_mask(tuple(layer_in.shape), spec.dropout, layer_in,
                                             generator)
        if mask is not None:
            # Padding is never read: a NaN there would poison the gradient through 0 * NaN.
            layer_in = torch.where(mask.unsqueeze(-1), layer_in, layer_in.new_zeros(()))
        dir_outs = []
        for d in range(D):
            idx = k * D + d
            o, st = run_direction(spec, weights[idx], layer_in, tuple(s[idx] for s in hx), mask,
                                  reverse=d == 1, training=training, generator=generator)
            dir_outs.append(o)
            for j, s in enumerate(st):
                finals[j].append(s)
        out = merge(dir_outs[0], dir_outs[1], spec.merge_mode) if D == 2 else dir_outs[0]
        layer_in = out
    return out, tuple(torch.stack(f, 0) for f in finals)
