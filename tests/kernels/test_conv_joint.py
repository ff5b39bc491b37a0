"""kernels/conv_joint.py: the joint [X_t, H_{t-1}] form of conv-cpu in training, against the
reference loop (float64, outputs, states, every gradient). Its inference form and the rest
of the parity grid (both layouts, both training paths, gradcheck) run in test_conv_fused.py."""
import pytest
import torch

from rnnkit.kernels import conv_joint, registry
from rnnkit.kernels.cpu import build


def _sibling(name):
    """The helpers of tests/kernels/<name>.py (pytest's importlib mode has no package path)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_setup = _sibling("test_conv_recurrent")._setup
_all_grads = _sibling("test_conv_recurrent")._all_grads
layout = _sibling("test_conv_fused").layout  # the memory-format fixture

pytestmark = pytest.mark.skipif(build.why_unavailable() is not None,
                                reason=f"native kernel unavailable: {build.why_unavailable()}")


@pytest.mark.parametrize("x_grad,h_grad", [(False, False), (True, False), (False, True)])
def test_joint_training_runs_and_gives_only_the_gradients_asked_for(monkeypatch, x_grad, h_grad):
    """The joint path runs (a spy), and with the input or the initial state frozen it
    still gives the reference's gradients of what needs them (its grad_input at the
    first step is then skipped or kept by need)."""
    calls = []
    real = conv_joint.ConvLSTMJointSeq.apply
    monkeypatch.setattr(conv_joint.ConvLSTMJointSeq, "apply",
                        lambda *a: calls.append(1) or real(*a))
    spec, weights, x, hx = _setup(num_layers=2, bidirectional=True)
    x = x.detach().requires_grad_(x_grad)
    hx = tuple(h.detach().requires_grad_(h_grad) for h in hx)
    leaves = [v for w in weights for v in w.values()] + [x] * x_grad + list(hx) * h_grad
    got = []
    for backend in ("reference", "conv-cpu"):
        out, state, _ = registry.run_conv(spec, weights, x, hx, backend=backend)
        loss = (out ** 2).sum() + (state[1] * 0.5).sum()  # H unused from the state: dC only
        got.append((out, state, torch.autograd.grad(loss, leaves)))
    assert len(calls) == 4  # 2 layers x 2 directions
    (o1, s1, g1), (o2, s2, g2) = got
    torch.testing.assert_close(o2, o1, rtol=1e-10, atol=1e-12)
    for a, b in zip((*s2, *g2), (*s1, *g1)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("T", [1, 4])
def test_joint_training_from_a_zero_state(T, layout):
    """From the layers' default zero state (the first step's H_{t-1} half of [X, H] is
    zero), for T = 1 and 4, both directions, the zero state itself needing a gradient:
    the reference's numbers. (A variant that convolved X_0 alone at the first step
    measured no faster, so the kernel has none; this test stays for the zero state.)"""
    spec, weights, x, hx = _setup(num_layers=2, bidirectional=True)
    x = x[:T].detach().requires_grad_()
    hx = tuple(torch.zeros_like(h).requires_grad_() for h in hx)
    o1, s1, g1 = _all_grads(spec, weights, x, hx, None, "reference")
    o2, s2, g2 = _all_grads(spec, weights, x, hx, None, "conv-cpu")
    torch.testing.assert_close(o2, o1, rtol=1e-10, atol=1e-12)
    for a, b in zip((*s2, *g2), (*s1, *g1)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)
