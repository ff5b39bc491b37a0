"""Shared helpers for the recurrent-core tests (tests/cells, tests/kernels, tests/nn).

They are fixtures because the suite runs with ``--import-mode=importlib``,
under which test modules can't import one another.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

# tests/_support.py is importable by the test modules (importlib mode: no package path).
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def spec_weights(spec, dtype=torch.float64, seed: int = 0, scale: float = 0.5) -> list:
    """Random weights for a :class:`RecurrentSpec`: one dict per (layer, direction),
    leaves that require grad. LN gains sit around 1 so that they matter but stay tame."""
    from rnnkit.cells import param_shapes

    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(spec.num_layers):
        for _ in range(spec.num_directions):
            shapes = param_shapes(spec.mode, spec.layer_input_size(k), spec.hidden_size,
                                  bias=spec.bias, bias_hh=spec.bias_hh, proj_size=spec.proj_size,
                                  layer_norm=spec.layer_norm, peephole=spec.peephole)
            w = {}
            for name, shape in shapes.items():
                t = torch.randn(shape, generator=g, dtype=dtype) * scale
                if name in ("ln_ih", "ln_hh", "ln_c_weight"):
                    t = t + 1.0
                w[name] = t.requires_grad_(True)
            out.append(w)
    return out


def spec_state(spec, B: int, dtype=torch.float64, seed: int = 1) -> tuple:
    """A random initial state (h0,) or (h0, c0), each (L*D, B, ·), requiring grad."""
    g = torch.Generator().manual_seed(seed)
    LD = spec.num_layers * spec.num_directions
    sizes = [spec.state_size, spec.hidden_size][: spec.n_states]
    return tuple((torch.randn(LD, B, n, generator=g, dtype=dtype) * 0.5).requires_grad_(True)
                 for n in sizes)


@pytest.fixture(scope="session")
def core():
    """``core.TOL``, ``core.grads``, ``core.weighted_loss``, ``core.max_abs_diff``,
    ``core.flat``, ``core.spec_weights``, ``core.spec_state``."""
    return SimpleNamespace(TOL=TOL, grads=grads, weighted_loss=weighted_loss,
                           max_abs_diff=max_abs_diff, flat=_flat, spec_weights=spec_weights,
                           spec_state=spec_state)


@pytest.fixture
def one_thread():
    """Run a test on one intra-op thread. The core tests' tensors are tiny, so
    torch's threads only add OpenMP wake-ups (F.layer_norm pays ~10 ms a call for
    them on a busy 2-core machine). Use: ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# --- the ``toys`` fixture (tests/models, tests/training): test-only layers loaded by file
# path, once per session under one module name, because test modules can't import each
# other under importlib mode and the layers register themselves by class name.
_TOYS = "_rnnkit_test_toy_layers"


def load_toys():
    if _TOYS not in sys.modules:
        path = Path(__file__).resolve().parent / "models" / "toy_layers.py"
        spec = importlib.util.spec_from_file_location(_TOYS, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[_TOYS] = module
        spec.loader.exec_module(module)
    return sys.modules[_TOYS]


@pytest.fixture(scope="session")
def toys():
    return load_toys()


# --- the ``keras`` fixture: Keras 3 on its torch backend, the oracle of the Keras-style API
os.environ.setdefault("KERAS_BACKEND", "torch")  # must be set before keras is imported


@pytest.fixture(scope="session")
def keras():
    return pytest.importorskip("keras")
