"""Shared helpers for the recurrent-core tests (tests/cells, tests/kernels, tests/nn).

They are fixtures because the suite runs with ``--import-mode=importlib``,
under which test modules can't import one another.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

# The parity bounds: max |a − b| over outputs, final states and every gradient.
TOL = {torch.float32: 2e-5, torch.float64: 1e-10}


def _flat(tensors) -> list:
    """Flatten nested tuples/lists of tensors (outputs, (h, c), ...) into a list."""
    out = []
    for t in tensors:
        if isinstance(t, (tuple, list)):
            out += _flat(t)
        elif t is not None:
            out.append(t)
    return out


def weighted_loss(*tensors) -> torch.Tensor:
    """Σ w ⊙ t with fixed, distinct weights per element, so that every element of
    every output reaches the gradients (a plain sum would let errors cancel)."""
    total = 0.0
    for t in _flat(tensors):
        w = torch.arange(1, t.numel() + 1, dtype=t.dtype, device=t.device).reshape(t.shape)
        total = total + (t * torch.sin(w)).sum()
    return total


def grads(outputs, inputs) -> list:
    """Gradients of :func:`weighted_loss` of ``outputs`` w.r.t. ``inputs`` (zeros when unused)."""
    return list(torch.autograd.grad(weighted_loss(*_flat([outputs])), inputs, allow_unused=True,
                                    materialize_grads=True))


def max_abs_diff(a, b) -> float:
    a, b = _flat([a]), _flat([b])
    assert len(a) == len(b), f"{len(a)} tensors vs {len(b)}"
    worst = 0.0
    for x, y in zip(a, b):
        assert x.shape == y.shape, f"shape {tuple(x.shape)} vs {tuple(y.shape)}"
        if x.numel():
            worst = max(worst, (x.detach() - y.detach()).abs().max().item())
    return worst


@pytest.fixture(scope="session")
def core():
    """``core.TOL``, ``core.grads``, ``core.weighted_loss``, ``core.max_abs_diff``, ``core.flat``."""
    return SimpleNamespace(TOL=TOL, grads=grads, weighted_loss=weighted_loss,
                           max_abs_diff=max_abs_diff, flat=_flat)


@pytest.fixture
def one_thread():
    """Run a test on one intra-op thread. The core tests' tensors are tiny, so
    torch's threads only add OpenMP wake-ups (F.layer_norm pays ~10 ms a call for
    them on a busy 2-core machine). Use: ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
