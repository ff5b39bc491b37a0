"""What the conv-cpu kernel's autograd functions share (kernels/conv_fused.py,
kernels/conv_joint.py): the native gate ops, the recurrent convolution and its two
gradients in the sequence's memory format, and a pool of large buffers. Both modules
call these through the module (``conv_buffers.empty(...)``), so that a test can patch
them in one place."""
from __future__ import annotations

import math
import threading
from typing import Optional

import torch
from torch import Tensor

from rnnkit.cells.conv_base import CONV


def ops():
    from rnnkit.kernels.cpu import build

    build.load()  # registers torch.ops.rnnkit_conv (TORCH_LIBRARY_FRAGMENT in conv_gates.cpp)
    return torch.ops.rnnkit_conv


class Rec:
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


class Pool:
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


POOL = Pool()


def release_buffers() -> None:
    """Drop the pooled buffers (memory that outputs still use stays with them)."""
    POOL.clear()


def empty(n: int, like: Tensor, channels: int, fmt) -> Tensor:
    """(n, B, channels, *S) whose every [k] is contiguous in ``fmt``, with the strides
    torch expects even at B = 1 (an unflattened (n·B, ...) buffer has a batch stride that
    makes torch's convolutions take a B = 1 channels-last map for a channels-first one,
    and copy it). Large ones come from POOL."""
    B, S = like.shape[0], tuple(like.shape[2:])
    if fmt == torch.contiguous_format:
        return POOL.get((n, B, channels) + S, like.dtype, like.device)
    return POOL.get((n, B) + S + (channels,), like.dtype, like.device).movedim(-1, 2)


def order(T: int, reverse: bool):
    """Per step t: (t, index of H_{t-1}, index of H_t) in the (T+1)-state buffer."""
    return [(t, t + 1, t) for t in range(T - 1, -1, -1)] if reverse else \
        [(t, t, t + 1) for t in range(T)]


def as_output(t: Tensor) -> Tensor:
    """``t``'s memory as a tensor that is not a view (pooled buffers are views of the pool's
    tensors): an autograd.Function output that is a view makes torch forbid in-place
    changes of it and of its slices, where torch.nn.LSTM's outputs allow them."""
    return t.new_empty(0).set_(t.untyped_storage(), t.storage_offset(), t.shape, t.stride())


def steps(full: Tensor, reverse: bool) -> Tensor:
    """The T per-step frames of a (T + 1)-frame state buffer whose extra frame holds the
    initial state (first going forward, last going back: see ``order``)."""
    return full[:-1] if reverse else full[1:]


def frames(hs: Tensor, initial: Tensor, reverse: bool) -> list:
    """Index i of ``order``'s (T + 1)-state numbering -> the map: the T outputs ``hs``
    (T, B, F, *S) and the initial state kept apart, so that ``hs`` is a whole tensor."""
    T = hs.shape[0]
    return [hs[i] for i in range(T)] + [initial] if reverse else \
        [initial] + [hs[i] for i in range(T)]


def grads_in(T: int, d_seq: Optional[Tensor], d_c: Optional[Tensor], like: Tensor, fmt):
    """What a ConvLSTM sequence function's backward receives, made ready for the native
    ops: dY (T, B, F, *S) copied into a pooled buffer in ``fmt`` (None stays None), and dC
    (B, F, *S), carried back through the steps and updated in place (zeros for None).
    ``like``: a (B, F, *S) state map in ``fmt``."""
    d_out = None
    if d_seq is not None:
        d_out = empty(T, like, like.shape[1], fmt)
        d_out.copy_(d_seq)
    dc = torch.empty_like(like)
    if d_c is None:
        dc.zero_()
    else:
        dc.copy_(d_c)
    return d_out, dc
