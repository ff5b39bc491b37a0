"""Data-parallel training on torch.distributed, started by ``torchrun``.

A script that calls ``model.fit`` runs data-parallel, unchanged, under
``torchrun --nproc_per_node N script.py``: see :mod:`rnnkit.distributed.strategy`.
"""
from rnnkit.distributed.env import LaunchEnv, choose_backend, default_threads, read_env
from rnnkit.distributed.sharding import ShardedData, check_batch_size, local_slice
from rnnkit.distributed.strategy import (DataParallel, SingleProcess, get_strategy, is_writer,
                                         rank, world_size)

__all__ = ["LaunchEnv", "read_env", "choose_backend", "default_threads", "ShardedData",
           "check_batch_size", "local_slice", "DataParallel", "SingleProcess", "get_strategy",
           "is_writer", "rank", "world_size"]
