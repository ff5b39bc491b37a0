"""One (layer, direction) of a recurrent stack as a single native call, with
its hand-written BPTT wrapped in a ``torch.autograd.Function``.

The native loop (csrc/) receives the hoisted input projection
``xg`` (T, B, G*H) and runs the recurrence; it returns the gradient of ``xg``
(autograd takes it on to x, W_ih and the folded biases), of h0 and c0, and
the per-step quantities from which the weight gradients below come as one
GEMM or one reduction each, instead of one per step. With layer normalisation
it also saves the normalised W_hh products (and the LSTM's c_t) with their
1/std, returns the grad of the products before the LN (``d_gh``; the GRU's
``d_ghp``, as its ``d_gh`` feeds b_hn), and sums the LN gains' grads itself.

Everything crosses the boundary by name: the native ``forward``, ``backward`` and
``cell_step`` each take one dict (csrc/args.h lists the keys; an unknown or
missing key raises) and return one, and the gradients come back keyed by the
input they belong to (``d_`` + its name).
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

# The native loop's modes (csrc/args.h, read_mode).
MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")

# The tensors of one (layer, direction), by the native names (csrc/args.h):
#   xg (T, B, G*H), w_hh (G*H, P), b_hn (H) [GRU reset_after], h0 (B, P), c0 (B, H) [LSTM],
#   w_ci, w_cf, w_co (H) [LSTM peepholes], w_hr (P, H) [LSTM projection],
#   ln_hh (G*H), ln_c_weight, ln_c_bias (H) [LSTM] with layer norm;
# and, never differentiated: mask (T, B) bool, rec_mask (B, P), zone_h (T, B, P),
# zone_c (T, B, H) [LSTM].
DIFFERENTIABLE = frozenset({"xg", "w_hh", "b_hn", "h0", "c0", "w_ci", "w_cf", "w_co", "w_hr",
                            "ln_hh", "ln_c_weight", "ln_c_bias"})
MASKS = frozenset({"mask", "rec_mask", "zone_h", "zone_c"})
# What the native backward doesn't read (autograd keeps them, or their grads come from
# the saved activations instead).
_NOT_FOR_BACKWARD = frozenset({"xg", "h0", "c0"})


@dataclass(frozen=True)
class Cfg:
    mode: str  # one of MODES
    reverse: bool
    reset_after: bool
    zh: float  # eval-mode zoneout probabilities (0 when masks are given or off)
    zc: float
    eps: float = 1e-5  # layer-norm epsilon (used with layer_norm only)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"`mode` must be one of {', '.join(MODES)}, got {self.mode!r}")

    def options(self, layer_norm: bool) -> dict:
        """The non-tensor arguments, by the native names, each only where it means something."""
        opts = {"mode": self.mode, "reverse": self.reverse, "zh": self.zh}
        if self.mode == "gru":
            opts["reset_after"] = self.reset_after
        if self.mode == "lstm":
            opts["zc"] = self.zc
        if layer_norm:
            opts["eps"] = self.eps
        return opts


def run_sequence(cfg: Cfg, tensors: dict[str, Optional[Tensor]]
                 ) -> tuple[Tensor, Tensor, Optional[Tensor]]:
    """One (layer, direction); ``tensors`` by the names above (None or absent: not used).
    Returns (out (T, B, P), h_n (B, P), c_n (B, H) or None)."""
    known = DIFFERENTIABLE | MASKS
    unknown = sorted(set(tensors) - known)
    if unknown:
        raise ValueError(f"run_sequence: unknown tensor name(s) {unknown}; "
                         f"expected some of {sorted(known)}")
    given = {k: v for k, v in tensors.items() if v is not None}
    opts = cfg.options("ln_hh" in given)
    if torch.is_grad_enabled() and any(v.requires_grad for k, v in given.items()
                                       if k in DIFFERENTIABLE):
        calls[(cfg.mode, "train")] += 1
        names = tuple(given)
        res = _Sequence.apply(cfg, names, *given.values())
        return res[0], res[1], (res[2] if cfg.mode == "lstm" else None)
    calls[(cfg.mode, "infer")] += 1
    res = build.load().forward({**opts, **given, "save": False})
    return res["out"], res["h_n"], res.get("c_n")


class _Sequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, cfg: Cfg, names: tuple, *values):
        given = dict(zip(names, values))
        res = build.load().forward({**cfg.options("ln_hh" in given), **given, "save": True})
        ctx.cfg, ctx.names = cfg, names
        # what backward reads: the layer's tensors and the saved activations, by name
        kept = {k: v for k, v in given.items() if k not in _NOT_FOR_BACKWARD}
        kept.update((k, v) for k, v in res.items() if k not in ("out", "h_n", "c_n"))
        ctx.kept = tuple(kept)
        ctx.save_for_backward(*kept.values())
        ctx.set_materialize_grads(False)
        if cfg.mode == "lstm":
            return res["out"], res["h_n"], res["c_n"]
        return res["out"], res["h_n"]

    @staticmethod
    @once_differentiable
    def backward(ctx, dout, dhN, dcN=None):
        cfg: Cfg = ctx.cfg
        saved = dict(zip(ctx.kept, ctx.saved_tensors))
        c = lambda t: None if t is None else t.contiguous()  # noqa: E731
        upstream = {"d_out": c(dout), "d_h_n": c(dhN)}
        if cfg.mode == "lstm":
            upstream["d_c_n"] = c(dcN)
        g = build.load().backward({**cfg.options("ln_hh" in saved), **saved, **upstream})
        need = {n: r for n, r in zip(ctx.names, ctx.needs_input_grad[2:]) if r}
        grads = {"xg": g["d_xg"], "h0": g["d_h0"], "c0": g.get("d_c0"),
                 # the LN gains' grads come summed from the native loop (padded steps add nothing)
                 "ln_hh": g.get("d_ln_hh"), "ln_c_weight": g.get("d_ln_c_weight"),
                 "ln_c_bias": g.get("d_ln_c_bias")}
        grads.update(_weight_grads(cfg, saved, g, need))
        return (None, None, *(grads.get(n) if n in need else None for n in ctx.names))


def _weight_grads(cfg: Cfg, saved: dict, g: dict, need: dict) -> dict:
    """The grads of W_hh, b_hn, the peepholes and W_hr, each one GEMM or one reduction over
    all steps, from the saved activations and the native loop's per-step grads."""
    act, hs, aux = saved["act"], saved["hs"], saved.get("aux")
    T, B, GH = act.shape
    P = hs.shape[-1]
    r = 1 if cfg.reverse else 0
    h_prev = hs[r:r + T]  # (T, B, P) the state entering each step, aligned with x
    dxg, dgh, dghp = g["d_xg"], g.get("d_gh"), g.get("d_ghp")
    out = {}
    if "w_hh" in need:
        rec = saved.get("rec_mask")
        h_rec = (h_prev * rec if rec is not None else h_prev).reshape(T * B, P)
        if cfg.mode == "gru" and not cfg.reset_after:
            H = GH // 3
            dx2 = (dghp if dghp is not None else dxg).reshape(T * B, GH)
            # aux = r ⊙ h_rec, the input of W_hn
            out["w_hh"] = torch.cat([dx2[:, :2 * H].t() @ h_rec,
                                     dx2[:, 2 * H:].t() @ aux.reshape(T * B, H)], 0)
        else:
            # the grad of W_hh h_rec: before the GRU's LN, else d_gh (LN, GRU reset_after) or d_xg
            dg = next(t for t in (dghp, dgh, dxg) if t is not None)
            out["w_hh"] = dg.reshape(T * B, GH).t() @ h_rec  # (G*H, P)
    if "b_hn" in need:
        out["b_hn"] = dgh[..., 2 * (GH // 3):].sum((0, 1))
    if cfg.mode == "lstm":
        H = GH // 4
        c_prev = saved["cs"][r:r + T]  # (T, B, H)
        if "w_ci" in need:
            out["w_ci"] = (dxg[..., :H] * c_prev).sum((0, 1))
        if "w_cf" in need:
            out["w_cf"] = (dxg[..., H:2 * H] * c_prev).sum((0, 1))
        if "w_co" in need:
            out["w_co"] = (dxg[..., 3 * H:] * aux).sum((0, 1))  # aux = c_t before zoneout
        if "w_hr" in need:
            h_pre = act[..., 3 * H:] * saved["aux2"]  # o ⊙ tanh(c), (T, B, H)
            out["w_hr"] = g["d_y"].reshape(T * B, P).t() @ h_pre.reshape(T * B, H)  # (P, H)
    return out
