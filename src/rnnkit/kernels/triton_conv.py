r"""Fused per-step gate updates of ConvLSTM and ConvGRU in Triton (CUDA), each
beside its plain torch-ops twin (``*_torch``, the contract's reference).

Per step the conv fast path needs only the recurrent convolution and one gate
update; these functions are the gate update, one kernel launch forward and one
backward, where torch ops launch ~10 element-wise kernels each way. The
convolutions stay torch's (cuDNN). Scope: σ = sigmoid and act = tanh, no
peephole, no layer norm (:func:`why_not_spec` refuses the rest by name).

ConvLSTM, gate order i, f, g, o (``rnnkit.cells.conv_lstm``)::

    lstm_gates(pre, c_prev) -> (h, c)      pre = W_x ⋆ X_t + b_x + W_h ⋆ H_{t-1} + b_h  (B, 4F, *S)
    i, f, o = σ(A_i), σ(A_f), σ(A_o);  g = tanh(A_g)
    c = f ∘ c_prev + i ∘ g;  h = o ∘ tanh(c)                                          (B, F, *S)

ConvGRU, gate order r, z, n (``rnnkit.cells.conv_gru``); xg = W_x ⋆ X_t + b_x and
hg the recurrent part, both (B, 3F, *S) with their biases::

    gru_gates(xg, hg, h_prev, reset_after) -> h
    z = σ(X_z + H_z)
    reset_after=True:  r = σ(X_r + H_r);  h̃ = tanh(X_n + r ∘ H_n),  H_n = W_hn ⋆ H_{t-1} + b_hn
    reset_after=False: h̃ = tanh(X_n + H_n),                          H_n = W_hn ⋆ (r ∘ H_{t-1}) + b_hn
    h = z ∘ h_prev + (1 − z) ∘ h̃

With reset_after=False (Ballas et al. 2016) r sits inside a convolution, so one
element-wise kernel cannot cover the step: :func:`gru_reset` (r ∘ H_{t-1} from
the r blocks of xg and hg) runs first, the caller convolves its output, then
:func:`gru_gates` reads H_n from hg's n block and ignores hg's r block (its
gradient there is zero; r's gradient arrives through gru_reset).

Saved for backward (the backward kernels recompute the gates, a few
transcendentals per element, cheaper than storing them on a memory-bound step):
lstm_gates keeps pre and c_prev, 5F per sample and position, the least that
determines every gradient — storing the activated gates instead would write
4F more in the forward pass for the same memory; the GRU functions keep their
inputs xg, hg, h_prev (h_prev is held by the recurrent convolution's backward
anyway, xg is a slice of the hoisted input convolution), writing nothing extra.

Devices: CUDA tensors run compiled kernels; CPU tensors run them in Triton's
interpreter when TRITON_INTERPRET=1 (for the tests); :func:`available` says which.
dtypes: float32 and float64 compute in their own precision; float16 and
bfloat16 are loaded into float32 and stored back (tested on lstm_gates' forward).
"""
from __future__ import annotations

import contextlib
import os
from typing import Optional

import torch
from torch import Tensor

from rnnkit.kernels.triton_conv_torch import gru_gates_torch, gru_reset_torch, lstm_gates_torch

__all__ = ["available", "why_not_spec", "lstm_gates", "gru_gates", "gru_reset",
           "lstm_gates_torch", "gru_gates_torch", "gru_reset_torch"]

DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
BLOCK = {"cuda": 1024, "cpu": 4096}  # the interpreter runs a block as one numpy op: larger is faster


def _triton_missing() -> Optional[str]:
    try:
        import triton  # noqa: F401
    except ImportError as err:
        return f"triton is not importable ({err}); install rnnkit[gpu]"
    return None


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def available(tensor: Tensor) -> Optional[str]:
    """None if the Triton kernels can run on ``tensor``'s device and dtype, else why not."""
    missing = _triton_missing()
    if missing:
        return missing
    if tensor.dtype not in DTYPES:
        return f"dtype {tensor.dtype} is not one of {', '.join(map(str, DTYPES))}"
    if tensor.device.type == "cuda":
        return None
    if tensor.device.type == "cpu" and _interpreting():
        return None
    return (f"the tensor is on {tensor.device}: the Triton kernels run on CUDA tensors "
            "(CPU tensors only in Triton's interpreter, TRITON_INTERPRET=1, for tests)")


def why_not_spec(spec) -> Optional[str]:
    """None if a :class:`rnnkit.kernels.conv_spec.ConvSpec`'s gate update is what these
    kernels compute, else the reason (for a dispatcher that refuses by name)."""
    if spec.peephole:
        return "peephole=True is not fused (the Hadamard terms stay on torch ops)"
    if spec.layer_norm:
        return "layer_norm=True is not fused (the normalisation needs whole-sample statistics)"
    if spec.activation is not torch.tanh:
        return f"activation {getattr(spec.activation, '__name__', spec.activation)} is not tanh"
    if spec.recurrent_activation is not torch.sigmoid:
        name = getattr(spec.recurrent_activation, "__name__", spec.recurrent_activation)
        return f"recurrent_activation {name} is not sigmoid"
    return None


_KERNELS: dict = {}


def _kernel(name: str, device: torch.device):
    """The kernel ``name`` of _triton_conv_kernels, compiled for CUDA or interpreted on CPU.
    Chosen per call rather than by ``triton.jit`` at import, which reads TRITON_INTERPRET once."""
    interpret = device.type == "cpu"
    key = (name, interpret)
    if key not in _KERNELS:
        from rnnkit.kernels import _triton_conv_kernels as src
        fn = getattr(src, name)
        if interpret:
            from triton.runtime.interpreter import InterpretedFunction
            _KERNELS[key] = InterpretedFunction(fn)
        else:
            import triton
            _KERNELS[key] = triton.JITFunction(fn)
    return _KERNELS[key]


MAX_GRID_Y = 65535  # CUDA's limit on a grid's second dimension (the samples)


def _launch(name: str, tensors: tuple, FN: int, *rest) -> None:
    """Run kernel ``name`` on grid (⌈FN / BLOCK⌉, B), B = tensors[0].shape[0]; more than
    MAX_GRID_Y samples in chunks, each given the tensors' samples b0 … b0 + MAX_GRID_Y − 1."""
    import triton
    import triton.language as tl
    like = tensors[0]
    B, block = like.shape[0], BLOCK[like.device.type]
    acc = tl.float64 if like.dtype == torch.float64 else tl.float32
    kernel = _kernel(name, like.device)
    with torch.cuda.device(like.device) if like.is_cuda else contextlib.nullcontext():
        for b0 in range(0, B, MAX_GRID_Y):
            part = tensors if B <= MAX_GRID_Y else [t[b0:b0 + MAX_GRID_Y] for t in tensors]
            grid = (triton.cdiv(FN, block), min(B - b0, MAX_GRID_Y))
            kernel[grid](*part, FN, *rest, ACC=acc, BLOCK=block)


def _block_stride(t: Tensor) -> tuple[Tensor, int]:
    """(t, its batch stride) if each sample's block is contiguous (a channel slice of a
    contiguous tensor is), else (a contiguous copy, its batch stride)."""
    inner = t[0] if t.shape[0] else t
    if t.shape[0] and not inner.is_contiguous():
        t = t.contiguous()
    return t, t.stride(0)


def _check(name: str, t, channels: Optional[int], like: Optional[Tensor], *, what: str) -> None:
    """t is a (B, C, *S) tensor with C = channels (None: any), like ``like`` in B, S,
    dtype and device."""
    if not isinstance(t, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(t).__name__}")
    if t.dim() < 3:
        raise ValueError(f"`{name}` must be (B, C, *S) with at least one spatial dimension, "
                         f"got shape {tuple(t.shape)}")
    if channels is not None and t.shape[1] != channels:
        raise ValueError(f"`{name}` must have {what} = {channels} channels, got {t.shape[1]}")
    if like is None:
        return
    if t.shape[0] != like.shape[0] or t.shape[2:] != like.shape[2:]:
        raise ValueError(f"`{name}` has batch and spatial shape {(t.shape[0],) + tuple(t.shape[2:])}, "
                         f"expected {(like.shape[0],) + tuple(like.shape[2:])}")
    if t.dtype != like.dtype or t.device != like.device:
        raise ValueError(f"`{name}` is {t.dtype} on {t.device}, expected {like.dtype} on {like.device}")


def _require(t: Tensor, name: str) -> None:
    why = available(t)
    if why:
        raise ValueError(f"`{name}` cannot use the Triton gate kernels: {why}")


class _LSTMGates(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pre: Tensor, c_prev: Tensor):
        pre, s_pre = _block_stride(pre)
        c_prev, s_c = _block_stride(c_prev)
        FN = c_prev[0].numel() if c_prev.shape[0] else 0
        h = torch.empty_like(c_prev, memory_format=torch.contiguous_format)
        c = torch.empty_like(h)
        if h.numel():
            _launch("lstm_fwd", (pre, c_prev, h, c), FN, s_pre, s_c)
        ctx.save_for_backward(pre, c_prev)
        ctx.strides = (FN, s_pre, s_c)
        return h, c

    @staticmethod
    def backward(ctx, dh: Tensor, dc: Tensor):
        pre, c_prev = ctx.saved_tensors
        FN, s_pre, s_c = ctx.strides
        dh, dc = dh.contiguous(), dc.contiguous()  # zeros expanded by autograd become real zeros
        dpre = torch.empty(pre.shape, dtype=pre.dtype, device=pre.device)  # (B, 4F, *S)
        dc_prev = torch.empty_like(dc)  # (B, F, *S)
        if dc.numel():
            _launch("lstm_bwd", (pre, c_prev, dh, dc, dpre, dc_prev), FN, s_pre, s_c)
        return dpre, dc_prev


class _GRUGates(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xg: Tensor, hg: Tensor, h_prev: Tensor, reset_after: bool):
        (xg, s_x), (hg, s_h), (h_prev, s_p) = map(_block_stride, (xg, hg, h_prev))
        FN = h_prev[0].numel() if h_prev.shape[0] else 0
        h = torch.empty_like(h_prev, memory_format=torch.contiguous_format)
        if h.numel():
            _launch("gru_fwd", (xg, hg, h_prev, h), FN, s_x, s_h, s_p, bool(reset_after))
        ctx.save_for_backward(xg, hg, h_prev)
        ctx.args = (FN, s_x, s_h, s_p, bool(reset_after))
        return h

    @staticmethod
    def backward(ctx, dh: Tensor):
        xg, hg, h_prev = ctx.saved_tensors
        FN, s_x, s_h, s_p, reset_after = ctx.args
        dh = dh.contiguous()
        dxg = torch.empty(xg.shape, dtype=xg.dtype, device=xg.device)  # (B, 3F, *S)
        dhg = torch.empty_like(dxg)
        dh_prev = torch.empty_like(dh)
        if dh.numel():
            _launch("gru_bwd", (xg, hg, h_prev, dh, dxg, dhg, dh_prev), FN, s_x, s_h, s_p,
                    reset_after)
        return dxg, dhg, dh_prev, None


class _GRUReset(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_r: Tensor, h_r: Tensor, h_prev: Tensor):
        (x_r, s_x), (h_r, s_h), (h_prev, s_p) = map(_block_stride, (x_r, h_r, h_prev))
        FN = h_prev[0].numel() if h_prev.shape[0] else 0
        out = torch.empty_like(h_prev, memory_format=torch.contiguous_format)
        if out.numel():
            _launch("gru_reset_fwd", (x_r, h_r, h_prev, out), FN, s_x, s_h, s_p)
        ctx.save_for_backward(x_r, h_r, h_prev)
        ctx.args = (FN, s_x, s_h, s_p)
        return out

    @staticmethod
    def backward(ctx, dout: Tensor):
        x_r, h_r, h_prev = ctx.saved_tensors
        FN, s_x, s_h, s_p = ctx.args
        dout = dout.contiguous()
        da_r = torch.empty_like(dout)
        dh_prev = torch.empty_like(dout)
        if dout.numel():
            _launch("gru_reset_bwd", (x_r, h_r, h_prev, dout, da_r, dh_prev), FN, s_x, s_h, s_p)
        return da_r, da_r, dh_prev


def lstm_gates(pre: Tensor, c_prev: Tensor) -> tuple[Tensor, Tensor]:
    """ConvLSTM's gate update in one Triton kernel (equations in the module docstring).
    pre (B, 4F, *S), c_prev (B, F, *S) -> h, c (B, F, *S), contiguous."""
    _check("c_prev", c_prev, None, None, what="F")
    _check("pre", pre, 4 * c_prev.shape[1], c_prev, what="4F (i, f, g, o)")
    _require(pre, "pre")
    return _LSTMGates.apply(pre, c_prev)


def _check_gru(xg, hg, h_prev, hg_channels: tuple) -> None:
    _check("h_prev", h_prev, None, None, what="F")
    F = h_prev.shape[1]
    _check("xg", xg, 3 * F, h_prev, what="3F (r, z, n)")
    if isinstance(hg, Tensor) and hg.dim() >= 2 and hg.shape[1] in [k * F for k in hg_channels]:
        _check("hg", hg, None, h_prev, what="")
        return
    got = tuple(hg.shape) if isinstance(hg, Tensor) else type(hg).__name__
    raise (ValueError if isinstance(hg, Tensor) else TypeError)(
        f"`hg` must be (B, {' or '.join(f'{k}F' for k in hg_channels)}, *S) with F = {F}, got {got}")


def gru_gates(xg: Tensor, hg: Tensor, h_prev: Tensor, reset_after: bool) -> Tensor:
    """ConvGRU's gate update in one Triton kernel (equations in the module docstring).
    xg, hg (B, 3F, *S), h_prev (B, F, *S) -> h (B, F, *S), contiguous."""
    if not isinstance(reset_after, bool):
        raise TypeError(f"`reset_after` must be a bool, got {type(reset_after).__name__}")
    _check_gru(xg, hg, h_prev, (3,))
    _require(xg, "xg")
    return _GRUGates.apply(xg, hg, h_prev, reset_after)


def gru_reset(xg: Tensor, hg: Tensor, h_prev: Tensor) -> Tensor:
    """reset_after=False's first kernel: r = σ(X_r + H_r), returns r ∘ h_prev (B, F, *S).
    xg (B, 3F, *S); hg (B, 2F or 3F, *S), of which only the r blocks (first F channels) are read."""
    _check_gru(xg, hg, h_prev, (2, 3))
    _require(xg, "xg")
    F = h_prev.shape[1]
    return _GRUReset.apply(xg[:, :F], hg[:, :F], h_prev)
