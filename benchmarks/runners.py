"""Benchmark runners, registered by name (as PyTorch's benchmarks/fastrnns does).

A runner turns a :class:`Workload` into a :class:`Pair`: the rnnkit callable,
the torch.nn callable it is measured against, a parity check that must pass
before anything is timed, and the FLOPs of one call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch

import rnnkit.nn as rnn_nn
from rnnkit.kernels.cpu import streaming

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
TORCH = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
RNNKIT = {"lstm": rnn_nn.LSTM, "gru": rnn_nn.GRU, "rnn": rnn_nn.RNN}
CELLS = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}


@dataclass(frozen=True)
class Workload:
    runner: str  # a key of RUNNERS
    family: str  # "lstm" | "gru" | "rnn"
    T: int
    B: int
    H: int
    I: Optional[int] = None  # input features; default H
    training: bool = False
    extras: tuple = ()  # rnnkit-only keyword arguments, as (name, value) pairs
    label: str = ""

    @property
    def name(self) -> str:
        mode = "train" if self.training else "infer"
        tag = f" {self.label}" if self.label else ""
        return f"{self.family}{tag} {mode} T={self.T} B={self.B} H={self.H}"

    @property
    def in_size(self) -> int:
        return self.I or self.H


@dataclass
class Pair:
    rnnkit: Callable[[], object]
    torch: Callable[[], object]
    parity: Callable[[], float]  # scaled max |difference| (see _max_diff); the caller judges it
    tolerance: float
    flops: float  # per call
    kernel: str = "?"  # which rnnkit kernel ran
    notes: dict = field(default_factory=dict)


RUNNERS: dict[str, Callable[[Workload], Pair]] = {}


def register(name: str):
    def deco(fn):
        RUNNERS[name] = fn
        return fn
    return deco


def _flops(w: Workload) -> float:
    """Multiply-adds of the two projections, ×2 FLOPs; backward costs two more GEMMs each."""
    fwd = 2.0 * w.T * w.B * GATES[w.family] * w.H * (w.in_size + w.H)
    return fwd * (3 if w.training else 1)


def _step(module, x, grad_out, params, training):
    """One measured call: forward, plus backward of the whole output against grad_out."""
    if not training:
        with torch.no_grad():
            return module(x)[0]
    out = module(x)[0]
    return torch.autograd.grad(out, [x, *params], grad_out)


def _max_diff(a, b) -> float:
    """max over tensors of max |a − b| / max(1, max |b|): gradients summed over
    T·B terms are large, and fp32 rounding grows with them."""
    a = a if isinstance(a, (tuple, list)) else (a,)
    b = b if isinstance(b, (tuple, list)) else (b,)
    return max(((u.detach() - v.detach()).abs().max() / v.detach().abs().max().clamp(min=1)).item()
               for u, v in zip(a, b))


@register("sequence")
def sequence(w: Workload) -> Pair:
    """rnnkit.nn.{LSTM,GRU,RNN} vs torch.nn's, on the same weights; with extras
    (layer norm, zoneout, ...) the baseline is still plain torch.nn and parity is
    checked against rnnkit's reference kernel instead."""
    torch.manual_seed(0)
    extras = dict(w.extras)
    ref_mod = TORCH[w.family](w.in_size, w.H)
    mine = RNNKIT[w.family](w.in_size, w.H, **extras)
    if not extras:
        mine.load_state_dict(ref_mod.state_dict())
    mine.train(w.training)
    ref_mod.train(w.training)
    x = torch.randn(w.T, w.B, w.in_size, requires_grad=w.training)
    g = torch.randn(w.T, w.B, w.H)
    p_mine, p_ref = list(mine.parameters()), list(ref_mod.parameters())
    gen = torch.Generator()

    def run_mine():
        gen.manual_seed(0)
        if not w.training:
            with torch.no_grad():
                return mine(x, generator=gen)[0]
        return torch.autograd.grad(mine(x, generator=gen)[0], [x, *p_mine], g)

    def parity() -> float:
        if not extras:  # the same numbers as torch.nn, outputs and every gradient
            return _max_diff(run_mine(), _step(ref_mod, x, g, p_ref, w.training))
        # variants: against the oracle loop on a short prefix (it is slow)
        t = min(w.T, 8)
        xs = x[:t].detach().requires_grad_(w.training)
        res = []
        for backend in (mine.backend, "reference"):
            mine.backend = backend
            gen.manual_seed(0)
            out = mine(xs, generator=gen)[0]
            res.append(torch.autograd.grad(out, [xs, *p_mine], g[:t]) if w.training else out)
        mine.backend = "auto"
        return _max_diff(*res)

    run_mine()
    kernel = mine.last_choice.kernel if mine.last_choice else "?"
    return Pair(run_mine, lambda: _step(ref_mod, x, g, p_ref, w.training), parity,
                tolerance=2e-5, flops=_flops(w), kernel=kernel)


@register("streaming")
def streaming_cells(w: Workload) -> Pair:
    """One step at a time (T=1): rnnkit.kernels.cpu.streaming vs torch.nn.*Cell, no grad."""
    torch.manual_seed(0)
    cell = CELLS[w.family](w.in_size, w.H)
    x, h, c = torch.randn(w.B, w.in_size), torch.randn(w.B, w.H), torch.randn(w.B, w.H)
    wts = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    if w.family == "lstm":
        mine = lambda: streaming.lstm_cell(x, h, c, *wts)  # noqa: E731
        ref = lambda: cell(x, (h, c))  # noqa: E731
    elif w.family == "gru":
        mine = lambda: streaming.gru_cell(x, h, *wts)  # noqa: E731
        ref = lambda: cell(x, h)  # noqa: E731
    else:
        mine = lambda: streaming.rnn_cell(x, h, *wts)  # noqa: E731
        ref = lambda: cell(x, h)  # noqa: E731

    def no_grad(f):
        def g():
            with torch.no_grad():
                return f()
        return g

    flops = 2.0 * w.B * GATES[w.family] * w.H * (w.in_size + w.H)
    return Pair(no_grad(mine), no_grad(ref), lambda: _max_diff(no_grad(mine)(), no_grad(ref)()),
                tolerance=2e-5, flops=flops, kernel="cpu streaming step")
