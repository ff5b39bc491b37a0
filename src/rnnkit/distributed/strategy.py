"""The training loop's one contact with distribution: a Strategy.

The Trainer (:mod:`rnnkit.models.trainer`, its seam ``trainer.strategy``) never
asks whether it is distributed (the pattern of Lightning's ``strategies/ddp.py``
and accelerate's ``Accelerator``); it asks its strategy to

- ``shard(data, batch_size)``: this rank's part of every global batch;
- ``sync(model)``: start every rank from rank 0's weights, optimizer state and
  ``model.trainer.state_dict()`` (shuffle generator, resume point: after
  BackupAndRestore ran on rank 0);
- ``forward(model)``: the callable that runs the model (DDP-wrapped or not): DDP
  wraps ``model._distributed_module()``, :class:`MaskedForward` for the Keras-style
  models, Seq2Seq's loss for Seq2Seq;
- ``step_loss(loss, n)``: the loss to back-propagate and the GLOBAL batch loss;
- ``metric_results(metrics)``: metrics over every rank's samples;
- ``callbacks(cbs)`` / ``writes_files``: only rank 0 writes files;
- ``any_stop(flag)``: stop on every rank when one asks.

:class:`SingleProcess` does nothing; :class:`DataParallel` runs torch's
DistributedDataParallel. Loss weighting (why the result equals one process):
rank r holds n_r of the N samples of a global batch and computes its local
mean loss L_r. It back-propagates ``L_r * n_r * world / N``; DDP averages the
gradients over the ``world`` ranks, giving ``sum_r n_r grad(L_r) / N`` -- the
gradient of the global batch's mean loss. (Exact for losses that are means
over samples, Keras's "sum_over_batch_size"; with padding masks the loss is a
mean over real steps, and the ranks are weighted by samples, not steps.)
"""
from __future__ import annotations

import os
from typing import Callable, Optional

import torch
import torch.distributed as dist
from torch import Tensor, nn

from rnnkit.distributed.env import (LaunchEnv, choose_backend, default_threads,
                                    init_process_group, read_env)
from rnnkit.distributed.sharding import ShardedData, check_batch_size

__all__ = ["MaskedForward", "SingleProcess", "DataParallel", "get_strategy", "is_writer", "rank", "world_size"]


class SingleProcess:
    """One process: every hook is the identity."""
    rank = 0
    world_size = 1
    writes_files = True

    def shard(self, data, batch_size: int):
        return data

    def sync(self, model) -> None:
        pass

    def forward(self, model) -> Callable:
        return model._forward_with_mask

    def step_loss(self, loss: Tensor, n: int) -> tuple[Tensor, float, float]:
        return loss, float(loss.detach()), float(n)

    def metric_results(self, metrics) -> dict:
        return {m.name: m.result() for m in metrics}

    def callbacks(self, callbacks):
        return callbacks

    def any_stop(self, flag: bool) -> bool:
        return bool(flag)


def _means(metric) -> list:
    """The Mean accumulators (total, count) behind a compiled metric."""
    from rnnkit.training.metrics import Accuracy, Mean

    if isinstance(metric, Mean):
        return [metric]
    if isinstance(metric, Accuracy):
        return [metric.inner] if metric.inner is not None else []
    raise TypeError(f"metric {metric.name!r} ({type(metric).__name__}) can't be combined "
                    "across processes: under torchrun rnnkit all-reduces the (total, count) "
                    "of rnnkit.metrics.Mean-based metrics only")


class MaskedForward(nn.Module):
    """DDP wraps a module's ``forward``; ours must carry the padding mask too."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, mask: Optional[Tensor]):
        return self.model._forward_with_mask(x, mask)


class DataParallel(SingleProcess):
    """torch DistributedDataParallel over the process group torchrun described."""

    def __init__(self, launch: LaunchEnv, backend: Optional[str] = None) -> None:
        self.launch = launch
        self.rank, self.world_size = launch.rank, launch.world_size
        self.writes_files = launch.rank == 0
        self.backend = backend
        self._data: Optional[ShardedData] = None
        self._ddp = None

    # --- set-up ---------------------------------------------------------------------------
    def _ensure_group(self, model) -> None:
        if dist.is_initialized():
            return
        device = next((p.device for p in model.parameters()), None)
        backend = choose_backend(self.backend, device)
        init_process_group(self.launch, backend)
        if not os.environ.get("OMP_NUM_THREADS"):  # else torch already took it (or the user)
            torch.set_num_threads(default_threads(self.launch.local_world_size))

    def shard(self, data, batch_size: int):
        check_batch_size(batch_size, self.world_size)
        self._data = ShardedData(data, self.rank, self.world_size)
        return self._data

    def sync(self, model) -> None:
        """Rank 0's weights, optimizer state, shuffle order and resume point on every rank."""
        self._ensure_group(model)
        with torch.no_grad():
            for t in list(model.state_dict().values()):
                dist.broadcast(t, src=0)
        extra = [None, None]
        if self.rank == 0:
            opt = getattr(model, "optimizer", None)
            # In-process transfer between our own ranks (never a file): objects are fine.
            # The loop's state (resume epoch, history, shuffle generator) through the
            # trainer's public state_dict, as BackupAndRestore restored it on rank 0.
            extra = [opt.state_dict() if opt is not None else None,
                     model.trainer.state_dict()]
        dist.broadcast_object_list(extra, src=0)
        opt_state, loop_state = extra
        if self.rank != 0:
            if opt_state is not None:
                model.optimizer.load_state_dict(opt_state)
            model.trainer.load_state_dict(loop_state)
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        ids = [device.index] if device.type == "cuda" else None
        self._ddp = nn.parallel.DistributedDataParallel(model._distributed_module(),
                                                        device_ids=ids)

    def forward(self, model) -> Callable:
        return self._ddp

    # --- per step ---------------------------------------------------------------------------
    def step_loss(self, loss: Tensor, n: int) -> tuple[Tensor, float, float]:
        count = self._data.count if self._data is not None else n
        local = float(loss.detach())
        pair = torch.tensor([local * count if count else 0.0, float(count)], dtype=torch.float64)
        dist.all_reduce(pair)
        total, n_global = float(pair[0]), float(pair[1])
        scale = count * self.world_size / n_global
        return loss * scale, total / n_global, n_global

    def metric_results(self, metrics) -> dict:
        means = [(m, _means(m)) for m in metrics]
        flat = [acc for _, accs in means for acc in accs]
        if not flat:
            return {m.name: m.result() for m in metrics}
        state = torch.tensor([v for acc in flat for v in (acc.total, acc.count)],
                             dtype=torch.float64)
        dist.all_reduce(state)
        saved = [(acc.total, acc.count) for acc in flat]
        for i, acc in enumerate(flat):
            acc.total, acc.count = float(state[2 * i]), float(state[2 * i + 1])
        try:
            return {m.name: m.result() for m in metrics}
        finally:
            for acc, (t, c) in zip(flat, saved):
                acc.total, acc.count = t, c

    def callbacks(self, callbacks):
        """Rank 0 keeps every callback; the others drop those that write files."""
        if self.writes_files or not callbacks:
            return callbacks
        from rnnkit.training.callbacks import BackupAndRestore, CSVLogger, ModelCheckpoint

        writers = (BackupAndRestore, CSVLogger, ModelCheckpoint)
        return [cb for cb in callbacks
                if not isinstance(cb, writers) and not getattr(cb, "rank_zero_only", False)]

    def any_stop(self, flag: bool) -> bool:
        t = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())


_SINGLE = SingleProcess()
_cached: Optional[DataParallel] = None


def get_strategy():
    """DataParallel under a launcher with WORLD_SIZE > 1, else SingleProcess."""
    global _cached
    launch = read_env()
    if launch is None or launch.world_size == 1:
        return _SINGLE
    if _cached is None or _cached.launch != launch:
        _cached = DataParallel(launch)
    return _cached


def rank() -> int:
    return get_strategy().rank


def world_size() -> int:
    return get_strategy().world_size


def is_writer() -> bool:
    """True on the one process that should write files (rank 0, or the only one)."""
    return get_strategy().writes_files
