"""Checking and normalising what users pass to the recurrent modules."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnnkit.kernels.masks import lengths_to_mask
from rnnkit.util.checks import rate as check_prob  # noqa: F401  (rnnkit.nn's name for it)


def to_time_first(input, *, batch_first: bool, input_size: int):
    """Returns (x (T, B, I), lengths or None, unbatched, packed-or-None)."""
    packed = None
    lengths = None
    if isinstance(input, PackedSequence):
        packed = input
        x, lengths = pad_packed_sequence(input, batch_first=False)  # (T, B, I), original order
        unbatched = False
    else:
        if not isinstance(input, Tensor):
            raise TypeError(f"`input` must be a torch.Tensor or PackedSequence, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"`input` must be 3-D ({'B, T, I' if batch_first else 'T, B, I'}) or "
                             f"2-D unbatched (T, I), got {input.dim()}-D with shape {tuple(input.shape)}")
        unbatched = input.dim() == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if batch_first else input)
    if not x.is_floating_point():
        raise TypeError(f"`input` must have a floating dtype (float32/float64/...), got {x.dtype}")
    if x.shape[-1] != input_size:
        raise ValueError(f"`input` has {x.shape[-1]} features per step but the module was built "
                         f"for input_size={input_size}")
    return x, lengths, unbatched, packed


def build_mask(x: Tensor, *, lengths=None, mask=None, batch_first: bool) -> Optional[Tensor]:
    """A (T, B) bool mask from ``lengths`` (B,) or ``mask`` ((B, T) if batch_first else (T, B))."""
    T, B = x.shape[0], x.shape[1]
    if lengths is not None and mask is not None:
        raise ValueError("pass either `lengths` or `mask`, not both")
    if lengths is not None:
        lengths = torch.as_tensor(lengths)
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise TypeError(f"`lengths` must hold integers, got dtype {lengths.dtype}")
        if lengths.shape != (B,):
            raise ValueError(f"`lengths` must have shape ({B},), one per sample, got {tuple(lengths.shape)}")
        if bool((lengths < 0).any()) or bool((lengths > T).any()):
            raise ValueError(f"`lengths` must lie in [0, T={T}], got min {int(lengths.min())} "
                             f"and max {int(lengths.max())}")
        return lengths_to_mask(lengths.to(x.device), T)
    if mask is not None:
        if not isinstance(mask, Tensor):
            mask = torch.as_tensor(mask)
        if mask.dtype != torch.bool:
            raise TypeError(f"`mask` must be a bool tensor (True = valid step), got dtype {mask.dtype}")
        want = (B, T) if batch_first else (T, B)
        if tuple(mask.shape) != want:
            raise ValueError(f"`mask` must have shape {want}, got {tuple(mask.shape)}")
        return (mask.t() if batch_first else mask).to(x.device)
    return None
