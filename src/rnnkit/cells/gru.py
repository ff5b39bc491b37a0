r"""GRU cell, both reset placements; gate order r, z, n (torch.nn's order).

With x_t (B, I) and h_{t-1} (B, H)::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    reset_after=True  (cuDNN, torch.nn, Keras's default):
        h̃_t = act(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    reset_after=False (Cho et al. 2014 v3, the seed's form):
        h̃_t = act(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn)
    h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t

σ is ``recurrent_activation`` (sigmoid) and act is ``activation`` (tanh). The
update is torch.nn's, Keras's and cuDNN's convention, so weights interchange.
The seed writes h_t = (1 − z'_t) ⊙ h_{t-1} + z'_t ⊙ h̃_t: the same model with
z' = 1 − z, i.e. with the z-gate's weights and biases negated (σ(−a) = 1 − σ(a)).

With ``layer_norm=True`` the input projection W_i· x_t is normalised over all
3H gates, the recurrent r,z projection W_h{r,z} h_{t-1} over its 2H, and the
recurrent candidate projection (W_hn h_{t-1}, or W_hn (r_t ⊙ h_{t-1})) over its
H, each with a gain γ and before the biases are added.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.activations import Activation, resolve_activation
from rnnkit.cells.base import CellBase, classic_init_, classic_shapes, ln
from rnnkit.cells.family import CellFamily, register_family

# What rnnkit.cells exports from this module (rnnkit.util.discover).
__all__ = ["GRUCell", "gru_step"]


def _split_bias(b: Optional[Tensor], H: int) -> tuple[Optional[Tensor], Optional[Tensor]]:
    return (None, None) if b is None else (b[: 2 * H], b[2 * H:])


def gru_step(
    x: Tensor,
    h: Tensor,
    w: Mapping[str, Optional[Tensor]],
    *,
    reset_after: bool = True,
    act: Callable[[Tensor], Tensor] = torch.tanh,
    ract: Callable[[Tensor], Tensor] = torch.sigmoid,
    layer_norm: bool = False,
    eps: float = 1e-5,
    h_rec: Optional[Tensor] = None,
) -> Tensor:
    """One GRU step. ``w`` holds weight_ih (3H, I), weight_hh (3H, H), optional
    bias_ih, bias_hh (3H), and ln_ih, ln_hh (3H) with layer_norm. Returns h_t.

    ``h_rec`` is the h_{t-1} that enters the recurrent projections, when it
    differs from the carried state (recurrent dropout); it defaults to ``h``."""
    H = h.shape[-1]
    hr = h if h_rec is None else h_rec
    W_hh = w["weight_hh"]
    gx = F.linear(x, w["weight_ih"])  # (B, 3H)
    gh_rz = F.linear(hr, W_hh[: 2 * H])  # (B, 2H)
    if layer_norm:
        gx = ln(gx, w["ln_ih"], None, eps)
        gh_rz = ln(gh_rz, w["ln_hh"][: 2 * H], None, eps)
    b_ih_rz, b_in = _split_bias(w.get("bias_ih"), H)
    b_hh_rz, b_hn = _split_bias(w.get("bias_hh"), H)
    a_rz = gx[:, : 2 * H] + gh_rz
    for b in (b_ih_rz, b_hh_rz):
        if b is not None:
            a_rz = a_rz + b
    r, z = ract(a_rz).chunk(2, dim=-1)  # each (B, H)
    # The candidate's recurrent term: W_hn h (reset after) or W_hn (r ⊙ h) (reset before).
    gh_n = F.linear(hr if reset_after else r * hr, W_hh[2 * H:])  # (B, H)
    if layer_norm:
        gh_n = ln(gh_n, w["ln_hh"][2 * H:], None, eps)
    if b_hn is not None:
        gh_n = gh_n + b_hn
    a_n = gx[:, 2 * H:] + (r * gh_n if reset_after else gh_n)
    if b_in is not None:
        a_n = a_n + b_in
    n = act(a_n)
    return z * h + (1.0 - z) * n


class GRUCell(CellBase):
    """One GRU step as a module, with torch.nn.GRUCell's parameter names.

    Args:
        input_size, hidden_size, bias: as torch.nn.GRUCell.
        reset_after: where the reset gate applies (default True = torch.nn/cuDNN).
        activation: act (default ``"tanh"``); recurrent_activation: σ (default ``"sigmoid"``).
        layer_norm: see the module docstring (default False).

    ``forward(x, hx=None)``: x (B, I) or (I,), hx (B, H) or (H,) -> h_t.
    """

    mode = "gru"
    gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 reset_after: bool = True, activation: Activation = "tanh",
                 recurrent_activation: Activation = "sigmoid", layer_norm: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, layer_norm=layer_norm,
                         device=device, dtype=dtype)
        self.reset_after = bool(reset_after)
        self.activation, self._act = resolve_activation(activation, "activation")
        self.recurrent_activation, self._ract = resolve_activation(
            recurrent_activation, "recurrent_activation")

    def _step(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return (gru_step(x, state[0], self.weights(), reset_after=self.reset_after,
                         act=self._act, ract=self._ract, layer_norm=self.layer_norm),)


def _bind(o) -> Callable:
    act, ract, ra, ln_on, eps = o.act_fn(), o.ract_fn(), o.reset_after, o.layer_norm, o.ln_eps

    def step(x, state, w, h_rec):
        return (gru_step(x, state[0], w, reset_after=ra, act=act, ract=ract, layer_norm=ln_on,
                         eps=eps, h_rec=h_rec),)
    return step


FAMILY = register_family(CellFamily(
    name="gru", gates=("r", "z", "n"), keras_gates=("z", "r", "n"), states=("h",),
    recurrent=True,
    options=frozenset({"activation", "recurrent_activation", "layer_norm", "reset_after",
                       "recurrent_dropout", "zoneout_h", "dropconnect"}),
    param_shapes=lambda I, H, **kw: classic_shapes("gru", I, H, **kw),
    init=classic_init_, bind=_bind, doc=__doc__))
GATES = FAMILY.n_gates  # r, z, n (kept for code that imports it)
