"""Native fused CPU kernels (C++ in ``csrc/``), registered as the "cpu" kernel.

One native call runs the whole time loop of a layer and direction, with a
hand-written BPTT (function.py); :func:`why_not` says which configurations it
runs. The extension is compiled on first use and cached (build.py).
Streaming single steps (:mod:`rnnkit.kernels.cpu.streaming`) are registered
as the "cpu" step kernel: :func:`step_why_not`, :func:`step`.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from rnnkit.kernels.cpu.build import set_poison, why_unavailable
from rnnkit.kernels.cpu.function import calls
from rnnkit.kernels.cpu.kernel import run, why_not, yields
from rnnkit.kernels.cpu.streaming import gru_cell, lstm_cell, rnn_cell
from rnnkit.kernels.base import Kernel, StepKernel
from rnnkit.kernels.spec import RecurrentSpec


# The families one native step runs, and the options; regularisers that act only in
# training are the caller's (a step draws no dropout). Activations are checked apart.
STEP_ACCEPTS = {"rnn": frozenset({"activation", "recurrent_dropout", "dropconnect"}),
                "lstm": frozenset({"recurrent_dropout", "dropconnect"}),
                "gru": frozenset({"reset_after", "recurrent_dropout", "dropconnect"})}


def step_why_not(spec: RecurrentSpec, *, device=None, dtype=None, **_) -> Optional[str]:
    """None when one native step (streaming.py) computes this cell exactly, else why not."""
    if spec.mode not in STEP_ACCEPTS:
        return (f"the native step runs the {', '.join(STEP_ACCEPTS)} families only, "
                f"got mode={spec.mode!r}")
    if device is not None and torch.device(device).type != "cpu":
        return f"runs on the CPU only, got device {device}"
    if dtype is not None and dtype not in (torch.float32, torch.float64):
        return f"runs float32 and float64 only, got {dtype}"
    if not spec.uses_default_activations():
        return "the native step fixes the activations (tanh or relu; sigmoid gates)"
    if spec.layer_norm:
        return "the native step has no layer normalisation"
    if spec.peephole:
        return "the native step has no peepholes"
    if spec.proj_size > 0:
        return "the native step has no projection"
    if spec.zoneout_h > 0 or spec.zoneout_c > 0:
        return "the native step has no zoneout"
    return spec.refuse_options(STEP_ACCEPTS[spec.mode], "the native step") or why_unavailable()


def step(spec: RecurrentSpec, w: dict, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """x (B, I), state (h,) or (h, c) each (B, H) -> the new state tuple, one native call."""
    # cell_step makes x and the state contiguous itself (a column slice x[:, t] is strided).
    args = (w["weight_ih"], w["weight_hh"], w.get("bias_ih"), w.get("bias_hh"))
    if spec.mode == "lstm":
        return lstm_cell(x, state[0], state[1], *args)
    if spec.mode == "gru":
        return (gru_cell(x, state[0], *args, reset_after=spec.reset_after),)
    if spec.mode == "rnn":
        nonlinearity = "relu" if spec.act_fn() is torch.relu else "tanh"
        return (rnn_cell(x, state[0], *args, nonlinearity=nonlinearity),)
    raise AssertionError(f"step_why_not refused mode={spec.mode!r}; reaching here is a registry bug")


# Collected by rnnkit.kernels.registry (this package doesn't import the registry).
# Priority 20: tried first under backend="auto".
KERNEL = Kernel("cpu", 20, why_not, run,
                "rnnkit's native fused CPU time loops (C++, hand-written BPTT)", yields=yields)
STEP_KERNEL = StepKernel("cpu", 20, step_why_not, step,
                         "one native call per step (streaming.py), torch.nn cell semantics")
KERNELS = (KERNEL,)
STEP_KERNELS = (STEP_KERNEL,)

__all__ = ["KERNEL", "KERNELS", "STEP_KERNEL", "STEP_KERNELS", "calls", "gru_cell", "lstm_cell", "rnn_cell", "run", "set_poison", "step",
           "step_why_not", "why_not", "why_unavailable"]
