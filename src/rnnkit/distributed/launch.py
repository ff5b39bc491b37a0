"""``rnnkit train ... --nproc N``: the same command, N processes, through
torch.distributed's own launcher (``python -m torch.distributed.run``) on this
machine. Several machines: run ``torchrun`` yourself on each (README)."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Sequence

__all__ = ["strip_option", "launch_command", "relaunch"]


def strip_option(argv: Sequence[str], option: str) -> list:
    """``argv`` without ``option VALUE`` / ``option=VALUE`` (the ranks must not relaunch)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == option:
            skip = True
        elif not a.startswith(option + "="):
            out.append(a)
    return out


def launch_command(argv: Sequence[str], nproc: int) -> list:
    """torchrun on one machine (``--standalone``: a local rendezvous on a free port)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(nproc), "--max_restarts", "0",
            "-m", "rnnkit.cli.main", *strip_option(argv, "--nproc")]


def relaunch(argv: Sequence[str], nproc: int, threads: int) -> int:
    """Run the command under the launcher; its exit status (the first failing rank's)."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)  # per rank; torchrun would otherwise set 1
    return subprocess.call(launch_command(argv, nproc), env=env)
