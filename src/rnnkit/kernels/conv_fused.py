"""The ``conv-cpu`` kernel: ConvLSTM / ConvGRU with a native fused gate update per step
and a hand-written backward that batches the recurrent weight gradient over time.

Per (layer, direction), with the contract of :mod:`rnnkit.kernels.conv_recurrent`:

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

It runs the plain cells (sigmoid gates, tanh; ConvGRU with reset_after=True), unmasked
(or all-valid) sequences, no input/recurrent dropout while training, odd kernel sizes
(the recurrent convolution's "same" padding is then even on both sides). Anything else
is refused by name (``why_not``) and runs on the ``conv`` kernel.
"""
from __future__ import annotations

import math
import threading
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.conv_base import CONV
from rnnkit.cells.conv_lstm import conv_lstm_input
from rnnkit.kernels.conv_recurrent import _channels_last_helps, _needs_grad
from rnnkit.kernels.base import Kernel
from rnnkit.kernels.conv_spec import ConvSpec


# Inference (no autograd) of ConvLSTM layers whose input convolution has the recurrent
# one's geometry: one joint convolution per step (_joint_inference) instead of the hoisted
# input convolution + the recurrent one (the streaming column of benchmarks/conv_lstm.py).
JOINT_INFERENCE = True
# Training of such layers: ConvLSTMJointSeq (one convolution of [X_t, H_{t-1}] per step,
# one weight-gradient call for all steps) instead of the hoisted input convolution.
JOINT_TRAINING = True


def _ops():
    from rnnkit.kernels.cpu import build

    build.load()  # registers torch.ops.rnnkit_conv (TORCH_LIBRARY_FRAGMENT in conv_gates.cpp)
    return torch.ops.rnnkit_conv


class _Rec:
    """The recurrent convolution W_h ⋆ H (stride 1, even "same" padding) and its two
    gradients, in the sequence's memory format."""

    def __init__(self, w: Tensor, fmt: torch.memory_format):
        rank = w.dim() - 2
        self.w, self.fmt, self.rank = w, fmt, rank
        self.dil = (1,) * rank  # cells/conv_lstm.py recurrent_conv: stride 1, dilation 1
        self.pad = tuple((k - 1) // 2 for k in w.shape[2:])  # odd k (why_not): even padding

    def fwd(self, h: Tensor, b: Optional[Tensor]) -> Tensor:
        out = CONV[self.rank](h, self.w, b, padding=self.pad, dilation=self.dil)
        return out.contiguous(memory_format=self.fmt)

    def _bwd(self, dy: Tensor, x: Tensor, mask: list) -> tuple:
        return torch.ops.aten.convolution_backward(
            dy, x, self.w, None, (1,) * self.rank, self.pad, self.dil, False,
            (0,) * self.rank, 1, mask)

    def grad_input(self, dy: Tensor, h_like: Tensor) -> Tensor:  # W_h^T ⋆ dy
        return self._bwd(dy, h_like, [True, False, False])[0].contiguous(memory_format=self.fmt)

    def param_grads(self, dy_all: Tensor, h_all: Tensor, weight: bool, bias: bool) -> tuple:
        """(dW, db) summed over all N = T·B pairs in ONE call (None where not asked for)."""
        if not (weight or bias):
            return None, None
        _, dw, db = torch.ops.aten.convolution_backward(
            dy_all, h_all, self.w, [self.w.shape[0]] if bias else None, (1,) * self.rank,
            self.pad, self.dil, False, (0,) * self.rank, 1, [False, weight, bias])
        return dw, db


class _Pool:
    """Large buffers kept across calls. glibc serves allocations above 32 MB with a fresh
    mmap each time, and the first write to each page then faults: on this project's VM
    that made a gate pass over a new (T, B, 4F, *S) buffer ~5x slower than over a reused
    one (measured with csrc/conv_gates.cpp's lstm_forward, B=8, F=16, 64x64, T=10).
    A buffer is handed out again only when nothing else references its storage (no
    view, output or saved tensor of an earlier call is alive: torch's storage use
    count), so reuse can't overwrite anything still readable."""

    MIN_BYTES = 1 << 22  # smaller buffers come from malloc's own free lists
    PER_KEY, MAX_BYTES = 4, 1 << 30  # at most 4 buffers per shape, 1 GiB in all

    def __init__(self):
        self.items: dict[tuple, list[tuple[Tensor, int]]] = {}
        self.bytes = 0
        self.lock = threading.Lock()
        self.count = getattr(torch._C, "_storage_Use_Count", None)  # None: no pooling

    def _uses(self, t: Tensor) -> int:
        return self.count(t.untyped_storage()._cdata)

    def get(self, shape: tuple, dtype, device) -> Tensor:
        nbytes = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        if self.count is None or nbytes < self.MIN_BYTES or torch.device(device).type != "cpu":
            return torch.empty(shape, dtype=dtype, device=device)
        key = (shape, dtype, str(device))
        with self.lock:  # the detach() inside the lock marks the buffer as taken
            entries = self.items.setdefault(key, [])
            for t, free in entries:
                if self._uses(t) == free:
                    return t.detach()
            t = torch.empty(shape, dtype=dtype, device=device)
            if len(entries) < self.PER_KEY and self.bytes + nbytes <= self.MAX_BYTES:
                entries.append((t, self._uses(t)))
                self.bytes += nbytes
            return t.detach()

    def clear(self) -> None:
        with self.lock:
            self.items, self.bytes = {}, 0


_POOL = _Pool()


def release_buffers() -> None:
    """Drop the pooled buffers (memory that outputs still use stays with them)."""
    _POOL.clear()


def _empty(n: int, like: Tensor, channels: int, fmt) -> Tensor:
    """(n, B, channels, *S) whose every [k] is contiguous in ``fmt``, with the strides
    torch expects even at B = 1 (an unflattened (n·B, ...) buffer has a batch stride that
    makes torch's convolutions take a B = 1 channels-last map for a channels-first one,
    and copy it). Large ones come from _POOL."""
    B, S = like.shape[0], tuple(like.shape[2:])
    if fmt == torch.contiguous_format:
        return _POOL.get((n, B, channels) + S, like.dtype, like.device)
    return _POOL.get((n, B) + S + (channels,), like.dtype, like.device).movedim(-1, 2)


def _order(T: int, reverse: bool):
    """Per step t: (t, index of H_{t-1}, index of H_t) in the (T+1)-state buffer."""
    return [(t, t + 1, t) for t in range(T - 1, -1, -1)] if reverse else \
        [(t, t, t + 1) for t in range(T)]


class ConvLSTMSeq(torch.autograd.Function):
    """(gx (T, B, 4F, *S), h0, c0 (B, F, *S), W_h, b_h) -> (H (T, B, F, *S), C_final)."""

    @staticmethod
    def forward(ctx, gx, h0, c0, w, b, rec: _Rec, reverse: bool, save: bool):
        T, F_ = gx.shape[0], w.shape[1]
        hbuf = _empty(T + 1, h0, F_, rec.fmt)  # (T+1, B, F, *S): H_0 and every H_t
        cbuf = _empty(T + 1, h0, F_, rec.fmt)
        gates = _empty(T, gx[0], 4 * F_, rec.fmt) if save else gx.new_empty(0)
        first = T if reverse else 0
        hbuf[first].copy_(h0)
        cbuf[first].copy_(c0)
        ops = _ops()
        for t, p, n in _order(T, reverse):
            gh = rec.fwd(hbuf[p], b)  # (B, 4F, *S)
            ops.lstm_forward(gx[t], gh, cbuf[p], hbuf[n], cbuf[n],
                             gates[t] if save else gates, save)
        ctx.rec, ctx.reverse, ctx.has_b = rec, reverse, b is not None
        ctx.save_for_backward(hbuf, cbuf, gates)
        hs = hbuf[:-1] if reverse else hbuf[1:]
        return hs, cbuf[0 if reverse else T]

    @staticmethod
    def backward(ctx, d_hs, d_c):
        hbuf, cbuf, gates = ctx.saved_tensors
        rec, reverse = ctx.rec, ctx.reverse
        T = gates.shape[0]
        ops = _ops()
        dA = _empty(T, gates[0], gates.shape[2], rec.fmt)  # (T, B, 4F, *S)
        d_out = None
        if d_hs is not None:
            d_out = _empty(T, hbuf[0], hbuf.shape[2], rec.fmt)
            d_out.copy_(d_hs)
        dc = torch.empty_like(cbuf[0])  # dC carried backwards, updated in place
        if d_c is None:
            dc.zero_()
        else:
            dc.copy_(d_c)
        dh = None
        steps = _order(T, reverse)[::-1]
        for k, (t, p, n) in enumerate(steps):
            ops.lstm_backward(None if d_out is None else d_out[t], dh, dc, gates[t],
                              cbuf[p], cbuf[n], dA[t])
            if k < T - 1 or ctx.needs_input_grad[1]:
                dh = rec.grad_input(dA[t], hbuf[p])  # dH_{t-1} = W_h^T ⋆ dA_t
        prev = hbuf[1:] if reverse else hbuf[:-1]  # H_{t-1} of every step t, in t order
        dw, db = rec.param_grads(dA.flatten(0, 1), prev.flatten(0, 1), ctx.needs_input_grad[3],
                                 ctx.has_b and ctx.needs_input_grad[4])
        return dA, dh, dc, dw, db, None, None, None


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
        rec = _Rec(w, fmt)
        xh = _empty(T, h0, C + F_, fmt)  # (T, B, C + F, *S): [X_t, H_{t-1}] of every step
        xh[:, :, :C].copy_(x)
        hbuf = _empty(T + 1, h0, F_, fmt)
        cbuf = _empty(T + 1, h0, F_, fmt)
        gates = _empty(T, h0, 4 * F_, fmt)
        first = T if reverse else 0
        hbuf[first].copy_(h0)
        cbuf[first].copy_(c0)
        zero_h0 = not bool(h0.any())  # the layers' default state: the first step is W_x ⋆ X
        ops = _ops()
        for k, (t, p, n) in enumerate(_order(T, reverse)):
            xh[t][:, C:].copy_(hbuf[p])
            if k == 0 and zero_h0:
                a = CONV[rec.rank](x[t], w[:, :C], b, padding=rec.pad)
                a = a.contiguous(memory_format=fmt)  # (B, 4F, *S)
            else:
                a = rec.fwd(xh[t], b)  # (B, 4F, *S)
            ops.lstm_forward(a, None, cbuf[p], hbuf[n], cbuf[n], gates[t], True)
        ctx.rec, ctx.reverse, ctx.has_b, ctx.C, ctx.zero_h0 = rec, reverse, b is not None, C, zero_h0
        ctx.save_for_backward(xh, cbuf, gates)
        hs = hbuf[:-1] if reverse else hbuf[1:]
        return hs, cbuf[0 if reverse else T]

    @staticmethod
    def backward(ctx, d_hs, d_c):
        xh, cbuf, gates = ctx.saved_tensors
        rec, C = ctx.rec, ctx.C
        T, F_ = gates.shape[0], cbuf.shape[2]
        need_x, need_h0 = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ops = _ops()
        dA = _empty(T, cbuf[0], 4 * F_, rec.fmt)  # (T, B, 4F, *S)
        d_out = None
        if d_hs is not None:
            d_out = _empty(T, cbuf[0], F_, rec.fmt)
            d_out.copy_(d_hs)
        dc = torch.empty_like(cbuf[0])
        if d_c is None:
            dc.zero_()
        else:
            dc.copy_(d_c)
        dx = xh.new_empty((T,) + tuple(xh.shape[1:2]) + (C,) + tuple(xh.shape[3:])) \
            if need_x else None
        dh = None
        steps = _order(T, ctx.reverse)[::-1]
        for k, (t, p, n) in enumerate(steps):
            ops.lstm_backward(None if d_out is None else d_out[t], dh, dc, gates[t],
                              cbuf[p], cbuf[n], dA[t])
            if k < T - 1 or need_h0 or need_x:
                d_xh = rec.grad_input(dA[t], xh[t])  # (B, C + F, *S) = W^T ⋆ dA_t
                dh = d_xh[:, C:].contiguous(memory_format=rec.fmt)  # dH_{t-1}
                if dx is not None:
                    dx[t].copy_(d_xh[:, :C])
        need_w, need_b = ctx.needs_input_grad[3], ctx.has_b and ctx.needs_input_grad[4]
        if not ctx.zero_h0:
            dw, db = rec.param_grads(dA.flatten(0, 1), xh.flatten(0, 1), need_w, need_b)
            return dx, dh if need_h0 else None, dc, dw, db, None, None
        # H_0 = 0: the first step's pair contributes only to the W_x columns, one small call
        f, rest = (T - 1, slice(0, T - 1)) if ctx.reverse else (0, slice(1, T))
        dw, db = (rec.param_grads(dA[rest].flatten(0, 1), xh[rest].flatten(0, 1), need_w, need_b)
                  if T > 1 else (None, None))
        first = _Rec(rec.w[:, :C], rec.fmt)
        dw0, db0 = first.param_grads(dA[f], xh[f][:, :C].contiguous(memory_format=rec.fmt),
                                     need_w, need_b)
        if need_w and dw is None:  # T = 1
            dw = torch.cat([dw0, torch.zeros_like(rec.w[:, C:])], dim=1)
        elif need_w:
            dw[:, :C].add_(dw0)
        if need_b:
            db = db0 if db is None else db.add_(db0)
        return dx, dh if need_h0 else None, dc, dw, db, None, None


class ConvGRUSeq(torch.autograd.Function):
    """(gx (T, B, 3F, *S), h0 (B, F, *S), W_h, b_h) -> H (T, B, F, *S); reset_after=True."""

    @staticmethod
    def forward(ctx, gx, h0, w, b, rec: _Rec, reverse: bool, save: bool):
        T, F_ = gx.shape[0], w.shape[1]
        hbuf = _empty(T + 1, h0, F_, rec.fmt)
        gates = _empty(T, gx[0], 4 * F_, rec.fmt) if save else gx.new_empty(0)  # r|z|n|gh_n
        hbuf[T if reverse else 0].copy_(h0)
        ops = _ops()
        for t, p, n in _order(T, reverse):
            gh = rec.fwd(hbuf[p], b)  # (B, 3F, *S)
            ops.gru_forward(gx[t], gh, hbuf[p], hbuf[n], gates[t] if save else gates, save)
        ctx.rec, ctx.reverse, ctx.has_b = rec, reverse, b is not None
        ctx.save_for_backward(hbuf, gates)
        return hbuf[:-1] if reverse else hbuf[1:]

    @staticmethod
    def backward(ctx, d_hs):
        hbuf, gates = ctx.saved_tensors
        rec, reverse = ctx.rec, ctx.reverse
        T, F_ = gates.shape[0], hbuf.shape[2]
        ops = _ops()
        dgx = _empty(T, hbuf[0], 3 * F_, rec.fmt)
        dgh = _empty(T, hbuf[0], 3 * F_, rec.fmt)
        d_out = _empty(T, hbuf[0], F_, rec.fmt)
        d_out.copy_(d_hs)
        direct = torch.empty_like(hbuf[0])  # dH ∘ z, the part of dH_{t-1} not through W_h
        dh = None
        steps = _order(T, reverse)[::-1]
        for t, p, n in steps:
            ops.gru_backward(d_out[t], dh, gates[t], hbuf[p], dgx[t], dgh[t], direct)
            dh = rec.grad_input(dgh[t], hbuf[p]).add_(direct)
        prev = hbuf[1:] if reverse else hbuf[:-1]
        dw, db = rec.param_grads(dgh.flatten(0, 1), prev.flatten(0, 1), ctx.needs_input_grad[2],
                                 ctx.has_b and ctx.needs_input_grad[3])
        return dgx, dh, dw, db, None, None, None


def why_not(spec: ConvSpec, *, device=None, dtype=None, mask_kind: str = "none",
            training: bool = False, **_) -> Optional[str]:
    """None when this kernel runs the exact configuration, else why not (by name)."""
    if device is not None and torch.device(device).type != "cpu":
        return f"runs on the CPU only, got device {device}"
    if dtype is not None and dtype not in (torch.float32, torch.float64):
        return f"runs float32 and float64 only, got {dtype}"
    if spec.peephole:
        return "peephole=True: the fused gate loop has no peephole terms"
    if spec.layer_norm:
        return "layer_norm=True: the fused gate loop has no layer norm"
    if spec.mode == "conv_gru" and not spec.reset_after:
        return "reset_after=False needs W_hn ⋆ (r ∘ H), a second convolution inside the step"
    if spec.activation is not torch.tanh or spec.recurrent_activation is not torch.sigmoid:
        return "the fused gate loop fixes the activations (tanh, sigmoid gates)"
    if mask_kind != "none":
        return f"runs unmasked sequences only, got a {mask_kind!r} mask"
    if training and (spec.input_dropout > 0 or spec.recurrent_dropout > 0):
        return "dropout / recurrent_dropout (per-gate masks) while training"
    if any(k % 2 == 0 for k in spec.kernel_size):
        return f"an even kernel_size {spec.kernel_size} pads \"same\" unevenly"
    from rnnkit.kernels.cpu import build

    return build.why_unavailable()


@torch.no_grad()
def _joint_inference(x: Tensor, state: tuple, w: dict, fmt, reverse: bool):
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
    xh = _empty(1, state[0], C + F_, fmt)[0]  # (B, C + F, *S)
    hbuf = _empty(T + 1, state[0], F_, fmt)
    first = T if reverse else 0
    hbuf[first].copy_(state[0])
    cbuf = _empty(T + 1, state[0], F_, fmt)
    cbuf[first].copy_(state[1])
    unused = x.new_empty(0)
    ops = _ops()
    for t, p, n in _order(T, reverse):
        xh[:, :C].copy_(x[t])
        xh[:, C:].copy_(hbuf[p])
        a = CONV[weight.dim() - 2](xh, weight, bias, padding=pad)
        a = a.contiguous(memory_format=fmt)  # (B, G·F, *S)
        ops.lstm_forward(a, None, cbuf[p], hbuf[n], cbuf[n], unused, False)
    last = 0 if reverse else T
    hs = hbuf[:-1] if reverse else hbuf[1:]
    return hs, (hbuf[last], cbuf[last])


def run(spec: ConvSpec, weights: list, x: Tensor, hx: tuple, mask: Optional[Tensor] = None, *,
        training: bool = False, generator=None):
    """The kernel's ``run``: see this module's docstring and conv_recurrent's contract."""
    del mask, generator  # all-valid (why_not refuses others); no dropout masks to draw
    T, B = x.shape[:2]
    D = spec.num_directions
    finals: list[list[Tensor]] = [[] for _ in range(spec.n_states)]
    inp = x  # (T, B, C, *S_in)
    for layer in range(spec.num_layers):
        conv = spec.layer_conv(layer)
        ones = (1,) * spec.rank
        grad = _needs_grad(inp, *hx, *[v for w in weights for v in w.values()])
        same = (spec.mode == "conv_lstm" and conv["padding"] == "same"
                and tuple(conv["stride"]) == ones and tuple(conv["dilation"]) == ones)
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
                hs, fin = _joint_inference(inp, state, w, fmt, d == 1)
                for k, f in enumerate(fin):
                    finals[k].append(f)
                outs.append(hs)
                continue
            last = 0 if d == 1 else T - 1
            if joint_train:
                wj = torch.cat([w["weight_ih"], w["weight_hh"]], dim=1)  # (4F, C + F, *k)
                biases = [b for b in (w.get("bias_ih"), w.get("bias_hh")) if b is not None]
                bj = biases[0] + biases[1] if len(biases) == 2 else (biases or [None])[0]
                hs, c_n = ConvLSTMJointSeq.apply(inp, state[0], state[1], wj, bj, fmt, d == 1)
                finals[0].append(hs[last])
                finals[1].append(c_n)
                outs.append(hs)
                continue
            gx = conv_lstm_input(flat, w, **conv)  # (T·B, G·F, *S)
            gx = gx.contiguous(memory_format=fmt).unflatten(0, (T, B))
            rec = _Rec(w["weight_hh"], fmt)
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
