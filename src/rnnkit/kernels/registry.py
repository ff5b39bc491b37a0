"""One registry for every kernel: it picks the fastest one that runs the exact
configuration, and says why. Layers reach kernels only through :func:`run`.

A kernel is registered with a name, a ``why_not(spec, **facts)`` that returns
None when it can run the configuration (else the reason it can't), and a
``run(spec, weights, x, hx, mask, training=, generator=)`` with the reference's
contract. Kernels are tried in registration priority order, fastest first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from torch import Tensor

from rnnkit.kernels import reference, torch_fused
from rnnkit.kernels.masks import mask_kind
from rnnkit.kernels.spec import RecurrentSpec


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


@dataclass
class Choice:
    """Which kernel ran and why the faster ones didn't."""

    kernel: str
    backend: str
    rejected: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"kernel: {self.kernel} (backend={self.backend!r})"]
        lines += [f"  not {name}: {why}" for name, why in self.rejected.items()]
        return "\n".join(lines)


_KERNELS: dict[str, Kernel] = {}


def register(kernel: Kernel) -> None:
    _KERNELS[kernel.name] = kernel


def kernels() -> list[Kernel]:
    return sorted(_KERNELS.values(), key=lambda k: -k.priority)


def backend_names() -> list[str]:
    return ["auto"] + [k.name for k in kernels()]


def choose(spec: RecurrentSpec, backend: str = "auto", **facts) -> tuple[Kernel, Choice]:
    """Pick a kernel. ``facts``: mask_kind ("none"/"right"/"any"), training, device, dtype."""
    if backend != "auto" and backend not in _KERNELS:
        raise ValueError(f"`backend` must be one of {backend_names()}, got {backend!r}")
    rejected: dict[str, str] = {}
    for k in kernels() if backend == "auto" else [_KERNELS[backend]]:
        why = k.why_not(spec, **facts)
        if why is None and backend == "auto" and k.yields is not None:
            why = k.yields(spec, **facts)
        if why is None:
            return k, Choice(k.name, backend, rejected)
        rejected[k.name] = why
    if backend != "auto":
        raise ValueError(f"backend={backend!r} can't run this configuration: {rejected[backend]}")
    raise AssertionError("the reference kernel runs every configuration")


def run(spec: RecurrentSpec, weights: list[dict], x: Tensor, hx: tuple[Tensor, ...],
        mask: Optional[Tensor] = None, *, training: bool = False, backend: str = "auto",
        generator: Optional[torch.Generator] = None):
    """Run a recurrent stack on time-first x (T, B, I) with state hx (each (L*D, B, ·)).

    ``go_backwards`` (Keras): the sequence is processed last step first and the
    outputs come back in that processing order. Returns (output, state, Choice).
    """
    if spec.go_backwards:
        x = x.flip(0)
        mask = None if mask is None else mask.flip(0)
    kernel, choice = choose(spec, backend, mask_kind=mask_kind(mask), training=training,
                            device=x.device, dtype=x.dtype)
    out, state = kernel.run(spec, weights, x, hx, mask, training=training, generator=generator)
    return out, state, choice


register(Kernel("reference", 0, lambda spec, **_: None, reference.run,
                "the plain time loop over rnnkit.cells: every option, the oracle"))
register(Kernel("torch", 10, torch_fused.why_not, torch_fused.run,
                "torch._VF fused ops (oneDNN on CPU, cuDNN on GPU) where semantics match"))
import rnnkit.kernels.cpu  # noqa: E402,F401  registers the native "cpu" kernel (priority 20)
