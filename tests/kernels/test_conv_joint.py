"""kernels/conv_joint.py: the joint [X_t, H_{t-1}] form of conv-cpu in training, against the
reference loop (float64, outputs, states, every gradient). Its inference form and the rest
of the parity grid (both layouts, both training paths, gradcheck) run in test_conv_fused.py."""
import pytest
import torch
from _support import sibling

from rnnkit.kernels import conv_joint, registry
from rnnkit.kernels.cpu import build


def _sibling(name):
    return sibling(__file__, name)


_setup = _sibling("test_conv_recurrent")._setup
_cr = _sibling("test_conv_recurrent")
_all_grads, HOLES = _cr._all_grads, _cr.HOLES  # HOLES: (T, B) = (4, 3)
layout = _sibling("test_conv_fused").layout  # the memory-format fixture

# Skipped only where the kernel can't be built here; with a toolchain a failed build fails.
pytestmark = pytest.mark.skipif(build.why_no_toolchain() is not None,
                                reason=f"native kernel unavailable: {build.why_no_toolchain()}")


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


MASKS = {
    "holes": HOLES,
    "lengths-3-2-1": torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=torch.bool),
    "one-sample-never-valid": torch.tensor([[1, 0, 1], [1, 0, 0], [0, 0, 1], [1, 0, 1]],
                                           dtype=torch.bool),
}
SHAPES = {  # the map ranks and biases the joint form meets
    "2d": {},
    "bidirectional-2-layers": {"num_layers": 2, "bidirectional": True},
    "1d-k5": {"rank": 1, "k": 5, "S": (7,)},
    "3d": {"rank": 3, "k": 3, "S": (3, 4, 2), "C": 1, "Fi": 2},
}


def _with_biases(spec, weights, which):
    """torch-style two biases (as _setup), Keras-style one, or none."""
    from dataclasses import replace
    if which == "two":
        return spec, weights
    drop = {"one": ("bias_hh",), "none": ("bias_ih", "bias_hh")}[which]
    spec = replace(spec, bias_hh=False, bias=which == "one")
    return spec, [{n: v for n, v in w.items() if n not in drop} for w in weights]


def _close(got, want):
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mask_name", list(MASKS))
@pytest.mark.parametrize("shape", list(SHAPES))
def test_masked_sequences_match_the_reference(shape, mask_name, layout):
    """Masked steps keep the sample's H and C and output zeros, in training (outputs,
    final states, the gradients of the input, initial states and every weight) and in
    inference, both directions, 1-D to 3-D maps: the reference loop's numbers."""
    spec, weights, x, hx = _setup(**SHAPES[shape])
    mask = MASKS[mask_name]
    o1, s1, g1 = _all_grads(spec, weights, x, hx, mask, "reference")
    o2, s2, g2 = _all_grads(spec, weights, x, hx, mask, "conv-cpu")
    assert float(o2.detach()[~mask].abs().max()) == 0.0  # masked steps output zeros
    _close((o2, *s2, *g2), (o1, *s1, *g1))
    with torch.no_grad():
        i1, f1, _ = registry.run_conv(spec, weights, x, hx, mask, backend="reference")
        i2, f2, _ = registry.run_conv(spec, weights, x, hx, mask, backend="conv-cpu")
    _close((i2, *f2), (i1, *f1))


def test_masked_gradcheck_in_float64():
    from torch.autograd import gradcheck
    spec, weights, x, hx = _setup(C=1, Fi=2, S=(3, 2))
    names = list(weights[0])
    mask = torch.tensor([[1, 0], [0, 1], [1, 1]], dtype=torch.bool)  # (T, B) = (3, 2)

    def f(x, h, c, *ws):
        out, state, _ = registry.run_conv(spec, [dict(zip(names, ws))], x, (h, c), mask,
                                          backend="conv-cpu")
        return out, *state

    x2 = x[:3, :2].detach().requires_grad_()
    h2 = tuple(h[:, :2].detach().requires_grad_() for h in hx)
    assert gradcheck(f, (x2, *h2, *[weights[0][n] for n in names]), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", [{"padding": "valid", "stride": (2, 1), "S": (7, 5)},
                                  {"mode": "conv_gru"}], ids=["valid-strided", "gru"])
def test_masks_outside_the_joint_form_are_refused_by_name(case):
    spec, weights, x, hx = _setup(**case)
    with pytest.raises(ValueError, match="joint form"):
        registry.run_conv(spec, weights, x, hx, HOLES, backend="conv-cpu")
    _, _, choice = registry.run_conv(spec, weights, x, hx, HOLES)
    assert choice.kernel == "conv" and "joint form" in choice.rejected["conv-cpu"]


@pytest.mark.parametrize("biases", ["two", "one", "none"])
def test_each_bias_layout_matches_the_reference(biases, layout):
    """nn.ConvLSTM's two biases (summed into one), Keras's one, or use_bias=False."""
    spec, weights, x, hx = _setup(num_layers=2, bidirectional=True)
    spec, weights = _with_biases(spec, weights, biases)
    got = _all_grads(spec, weights, x, hx, HOLES, "conv-cpu")
    want = _all_grads(spec, weights, x, hx, HOLES, "reference")
    assert len(got[2]) == len(want[2])
    _close((got[0], *got[1], *got[2]), (want[0], *want[1], *want[2]))


def test_outputs_can_be_modified_in_place_and_still_give_the_reference_gradients():
    """The sequence function returns its whole state buffer and the kernel slices it, so
    the outputs are ordinary views (torch forbids in-place changes of an autograd output
    that is itself a view): `out.mul_(2)`, as after torch.nn.LSTM, then backward."""
    spec, weights, x, hx = _setup()
    leaves = [x, *hx] + list(weights[0].values())
    grads = []
    for backend in ("reference", "conv-cpu"):
        out, state, _ = registry.run_conv(spec, weights, x, hx, backend=backend)
        out.mul_(2)
        grads.append(torch.autograd.grad((out ** 2).sum() + state[1].sum(), leaves))
    _close(grads[1], grads[0])


def test_a_double_backward_raises_instead_of_skipping_the_native_ops():
    """The native ops have no autograd of their own: a gradient of a gradient (a gradient
    penalty) must raise, not come out silently wrong."""
    spec, weights, x, hx = _setup()
    out, _, _ = registry.run_conv(spec, weights, x, hx, backend="conv-cpu")
    (gx,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|twice"):
        gx.square().sum().backward()


def test_an_in_place_change_of_what_the_hoisted_backward_reads_raises(monkeypatch):
    """The hoisted form's backward reads its H buffer (H_{t-1} for the weight gradient),
    and its outputs are views of that buffer: torch refuses an in-place change of them
    instead of letting it give a silently wrong gradient."""
    from rnnkit.kernels import conv_fused
    monkeypatch.setattr(conv_fused, "JOINT_TRAINING", False)
    spec, weights, x, hx = _setup()
    out, _, choice = registry.run_conv(spec, weights, x, hx, backend="conv-cpu")
    with pytest.raises(RuntimeError, match="inplace"):
        out.mul_(2)
        (out ** 2).sum().backward()


@pytest.mark.parametrize("mask_name", [None, "holes"])
@pytest.mark.parametrize("shape", ["2d", "bidirectional-2-layers", "1d-k5", "3d"])
def test_peepholes_match_the_reference(shape, mask_name, layout):
    """Shi et al.'s per-position peephole terms (W_ci ∘ C_{t-1}, W_cf ∘ C_{t-1},
    W_co ∘ C_t) in the native gate pass: outputs, states and every gradient (the three
    peephole weights' included) against the reference loop, training and inference."""
    spec, weights, x, hx = _setup(peephole=True, **SHAPES[shape])
    assert "weight_ci" in weights[0]
    mask = None if mask_name is None else MASKS[mask_name]
    o1, s1, g1 = _all_grads(spec, weights, x, hx, mask, "reference")
    o2, s2, g2 = _all_grads(spec, weights, x, hx, mask, "conv-cpu")
    _close((o2, *s2, *g2), (o1, *s1, *g1))
    with torch.no_grad():
        i1, f1, _ = registry.run_conv(spec, weights, x, hx, mask, backend="reference")
        i2, f2, _ = registry.run_conv(spec, weights, x, hx, mask, backend="conv-cpu")
    _close((i2, *f2), (i1, *f1))


def test_peephole_gradcheck_in_float64():
    from torch.autograd import gradcheck
    spec, weights, x, hx = _setup(peephole=True, C=1, Fi=2, S=(3, 2))
    names = list(weights[0])

    def f(x, h, c, *ws):
        out, state, _ = registry.run_conv(spec, [dict(zip(names, ws))], x, (h, c),
                                          backend="conv-cpu")
        return out, *state

    x2 = x[:3, :2].detach().requires_grad_()
    h2 = tuple(h[:, :2].detach().requires_grad_() for h in hx)
    assert gradcheck(f, (x2, *h2, *[weights[0][n] for n in names]), eps=1e-6, atol=1e-6)


def test_peepholes_outside_the_joint_form_are_refused_by_name():
    spec, weights, x, hx = _setup(peephole=True, padding="valid", stride=(2, 1), S=(7, 5))
    with pytest.raises(ValueError, match="peephole=True: only in the joint form"):
        registry.run_conv(spec, weights, x, hx, backend="conv-cpu")
    _, _, choice = registry.run_conv(spec, weights, x, hx)
    assert choice.kernel == "conv" and "peephole" in choice.rejected["conv-cpu"]
