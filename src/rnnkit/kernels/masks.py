"""Masks: (T, B) booleans for variable-length batches (True = a valid step),
and the inverted-dropout keep-masks that every kernel draws the same way."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def lengths_to_mask(lengths: Tensor, T: int) -> Tensor:
    """(B,) lengths -> (T, B) mask with the valid steps first (right padding)."""
    steps = torch.arange(T, device=lengths.device).unsqueeze(1)  # (T, 1)
    return steps < lengths.to(steps.device).unsqueeze(0)


def mask_kind(mask: Optional[Tensor]) -> str:
    """"none", "right" (each row's valid steps come first, every row ≥ 1 step),
    or "any" (left padding, holes, or all-padding rows)."""
    if mask is None:
        return "none"
    lengths = mask.sum(0)
    if bool((lengths == 0).any()):
        return "any"
    if bool(torch.equal(mask, lengths_to_mask(lengths, mask.shape[0]))):
        return "none" if bool((lengths == mask.shape[0]).all()) else "right"
    return "any"


def keep_mask(shape, p: float, like: Tensor, generator: Optional[torch.Generator]) -> Tensor:
    """Inverted-dropout mask of ``shape``: 0 with probability p, else 1/(1 − p)
    (Srivastava et al. 2014), drawn from ``generator`` (torch's global RNG if None).

    Kernels that draw the same shapes in the same order from the same generator
    get the same masks, which is what lets a fused kernel be tested against the
    reference in training mode."""
    keep = torch.bernoulli(torch.full(shape, 1.0 - p, dtype=like.dtype, device=like.device),
                           generator=generator)
    return keep / (1.0 - p)
