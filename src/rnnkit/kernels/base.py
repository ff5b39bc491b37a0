"""What a kernel is, for the registry: a name, a priority, a ``why_not`` and a run.

Kept apart from :mod:`rnnkit.kernels.registry` so that a kernel package can
declare itself without importing the registry (which imports the kernels).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Kernel:
    name: str
    priority: int  # higher runs first under backend="auto"
    why_not: Callable[..., Optional[str]]
    run: Callable
    description: str = ""
    # Under backend="auto" only: a kernel that can run a configuration may still
    # step aside for a lower-priority one that is faster there (measured in benchmarks/).
    yields: Optional[Callable[..., Optional[str]]] = None


# A single step of a 1-layer, 1-direction spec (streaming cells, layer.step); see registry.step.
@dataclass(frozen=True)
class StepKernel:
    name: str
    priority: int  # higher runs first under backend="auto"
    why_not: Callable[..., Optional[str]]
    step: Callable
    description: str = ""
