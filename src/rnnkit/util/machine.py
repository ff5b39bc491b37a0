"""Facts about the machine that result tables and calibration files record."""
from __future__ import annotations

import platform

__all__ = ["cpu_model"]


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name from ``cpuinfo`` (Linux), else what :mod:`platform` knows."""
    try:
        with open(cpuinfo, encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
