"""The joint form of a ConvLSTM layer on the conv-cpu kernel, for an input convolution
with the recurrent one's geometry (stride 1, "same", dilation 1): per step ONE convolution
of the concatenated [X_t, H_{t-1}] with [W_x, W_h], as the per-step modules people write
do, then the native fused gates. Training (ConvLSTMJointSeq) and inference
(joint_inference); kernels/conv_fused.py decides when (JOINT_TRAINING, JOINT_INFERENCE)."""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.cells.conv_base import CONV
from rnnkit.kernels import conv_buffers as buf


def joint_weights(w: dict) -> tuple:
    """A layer's weights as the joint form's convolution takes them: [W_x, W_h]
    (G·F, C + F, *k) and one bias b_x + b_h (either may be absent; None for neither)."""
    weight = torch.cat([w["weight_ih"], w["weight_hh"]], dim=1)
    biases = [b for b in (w.get("bias_ih"), w.get("bias_hh")) if b is not None]
    return weight, (biases[0] + biases[1] if len(biases) == 2 else (biases or [None])[0])


def peep_maps(w_ci, w_cf, w_co, fmt) -> tuple:
    """The peephole weights (F, *S) as the native ops take them: (1, F, *S) maps in the
    state's memory format; () without peepholes."""
    if w_ci is None:
        return ()
    return tuple(p.detach().unsqueeze(0).contiguous(memory_format=fmt) for p in (w_ci, w_cf, w_co))


def held_samples(mask, T: int) -> list:
    """Per step t, the indices of the samples whose step is masked (they keep their
    state and output zeros), or None where every sample is valid. mask (T, B) bool."""
    if mask is None:
        return [None] * T
    out = []
    for t in range(T):
        idx = (~mask[t]).nonzero().flatten()
        out.append(idx if idx.numel() else None)
    return out


def _hold(idx, new: Tensor, old: Tensor) -> None:
    """new[b] = old[b] for the masked samples b in idx (a masked step keeps the state)."""
    if idx is not None:
        new.index_copy_(0, idx, old.index_select(0, idx))


def _masked_outputs(hs: Tensor, mask) -> Tensor:
    """Y_t = m_t ∘ H_t: a masked step outputs zeros (the kernels' contract)."""
    if mask is None:
        return hs
    return hs * mask.view(mask.shape + (1,) * (hs.dim() - 2)).to(hs.dtype)


class ConvLSTMJointSeq(torch.autograd.Function):
    """(x (T, B, C, *S), h0, c0 (B, F, *S), W = [W_x, W_h] (4F, C + F, *k), b, mask (T, B)
    or None) -> (Y (T, B, F, *S), H_final, C_final), for an input convolution with the
    recurrent one's geometry (stride 1, "same", dilation 1). Per step ONE convolution of
    [X_t, H_{t-1}] with W (the per-step module's trick) into the fused gates: no
    (T, B, 4F, *S) input-convolution tensor, which at few input channels costs more to
    write and read back than the convolution saves (docs/conv_recurrent.md, "Speed").
    A masked step (m_t = 0 for a sample) keeps that sample's H and C and outputs zeros.
    With peepholes (w_ci, w_cf, w_co (F, *S), Shi et al. 2015), the native gate pass adds
    W_ci ∘ C_{t-1}, W_cf ∘ C_{t-1} and W_co ∘ C_t; their gradients are three sums over all
    steps after the loop.
    Backward: per step dA_t (zero for masked samples, whose dH and dC pass through to
    step t-1 unchanged), then d[X_t, H_{t-1}] = W^T ⋆ dA_t; the weight and bias
    gradients dW = Σ_t dA_t ⋆ [X_t, H_{t-1}], db = Σ_t dA_t are ONE call over all T·B."""

    @staticmethod
    def forward(ctx, x, h0, c0, w, b, w_ci, w_cf, w_co, mask, fmt, reverse: bool):
        T, C, F_ = x.shape[0], x.shape[2], h0.shape[1]
        rec = buf.Rec(w, fmt)
        peep = peep_maps(w_ci, w_cf, w_co, fmt)  # () or W_ci, W_cf, W_co as (1, F, *S)
        held = held_samples(mask, T)
        xh = buf.empty(T, h0, C + F_, fmt)  # (T, B, C + F, *S): [X_t, H_{t-1}] of every step
        xh[:, :, :C].copy_(x)
        hs = buf.empty(T, h0, F_, fmt)  # the outputs, a whole tensor (Y is not a view)
        hbuf = buf.frames(hs, h0.contiguous(memory_format=fmt), reverse)  # order()'s H_i
        cbuf = buf.empty(T + 1, h0, F_, fmt)
        gates = buf.empty(T, h0, 4 * F_, fmt)
        first = T if reverse else 0
        cbuf[first].copy_(c0)
        ops = buf.ops()
        for t, p, n in buf.order(T, reverse):
            xh[t][:, C:].copy_(hbuf[p])
            a = rec.fwd(xh[t], b)  # (B, 4F, *S)
            ops.lstm_forward(a, None, cbuf[p], hbuf[n], cbuf[n], gates[t], True, *peep)
            _hold(held[t], hbuf[n], hbuf[p])
            _hold(held[t], cbuf[n], cbuf[p])
        ctx.rec, ctx.reverse, ctx.has_b, ctx.C, ctx.held = rec, reverse, b is not None, C, held
        ctx.peep = peep
        ctx.save_for_backward(xh, cbuf, gates)
        last = 0 if reverse else T
        # Y is returned as a tensor that is no view (buf.as_output), so that it can be changed
        # in place like torch.nn.LSTM's output: nothing saved reads it (xh holds copies).
        return buf.as_output(_masked_outputs(hs, mask)), hbuf[last], cbuf[last]

    @staticmethod
    @once_differentiable  # the native ops have no autograd: a double backward must raise
    def backward(ctx, d_ys, d_h, d_c):
        xh, cbuf, gates = ctx.saved_tensors
        rec, C, held = ctx.rec, ctx.C, ctx.held
        T, F_ = gates.shape[0], cbuf.shape[2]
        need_x, need_h0 = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ops = buf.ops()
        dA = buf.empty(T, cbuf[0], 4 * F_, rec.fmt)  # (T, B, 4F, *S)
        d_out, dc = buf.grads_in(T, d_ys, d_c, cbuf[0], rec.fmt)
        dh = None if d_h is None else d_h.contiguous(memory_format=rec.fmt)
        dx = xh.new_empty((T,) + tuple(xh.shape[1:2]) + (C,) + tuple(xh.shape[3:])) \
            if need_x else None
        steps = buf.order(T, ctx.reverse)[::-1]
        for k, (t, p, n) in enumerate(steps):
            idx = held[t]
            if idx is not None:  # masked samples: dH, dC pass through this step unchanged
                dh_kept = None if dh is None else dh.index_select(0, idx)
                dc_kept = dc.index_select(0, idx)
            ops.lstm_backward(None if d_out is None else d_out[t], dh, dc, gates[t],
                              cbuf[p], cbuf[n], dA[t], *ctx.peep)
            if idx is not None:
                dA[t].index_fill_(0, idx, 0)
                dc.index_copy_(0, idx, dc_kept)
            if k < T - 1 or need_h0 or need_x:
                d_xh = rec.grad_input(dA[t], xh[t])  # (B, C + F, *S) = W^T ⋆ dA_t
                dh = d_xh[:, C:].contiguous(memory_format=rec.fmt)  # dH_{t-1}
                if idx is not None and dh_kept is not None:
                    dh.index_copy_(0, idx, dh_kept)
                if dx is not None:
                    dx[t].copy_(d_xh[:, :C])
        dw, db = rec.param_grads(dA.flatten(0, 1), xh.flatten(0, 1), ctx.needs_input_grad[3],
                                 ctx.has_b and ctx.needs_input_grad[4])
        d_peep = [None] * 3
        if ctx.peep and any(ctx.needs_input_grad[5:8]):
            # dW_ci = Σ_t dA_i ∘ C_{t-1}, dW_cf = Σ_t dA_f ∘ C_{t-1}, dW_co = Σ_t dA_o ∘ C_t
            # over all T·B (masked samples have dA = 0)
            prev, new = (cbuf[1:], cbuf[:-1]) if ctx.reverse else (cbuf[:-1], cbuf[1:])
            d_peep = [(dA[:, :, k * F_:(k + 1) * F_] * c).sum(dim=(0, 1))
                      for k, c in ((0, prev), (1, prev), (3, new))]
        return (dx, dh if need_h0 else None, dc, dw, db, *d_peep, None, None, None)


@torch.no_grad()
def joint_inference(x: Tensor, state: tuple, w: dict, fmt, reverse: bool, mask=None):
    """ConvLSTM inference without autograd, where the input convolution is stride 1,
    "same", dilation 1 like the recurrent one: per step ONE convolution of [X_t, H_{t-1}]
    with [W_x, W_h] (the per-step module's trick; streaming at T = 1 would otherwise run
    the hoisted input convolution as one more call per frame), then the fused gates
    with no gh. (ConvGRU's reset_after keeps W_hn ⋆ H apart, so it has no joint form.)
    A masked step (mask (T, B) bool, False) keeps that sample's state and outputs zeros.
    Returns Y (T, B, F, *S) and the final (H, C)."""
    T, C, F_ = x.shape[0], x.shape[2], w["weight_hh"].shape[1]
    weight, bias = joint_weights(w)  # (G·F, C + F, *k), (G·F,) or None
    pad = tuple((k - 1) // 2 for k in weight.shape[2:])
    xh = buf.empty(1, state[0], C + F_, fmt)[0]  # (B, C + F, *S)
    hbuf = buf.empty(T + 1, state[0], F_, fmt)
    first = T if reverse else 0
    hbuf[first].copy_(state[0])
    cbuf = buf.empty(T + 1, state[0], F_, fmt)
    cbuf[first].copy_(state[1])
    unused = x.new_empty(0)
    peep = peep_maps(w.get("weight_ci"), w.get("weight_cf"), w.get("weight_co"), fmt)
    held = held_samples(mask, T)
    ops = buf.ops()
    for t, p, n in buf.order(T, reverse):
        xh[:, :C].copy_(x[t])
        xh[:, C:].copy_(hbuf[p])
        a = CONV[weight.dim() - 2](xh, weight, bias, padding=pad)
        a = a.contiguous(memory_format=fmt)  # (B, G·F, *S)
        ops.lstm_forward(a, None, cbuf[p], hbuf[n], cbuf[n], unused, False, *peep)
        _hold(held[t], hbuf[n], hbuf[p])
        _hold(held[t], cbuf[n], cbuf[p])
    last = 0 if reverse else T
    return _masked_outputs(buf.steps(hbuf, reverse), mask), (hbuf[last], cbuf[last])
