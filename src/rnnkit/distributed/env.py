"""torchrun's environment: read it, check it, start the process group.

``torchrun`` (``torch.distributed.run``) starts one process per rank and sets,
in each, ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT`` (torch docs, "torchrun (Elastic Launch)",
section "Environment Variables"). rnnkit treats the presence of any of
``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` as "started by a launcher"; then all
of the five it needs must be there and consistent, or :func:`read_env`
raises a ValueError naming what is missing -- a half-set environment must not
turn into ``init_process_group`` waiting forever for peers.

Backend: ``gloo`` on the CPU, ``nccl`` on CUDA. ``RNNKIT_DIST_BACKEND``
(``auto`` | ``gloo`` | ``nccl``) overrides; ``nccl`` without CUDA is refused.
"""
from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Optional

import torch
import torch.distributed as dist

__all__ = ["LaunchEnv", "read_env", "choose_backend", "init_process_group", "default_threads"]

TRIGGERS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
REQUIRED = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
BACKENDS = ("auto", "gloo", "nccl")


@dataclass(frozen=True)
class LaunchEnv:
    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    master_addr: str
    master_port: int


def _int(env: Mapping[str, str], name: str, minimum: int) -> int:
    raw = env[name]
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"the environment variable {name} must be an integer, got {raw!r}") \
            from None
    if value < minimum:
        raise ValueError(f"the environment variable {name} must be >= {minimum}, got {value}")
    return value


def read_env(env: Optional[Mapping[str, str]] = None) -> Optional[LaunchEnv]:
    """The launcher's settings, or None when this process was not started by one."""
    env = os.environ if env is None else env
    if not any(k in env for k in TRIGGERS):
        return None
    missing = [k for k in REQUIRED if not env.get(k)]
    if missing:
        present = [k for k in REQUIRED if env.get(k)]
        raise ValueError(
            f"torchrun's environment is incomplete: {', '.join(missing)} not set (found "
            f"{', '.join(present) or 'none'} of {', '.join(REQUIRED)}). Start the script with "
            "`torchrun --nproc_per_node N script.py` (or `rnnkit train --nproc N`), or unset "
            f"{', '.join(k for k in TRIGGERS if k in env)} to train in one process")
    world = _int(env, "WORLD_SIZE", 1)
    rank = _int(env, "RANK", 0)
    if rank >= world:
        raise ValueError(f"the environment variable RANK must be below WORLD_SIZE={world}, "
                         f"got {rank}")
    local_world = _int(env, "LOCAL_WORLD_SIZE", 1) if env.get("LOCAL_WORLD_SIZE") else world
    local_rank = _int(env, "LOCAL_RANK", 0)
    if local_rank >= local_world:
        raise ValueError(f"the environment variable LOCAL_RANK must be below "
                         f"LOCAL_WORLD_SIZE={local_world}, got {local_rank}")
    return LaunchEnv(rank, world, local_rank, local_world, env["MASTER_ADDR"],
                     _int(env, "MASTER_PORT", 1))


def choose_backend(requested: Optional[str] = None, device: Optional[torch.device] = None) -> str:
    """gloo for CPU models, nccl for CUDA ones; an explicit nccl needs CUDA."""
    requested = (requested or os.environ.get("RNNKIT_DIST_BACKEND") or "auto").lower()
    if requested not in BACKENDS:
        raise ValueError(f"the distributed backend must be one of {BACKENDS} (argument `backend` "
                         f"or RNNKIT_DIST_BACKEND), got {requested!r}")
    cuda = torch.cuda.is_available()
    if requested == "nccl" and not cuda:
        raise ValueError("the NCCL backend was requested but CUDA is not available on this "
                         "machine (torch.cuda.is_available() is False); use backend 'gloo' "
                         "for CPU training")
    if requested == "auto":
        on_cuda = device is not None and torch.device(device).type == "cuda"
        return "nccl" if (cuda and on_cuda) else "gloo"
    return requested


def default_threads(local_world_size: int, env: Optional[Mapping[str, str]] = None) -> int:
    """Threads per rank: OMP_NUM_THREADS when set (torchrun sets 1 unless told
    otherwise), else this process's usable cores divided among the local ranks."""
    env = os.environ if env is None else env
    if env.get("OMP_NUM_THREADS"):
        return max(1, _int(env, "OMP_NUM_THREADS", 1))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, local_world_size))


def init_process_group(launch: LaunchEnv, backend: str) -> None:
    """Join the group torchrun described (env:// rendezvous), once per process."""
    if dist.is_initialized():
        if dist.get_world_size() != launch.world_size:
            raise ValueError(f"a process group of {dist.get_world_size()} ranks is already "
                             f"initialised but WORLD_SIZE is {launch.world_size}")
        return
    seconds = float(os.environ.get("RNNKIT_DIST_TIMEOUT", "600"))
    if backend == "nccl":
        torch.cuda.set_device(launch.local_rank)
    dist.init_process_group(backend, init_method="env://", rank=launch.rank,
                            world_size=launch.world_size, timeout=timedelta(seconds=seconds))
    # A group left to the interpreter's exit can abort the process ("terminate called
    # without an active exception": gloo's threads destroyed while joinable), after all
    # of its work is done; the group rnnkit opened, rnnkit closes.
    atexit.register(_close_group)


def _close_group() -> None:
    if dist.is_available() and dist.is_initialized():
        try:
            dist.destroy_process_group()
        except Exception:  # noqa: BLE001  (exiting anyway: nothing left to protect)
            pass
