"""Masks for variable-length batches: (T, B) booleans, True = a valid step."""
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
