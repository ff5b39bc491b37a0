r"""LSTM cell: the seed's six equations, gate order i, f, g, o (torch.nn's order).

With x_t (B, I), h_{t-1} (B, P) and c_{t-1} (B, H), where P = proj_size or H::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh               # (B, 4H), split as i | f | g | o
    i_t = σ(a_i + w_ci ⊙ c_{t-1})       # w_ci only with peephole=True
    f_t = σ(a_f + w_cf ⊙ c_{t-1})       # w_cf only with peephole=True
    g_t = act(a_g)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t = σ(a_o + w_co ⊙ c_t)           # w_co only with peephole=True (Gers & Schmidhuber 2000)
    h_t = o_t ⊙ act(c_t)
    h_t = W_hr h_t                      # only with proj_size > 0, exactly as torch.nn.LSTM

σ is ``recurrent_activation`` (sigmoid by default) and act is ``activation``
(tanh by default). With ``layer_norm=True`` (Ba et al. 2016; haste's
LayerNormLSTM) the two projections are normalised over all 4H gates before the
biases are added, and c_t is normalised before the output activation::

    a_t = LN(W_ih x_t) ⊙ γ_ih + LN(W_hh h_{t-1}) ⊙ γ_hh + b_ih + b_hh
    h_t = o_t ⊙ act(LN(c_t) ⊙ γ_c + β_c)                  # c_t itself is carried un-normalised

LN(v) = (v − mean(v)) / sqrt(var(v) + eps) over the last axis, var biased.
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
__all__ = ["LSTMCell", "lstm_step"]


def lstm_step(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    w: Mapping[str, Optional[Tensor]],
    *,
    act: Callable[[Tensor], Tensor] = torch.tanh,
    ract: Callable[[Tensor], Tensor] = torch.sigmoid,
    layer_norm: bool = False,
    peephole: bool = False,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor]:
    """One LSTM step. ``w`` holds weight_ih (4H, I), weight_hh (4H, P), and
    optionally bias_ih, bias_hh (4H), weight_hr (P, H), weight_ci/cf/co (H),
    ln_ih, ln_hh (4H), ln_c_weight, ln_c_bias (H). Returns (h_t, c_t)."""
    gx = F.linear(x, w["weight_ih"])  # (B, 4H)
    gh = F.linear(h, w["weight_hh"])  # (B, 4H)
    if layer_norm:
        gx = ln(gx, w["ln_ih"], None, eps)
        gh = ln(gh, w["ln_hh"], None, eps)
    a = linear_opt(gx + gh, w.get("bias_ih"), w.get("bias_hh"))
    a_i, a_f, a_g, a_o = a.chunk(4, dim=-1)  # each (B, H)
    if peephole:
        a_i = a_i + w["weight_ci"] * c
        a_f = a_f + w["weight_cf"] * c
    i = ract(a_i)
    f = ract(a_f)
    g = act(a_g)
    c_new = f * c + i * g
    if peephole:
        a_o = a_o + w["weight_co"] * c_new
    o = ract(a_o)
    c_out = ln(c_new, w["ln_c_weight"], w["ln_c_bias"], eps) if layer_norm else c_new
    h_new = o * act(c_out)
    if w.get("weight_hr") is not None:
        h_new = F.linear(h_new, w["weight_hr"])  # (B, P)
    return h_new, c_new


class LSTMCell(CellBase):
    """One LSTM step as a module, with torch.nn.LSTMCell's parameter names.

    Args:
        input_size: features per step, I.
        hidden_size: units, H.
        bias: learn bias_ih and bias_hh (default True).
        activation: act in the equations (default ``"tanh"``).
        recurrent_activation: σ in the equations (default ``"sigmoid"``).
        layer_norm: normalise the gate pre-activations and c_t (default False).
        peephole: add w_ci, w_cf, w_co (default False).

    ``forward(x, hx=None)`` takes x of shape (B, I) or (I,) and hx = (h, c),
    each (B, H) or (H,), and returns (h_t, c_t). Equations: see the module docstring.
    """

    mode = "lstm"
    gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 activation: Activation = "tanh", recurrent_activation: Activation = "sigmoid",
                 layer_norm: bool = False, peephole: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, layer_norm=layer_norm,
                         peephole=peephole, device=device, dtype=dtype)
        self.activation, self._act = resolve_activation(activation, "activation")
        self.recurrent_activation, self._ract = resolve_activation(
            recurrent_activation, "recurrent_activation")

    def _step(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        h, c = state
        return lstm_step(x, h, c, self.weights(), act=self._act, ract=self._ract,
                         layer_norm=self.layer_norm, peephole=self.peephole)


def _bind(o) -> Callable:
    act, ract, ln_on, pp, eps = o.act_fn(), o.ract_fn(), o.layer_norm, o.peephole, o.ln_eps

    def step(x, state, w, h_rec):
        return lstm_step(x, h_rec, state[1], w, act=act, ract=ract, layer_norm=ln_on,
                         peephole=pp, eps=eps)
    return step


FAMILY = register_family(CellFamily(
    name="lstm", gates=("i", "f", "g", "o"), keras_gates=("i", "f", "g", "o"),
    states=("h", "c"), recurrent=True,
    options=frozenset({"activation", "recurrent_activation", "layer_norm", "peephole",
                       "proj_size", "recurrent_dropout", "zoneout_h", "zoneout_c",
                       "dropconnect"}),
    param_shapes=lambda I, H, **kw: classic_shapes("lstm", I, H, **kw),
    init=classic_init_, bind=_bind, doc=__doc__))
GATES = FAMILY.n_gates  # i, f, g, o (kept for code that imports it)
