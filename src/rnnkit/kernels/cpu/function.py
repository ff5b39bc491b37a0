"""One (layer, direction) of a recurrent stack as a single native call, with
its hand-written BPTT wrapped in a ``torch.autograd.Function``.

The native loop (csrc/) receives the hoisted input projection
``xg`` (T, B, G*H) and runs the recurrence; it returns the gradient of ``xg``
(autograd takes it on to x, W_ih and the folded biases), of h0 and c0, and
the per-step quantities from which the weight gradients below come as one
GEMM or one reduction each, instead of one per step. With layer normalisation
it also saves the normalised W_hh products (and the LSTM's c_t) with their
1/std, returns the grad of the products before the LN (``dgh``; the GRU's
``dghp``, as its ``dgh`` feeds b_hn), and sums the LN gains' grads itself.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.kernels.cpu import build

# Spy for the tests and the benchmarks: (mode, "train" | "infer") -> native forward calls.
calls: Counter = Counter()

MODE_IDS = {"rnn_tanh": 0, "rnn_relu": 1, "lstm": 2, "gru": 3}


@dataclass(frozen=True)
class Cfg:
    mode: str  # a key of MODE_IDS
    reverse: bool
    reset_after: bool
    zh: float  # eval-mode zoneout probabilities (0 when masks are given or off)
    zc: float
    eps: float = 1e-5  # layer-norm epsilon (used with layer_norm only)

    @property
    def mode_id(self) -> int:
        return MODE_IDS[self.mode]


def run_sequence(cfg: Cfg, xg: Tensor, w_hh: Tensor, b_hn: Optional[Tensor], h0: Tensor,
                 c0: Optional[Tensor], peep: tuple, w_hr: Optional[Tensor],
                 mask: Optional[Tensor], rec: Optional[Tensor], zone_h: Optional[Tensor],
                 zone_c: Optional[Tensor], ln: tuple = (None, None, None)
                 ) -> tuple[Tensor, Tensor, Optional[Tensor]]:
    """xg (T, B, G*H); w_hh (G*H, P); h0 (B, P); c0 (B, H) for the LSTM; peep =
    (w_ci, w_cf, w_co) or Nones; mask (T, B) bool; rec (B, P) recurrent-dropout
    keep mask; zone_h (T, B, P) / zone_c (T, B, H) zoneout keep masks aligned
    with input time; ln = (γ_hh (G*H), γ_c (H), β_c (H)) for the layer-normalised
    LSTM, (γ_hh, None, None) for the RNN and GRU, or Nones (then xg must already hold
    LN(W_ih x) ⊙ γ_ih + biases, kernel.py). Returns (out (T, B, P), h_n, c_n or None)."""
    diff = (xg, w_hh, b_hn, h0, c0, *peep, w_hr, *ln)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in diff):
        calls[(cfg.mode, "train")] += 1
        res = _Sequence.apply(cfg, xg, w_hh, b_hn, h0, c0, *peep, w_hr, *ln, mask, rec, zone_h,
                              zone_c)
        return res[0], res[1], (res[2] if cfg.mode == "lstm" else None)
    calls[(cfg.mode, "infer")] += 1
    out, hN, cN, *_ = build.load().forward(
        cfg.mode_id, cfg.reverse, cfg.reset_after, False, xg, w_hh, b_hn, h0, c0, *peep, w_hr,
        mask, rec, zone_h, cfg.zh, zone_c, cfg.zc, *ln, cfg.eps)
    return out, hN, cN


class _Sequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, cfg: Cfg, xg, w_hh, b_hn, h0, c0, w_ci, w_cf, w_co, w_hr, ln_hh, ln_cw,
                ln_cb, mask, rec, zone_h, zone_c):
        out, hN, cN, hs, cs, act, aux, aux2, xh, rh, xc, rc = build.load().forward(
            cfg.mode_id, cfg.reverse, cfg.reset_after, True, xg, w_hh, b_hn, h0, c0, w_ci, w_cf,
            w_co, w_hr, mask, rec, zone_h, cfg.zh, zone_c, cfg.zc, ln_hh, ln_cw, ln_cb, cfg.eps)
        ctx.cfg = cfg
        ctx.save_for_backward(w_hh, b_hn, w_ci, w_cf, w_co, w_hr, mask, rec, zone_h, zone_c,
                              hs, cs, act, aux, aux2, ln_hh, ln_cw, ln_cb, xh, rh, xc, rc)
        ctx.set_materialize_grads(False)
        return (out, hN, cN) if cfg.mode == "lstm" else (out, hN)

    @staticmethod
    @once_differentiable
    def backward(ctx, dout, dhN, dcN=None):
        cfg: Cfg = ctx.cfg
        (w_hh, b_hn, w_ci, w_cf, w_co, w_hr, mask, rec, zone_h, zone_c,
         hs, cs, act, aux, aux2, ln_hh, ln_cw, ln_cb, xh, rh, xc, rc) = ctx.saved_tensors
        c = lambda t: None if t is None else t.contiguous()  # noqa: E731
        dxg, dgh, dy, dh0, dc0, d_lnhh, d_lncw, d_lncb, dghp = build.load().backward(
            cfg.mode_id, cfg.reverse, cfg.reset_after, w_hh, b_hn, w_ci, w_cf, w_co, w_hr, mask,
            rec, zone_h, cfg.zh, zone_c, cfg.zc, hs, cs, act, aux, aux2, c(dout), c(dhN), c(dcN),
            ln_hh, ln_cw, ln_cb, cfg.eps, xh, rh, xc, rc)
        # (cfg, xg, w_hh, b_hn, h0, c0, w_ci, w_cf, w_co, w_hr, ln_hh, ln_cw, ln_cb, ...)
        need = ctx.needs_input_grad
        T, B, GH = act.shape
        P = hs.shape[-1]
        r = 1 if cfg.reverse else 0
        h_prev = hs[r:r + T]  # (T, B, P) the state entering each step, aligned with x
        d_whh = d_bhn = d_ci = d_cf = d_co = d_whr = None
        if need[2]:
            h_rec = (h_prev * rec if rec is not None else h_prev).reshape(T * B, P)
            if cfg.mode == "gru" and not cfg.reset_after:
                H = GH // 3
                dx2 = (dghp if dghp is not None else dxg).reshape(T * B, GH)
                d_whh = torch.cat([dx2[:, :2 * H].t() @ h_rec,
                                   dx2[:, 2 * H:].t() @ aux.reshape(T * B, H)], 0)  # aux = r ⊙ h_rec
            else:
                # the grad of W_hh h_rec: before the GRU's LN, else dgh (LN, GRU reset_after) or dxg
                dg = next(g for g in (dghp, dgh, dxg) if g is not None)
                d_whh = dg.reshape(T * B, GH).t() @ h_rec  # (G*H, P)
        if need[3]:
            d_bhn = dgh[..., 2 * (GH // 3):].sum((0, 1))
        if cfg.mode == "lstm":
            H = GH // 4
            c_prev = cs[r:r + T]  # (T, B, H)
            if need[6]:
                d_ci = (dxg[..., :H] * c_prev).sum((0, 1))
            if need[7]:
                d_cf = (dxg[..., H:2 * H] * c_prev).sum((0, 1))
            if need[8]:
                d_co = (dxg[..., 3 * H:] * aux).sum((0, 1))  # aux = c_t before zoneout
            if need[9]:
                h_pre = act[..., 3 * H:] * aux2  # o ⊙ tanh(c), (T, B, H)
                d_whr = dy.reshape(T * B, P).t() @ h_pre.reshape(T * B, H)  # (P, H)
        # the LN gains' grads come summed from the native loop (padded steps add nothing)
        d_lnhh, d_lncw, d_lncb = (g if n else None for g, n in zip((d_lnhh, d_lncw, d_lncb),
                                                                  need[10:13]))
        return (None, dxg if need[1] else None, d_whh, d_bhn, dh0 if need[4] else None,
                dc0 if need[5] else None, d_ci, d_cf, d_co, d_whr, d_lnhh, d_lncw, d_lncb,
                None, None, None, None)
