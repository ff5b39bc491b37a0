"""The thread policy: how many CPU threads ``fit``, ``evaluate``, ``predict`` and the
CLI use, and why. It lives beside the registry because ``kernel_report()`` (nn,
layers) must say which count ran, and those reach kernels only through the registry.

Unless the user set the count (:func:`user_setting`), a block run under
:func:`policy` picks torch's intra-op thread count from the work, first row that
applies (measured: ``benchmarks/results/threads_grid_2cpu.txt``, 2 pinned CPUs, idle):

| the work | threads |
|---|---|
| runs on a GPU | torch's count, untouched |
| no recurrent layer | torch's count, untouched |
| one CPU in this process's affinity set | 1 |
| largest per-step recurrent product B·G·H·P < SPLIT_MADDS | 1: too small to split; a team's wake-up and barrier cost more |
| otherwise | every CPU: the native kernel's batch slices and MKL/oneDNN use them |

While the block runs, a load guard (:mod:`rnnkit.kernels.cpu_load`) looks every
CHECK_S seconds at how many of our cores other processes keep busy and gives up one
thread per core they take (beyond BUSY_CORE of one): a team whose thread shares a core
with another process waits for it at every parallel region, and the seed model's
epoch ran 5-25x slower with one core busy (issue 11), while one thread ran at its idle
speed. The count comes back when the other load goes.

What counts as "the user set it" (then the policy changes nothing): a call of
:func:`set_threads`; ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` in the environment;
or ``torch.get_num_threads()`` differing from torch's default (a
``torch.set_num_threads(n)`` call, made before or after importing rnnkit, with n
other than the default; a call that sets the default itself can't be told apart
from none, so pin it with :func:`set_threads`). The count in force before the block
comes back after it, also when the block raises.
"""
from __future__ import annotations

import ctypes
import math
import os
import time
from dataclasses import dataclass, replace
from typing import Callable, Optional

import torch

from rnnkit.cells.base import GATES
from rnnkit.kernels.cpu_load import LoadMeter, available_cores

__all__ = ["Decision", "Work", "between_fits", "current", "decide", "for_model", "get_threads",
           "pinned", "policy", "set_threads", "user_setting"]

# Per-step multiply-adds of the largest recurrent product (B·G·H·P) from which a second
# thread paid in training (T=50, 2 pinned CPUs): GRU H=32 B=32 (98k) 1.1x, H=64 B=4
# (49k) 1.0x, H=32 B=8 (25k) 0.86x. Inference is noisier around it (0.8-1.7x).
SPLIT_MADDS = 50_000
BUSY_CORE = 0.25  # other processes' load (cores) tolerated before a thread is given up
CHECK_S = 0.5  # the load guard's window; the first one after FIRST_CHECK_S
FIRST_CHECK_S = 0.1


@dataclass(frozen=True)
class Work:
    """What a block is about to run: each recurrent layer's spec, the batch size,
    training or inference, and the device type."""

    specs: tuple
    batch: int
    training: bool
    device: str = "cpu"


@dataclass(frozen=True)
class Decision:
    threads: int  # torch's intra-op count inside the block
    why: str
    source: str  # "policy" | "load" (the guard changed it) | "user" | "untouched"

    def __str__(self) -> str:
        return f"{self.threads} ({self.why})"


def per_step_madds(spec, batch: int) -> int:
    """B·G·H·P: one step's recurrent product (one layer, one direction)."""
    return int(batch) * GATES[spec.mode] * spec.hidden_size * spec.state_size


def decide(work: Work, cores: int) -> Decision:
    """The table in the module's docstring, for ``cores`` available CPUs."""
    now = torch.get_num_threads()
    if work.device != "cpu":
        return Decision(now, f"the model runs on {work.device}: torch's CPU count untouched",
                        "untouched")
    if not work.specs:
        return Decision(now, "no recurrent layer: torch's count untouched", "untouched")
    if cores < 2:
        return Decision(1, "one CPU available to this process", "policy")
    madds = max(per_step_madds(s, work.batch) for s in work.specs)
    if madds < SPLIT_MADDS:
        return Decision(1, f"rnnkit's policy: {madds:,} multiply-adds per step in the "
                           f"largest recurrent product (B·G·H·P), under {SPLIT_MADDS:,}: too "
                           "small to split over threads", "policy")
    return Decision(cores, f"rnnkit's policy: {madds:,} multiply-adds per step in the largest "
                           f"recurrent product (B·G·H·P), at least {SPLIT_MADDS:,}: all "
                           f"{cores} CPUs", "policy")


# --- what the user set ------------------------------------------------------------------------

def _torch_default() -> int:
    """torch's own default intra-op count (at::intraop_default_num_threads), or the count
    when this module loaded where that symbol can't be reached."""
    lib = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    try:
        fn = ctypes.CDLL(lib).__getattr__("_ZN2at27intraop_default_num_threadsEv")
        fn.restype = ctypes.c_int
        n = int(fn())
        return n if n > 0 else torch.get_num_threads()
    except (OSError, AttributeError):
        return torch.get_num_threads()


_DEFAULT = _torch_default()
_PINNED: Optional[int] = None
_OURS: Optional[int] = None  # a count rnnkit set between fits (between_fits), not the user


def set_threads(n: Optional[int]) -> None:
    """Pin torch's intra-op count to ``n`` for everything, the policy included
    (``None``: back to torch's default and rnnkit's policy)."""
    global _PINNED
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"`n`: expected a positive integer number of threads or None, "
                         f"got {n!r}")
    _PINNED = n
    torch.set_num_threads(_DEFAULT if n is None else n)


class pinned:
    """``with pinned(n):`` as :func:`set_threads` (n) for the block (``n=None``: nothing
    changes); the previous pin and count come back after it (the CLI's ``--threads``)."""

    def __init__(self, n: Optional[int]) -> None:
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"`n`: expected a positive integer number of threads or None, "
                             f"got {n!r}")
        self.n = n
        self._saved: Optional[tuple] = None

    def __enter__(self) -> "pinned":
        global _PINNED
        if self.n is not None:
            self._saved = (_PINNED, torch.get_num_threads())
            _PINNED = self.n
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc) -> None:
        global _PINNED
        if self._saved is not None:
            _PINNED, count = self._saved
            torch.set_num_threads(count)
            self._saved = None


class between_fits:
    """``with between_fits(n):`` torch's count is ``n`` outside the policy's blocks (the
    CLI's default: 1 for sampling, diagnostics and plots, whose steps are tiny) while
    fit / evaluate / predict inside still follow the policy: this count is rnnkit's, not
    the user's. A user setting wins (nothing changes); the count comes back after."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._saved: Optional[tuple] = None

    def __enter__(self) -> "between_fits":
        global _OURS
        if user_setting() is None:
            self._saved = (_OURS, torch.get_num_threads())
            _OURS = self.n
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc) -> None:
        global _OURS
        if self._saved is not None:
            _OURS, count = self._saved
            torch.set_num_threads(count)
            self._saved = None


def get_threads() -> Optional[int]:
    """The count pinned with :func:`set_threads`, or None."""
    return _PINNED


def user_setting() -> Optional[str]:
    """How the user set the thread count, or None when they didn't (module docstring)."""
    if _PINNED is not None:
        return f"rnnkit.set_threads({_PINNED})"
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").strip():
            return f"{var}={os.environ[var].strip()} in the environment"
    n = torch.get_num_threads()
    if n != _DEFAULT and n != _OURS:
        return f"torch.set_num_threads({n}); torch's default is {_DEFAULT}"
    return None


# --- the block ----------------------------------------------------------------------------------

class _Active:
    def __init__(self, decision: Decision, cores: int, meter: Optional[LoadMeter],
                 report: Optional[Callable[[str], None]]) -> None:
        self.decision = self.first = decision
        self.cores = cores
        self.meter = meter
        self.report = report
        self.next_check = time.monotonic() + FIRST_CHECK_S
        self.changes = 0


_ACTIVE: Optional[_Active] = None
_OUTSIDE: dict[int, str] = {}
_METER: Optional[LoadMeter] = None  # one for the process: a block starts from the last reading
STALE_S = 60.0  # a window longer than this says little about the load now


def _meter() -> Optional[LoadMeter]:
    global _METER
    if _METER is None:
        _METER = LoadMeter()
    return _METER if _METER.works else None


def _guarded(first: Decision, cores: int, others: float) -> Decision:
    """The count the load guard allows: one thread less per core other processes take
    beyond BUSY_CORE, at least 1, at most the policy's."""
    n = max(1, min(first.threads, cores - math.ceil(others - BUSY_CORE)))
    if n == first.threads:
        return first
    return replace(first, threads=n, source="load", why=(
        f"rnnkit's load guard: other processes kept {others:.1f} of {cores} CPUs busy; "
        f"{first.threads} when they are free"))


def current() -> str:
    """The count in force and why, as kernel_report() prints it (also a key of the
    registry's choice cache: the native kernel's slices depend on the count)."""
    a = _ACTIVE
    n = torch.get_num_threads()
    if a is not None and n == a.decision.threads:
        return str(a.decision)
    s = _OUTSIDE.get(n)
    if s is None:
        s = _OUTSIDE[n] = f"{n} (torch's count; rnnkit's policy runs inside fit/evaluate/predict)"
    return s


def tick() -> None:
    """The load guard (module docstring); the registry calls it before each forward.
    Outside a guarded block it costs one attribute test."""
    a = _ACTIVE
    if a is None or a.meter is None:
        return
    now = time.monotonic()
    if now < a.next_check:
        return
    a.next_check = now + CHECK_S
    others = a.meter.others()
    if others is None:
        return
    d = _guarded(a.first, a.cores, others)
    if d.threads == a.decision.threads:
        return
    a.decision = d
    a.changes += 1
    torch.set_num_threads(d.threads)
    if a.report is not None:
        a.report(f"threads: {a.decision}")


class policy:
    """Run a block with the policy's thread count (or the user's, untouched); torch's
    count before the block comes back after it, also when the block raises. Use as
    ``with policy(work):`` or, where a ``with`` would re-indent a long loop, call
    :meth:`start` and :meth:`close` (in a ``finally``). ``report`` (``fit(verbose=2)``:
    print) gets the decision and every change the load guard makes. A block inside
    another keeps the outer one's count."""

    def __init__(self, work: Work, *, report: Optional[Callable[[str], None]] = None,
                 cores: Optional[int] = None) -> None:
        self.work, self.report, self.cores = work, report, cores
        self.decision: Optional[Decision] = None
        self._before: Optional[int] = None  # None: nested or not started, nothing to restore

    def start(self) -> Decision:
        global _ACTIVE
        if _ACTIVE is not None:
            self.decision = _ACTIVE.decision
            return self.decision
        before = torch.get_num_threads()
        user = user_setting()
        cores = available_cores() if self.cores is None else self.cores
        if user is not None:
            decision = Decision(before, f"set by the user: {user}", "user")
        else:
            decision = decide(self.work, cores)
        meter = _meter() if decision.source == "policy" and decision.threads > 1 else None
        active = _Active(decision, cores, meter, self.report)
        if meter is not None:
            # The window since the last reading (an earlier fit's, say) tells the load now.
            window = time.monotonic() - meter.last_time
            others = meter.others()
            if others is not None and FIRST_CHECK_S <= window <= STALE_S:
                active.decision = _guarded(decision, cores, others)
        self._before = before
        _ACTIVE = active
        self.decision = active.decision
        torch.set_num_threads(active.decision.threads)
        if self.report is not None and decision.source != "untouched":
            self.report(f"threads: {active.decision}")
        return active.decision

    def close(self) -> None:
        global _ACTIVE
        if self._before is None:
            return
        _ACTIVE = None
        torch.set_num_threads(self._before)
        self._before = None

    def __enter__(self) -> Decision:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def for_model(model, batch_size: int, training: bool, verbose: int = 0) -> policy:
    """The policy block for a model's fit / evaluate / predict: every recurrent layer
    (a module with a RecurrentSpec ``spec``) and the device of its parameters;
    ``verbose=2`` (fit's) prints the decision, unless it leaves torch's count untouched."""
    from rnnkit.kernels.spec import RecurrentSpec

    specs = tuple(m.spec for m in model.modules()
                  if isinstance(getattr(m, "spec", None), RecurrentSpec))
    param = next(model.parameters(), None)
    device = "cpu" if param is None else param.device.type
    return policy(Work(specs, int(batch_size), bool(training), device),
                  report=print if verbose == 2 else None)
