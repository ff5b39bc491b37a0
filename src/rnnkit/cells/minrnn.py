r"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?").

Their gates read x_t only, never h_{t-1}, so each is a linear recurrence
h_t = a_t ⊙ h_{t-1} + b_t that a parallel scan computes for all t at once.
With x_t (B, I) and h_{t-1} (B, H), and g the paper's positive activation
g(v) = v + 0.5 for v ≥ 0, σ(v) for v < 0 (continuous at 0, always > 0)::

    minGRU  (weight_ih rows z | h̃, 2H):
        z_t = σ(W_z x_t + b_z)
        h̃_t = g(W_h x_t + b_h)
        h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t            a_t = 1 − z_t,  b_t = z_t ⊙ h̃_t

    minLSTM (weight_ih rows f | i | h̃, 3H):
        f_t = σ(W_f x_t + b_f),  i_t = σ(W_i x_t + b_i)
        f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
        h̃_t = g(W_h x_t + b_h)
        h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t                 a_t = f'_t,  b_t = i'_t ⊙ h̃_t

The step functions compute these equations as written (streaming, and the
reference loop). :func:`log_coeffs_mingru` / :func:`log_coeffs_minlstm` give
log a_t and log b_t in log space (log σ(v) = −softplus(−v), log(1 − σ(v)) =
−softplus(v)), and :func:`scan` runs the recurrence as Heinsen's (2023)
log-space parallel scan, depth O(log T). Both families carry only h.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.family import CellFamily, register_family

# What rnnkit.cells exports from this module (rnnkit.util.discover).
__all__ = ["mingru_step", "minlstm_step"]


def g(v: Tensor) -> Tensor:
    """g(v) = v + 0.5 for v ≥ 0, σ(v) for v < 0."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def log_g(v: Tensor) -> Tensor:
    """log g(v), without a NaN in the branch that isn't taken (relu keeps v + 0.5 > 0)."""
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -F.softplus(-v))


def mingru_step(x: Tensor, h: Tensor, w: Mapping[str, Optional[Tensor]]) -> Tensor:
    """One minGRU step: x (B, I), h (B, H); w holds weight_ih (2H, I), optional bias_ih (2H)."""
    k_z, k_h = F.linear(x, w["weight_ih"], w.get("bias_ih")).chunk(2, dim=-1)  # each (B, H)
    z = torch.sigmoid(k_z)
    return (1.0 - z) * h + z * g(k_h)


def minlstm_step(x: Tensor, h: Tensor, w: Mapping[str, Optional[Tensor]]) -> Tensor:
    """One minLSTM step: x (B, I), h (B, H); w holds weight_ih (3H, I), optional bias_ih (3H)."""
    k_f, k_i, k_h = F.linear(x, w["weight_ih"], w.get("bias_ih")).chunk(3, dim=-1)  # (B, H)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    return f / (f + i) * h + i / (f + i) * g(k_h)


def log_coeffs_mingru(xg: Tensor) -> tuple[Tensor, Tensor]:
    """xg (T, B, 2H) -> log a = log(1 − z), log b = log z + log h̃, each (T, B, H)."""
    k_z, k_h = xg.chunk(2, dim=-1)
    return -F.softplus(k_z), -F.softplus(-k_z) + log_g(k_h)


def log_coeffs_minlstm(xg: Tensor) -> tuple[Tensor, Tensor]:
    """xg (T, B, 3H) -> log a = log f', log b = log i' + log h̃, each (T, B, H)."""
    k_f, k_i, k_h = xg.chunk(3, dim=-1)
    log_f, log_i = -F.softplus(-k_f), -F.softplus(-k_i)
    log_sum = torch.logaddexp(log_f, log_i)  # log(f + i)
    return log_f - log_sum, log_i - log_sum + log_g(k_h)


def scan(log_a: Tensor, log_b: Tensor, h0: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    """All h_t of h_t = a_t ⊙ h_{t-1} + b_t at once (Heinsen 2023), time axis 0.

    log_a, log_b (T, B, H); h0 (B, H), any sign; mask (T, B) bool, True = valid
    step (a masked step keeps h: a = 1, b = 0). With A_t = Σ_{s≤t} log a_s::

        h_t = exp(A_t) ⊙ h0 + exp(A_t + logcumsumexp_{s≤t}(log b_s − A_s))

    h0 enters linearly, so it may be negative or zero (Heinsen's scan takes log h0).
    Returns h (T, B, H). In float32, log b_s − A_s grows with t, and the last
    sum loses about T·|log a|·2⁻²⁴ in relative precision (docs/architecture.md).
    """
    if mask is not None:
        m = mask.unsqueeze(-1)  # (T, B, 1)
        log_a = torch.where(m, log_a, torch.zeros((), dtype=log_a.dtype, device=log_a.device))
    A = torch.cumsum(log_a, 0)  # (T, B, H)
    c = log_b - A
    if mask is not None:
        # −inf after the subtraction: its NaN gradient (logcumsumexp over a −inf prefix)
        # then stops at this select instead of reaching A.
        c = torch.where(m, c, torch.full((), -math.inf, dtype=c.dtype, device=c.device))
    return torch.exp(A) * h0 + torch.exp(A + torch.logcumsumexp(c, 0))


def _shapes(G: int):
    def shapes(input_size: int, hidden_size: int, *, bias: bool = True, **_) -> dict:
        # Only input projections: the layout options of the classic families (proj_size,
        # peephole, layer_norm) are refused by the spec, as this family lists no options.
        out = {"weight_ih": (G * hidden_size, input_size)}
        if bias:
            out["bias_ih"] = (G * hidden_size,)
        return out
    return shapes


def linear_init_(params: dict, input_size: int, hidden_size: int) -> None:
    """torch.nn.Linear's default, as the paper's code uses: U(−1/√I, 1/√I) for weights and bias."""
    k = 1.0 / math.sqrt(input_size)
    with torch.no_grad():
        for p in params.values():
            p.uniform_(-k, k)


def _bind(fn):
    def bind(opts):
        return lambda x, state, w, h_rec: (fn(x, state[0], w),)
    return bind


MINGRU = register_family(CellFamily(
    name="mingru", gates=("z", "h"), keras_gates=("z", "h"), states=("h",), recurrent=False,
    options=frozenset(), param_shapes=_shapes(2), init=linear_init_, bind=_bind(mingru_step),
    doc=__doc__, log_coeffs=log_coeffs_mingru))
MINLSTM = register_family(CellFamily(
    name="minlstm", gates=("f", "i", "h"), keras_gates=("f", "i", "h"), states=("h",),
    recurrent=False, options=frozenset(), param_shapes=_shapes(3), init=linear_init_,
    bind=_bind(minlstm_step), doc=__doc__, log_coeffs=log_coeffs_minlstm))
