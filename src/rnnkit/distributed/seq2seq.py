"""``Seq2Seq.fit`` under torchrun: the same loop, data-parallel.

Seq2Seq's loss is the mean cross-entropy per target token (padding excluded),
so ranks are weighted by tokens, not samples: rank r, holding k_r of the global
batch's k target tokens, back-propagates ``L_r * k_r * world / k``; DDP's
average over the ranks is then the gradient of the global batch's mean loss
(the rule of :mod:`rnnkit.distributed.strategy`, per token). Shuffling uses
rank 0's generator on every rank; each rank trims its share to its own longest
sequence (padding is masked, so this changes no number). A rank whose share of
the last batch is empty runs one sequence with weight 0.

Scheduled sampling (``teacher_forcing_ratio < 1``) draws on a generator of its
own per rank, so those runs are not equal to one process's; with full teacher
forcing (the default) they are.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.distributed as dist
from torch import Tensor, nn

from rnnkit.distributed.sharding import check_batch_size, local_slice

__all__ = ["fit_data_parallel"]


class _Loss(nn.Module):
    """DDP wraps ``forward``; Seq2Seq's training forward is its ``loss``."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, src: Tensor, tgt: Tensor, ratio: float, generator) -> Tensor:
        return self.model.loss(src, tgt, teacher_forcing_ratio=ratio, generator=generator)


def fit_data_parallel(model, strategy, src: Tensor, tgt: Tensor, *, epochs: int,
                      batch_size: int, lr: float, teacher_forcing_ratio: float,
                      clip_norm: float, shuffle: bool, seed: Optional[int], verbose: bool,
                      trim) -> dict:
    """Seq2Seq.fit's loop on every rank of the process group (see the module docstring)."""
    check_batch_size(batch_size, strategy.world_size)
    strategy._ensure_group(model)
    rank, world = strategy.rank, strategy.world_size
    gen = torch.Generator()  # the shuffle order: rank 0's on every rank
    gen.manual_seed(int(torch.randint(0, 2 ** 62, (1,))) if seed is None else int(seed))
    state = [gen.get_state()]
    dist.broadcast_object_list(state, src=0)
    gen.set_state(state[0])
    draws = torch.Generator().manual_seed(int(torch.randint(0, 2 ** 62, (1,))) + rank)
    with torch.no_grad():
        for t in model.state_dict().values():
            dist.broadcast(t, src=0)
    model.optimizer = torch.optim.Adam(model.parameters(), lr=float(lr))
    ddp = nn.parallel.DistributedDataParallel(_Loss(model))
    history: dict = {"loss": []}
    N, was_training = src.shape[0], model.training
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(N, generator=gen) if shuffle else torch.arange(N)
        total = 0.0
        for i in range(0, N, batch_size):
            idx = order[i:i + batch_size].to(src.device)
            share = idx[local_slice(len(idx), rank, world)]
            empty = len(share) == 0
            share = idx[:1] if empty else share
            s, t = trim(src[share]), trim(tgt[share])
            loss = ddp(s, t, teacher_forcing_ratio, draws)
            tokens = 0.0 if empty else float((t != 0).sum())
            pair = torch.tensor([float(loss.detach()) * tokens if tokens else 0.0, tokens],
                                dtype=torch.float64)
            dist.all_reduce(pair)
            value = float(pair[0] / pair[1])
            if value != value or value in (float("inf"), float("-inf")):
                raise FloatingPointError(f"the training loss is {value}; lower the learning "
                                         "rate or check the data (no step was taken)")
            model.optimizer.zero_grad(set_to_none=True)
            (loss * (tokens * world / float(pair[1]))).backward()
            if clip_norm:
                nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            model.optimizer.step()
            total += value * len(idx)
        history["loss"].append(total / N)
        if verbose and rank == 0:
            print(f"epoch {epoch + 1}/{epochs}  loss {total / N:.4f}")
    model.train(was_training)
    return history
