"""Single native steps for streaming: torch.nn.LSTMCell / GRUCell / RNNCell semantics.

One call computes both projections and the gate math, with no per-gate ops,
which is where torch.nn's cells spend their time at B=1. Without autograd
(inference, the streaming case) the step runs directly; when a gradient is
needed it runs as a one-step sequence through the fused kernel's BPTT.

Callers don't use these directly: they are the "cpu" step kernel of the
registry (:func:`rnnkit.kernels.registry.step`, registered from
:mod:`rnnkit.kernels.cpu`), which the streaming cells of :mod:`rnnkit.nn` and
``layer.step`` of :mod:`rnnkit.layers` reach; ``step_why_not`` there says which
cells it runs (default activations, no layer norm, peephole, projection or zoneout).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from rnnkit.kernels.cpu import build
from rnnkit.kernels.cpu.function import Cfg, calls, run_sequence


def _needs_grad(*ts: Optional[Tensor]) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in ts)


def _as_sequence(mode: str, x: Tensor, state: tuple, w_ih: Tensor, w_hh: Tensor,
                 b_ih: Optional[Tensor], b_hh: Optional[Tensor], reset_after: bool):
    """The differentiable path: a T=1 sequence through the fused BPTT."""
    H = w_hh.shape[1]
    b_hn = None
    if mode == "gru" and reset_after and b_hh is not None:
        b_hn = b_hh[2 * H:].contiguous()
        b_hh = torch.nn.functional.pad(b_hh[:2 * H], (0, H))
    bias = b_ih if b_hh is None else (b_hh if b_ih is None else b_ih + b_hh)
    xg = (torch.addmm(bias, x, w_ih.t()) if bias is not None else x @ w_ih.t()).unsqueeze(0)
    cfg = Cfg(mode, False, reset_after, 0.0, 0.0)
    tensors = {"xg": xg, "w_hh": w_hh.contiguous(), "b_hn": b_hn, "h0": state[0].contiguous()}
    if mode == "lstm":
        tensors["c0"] = state[1].contiguous()
    _, hN, cN = run_sequence(cfg, tensors)
    return (hN, cN) if mode == "lstm" else hN


def lstm_cell(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor,
              b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
    """One torch.nn.LSTMCell step: x (B, I), h and c (B, H) -> (h_t, c_t)."""
    # Streaming inference runs under no_grad: test the mode before packing the arguments.
    if torch.is_grad_enabled() and _needs_grad(x, h, c, w_ih, w_hh, b_ih, b_hh):
        return _as_sequence("lstm", x, (h, c), w_ih, w_hh, b_ih, b_hh, True)
    calls[("lstm", "step")] += 1
    res = build.load().cell_step({"mode": "lstm", "x": x, "h": h, "c": c, "w_ih": w_ih,
                                  "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh})
    return res["h"], res["c"]


def gru_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor] = None,
             b_hh: Optional[Tensor] = None, reset_after: bool = True) -> Tensor:
    """One GRU step (torch.nn.GRUCell with reset_after=True): x (B, I), h (B, H) -> h_t."""
    if torch.is_grad_enabled() and _needs_grad(x, h, w_ih, w_hh, b_ih, b_hh):
        return _as_sequence("gru", x, (h,), w_ih, w_hh, b_ih, b_hh, reset_after)
    calls[("gru", "step")] += 1
    return build.load().cell_step({"mode": "gru", "reset_after": reset_after, "x": x, "h": h,
                                   "w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh})["h"]


def rnn_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor] = None,
             b_hh: Optional[Tensor] = None, nonlinearity: str = "tanh") -> Tensor:
    """One torch.nn.RNNCell step: x (B, I), h (B, H) -> h_t."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"`nonlinearity` must be 'tanh' or 'relu', got {nonlinearity!r}")
    mode = "rnn_" + nonlinearity
    if torch.is_grad_enabled() and _needs_grad(x, h, w_ih, w_hh, b_ih, b_hh):
        return _as_sequence(mode, x, (h,), w_ih, w_hh, b_ih, b_hh, True)
    calls[(mode, "step")] += 1
    return build.load().cell_step({"mode": mode, "x": x, "h": h, "w_ih": w_ih, "w_hh": w_hh,
                                   "b_ih": b_ih, "b_hh": b_hh})["h"]
