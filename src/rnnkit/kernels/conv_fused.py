"""The ``conv-cpu`` kernel: ConvLSTM / ConvGRU with a native fused gate update per step
and a hand-written backward that batches the recurrent weight gradient over time.

Per (layer, direction), with the contract of :mod:`rnnkit.kernels.conv_recurrent`
(ConvLSTM layers with a stride-1 "same" input convolution take the joint form of
:mod:`rnnkit.kernels.conv_joint` instead; the rest, below):

- forward: the input convolution of all T steps is one batched convolution over T·B
  samples (as the ``conv`` kernel); per step, ``gh = W_h ⋆ H_{t-1} + b_h`` (torch's
  convolution) and one native pass (csrc/conv_gates.cpp) over the gate pre-activations
  that writes H_t and C_t into the sequence buffers (and the activated gates, when
  training, for the backward);
- backward: per step (latest first) one native pass gives the gate gradients dA_t and
  dC_{t-1}, then one convolution input-gradient gives dH_{t-1} = W_h^T ⋆ dA_t. The
  recurrent weight gradient dW_h = Σ_t dA_t ⋆ H_{t-1} is ONE convolution weight-gradient
  call over all T·B pairs (H_{t-1}, dA_t) after the loop, instead of T calls, and
  db_h = Σ dA_t one reduction; the input convolution's backward is autograd's, one call.

It runs the plain cells (sigmoid gates, tanh; ConvGRU with reset_after=True), masks
(lengths, holes) where every layer takes the joint form, no input/recurrent dropout
while training, odd kernel sizes (the recurrent convolution's "same" padding is then
even on both sides). Anything else is refused by name (``why_not``) and runs on the
``conv`` kernel.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.cells.conv_lstm import conv_lstm_input
from rnnkit.kernels import conv_buffers as buf
from rnnkit.kernels import conv_joint
from rnnkit.kernels.conv_recurrent import _channels_last_helps, _needs_grad
from rnnkit.kernels.base import Kernel
from rnnkit.kernels.conv_spec import ConvSpec

release_buffers = buf.release_buffers  # public: drop the pooled buffers

# ConvLSTM layers whose input convolution has the recurrent one's geometry (stride 1,
# "same", dilation 1) run the joint form of kernels/conv_joint.py: one convolution of
# [X_t, H_{t-1}] per step instead of the hoisted input convolution + the recurrent one.
# Inference (no autograd): the streaming column of benchmarks/conv_lstm.py.
JOINT_INFERENCE = True
# Training: ConvLSTMJointSeq; with one input channel the hoisted input convolution's
# (T·B, 4F, *S) tensor cost more than it saved (docs/conv_recurrent.md, "Speed").
JOINT_TRAINING = True


class ConvLSTMSeq(torch.autograd.Function):
    """(gx (T, B, 4F, *S), h0, c0 (B, F, *S), W_h, b_h) -> (H (T, B, F, *S), C_final). H is
    a view of the buffer the backward reads (H_{t-1}), so torch refuses in-place changes of
    it: they would change the gradient."""

    @staticmethod
    def forward(ctx, gx, h0, c0, w, b, rec: buf.Rec, reverse: bool, save: bool):
        T, F_ = gx.shape[0], w.shape[1]
        hbuf = buf.empty(T + 1, h0, F_, rec.fmt)  # (T+1, B, F, *S): H_0 and every H_t
        cbuf = buf.empty(T + 1, h0, F_, rec.fmt)
        gates = buf.empty(T, gx[0], 4 * F_, rec.fmt) if save else gx.new_empty(0)
        first = T if reverse else 0
        hbuf[first].copy_(h0)
        cbuf[first].copy_(c0)
        ops = buf.ops()
        for t, p, n in buf.order(T, reverse):
            gh = rec.fwd(hbuf[p], b)  # (B, 4F, *S)
            ops.lstm_forward(gx[t], gh, cbuf[p], hbuf[n], cbuf[n],
                             gates[t] if save else gates, save)
        ctx.rec, ctx.reverse, ctx.has_b = rec, reverse, b is not None
        ctx.save_for_backward(hbuf, cbuf, gates)
        return buf.steps(hbuf, reverse), cbuf[0 if reverse else T]

    @staticmethod
    @once_differentiable  # the native ops have no autograd: a double backward must raise
    def backward(ctx, d_hs, d_c):
        hbuf, cbuf, gates = ctx.saved_tensors
        rec, reverse = ctx.rec, ctx.reverse
        T = gates.shape[0]
        ops = buf.ops()
        dA = buf.empty(T, gates[0], gates.shape[2], rec.fmt)  # (T, B, 4F, *S)
        d_out, dc = buf.grads_in(T, d_hs, d_c, cbuf[0], rec.fmt)
        dh = None
        steps = buf.order(T, reverse)[::-1]
        for k, (t, p, n) in enumerate(steps):
            ops.lstm_backward(None if d_out is None else d_out[t], dh, dc, gates[t],
                              cbuf[p], cbuf[n], dA[t])
            if k < T - 1 or ctx.needs_input_grad[1]:
                dh = rec.grad_input(dA[t], hbuf[p])  # dH_{t-1} = W_h^T ⋆ dA_t
        prev = hbuf[1:] if reverse else hbuf[:-1]  # H_{t-1} of every step t, in t order
        dw, db = rec.param_grads(dA.flatten(0, 1), prev.flatten(0, 1), ctx.needs_input_grad[3],
                                 ctx.has_b and ctx.needs_input_grad[4])
        return dA, dh, dc, dw, db, None, None, None

class ConvGRUSeq(torch.autograd.Function):
    """(gx (T, B, 3F, *S), h0 (B, F, *S), W_h, b_h) -> H (T, B, F, *S) as ConvLSTMSeq's;
    reset_after=True."""

    @staticmethod
    def forward(ctx, gx, h0, w, b, rec: buf.Rec, reverse: bool, save: bool):
        T, F_ = gx.shape[0], w.shape[1]
        hbuf = buf.empty(T + 1, h0, F_, rec.fmt)
        gates = buf.empty(T, gx[0], 4 * F_, rec.fmt) if save else gx.new_empty(0)  # r|z|n|gh_n
        hbuf[T if reverse else 0].copy_(h0)
        ops = buf.ops()
        for t, p, n in buf.order(T, reverse):
            gh = rec.fwd(hbuf[p], b)  # (B, 3F, *S)
            ops.gru_forward(gx[t], gh, hbuf[p], hbuf[n], gates[t] if save else gates, save)
        ctx.rec, ctx.reverse, ctx.has_b = rec, reverse, b is not None
        ctx.save_for_backward(hbuf, gates)
        return buf.steps(hbuf, reverse)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_hs):
        hbuf, gates = ctx.saved_tensors
        rec, reverse = ctx.rec, ctx.reverse
        T, F_ = gates.shape[0], hbuf.shape[2]
        ops = buf.ops()
        dgx = buf.empty(T, hbuf[0], 3 * F_, rec.fmt)
        dgh = buf.empty(T, hbuf[0], 3 * F_, rec.fmt)
        d_out = buf.empty(T, hbuf[0], F_, rec.fmt)
        d_out.copy_(d_hs)
        direct = torch.empty_like(hbuf[0])  # dH ∘ z, the part of dH_{t-1} not through W_h
        dh = None
        steps = buf.order(T, reverse)[::-1]
        for t, p, n in steps:
            ops.gru_backward(d_out[t], dh, gates[t], hbuf[p], dgx[t], dgh[t], direct)
            dh = rec.grad_input(dgh[t], hbuf[p]).add_(direct)
        prev = hbuf[1:] if reverse else hbuf[:-1]
        dw, db = rec.param_grads(dgh.flatten(0, 1), prev.flatten(0, 1), ctx.needs_input_grad[2],
                                 ctx.has_b and ctx.needs_input_grad[3])
        return dgx, dh, dw, db, None, None, None


def _joint_layer(spec: ConvSpec, layer: int) -> bool:
    """Whether this layer's input convolution has the recurrent one's geometry (stride 1,
    "same", dilation 1), so that its ConvLSTM can run the joint form (conv_joint.py)."""
    conv, ones = spec.layer_conv(layer), (1,) * spec.rank
    return (spec.mode == "conv_lstm" and conv["padding"] == "same"
            and tuple(conv["stride"]) == ones and tuple(conv["dilation"]) == ones)


def _all_joint(spec: ConvSpec) -> bool:
    return all(_joint_layer(spec, layer) for layer in range(spec.num_layers))


def why_not(spec: ConvSpec, *, device=None, dtype=None, mask_kind: str = "none",
            training: bool = False, **_) -> Optional[str]:
    """None when this kernel runs the exact configuration, else why not (by name)."""
    if device is not None and torch.device(device).type != "cpu":
        return f"runs on the CPU only, got device {device}"
    if dtype is not None and dtype not in (torch.float32, torch.float64):
        return f"runs float32 and float64 only, got {dtype}"
    if spec.layer_norm:
        return "layer_norm=True: the fused gate loop has no layer norm"
    if spec.mode == "conv_gru" and not spec.reset_after:
        return "reset_after=False needs W_hn ⋆ (r ∘ H), a second convolution inside the step"
    if spec.activation is not torch.tanh or spec.recurrent_activation is not torch.sigmoid:
        return "the fused gate loop fixes the activations (tanh, sigmoid gates)"
    joint_only = ([f"a {mask_kind!r} mask"] if mask_kind != "none" else []) + \
        (["peephole=True"] if spec.peephole else [])
    if joint_only and not (JOINT_TRAINING and JOINT_INFERENCE and _all_joint(spec)):
        return (f"{' and '.join(joint_only)}: only in the joint form (ConvLSTM layers whose "
                "input convolution is stride 1, \"same\", dilation 1)")
    if training and (spec.input_dropout > 0 or spec.recurrent_dropout > 0):
        return "dropout / recurrent_dropout (per-gate masks) while training"
    if any(k % 2 == 0 for k in spec.kernel_size):
        return f"an even kernel_size {spec.kernel_size} pads \"same\" unevenly"
    from rnnkit.kernels.cpu import build

    return build.why_unavailable()

def run(spec: ConvSpec, weights: list, x: Tensor, hx: tuple, mask: Optional[Tensor] = None, *,
        training: bool = False, generator=None):
    """The kernel's ``run``: see this module's docstring and conv_recurrent's contract."""
    del generator  # no dropout masks to draw (why_not)
    if mask is not None:  # (T, B); all-valid is no mask (why_not saw "none")
        mask = None if bool(mask.all()) else mask.bool()
    T, B = x.shape[:2]
    D = spec.num_directions
    finals: list[list[Tensor]] = [[] for _ in range(spec.n_states)]
    inp = x  # (T, B, C, *S_in)
    for layer in range(spec.num_layers):
        conv = spec.layer_conv(layer)
        grad = _needs_grad(inp, *hx, *[v for w in weights for v in w.values()])
        same = _joint_layer(spec, layer)
        joint = JOINT_INFERENCE and same and not grad
        joint_train = JOINT_TRAINING and same and grad
        fmt = (torch.channels_last if _channels_last_helps(spec, x, grad, joint_train)
               else torch.contiguous_format)
        flat = None if joint or joint_train else inp.reshape((T * B,) + inp.shape[2:]).contiguous(
            memory_format=fmt)
        outs = []
        for d in range(D):
            w = weights[layer * D + d]
            state = tuple(s[layer * D + d] for s in hx)  # each (B, F, *S)
            if joint:
                hs, fin = conv_joint.joint_inference(inp, state, w, fmt, d == 1, mask)
                for k, f in enumerate(fin):
                    finals[k].append(f)
                outs.append(hs)
                continue
            last = 0 if d == 1 else T - 1
            if joint_train:
                wj, bj = conv_joint.joint_weights(w)  # (4F, C + F, *k), (4F,) or None
                hs, h_n, c_n = conv_joint.ConvLSTMJointSeq.apply(
                    inp, state[0], state[1], wj, bj, w.get("weight_ci"), w.get("weight_cf"),
                    w.get("weight_co"), mask, fmt, d == 1)
                finals[0].append(h_n)
                finals[1].append(c_n)
                outs.append(hs)
                continue
            assert mask is None, "why_not lets masks through for joint layers only"
            gx = conv_lstm_input(flat, w, **conv)  # (T·B, G·F, *S)
            gx = gx.contiguous(memory_format=fmt).unflatten(0, (T, B))
            rec = buf.Rec(w["weight_hh"], fmt)
            if spec.mode == "conv_lstm":
                hs, c_n = ConvLSTMSeq.apply(gx, state[0], state[1], w["weight_hh"],
                                            w.get("bias_hh"), rec, d == 1, grad)
                finals[1].append(c_n)
            else:
                hs = ConvGRUSeq.apply(gx, state[0], w["weight_hh"], w.get("bias_hh"), rec, d == 1,
                                      grad)
            finals[0].append(hs[last])
            outs.append(hs)  # (T, B, F, *S)
        inp = outs[0] if D == 1 else torch.cat(outs, dim=2)  # (T, B, D·F, *S)
        if training and spec.dropout > 0 and layer < spec.num_layers - 1:
            inp = F.dropout(inp, spec.dropout, training=True)
    return inp, tuple(torch.stack(f) for f in finals)


# Collected by rnnkit.kernels.registry into its table of convolutional recurrences.
CONV_KERNELS = (Kernel("conv-cpu", 20, why_not, run,
                       "the conv kernel with a native fused gate update and a hand-written "
                       "backward (recurrent weight gradient in one call over all steps)"),)
