"""The joint form of a ConvLSTM layer on the conv-cpu kernel, for an input convolution
with the recurrent one's geometry (stride 1, "same", dilation 1): per step ONE convolution
of the concatenated [X_t, H_{t-1}] with [W_x, W_h], as the per-step modules people write
do, then the native fused gates. Training (ConvLSTMJointSeq) and inference
(joint_inference); kernels/conv_fused.py decides when (JOINT_TRAINING, JOINT_INFERENCE)."""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.conv_base import CONV
from rnnkit.kernels import conv_buffers as buf


class ConvLSTMJointSeq(torch.autograd.Function):
    """(x (T, B, C, *S), h0, c0 (B, F, *S), W = [W_x, W_h] (4F, C + F, *k), b) ->
    (H (T, B, F, *S), C_final), for an input convolution with the recurrent one's geometry
    (stride 1, "same", dilation 1). Per step ONE convolution of [X_t, H_{t-1}] with W
    (the per-step module's trick) into the fused gates: no (T, B, 4F, *S) input-convolution
    tensor, which at few input channels costs more to write and read back than the
    convolution saves (benchmarks/conv_lstm.py's profile: a 1-channel input conv to 4F maps
    ran at ~10 GFLOP/s). Backward: per step dA_t, then d[X_t, H_{t-1}] = W^T ⋆ dA_t; the
    weight gradient dW = Σ_t dA_t ⋆ [X_t, H_{t-1}] is ONE call over all T·B pairs."""

    @staticmethod
    def forward(ctx, x, h0, c0, w, b, fmt, reverse: bool):
        T, C, F_ = x.shape[0], x.shape[2], h0.shape[1]
        rec = buf.Rec(w, fmt)
        xh = buf.empty(T, h0, C + F_, fmt)  # (T, B, C + F, *S): [X_t, H_{t-1}] of every step
        xh[:, :, :C].copy_(x)
        hbuf = buf.empty(T + 1, h0, F_, fmt)
        cbuf = buf.empty(T + 1, h0, F_, fmt)
        gates = buf.empty(T, h0, 4 * F_, fmt)
        first = T if reverse else 0
        hbuf[first].copy_(h0)
        cbuf[first].copy_(c0)
        ops = buf.ops()
        for t, p, n in buf.order(T, reverse):
            xh[t][:, C:].copy_(hbuf[p])
            a = rec.fwd(xh[t], b)  # (B, 4F, *S)
            ops.lstm_forward(a, None, cbuf[p], hbuf[n], cbuf[n], gates[t], True)
        ctx.rec, ctx.reverse, ctx.has_b, ctx.C = rec, reverse, b is not None, C
        ctx.save_for_backward(xh, cbuf, gates)
        hs = hbuf[:-1] if reverse else hbuf[1:]
        return hs, cbuf[0 if reverse else T]

    @staticmethod
    def backward(ctx, d_hs, d_c):
        xh, cbuf, gates = ctx.saved_tensors
        rec, C = ctx.rec, ctx.C
        T, F_ = gates.shape[0], cbuf.shape[2]
        need_x, need_h0 = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ops = buf.ops()
        dA = buf.empty(T, cbuf[0], 4 * F_, rec.fmt)  # (T, B, 4F, *S)
        d_out = None
        if d_hs is not None:
            d_out = buf.empty(T, cbuf[0], F_, rec.fmt)
            d_out.copy_(d_hs)
        dc = torch.empty_like(cbuf[0])
        if d_c is None:
            dc.zero_()
        else:
            dc.copy_(d_c)
        dx = xh.new_empty((T,) + tuple(xh.shape[1:2]) + (C,) + tuple(xh.shape[3:])) \
            if need_x else None
        dh = None
        steps = buf.order(T, ctx.reverse)[::-1]
        for k, (t, p, n) in enumerate(steps):
            ops.lstm_backward(None if d_out is None else d_out[t], dh, dc, gates[t],
                              cbuf[p], cbuf[n], dA[t])
            if k < T - 1 or need_h0 or need_x:
                d_xh = rec.grad_input(dA[t], xh[t])  # (B, C + F, *S) = W^T ⋆ dA_t
                dh = d_xh[:, C:].contiguous(memory_format=rec.fmt)  # dH_{t-1}
                if dx is not None:
                    dx[t].copy_(d_xh[:, :C])
        dw, db = rec.param_grads(dA.flatten(0, 1), xh.flatten(0, 1), ctx.needs_input_grad[3],
                                 ctx.has_b and ctx.needs_input_grad[4])
        return dx, dh if need_h0 else None, dc, dw, db, None, None


@torch.no_grad()
def joint_inference(x: Tensor, state: tuple, w: dict, fmt, reverse: bool):
    """ConvLSTM inference without autograd, where the input convolution is stride 1,
    "same", dilation 1 like the recurrent one: per step ONE convolution of [X_t, H_{t-1}]
    with [W_x, W_h] (the per-step module's trick; streaming at T = 1 would otherwise run
    the hoisted input convolution as one more call per frame), then the fused gates
    with no gh. (ConvGRU's reset_after keeps W_hn ⋆ H apart, so it has no joint form.)
    Returns H (T, B, F, *S) and the final (H, C)."""
    T, C, F_ = x.shape[0], x.shape[2], w["weight_hh"].shape[1]
    weight = torch.cat([w["weight_ih"], w["weight_hh"]], dim=1)  # (G·F, C + F, *k)
    biases = [b for b in (w.get("bias_ih"), w.get("bias_hh")) if b is not None]
    bias = sum(biases) if biases else None
    pad = tuple((k - 1) // 2 for k in weight.shape[2:])
    xh = buf.empty(1, state[0], C + F_, fmt)[0]  # (B, C + F, *S)
    hbuf = buf.empty(T + 1, state[0], F_, fmt)
    first = T if reverse else 0
    hbuf[first].copy_(state[0])
    cbuf = buf.empty(T + 1, state[0], F_, fmt)
    cbuf[first].copy_(state[1])
    unused = x.new_empty(0)
    ops = buf.ops()
    for t, p, n in buf.order(T, reverse):
        xh[:, :C].copy_(x[t])
        xh[:, C:].copy_(hbuf[p])
        a = CONV[weight.dim() - 2](xh, weight, bias, padding=pad)
        a = a.contiguous(memory_format=fmt)  # (B, G·F, *S)
        ops.lstm_forward(a, None, cbuf[p], hbuf[n], cbuf[n], unused, False)
    last = 0 if reverse else T
    hs = hbuf[:-1] if reverse else hbuf[1:]
    return hs, (hbuf[last], cbuf[last])
