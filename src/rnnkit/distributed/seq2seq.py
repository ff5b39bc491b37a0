"""``Seq2Seq.fit`` under torchrun: the Trainer's loop, with a data-parallel step.

The loop is the model's Trainer (:mod:`rnnkit.models.trainer`): its strategy
(:class:`rnnkit.distributed.strategy.DataParallel`) shards every global batch,
starts every rank from rank 0's weights and shuffle generator, and wraps
:class:`LossForward` in DDP. What is Seq2Seq's own is the step below.

Seq2Seq's loss is the mean cross-entropy per target token (padding excluded),
so ranks are weighted by tokens, not samples: rank r, holding k_r of the global
batch's k target tokens, back-propagates ``L_r * k_r * world / k``; DDP's
average over the ranks is then the gradient of the global batch's mean loss
(the rule of :mod:`rnnkit.distributed.strategy`, per token). Each rank trims
its share to its own longest sequence (padding is masked, so this changes no
number). A rank whose share of the last batch is empty runs one sequence with
weight 0 (the sharder's zero sample weight).

Scheduled sampling (``teacher_forcing_ratio < 1``) draws on a generator of its
own per rank, so those runs are not equal to one process's; with full teacher
forcing (the default) they are.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = ["LossForward", "data_parallel_step"]


class LossForward(nn.Module):
    """DDP wraps ``forward``; Seq2Seq's training forward is its ``loss``."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, src: Tensor, tgt: Tensor, ratio: float, generator) -> Tensor:
        return self.model.loss(src, tgt, teacher_forcing_ratio=ratio, generator=generator)


def data_parallel_step(model, ddp, src: Tensor, tgt: Tensor, *, empty: bool, world: int,
                       teacher_forcing_ratio: float, clip_norm: float,
                       generator: Optional[torch.Generator]) -> tuple[float, float]:
    """One Adam step on this rank's share (src, tgt) of a global batch; returns the
    global batch's mean token loss and its number of sequences (over all ranks)."""
    loss = ddp(src, tgt, teacher_forcing_ratio, generator)
    tokens = 0.0 if empty else float((tgt != 0).sum())
    samples = 0.0 if empty else float(src.shape[0])
    total = torch.tensor([float(loss.detach()) * tokens if tokens else 0.0, tokens, samples],
                         dtype=torch.float64)
    dist.all_reduce(total)
    value = float(total[0] / total[1])
    if not math.isfinite(value):
        raise FloatingPointError(f"the training loss is {value}; lower the learning "
                                 "rate or check the data (no step was taken)")
    model.optimizer.zero_grad(set_to_none=True)
    (loss * (tokens * world / float(total[1]))).backward()
    if clip_norm:
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    model.optimizer.step()
    return value, float(total[2])
