"""Kernels of the convolutional recurrences (ConvLSTM, ConvGRU) and their table.

Contract of every kernel's ``run(spec, weights, x, hx, mask, training=, generator=)``:
x is time-first (T, B, C, *S_in); ``weights`` one dict per (layer, direction) in
torch's conv layout (:func:`rnnkit.cells.conv_base.conv_param_shapes`); hx a tuple of
states, each (L·D, B, F, *S); mask (T, B) bool or None (True = valid step).
Returns out (T, B, D·F, *S) with zeros at masked steps, and the final states,
each sample's state at its last valid step.

- ``reference``: the plain loop over the cells' step functions, one input
  convolution per step. The oracle.
- ``conv``: the input convolution of all T steps hoisted into one batched
  convolution over T·B samples (Shi et al. 2015's W_x ⋆ X_t does not depend on
  the state), then per step only the recurrent convolution and the gate update;
  channels-last memory for 2-D maps on the CPU, where oneDNN's convolutions run
  faster on it. On CUDA tensors, with triton installed, the gate update is one fused
  Triton kernel each way (:mod:`rnnkit.kernels.triton_conv`; peephole and layer norm
  stay on torch ops). Backward: autograd through the same ops, checked against the
  reference (tests/kernels/test_conv_recurrent.py) on every gradient.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.conv_gru import conv_gru_update
from rnnkit.cells.conv_lstm import conv_lstm_input, conv_lstm_update
from rnnkit.kernels.base import Kernel
from rnnkit.kernels.conv_spec import ConvSpec


def _update(spec: ConvSpec) -> Callable:
    """The cell's update (gx, states, w, h_masks) -> new states, from one table."""
    common = dict(act=spec.activation, ract=spec.recurrent_activation,
                  layer_norm=spec.layer_norm, eps=spec.ln_eps)
    table = {
        "conv_lstm": lambda gx, s, w, m: conv_lstm_update(
            gx, s[0], s[1], w, peephole=spec.peephole, h_masks=m, **common),
        "conv_gru": lambda gx, s, w, m: (conv_gru_update(
            gx, s[0], w, reset_after=spec.reset_after, h_masks=m, **common),),
    }
    return table[spec.mode]


# The devices whose tensors the hoisted path hands to the fused Triton gate kernels
# (rnnkit.kernels.triton_conv). CUDA only: on CPU tensors Triton runs in its interpreter,
# which tests use (they add "cpu" here) and which is far slower than torch's own ops.
TRITON_DEVICES = frozenset({"cuda"})


def _fused_update(spec: ConvSpec, x: Tensor) -> Optional[Callable]:
    """The same update as :func:`_update` with the gate part fused in one Triton kernel
    per step (forward and backward), or None where those kernels don't apply: another
    device, triton missing, or a spec option they don't compute (peephole, layer norm,
    other activations: ``triton_conv.why_not_spec`` names it)."""
    if x.device.type not in TRITON_DEVICES:
        return None
    from rnnkit.kernels import triton_conv as tc
    from rnnkit.kernels.triton_conv_torch import conv_gru_step_update, conv_lstm_step_update

    if tc.why_not_spec(spec) is not None or tc.available(x) is not None:
        return None
    if spec.mode == "conv_lstm":
        return lambda gx, s, w, m: conv_lstm_step_update(gx, s[0], s[1], w,
                                                         gates=tc.lstm_gates, h_masks=m)
    return lambda gx, s, w, m: (conv_gru_step_update(
        gx, s[0], w, reset_after=spec.reset_after, gates=tc.gru_gates, reset=tc.gru_reset,
        h_masks=m),)


def _dropout_masks(like: Tensor, rate: float, n: int, generator) -> Optional[list[Tensor]]:
    """n inverted-dropout masks shaped like ``like`` (one per gate, Keras's ConvLSTMCell)."""
    if rate <= 0.0:
        return None
    keep = 1.0 - rate
    return [torch.bernoulli(torch.full_like(like, keep), generator=generator) / keep
            for _ in range(n)]


def _hold(mask_t: Optional[Tensor], new: tuple, old: tuple, ndim: int) -> tuple:
    """Masked samples keep their state."""
    if mask_t is None:
        return new
    m = mask_t.view((-1,) + (1,) * (ndim - 1))
    return tuple(torch.where(m, a, b) for a, b in zip(new, old))


def _zero_out(mask_t: Optional[Tensor], h: Tensor) -> Tensor:
    if mask_t is None:
        return h
    return h * mask_t.view((-1,) + (1,) * (h.dim() - 1)).to(h.dtype)


def _run(spec: ConvSpec, weights: list, x: Tensor, hx: tuple, mask: Optional[Tensor], *,
         training: bool, generator, hoist: bool, channels_last: bool = False):
    T, B = x.shape[:2]
    D, G = spec.num_directions, spec.gates
    update = (_fused_update(spec, x) if hoist else None) or _update(spec)
    finals: list[list[Tensor]] = [[] for _ in range(spec.n_states)]
    inp = x  # (T, B, C, *S_in)
    for layer in range(spec.num_layers):
        conv = spec.layer_conv(layer)
        outs = []
        for d in range(D):
            w = weights[layer * D + d]
            state = tuple(s[layer * D + d] for s in hx)  # each (B, F, *S)
            x_masks = (_dropout_masks(inp[0], spec.input_dropout, G, generator)
                       if training else None)
            h_masks = (_dropout_masks(state[0], spec.recurrent_dropout, G, generator)
                       if training else None)
            if hoist:
                flat = inp.reshape((T * B,) + inp.shape[2:])  # (T·B, C, *S_in)
                if x_masks is not None:
                    x_masks = [m.repeat((T,) + (1,) * (m.dim() - 1)) for m in x_masks]
                if channels_last:
                    flat = flat.contiguous(memory_format=torch.channels_last)
                gx_all = conv_lstm_input(flat, w, layer_norm=spec.layer_norm, eps=spec.ln_eps,
                                         masks=x_masks, **conv)  # (T·B, G·F, *S)
                # unbind, not gx_all[t]: one backward node that stacks the T gradients,
                # where T separate selects would each write a full (T, B, …) zero tensor.
                gx_steps = gx_all.reshape((T, B) + gx_all.shape[1:]).unbind(0)
            steps = range(T - 1, -1, -1) if d == 1 else range(T)
            ys: list[Optional[Tensor]] = [None] * T
            for t in steps:
                gx = gx_steps[t] if hoist else conv_lstm_input(
                    inp[t], w, layer_norm=spec.layer_norm, eps=spec.ln_eps, masks=x_masks,
                    **conv)  # (B, G·F, *S)
                new = update(gx, state, w, h_masks)
                m_t = None if mask is None else mask[t]
                state = _hold(m_t, new, state, new[0].dim())
                ys[t] = _zero_out(m_t, new[0])
            outs.append(torch.stack(ys))  # (T, B, F, *S)
            for k, s in enumerate(state):
                finals[k].append(s)
        inp = outs[0] if D == 1 else torch.cat(outs, dim=2)  # (T, B, D·F, *S)
        if training and spec.dropout > 0 and layer < spec.num_layers - 1:
            inp = F.dropout(inp, spec.dropout, training=True)
    return inp, tuple(torch.stack(f) for f in finals)


def run_reference(spec: ConvSpec, weights: list, x: Tensor, hx: tuple,
                  mask: Optional[Tensor] = None, *, training: bool = False, generator=None):
    return _run(spec, weights, x, hx, mask, training=training, generator=generator, hoist=False)


# Whether the hoisted 2-D path keeps its maps channels-last, per device type, for a run
# without gradients (inference, streaming) and for one that autograd will differentiate
# (training). Measured by benchmarks/conv_lstm.py, whose "flipped" peer runs the other
# layout (README, "Video and spatial sequences"): on the CPU, channels-last won streaming at B=1
# (1.3-2.3x the per-step module) while channels-first trained faster in two quiet runs
# (0.95-1.14x against 0.75-1.08x the per-step module for channels-last).
# The conv-cpu kernel's joint training path (one [X_t, H_{t-1}] convolution per step,
# kernels/conv_joint.py ConvLSTMJointSeq) has its own table and a filter threshold:
# channels-last trained 1.3-1.7x the per-step module at F >= 16 (16x16 to 64x64 maps)
# against 1.0-1.25x channels-first, but at F = 8 channels-first won (1.13-1.39x against
# 0.88-1.02x at 32x32 and 64x64): the gate pass over rows of F values and oneDNN's
# channels-last convolution with 8 channels are slow (quiet VM, README).
CHANNELS_LAST = {"cpu": True, "cuda": False}
CHANNELS_LAST_TRAINING = {"cpu": False, "cuda": False}
CHANNELS_LAST_JOINT_TRAINING = {"cpu": True, "cuda": False}
JOINT_CHANNELS_LAST_MIN_FILTERS = 16
# Not None: every 2-D map in this layout, whatever the tables say (the benchmark's
# "flipped" peer runs the other layout than the kernels' choice; tests run both).
FORCE_CHANNELS_LAST: Optional[bool] = None


def _needs_grad(*tensors) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def channels_last_for(device_type: str, filters: int, rank: int, grad: bool,
                      joint: bool = False) -> bool:
    """Whether a stack keeps its maps channels-last (see the tables above): 2-D maps only."""
    if rank != 2:
        return False
    if FORCE_CHANNELS_LAST is not None:
        return FORCE_CHANNELS_LAST
    if grad and joint:
        return (CHANNELS_LAST_JOINT_TRAINING.get(device_type, False)
                and filters >= JOINT_CHANNELS_LAST_MIN_FILTERS)
    return (CHANNELS_LAST_TRAINING if grad else CHANNELS_LAST).get(device_type, False)


def _channels_last_helps(spec: ConvSpec, x: Tensor, grad: bool, joint: bool = False) -> bool:
    return channels_last_for(x.device.type, spec.filters, spec.rank, grad, joint)


def run_conv(spec: ConvSpec, weights: list, x: Tensor, hx: tuple,
             mask: Optional[Tensor] = None, *, training: bool = False, generator=None):
    grad = _needs_grad(x, *hx, *[v for w in weights for v in w.values()])
    return _run(spec, weights, x, hx, mask, training=training, generator=generator, hoist=True,
                channels_last=_channels_last_helps(spec, x, grad))


def why_not_conv(spec: ConvSpec, **facts) -> Optional[str]:
    if facts.get("dtype") not in (None, torch.float32, torch.float64, torch.float16,
                                  torch.bfloat16):
        return f"dtype {facts['dtype']} is not a floating type"
    return None


# Collected by rnnkit.kernels.registry into its table of convolutional recurrences.
CONV_KERNELS = (Kernel("reference", 0, lambda spec, **_: None, run_reference,
                       "the plain time loop over rnnkit.cells' conv steps: the oracle"),
                Kernel("conv", 10, why_not_conv, run_conv,
                       "input convolution hoisted over all steps, recurrent conv + gates per step"))
