r"""Gradient flow through time: ‖∂L/∂h_t‖ for every step t of the top layer.

The fused kernels return h_t only as outputs, not as the nodes the recurrence
goes through, so their ``.grad`` would miss the path h_t -> h_{t+1} -> ... -> L.
Here the top layer is re-run one step at a time with the model's own weights
and the cell functions of :mod:`rnnkit.cells` (the same math as the reference
kernel), keeping each h_t as a graph node: its gradient is then the total
derivative ∂L/∂h_t, which is what vanishes in a tanh RNN (Bengio, Simard &
Frasconi 1994; Pascanu, Mikolov & Bengio 2013) and what the LSTM's cell state
protects (Hochreiter & Schmidhuber 1997).

``ratio`` = ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: near 1 means the first step still steers
the loss; 1e-6 means it has been forgotten, as far as learning can tell.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np
import torch
from torch import Tensor

from rnnkit.cells.gru import gru_step
from rnnkit.cells.lstm import lstm_step
from rnnkit.cells.rnn import rnn_step

__all__ = ["GradientFlow", "unrolled_states", "gradient_flow"]


@dataclass
class GradientFlow:
    """``norms[t]`` (T,) = batch mean of ‖∂L/∂h_t‖₂; ``ratio`` = norms[0] / norms[-1]."""

    norms: np.ndarray
    loss: float

    @property
    def ratio(self) -> float:
        last = float(self.norms[-1])
        return float(self.norms[0]) / last if last > 0 else float("nan")


def _step(spec) -> Callable:
    act, eps = spec.act_fn(), spec.ln_eps
    if spec.mode == "lstm":
        ract = spec.ract_fn()
        return lambda x, s, w: lstm_step(x, s[0], s[1], w, act=act, ract=ract,
                                         layer_norm=spec.layer_norm, peephole=spec.peephole,
                                         eps=eps)
    if spec.mode == "gru":
        ract = spec.ract_fn()
        return lambda x, s, w: (gru_step(x, s[0], w, reset_after=spec.reset_after, act=act,
                                         ract=ract, layer_norm=spec.layer_norm, eps=eps),)
    return lambda x, s, w: (rnn_step(x, s[0], w, act=act, layer_norm=spec.layer_norm, eps=eps),)


def unrolled_states(rnn_module, x: Tensor) -> List[Tensor]:
    """Hidden states h_1..h_T (each (B, H)) of the top layer of a unidirectional,
    unprojected rnnkit.nn RNN/LSTM/GRU with batch_first=True, computed step by step.

    Dropout between layers is not applied (eval-mode semantics).
    """
    spec = rnn_module.spec
    if spec.bidirectional or spec.proj_size or not rnn_module.batch_first:
        raise ValueError("rnn_module: expected a unidirectional, unprojected, batch_first "
                         f"recurrent module, got {rnn_module!r}")
    step = _step(spec)
    seq = x.transpose(0, 1)                                   # (T, B, I)
    B = seq.shape[1]
    hs: List[Tensor] = []
    for w in rnn_module.cell_weights():                       # one dict per layer
        state = tuple(seq.new_zeros(B, spec.hidden_size) for _ in range(spec.n_states))
        hs = []
        for x_t in seq:                                       # x_t (B, I or H)
            state = step(x_t, state, w)
            hs.append(state[0])                               # h_t (B, H)
        seq = torch.stack(hs)                                 # (T, B, H): next layer's input
    return hs


def gradient_flow(model, x: Tensor, y: Tensor,
                  loss_fn: Optional[Callable[[Tensor, Tensor], Tensor]] = None) -> GradientFlow:
    """‖∂L/∂h_t‖ over t for a :class:`~rnnkit.tools.regressor.RecurrentRegressor`
    (anything with ``.rnn`` and ``.head`` on the last step) on the batch (x, y).

    x (B, T, I), y (B, K); ``loss_fn`` defaults to the mean squared error.
    Runs on a float64 copy, so the model and its gradients are left untouched.
    """
    loss_fn = loss_fn or torch.nn.functional.mse_loss
    # float64 copy: in float32, ‖∂L/∂h_1‖ of a tanh RNN over 100 steps underflows to
    # exactly 0, which says "vanished" but not by how much.
    m64 = copy.deepcopy(model).double().eval()
    with torch.enable_grad():
        hs = unrolled_states(m64.rnn, x.double())
        loss = loss_fn(m64.head(hs[-1]), y.double())
        grads = torch.autograd.grad(loss, hs)                 # T tensors (B, H)
    norms = np.array([float(g.norm(dim=-1).mean()) for g in grads])   # (T,)
    return GradientFlow(norms=norms, loss=float(loss.detach()))
