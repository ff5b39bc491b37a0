"""Merging the two directions of a bidirectional layer (Keras's merge_mode)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def merge(fwd: Tensor, bwd: Tensor, mode: Optional[str]):
    if mode == "concat":
        return torch.cat([fwd, bwd], dim=-1)
    if mode == "sum":
        return fwd + bwd
    if mode == "mul":
        return fwd * bwd
    if mode == "ave":
        return (fwd + bwd) * 0.5
    if mode is None:
        return (fwd, bwd)
    raise AssertionError(f"unchecked merge_mode {mode!r}")
