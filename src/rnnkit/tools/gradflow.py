r"""Gradient flow through time: ‖∂L/∂h_t‖ for every step t of a Sequential
model's first recurrent layer.

The fused kernels return h_t only as outputs, not as the nodes the recurrence
goes through, so their ``.grad`` would miss the path h_t -> h_{t+1} -> ... -> L.
Here the first recurrent layer (SimpleRNN, LSTM or GRU of :mod:`rnnkit.layers`)
is re-run one step at a time with its own torch-layout parameters and the cell
functions of :mod:`rnnkit.cells` (the same math as the reference kernel),
keeping each h_t as a graph node; the layers after it run as usual. The
gradient of h_t is then the total derivative ∂L/∂h_t, which is what vanishes in
a tanh RNN (Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013) and
what the LSTM's cell state protects (Hochreiter & Schmidhuber 1997).

``ratio`` = ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: near 1 means the first step still steers
the loss; 1e-6 means it has been forgotten, as far as learning can tell.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from torch import Tensor
from torch.func import functional_call

__all__ = ["GradientFlow", "first_recurrent_layer", "unrolled_states", "gradient_flow"]


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
    """(x_t, state, w) -> new state tuple, eval-mode semantics: the family's step."""
    fam_step = spec.family.bind(spec)
    return lambda x, s, w: fam_step(x, s, w, s[0])


def first_recurrent_layer(model) -> int:
    """Index in ``model.layers`` of the first SimpleRNN/LSTM/GRU layer."""
    from rnnkit.layers import Bidirectional, RecurrentLayer

    for k, layer in enumerate(getattr(model, "layers", [])):
        if isinstance(layer, Bidirectional):
            raise ValueError(f"model: layer {layer.name!r} is Bidirectional; the gradient flow "
                             "through time is defined here for one direction only")
        if isinstance(layer, RecurrentLayer):
            return k
    raise ValueError(f"model: expected a Sequential model with a recurrent layer (SimpleRNN, "
                     f"LSTM or GRU), got {type(model).__name__} with layers "
                     f"{[type(m).__name__ for m in getattr(model, 'layers', [])]}")


def unrolled_states(layer, x: Tensor, weights: Optional[Dict[str, Tensor]] = None
                    ) -> List[Tensor]:
    """Hidden states h_1..h_T (each (B, H)) of a built, forward-running rnnkit.layers
    recurrent layer on x (B, T, I), one step at a time from zero states.

    Eval-mode semantics: no dropout; zoneout uses its expectation z·old + (1 − z)·new
    (Krueger et al. 2016), as the kernels do at eval time. ``weights`` replaces the
    layer's parameters (same names as ``layer.cell_weights()``), e.g. float64 copies.
    """
    if not getattr(layer, "built", False) or getattr(layer, "spec", None) is None:
        raise ValueError(f"layer: expected a built recurrent layer, got {layer!r}")
    if layer.go_backwards:
        raise ValueError(f"layer: {layer.name!r} has go_backwards=True; expected a layer "
                         "that reads the sequence forwards")
    spec = layer.spec
    w = layer.cell_weights() if weights is None else weights
    step = _step(spec)
    zone = (spec.zoneout_h, spec.zoneout_c)
    B = x.shape[0]
    state = tuple(x.new_zeros(B, spec.hidden_size) for _ in range(spec.n_states))
    hs: List[Tensor] = []
    for x_t in x.transpose(0, 1):                             # x_t (B, I)
        new = step(x_t, state, w)
        if any(zone):
            new = tuple(z * old + (1.0 - z) * cur if z > 0 else cur
                        for old, cur, z in zip(state, new, zone))
        state = new
        hs.append(state[0])                                   # h_t (B, H)
    return hs


def _float64_params(layer) -> Dict[str, Tensor]:
    # Detached copies that require grad (even of a frozen layer), so the unrolled
    # graph exists while the model's own parameters (and their .grad) stay untouched.
    return {name: p.detach().double().requires_grad_()
            for name, p in layer.named_parameters()}


def gradient_flow(model, x, y, loss_fn: Optional[Callable[[Tensor, Tensor], Tensor]] = None
                  ) -> GradientFlow:
    """‖∂L/∂h_t‖ over t of the first recurrent layer of a Sequential ``model`` on the
    batch (x, y), in eval mode.

    x (B, T, I) (or token ids for a model that starts with an Embedding), y shaped
    like the model's output; ``loss_fn`` defaults to the mean squared error.
    Computed in float64 on copies of the weights: in float32, ‖∂L/∂h_1‖ of a tanh
    RNN over 100 steps underflows to exactly 0, which says "vanished" but not by
    how much. The model, its parameters and their gradients are left untouched.
    """
    loss_fn = loss_fn or torch.nn.functional.mse_loss
    k = first_recurrent_layer(model)
    layers = list(model.layers)
    x = torch.as_tensor(np.asarray(x)) if not isinstance(x, Tensor) else x
    y = torch.as_tensor(np.asarray(y)) if not isinstance(y, Tensor) else y
    h = x.double() if torch.is_floating_point(x) else x
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():                                 # layers before: plain values
            mask = None
            for layer in layers[:k]:
                out = functional_call(layer, _float64_params(layer), (h,), {"mask": mask})
                mask = layer.compute_mask(h, mask)
                h = out
        if mask is not None and not bool(mask.all()):
            raise ValueError("x: the model masks some steps (padding); the gradient flow "
                             "through time needs inputs without padding")
        rec = layers[k]
        with torch.enable_grad():
            hs = unrolled_states(rec, h.double(), _float64_params(rec))
            out = torch.stack(hs, 1) if rec.return_sequences else hs[-1]   # (B, T, H) / (B, H)
            for layer in layers[k + 1:]:
                out = functional_call(layer, _float64_params(layer), (out,))
            loss = loss_fn(out, y.double() if torch.is_floating_point(y) else y)
            grads = torch.autograd.grad(loss, hs)             # T tensors (B, H)
    finally:
        model.train(was_training)
    norms = np.array([float(g.norm(dim=-1).mean()) for g in grads])   # (T,)
    return GradientFlow(norms=norms, loss=float(loss.detach()))
