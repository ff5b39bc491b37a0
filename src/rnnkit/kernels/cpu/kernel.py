"""The "cpu" kernel: rnnkit's native fused time loops, with the reference's contract.

For each layer and direction: the padded steps of x are zeroed (padding is
never read), input dropout applied, the input projection of all steps done as
one GEMM, and the recurrence run by one native call (function.py). With
layer_norm the input projection's LN is applied here to all steps at
once and the recurrent LNs run inside the native loop. Dropout
masks are drawn here, from the caller's generator and in the reference's
order, so that a seeded run equals :func:`rnnkit.kernels.reference.run`.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.kernels.cpu import build
from rnnkit.kernels.cpu.function import Cfg, run_sequence
from rnnkit.kernels.masks import keep_mask
from rnnkit.kernels.spec import RecurrentSpec
from rnnkit.kernels.stack import run_stack

# The families the native loops run, and the options (rnnkit.cells.family) each runs;
# the activations are checked apart (tanh or relu for rnn; tanh/sigmoid otherwise).
_COMMON = frozenset({"layer_norm", "recurrent_dropout", "zoneout_h", "dropconnect"})
ACCEPTS = {"rnn": _COMMON | {"activation"},
           "lstm": _COMMON | {"peephole", "proj_size", "zoneout_c"},
           "gru": _COMMON | {"reset_after"}}


def why_not(spec: RecurrentSpec, *, device=None, dtype=None, **_) -> Optional[str]:
    """None when the native kernel runs this exact configuration, else why not."""
    if device is not None and torch.device(device).type != "cpu":
        return f"runs on the CPU only, got device {device}"
    if dtype is not None and dtype not in (torch.float32, torch.float64):
        return f"runs float32 and float64 only, got {dtype}"
    if spec.mode not in ACCEPTS:
        return (f"the native loops run the {', '.join(ACCEPTS)} families only, "
                f"got mode={spec.mode!r}")
    if not spec.uses_default_activations():
        return "the native loops fix the activations (tanh or relu; sigmoid gates)"
    return spec.refuse_options(ACCEPTS[spec.mode], "the native loop") or build.why_unavailable()


def yields(spec: RecurrentSpec, **facts) -> Optional[str]:
    """Under backend="auto", leave a plain LSTM (one torch's fused op runs exactly, no mask)
    to torch's oneDNN LSTM unless this CPU's calibration (calibrate.py, written by
    ``python -m rnnkit.kernels.cpu --calibrate``) measured the native loop at least 5%
    faster for its mode, batch, hidden size and thread count. Without a calibration the
    answer is oneDNN everywhere: the native LSTM won some of these points on a Sapphire
    Rapids VM (training at batch <= 8: 1.0-1.8x) but lost them on an AMD EPYC VM
    (0.43-0.91x, and on one thread 0.4-1.0x: benchmarks/lstm_auto.py), so no point won on
    both. Every other configuration (GRU, RNN, LSTM variants, gappy masks) is unaffected.
    An unknown batch counts as a large one."""
    from rnnkit.kernels import torch_fused
    from rnnkit.kernels.cpu import calibrate

    if not (spec.mode == "lstm" and not spec.peephole and spec.proj_size == 0
            and facts.get("mask_kind", "none") == "none"
            and torch_fused.why_not(spec, **facts) is None):
        return None
    n = torch.get_num_threads()
    batch = facts.get("batch") or 1 << 30
    wins = calibrate.native_wins(bool(facts.get("training")), batch, spec.hidden_size, n,
                                 calibrate.load())
    if wins:
        return None
    if wins is None:
        return ("a plain LSTM goes to torch's oneDNN LSTM on a CPU without a calibration "
                "(the native one lost on some CPUs; `python -m rnnkit.kernels.cpu --calibrate` "
                "measures this one)")
    return (f"this CPU's calibration measured torch's oneDNN LSTM as fast or faster for a "
            f"plain LSTM of this size on {n} thread(s)")


def _mode_key(spec: RecurrentSpec) -> str:
    """The native loop's mode name (function.MODES)."""
    if spec.mode == "rnn":
        return "rnn_relu" if spec.act_fn() is torch.relu else "rnn_tanh"
    if spec.mode in ("lstm", "gru"):
        return spec.mode
    raise AssertionError(f"why_not refused mode={spec.mode!r}; reaching here is a registry bug")


def _input_projection(spec: RecurrentSpec, w: dict, x: Tensor) -> tuple[Tensor, Optional[Tensor]]:
    """xg (T, B, G*H) = W_ih x_t + the biases that simply add; and the GRU's b_hn
    when it sits inside r ⊙ (·) (reset_after). With layer_norm,
    xg = LN(W_ih x_t) ⊙ γ_ih + the same biases (rnnkit.cells.lstm / gru / rnn): the
    LN of all steps at once, the biases added after it (they can't go into the GEMM)."""
    T, B, I = x.shape
    H = spec.hidden_size
    b_ih, b_hh, b_hn = w.get("bias_ih"), w.get("bias_hh"), None
    if spec.mode == "gru" and spec.reset_after and b_hh is not None:
        b_hn = b_hh[2 * H:].contiguous()
        b_hh = F.pad(b_hh[:2 * H], (0, H))  # r and z biases fold; n's does not
    bias = b_ih if b_hh is None else (b_hh if b_ih is None else b_ih + b_hh)
    x2 = x.reshape(T * B, I)
    w_ih = w["weight_ih"]
    if spec.layer_norm:
        xg = F.layer_norm(x2 @ w_ih.t(), (w_ih.shape[0],), w["ln_ih"], bias, spec.ln_eps)
        return xg.view(T, B, -1), b_hn
    xg = torch.addmm(bias, x2, w_ih.t()) if bias is not None else x2 @ w_ih.t()  # (T*B, G*H)
    return xg.view(T, B, -1), b_hn


def _zoneout(spec: RecurrentSpec, training: bool, T: int, B: int, like: Tensor,
             generator: Optional[torch.Generator]):
    """(zone_h, zone_c, zh, zc): per-step keep masks (Krueger et al. 2016) in
    training, drawn in processing order as the reference does (h then c at
    each step); in eval the constant mixing probabilities."""
    zh = spec.zoneout_h
    zc = spec.zoneout_c if spec.mode == "lstm" else 0.0
    if not training or (zh == 0 and zc == 0):
        return None, None, zh, zc
    H, P = spec.hidden_size, spec.state_size
    # One bernoulli over (T, B*P + B*H) consumes the generator exactly as T
    # alternating (B, P), (B, H) draws do (one number per element, in order).
    probs = []
    if zh > 0:
        probs.append(torch.full((T, B * P), zh, dtype=like.dtype))
    if zc > 0:
        probs.append(torch.full((T, B * H), zc, dtype=like.dtype))
    draw = torch.bernoulli(torch.cat(probs, 1), generator=generator)  # (T, ·) in processing order
    zone_h = zone_c = None
    if zh > 0:
        zone_h = draw[:, :B * P].reshape(T, B, P)
    if zc > 0:
        zone_c = draw[:, draw.shape[1] - B * H:].reshape(T, B, H)
    return zone_h, zone_c, 0.0, 0.0


def run_direction(spec: RecurrentSpec, w: dict, x: Tensor, state: tuple[Tensor, ...],
                  mask: Optional[Tensor], *, reverse: bool, training: bool,
                  generator: Optional[torch.Generator] = None):
    """As :func:`rnnkit.kernels.reference.run_direction`, with x's padded steps already zeroed."""
    T, B, I = x.shape
    P = spec.state_size
    dx = keep_mask((B, I), spec.input_dropout, x, generator) \
        if training and spec.input_dropout > 0 else None
    rec = keep_mask((B, P), spec.recurrent_dropout, x, generator) \
        if training and spec.recurrent_dropout > 0 else None
    w_hh = w["weight_hh"]
    if training and spec.dropconnect > 0:
        # Wan et al. 2013 / AWD-LSTM: one mask on W_hh per forward pass.
        w_hh = w_hh * keep_mask(tuple(w_hh.shape), spec.dropconnect, x, generator)
    zone_h, zone_c, zh, zc = _zoneout(spec, training, T, B, x, generator)
    if reverse:  # masks were drawn in processing order; the kernel indexes by input time
        zone_h = None if zone_h is None else zone_h.flip(0)
        zone_c = None if zone_c is None else zone_c.flip(0)
    if dx is not None:
        x = x * dx
    xg, b_hn = _input_projection(spec, w, x)
    lstm = spec.mode == "lstm"
    cfg = Cfg(_mode_key(spec), reverse, spec.reset_after, float(zh), float(zc),
              float(spec.ln_eps))
    cont = lambda t: None if t is None else t.contiguous()  # noqa: E731
    # by the native names (function.py); None: not used
    tensors = {"xg": xg, "w_hh": w_hh.contiguous(), "b_hn": b_hn, "h0": state[0].contiguous(),
               "mask": mask, "rec_mask": rec, "zone_h": cont(zone_h)}
    if lstm:
        tensors.update(c0=state[1].contiguous(), zone_c=cont(zone_c),
                       w_hr=cont(w.get("weight_hr")) if spec.proj_size > 0 else None)
    if spec.peephole:
        tensors.update(w_ci=cont(w["weight_ci"]), w_cf=cont(w["weight_cf"]),
                       w_co=cont(w["weight_co"]))
    if spec.layer_norm:
        tensors.update(ln_hh=cont(w["ln_hh"]), ln_c_weight=cont(w.get("ln_c_weight")),
                       ln_c_bias=cont(w.get("ln_c_bias")))
    out, hN, cN = run_sequence(cfg, tensors)
    return out, ((hN, cN) if lstm else (hN,))


def run(spec: RecurrentSpec, weights: list[dict], x: Tensor, hx: tuple[Tensor, ...],
        mask: Optional[Tensor], *, training: bool, generator: Optional[torch.Generator] = None):
    """Same contract as :func:`rnnkit.kernels.reference.run`, through the one stack engine."""
    mask = None if mask is None else mask.to(device=x.device, dtype=torch.bool).contiguous()
    return run_stack(spec, weights, x, hx, mask, training=training, run_direction=run_direction,
                     generator=generator)
