"""How many of this process's cores other processes keep busy (Linux ``/proc/stat``).

The thread policy (:mod:`rnnkit.kernels.threads`) reads it while ``fit`` runs: an
OpenMP team whose second thread shares a core with another process waits for that
thread at every parallel region (barriers, spinning), and an epoch ran 5-25x slower
(issue 11; ``benchmarks/threads.py``). One reading costs about 20 µs.

others = (Δ busy time of our cores − Δ our own CPU time) / Δ wall time   [cores]

busy = user + nice + system + irq + softirq + steal (a VM's stolen time is a core
lost as well) from the ``cpuN`` lines of our CPU affinity set; our own CPU time is
``time.process_time()`` (every thread of this process). The kernel counts in ticks
of 1/``SC_CLK_TCK`` s (10 ms): over a 0.1 s window on 2 cores the reading is good
to about 0.2 cores.
"""
from __future__ import annotations

import os
import time
from typing import Optional

__all__ = ["LoadMeter", "available_cores"]

_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system [idle iowait] irq softirq steal (proc(5))


def available_cores() -> int:
    """The CPUs this process may run on (its affinity set), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class LoadMeter:
    """Call :meth:`others` now and then; each call measures the window since the
    previous one. ``path`` is for the tests (a fake /proc/stat)."""

    def __init__(self, path: str = "/proc/stat") -> None:
        self.path = path
        try:
            self.cpus = {f"cpu{i}" for i in os.sched_getaffinity(0)}
        except (AttributeError, OSError):
            self.cpus = None  # every cpuN line
        self.hz = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
        self._last = self._sample()

    @property
    def last_time(self) -> float:
        """time.monotonic() of the last reading (-inf before any)."""
        return self._last[0] if self._last is not None else float("-inf")

    @property
    def works(self) -> bool:
        """False where there is no /proc/stat (macOS, Windows): the meter reads nothing."""
        return self._last is not None

    def _busy_seconds(self) -> Optional[float]:
        try:
            with open(self.path, encoding="ascii") as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        ticks = 0
        seen = False
        for line in lines:
            name, _, rest = line.partition(" ")
            if not name.startswith("cpu") or name == "cpu":
                continue
            if self.cpus is not None and name not in self.cpus:
                continue
            values = rest.split()
            ticks += sum(int(values[i]) for i in _BUSY_FIELDS if i < len(values))
            seen = True
        return ticks / self.hz if seen else None

    def _sample(self) -> Optional[tuple[float, float, float]]:
        busy = self._busy_seconds()
        if busy is None:
            return None
        return time.monotonic(), busy, time.process_time()

    def others(self) -> Optional[float]:
        """Cores kept busy by other processes since the last call (>= 0), or None when
        nothing can be read or no time has passed."""
        now = self._sample()
        last, self._last = self._last, now
        if now is None or last is None or now[0] <= last[0]:
            return None
        wall = now[0] - last[0]
        return max(0.0, ((now[1] - last[1]) - (now[2] - last[2])) / wall)
