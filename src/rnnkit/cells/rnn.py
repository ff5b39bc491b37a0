r"""Vanilla (Elman) RNN cell.

With x_t (B, I) and h_{t-1} (B, H)::

    h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

act is tanh by default; relu, any Keras name, any torch function name, or any
callable also work. With ``layer_norm=True`` the two projections are
normalised before the biases are added::

    h_t = act(LN(W_ih x_t) ⊙ γ_ih + LN(W_hh h_{t-1}) ⊙ γ_hh + b_ih + b_hh)
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.activations import Activation, resolve_activation
from rnnkit.cells.base import CellBase, classic_init_, classic_shapes, linear_opt, ln
from rnnkit.cells.family import CellFamily, register_family

# What rnnkit.cells exports from this module (rnnkit.util.discover).
__all__ = ["RNNCell", "rnn_step"]


def rnn_step(
    x: Tensor,
    h: Tensor,
    w: Mapping[str, Optional[Tensor]],
    *,
    act: Callable[[Tensor], Tensor] = torch.tanh,
    layer_norm: bool = False,
    eps: float = 1e-5,
) -> Tensor:
    """One Elman step. ``w`` holds weight_ih (H, I), weight_hh (H, H), optional
    bias_ih, bias_hh (H), and ln_ih, ln_hh (H) with layer_norm. Returns h_t (B, H)."""
    gx = F.linear(x, w["weight_ih"])  # (B, H)
    gh = F.linear(h, w["weight_hh"])  # (B, H)
    if layer_norm:
        gx = ln(gx, w["ln_ih"], None, eps)
        gh = ln(gh, w["ln_hh"], None, eps)
    return act(linear_opt(gx + gh, w.get("bias_ih"), w.get("bias_hh")))


class RNNCell(CellBase):
    """One Elman step as a module, with torch.nn.RNNCell's arguments and names.

    Args:
        input_size, hidden_size, bias: as torch.nn.RNNCell.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``, as torch.nn.RNNCell.
        activation: any activation (name or callable); overrides ``nonlinearity``.
        layer_norm: normalise the two projections (default False).

    ``forward(x, hx=None)``: x (B, I) or (I,), hx (B, H) or (H,) -> h_t.
    """

    mode = "rnn"
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, activation: Activation = None,
                 layer_norm: bool = False, device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"`nonlinearity` must be 'tanh' or 'relu', got {nonlinearity!r}; "
                             "use `activation=` for any other function")
        super().__init__(input_size, hidden_size, bias, layer_norm=layer_norm,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity
        self.activation, self._act = resolve_activation(
            activation if activation is not None else nonlinearity, "activation")

    def _step(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return (rnn_step(x, state[0], self.weights(), act=self._act, layer_norm=self.layer_norm),)


def _bind(o) -> Callable:
    act, ln_on, eps = o.act_fn(), o.layer_norm, o.ln_eps

    def step(x, state, w, h_rec):
        return (rnn_step(x, h_rec, w, act=act, layer_norm=ln_on, eps=eps),)
    return step


FAMILY = register_family(CellFamily(
    name="rnn", gates=("h",), keras_gates=("h",), states=("h",), recurrent=True,
    options=frozenset({"activation", "layer_norm", "recurrent_dropout", "zoneout_h",
                       "dropconnect"}),
    param_shapes=lambda I, H, **kw: classic_shapes("rnn", I, H, **kw),
    init=classic_init_, bind=_bind, doc=__doc__))
