"""The conv-cpu kernel (native fused gates, hand-written backward) against the reference
loop: outputs, final states and every gradient, in float64 (1e-10) and float32, in both
memory layouts, training and inference (the joint [x, h] convolution); gradcheck;
a spy that the native ops ran; NaN-filled buffers; refusals by name."""
import math

import pytest
import torch
from _support import sibling

from rnnkit.kernels import conv_buffers, conv_fused, conv_recurrent, registry
from rnnkit.kernels.cpu import build

def _sibling(name):
    return sibling(__file__, name)


_cr = _sibling("test_conv_recurrent")
_all_grads, _setup, _per_step_convlstm = _cr._all_grads, _cr._setup, _cr._per_step_convlstm

# Skipped only where the kernel can't be built here; with a toolchain a failed build fails.
pytestmark = pytest.mark.skipif(build.why_no_toolchain() is not None,
                                reason=f"native kernel unavailable: {build.why_no_toolchain()}")

CASES = {
    "lstm": {},
    "gru": {"mode": "conv_gru"},
    "lstm-bidirectional-2-layers": {"num_layers": 2, "bidirectional": True},
    "gru-bidirectional-2-layers": {"mode": "conv_gru", "num_layers": 2, "bidirectional": True},
    "lstm-1d-k5": {"rank": 1, "k": 5, "S": (7,)},
    "gru-3d": {"mode": "conv_gru", "rank": 3, "k": 3, "S": (3, 3, 2), "C": 1, "Fi": 2},
    "lstm-valid-strided": {"padding": "valid", "stride": (2, 1), "S": (7, 5)},
    "lstm-dilated": {"dilation": (2, 1)},
}


@pytest.fixture(params=[True, False], ids=["channels-last", "channels-first"])
def layout(request, monkeypatch):
    monkeypatch.setattr(conv_recurrent, "FORCE_CHANNELS_LAST", request.param)
    return request.param


@pytest.fixture(params=[True, False], ids=["joint-training", "hoisted-training"])
def joint(request, monkeypatch):
    """Training of stride-1 "same" ConvLSTM layers: ConvLSTMJointSeq, or the hoisted path."""
    monkeypatch.setattr(conv_fused, "JOINT_TRAINING", request.param)
    return request.param


@pytest.mark.parametrize("case", list(CASES))
def test_matches_the_reference_in_float64(case, layout, joint):
    spec, weights, x, hx = _setup(**CASES[case])
    o1, s1, g1 = _all_grads(spec, weights, x, hx, None, "reference")
    o2, s2, g2 = _all_grads(spec, weights, x, hx, None, "conv-cpu")
    torch.testing.assert_close(o2, o1, rtol=1e-10, atol=1e-12)
    for a, b in zip(s2, s1):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert len(g2) == len(g1)
    for a, b in zip(g2, g1):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("case", ["lstm", "gru", "lstm-bidirectional-2-layers"])
def test_matches_the_reference_in_float32(case, layout):
    # float32: the native exp is a polynomial (~1 ulp); gradients through T steps of convs
    spec, weights, x, hx = _setup(dtype=torch.float32, **CASES[case])
    o1, s1, g1 = _all_grads(spec, weights, x, hx, None, "reference")
    o2, s2, g2 = _all_grads(spec, weights, x, hx, None, "conv-cpu")
    torch.testing.assert_close(o2, o1, rtol=1e-5, atol=2e-6)
    for a, b in zip((*s2, *g2), (*s1, *g1)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("case", ["lstm", "gru", "lstm-bidirectional-2-layers",
                                  "lstm-valid-strided", "gru-3d"])
def test_inference_matches_the_reference(case, layout):
    """No autograd: ConvLSTM layers with stride-1 "same" input convolutions take the joint
    [x, h] convolution per step; the rest the hoisted path without saved gates."""
    spec, weights, x, hx = _setup(**CASES[case])
    with torch.no_grad():
        o1, s1, _ = registry.run_conv(spec, weights, x, hx, backend="reference")
        o2, s2, _ = registry.run_conv(spec, weights, x, hx, backend="conv-cpu")
    torch.testing.assert_close(o2, o1, rtol=1e-10, atol=1e-12)
    for a, b in zip(s2, s1):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_streaming_one_frame_at_a_time_equals_the_whole_sequence():
    spec, weights, x, hx = _setup()
    x1, hx1 = x[:, :1].detach(), tuple(h[:, :1].detach() for h in hx)  # B = 1
    with torch.no_grad():
        whole, (hw, cw), _ = registry.run_conv(spec, weights, x1, hx1, backend="reference")
        state, outs = hx1, []
        for t in range(x1.shape[0]):
            out, state, _ = registry.run_conv(spec, weights, x1[t:t + 1], state,
                                              backend="conv-cpu")
            outs.append(out)
    torch.testing.assert_close(torch.cat(outs), whole, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(state[0], hw, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(state[1], cw, rtol=1e-10, atol=1e-12)


def test_matches_an_independent_per_step_convlstm_in_float32():
    spec, weights, x, hx = _setup(dtype=torch.float32)
    w = weights[0]
    out, (h, c), _ = registry.run_conv(spec, weights, x, hx, backend="conv-cpu")
    want, wh, wc = _per_step_convlstm(x, hx[0][0], hx[1][0],
                                      torch.cat([w["weight_ih"], w["weight_hh"]], dim=1),
                                      w["bias_ih"] + w["bias_hh"])
    torch.testing.assert_close(out, want, rtol=1e-5, atol=2e-6)
    torch.testing.assert_close(c[0], wc, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("mode", ["conv_lstm", "conv_gru"])
def test_gradcheck_in_float64(mode, layout, joint):
    from torch.autograd import gradcheck
    spec, weights, x, hx = _setup(mode=mode, rank=2, C=1, Fi=2, k=3, S=(3, 2))
    names = list(weights[0])

    def f(x, *rest):
        h = rest[:spec.n_states]
        w = dict(zip(names, rest[spec.n_states:]))
        out, state, _ = registry.run_conv(spec, [w], x, h, backend="conv-cpu")
        return out, *state

    x2 = x[:2, :1].detach().requires_grad_()  # T = 2, B = 1: small enough for the suite
    h2 = tuple(h[:, :1].detach().requires_grad_() for h in hx)
    assert gradcheck(f, (x2, *h2, *[weights[0][n] for n in names]), eps=1e-6, atol=1e-6)


def test_auto_picks_it_and_the_native_ops_run(monkeypatch):
    calls = []
    real = conv_buffers.ops()

    class Spy:
        def __getattr__(self, name):
            def call(*a):
                calls.append(name)
                return getattr(real, name)(*a)
            return call

    monkeypatch.setattr(conv_buffers, "ops", lambda: Spy())
    for mode in ("conv_lstm", "conv_gru"):
        spec, weights, x, hx = _setup(mode=mode)
        out, _, choice = registry.run_conv(spec, weights, x, hx)
        assert choice.kernel == "conv-cpu" and "conv-cpu" in str(choice)
        out.sum().backward()
    T = x.shape[0]
    assert calls.count("lstm_forward") == T and calls.count("lstm_backward") == T
    assert calls.count("gru_forward") == T and calls.count("gru_backward") == T


def test_nan_filled_buffers_are_never_read(monkeypatch):
    """Every buffer the kernel allocates starts as NaN: a value read before it is written
    would show up in the outputs or gradients."""
    real_empty = conv_buffers.empty

    def poisoned(*a):
        return real_empty(*a).fill_(math.nan)

    monkeypatch.setattr(conv_buffers, "empty", poisoned)
    for mode in ("conv_lstm", "conv_gru"):
        spec, weights, x, hx = _setup(mode=mode, num_layers=2, bidirectional=True)
        o1, s1, g1 = _all_grads(spec, weights, x, hx, None, "reference")
        o2, s2, g2 = _all_grads(spec, weights, x, hx, None, "conv-cpu")
        torch.testing.assert_close(o2, o1, rtol=1e-10, atol=1e-12)
        for a, b in zip((*s2, *g2), (*s1, *g1)):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


REFUSED = [
    ({"layer_norm": True}, {}, "layer_norm"),
    ({"mode": "conv_gru", "reset_after": False}, {}, "reset_after"),
    ({"activation": torch.relu}, {}, "activations"),
    ({"rank": 1, "k": 4, "S": (7,)}, {}, "even kernel_size"),
    ({"input_dropout": 0.2}, {"training": True}, "dropout"),
]


@pytest.mark.parametrize("case,facts,word", REFUSED, ids=[w for *_, w in REFUSED])
def test_refuses_by_name_and_auto_runs_conv(case, facts, word):
    spec, weights, x, hx = _setup(**case)
    with pytest.raises(ValueError, match=word):
        registry.run_conv(spec, weights, x, hx, backend="conv-cpu", **facts)
    _, _, choice = registry.run_conv(spec, weights, x, hx, **facts)
    assert choice.kernel == "conv" and word in str(choice.rejected["conv-cpu"])


def test_refuses_masks_outside_the_joint_form_dtype_and_device(joint):
    spec, weights, x, hx = _setup(padding="valid", stride=(2, 1), S=(7, 5))
    holes = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 1, 1], [1, 1, 0]], dtype=torch.bool)
    with pytest.raises(ValueError, match="mask"):
        registry.run_conv(spec, weights, x, hx, holes, backend="conv-cpu")
    full = torch.ones(4, 3, dtype=torch.bool)  # an all-valid mask is no mask: runs
    out, _, _ = registry.run_conv(spec, weights, x, hx, full, backend="conv-cpu")
    assert out.shape[0] == 4
    spec, weights, x, hx = _setup()  # joint layers: masks run, unless the joint form is off
    if joint:
        registry.run_conv(spec, weights, x, hx, holes, backend="conv-cpu")
    else:
        with pytest.raises(ValueError, match="joint form"):
            registry.run_conv(spec, weights, x, hx, holes, backend="conv-cpu")
    assert "float32 and float64" in conv_fused.why_not(spec, dtype=torch.float16)
    assert "CPU only" in conv_fused.why_not(spec, device="cuda")


def test_native_ops_check_their_arguments():
    ops = conv_buffers.ops()
    gx = torch.randn(2, 8, 3, 3)
    c = torch.randn(2, 2, 3, 3)
    with pytest.raises(ValueError, match="shape"):
        ops.lstm_forward(gx, None, torch.randn(2, 3, 3, 3), torch.empty_like(c),
                         torch.empty_like(c), gx.new_empty(0), False)
    with pytest.raises(TypeError, match="dtype"):
        ops.lstm_forward(gx, None, c.double(), torch.empty_like(c), torch.empty_like(c),
                         gx.new_empty(0), False)
    with pytest.raises(ValueError, match="layout"):
        ops.lstm_forward(gx, None, c.contiguous(memory_format=torch.channels_last),
                         torch.empty_like(c), torch.empty_like(c), gx.new_empty(0), False)
    with pytest.raises(TypeError, match="float32 or float64"):
        ops.lstm_forward(gx.half(), None, c.half(), c.half(), c.half(), gx.new_empty(0), False)
    w = torch.randn(1, 2, 3, 3)  # a peephole map: (1, F, *S)
    with pytest.raises(ValueError, match="w_cf is missing"):
        ops.lstm_forward(gx, None, c, torch.empty_like(c), torch.empty_like(c), gx.new_empty(0),
                         False, w, None, w)
    with pytest.raises(ValueError, match="w_co must be a CPU tensor of shape"):
        ops.lstm_forward(gx, None, c, torch.empty_like(c), torch.empty_like(c), gx.new_empty(0),
                         False, w, w, torch.randn(1, 2, 3, 4))
    with pytest.raises(ValueError, match="w_ci's memory layout"):
        ops.lstm_backward(None, c, c.clone(), gx, c, c, torch.empty_like(gx),
                          torch.randn(1, 3, 3, 2).movedim(-1, 1), w, w)


def test_one_step_by_hand():
    """Constant weights, one position, zero state: A = W_x·x + b for every gate, so
    i = f = o = σ(a), g = tanh(a), C_1 = σ(a) tanh(a), H_1 = σ(a) tanh(C_1)."""
    from rnnkit.kernels.conv_spec import ConvSpec

    spec = ConvSpec("conv_lstm", 2, 1, 1, (1, 1), (1, 1), "same", (1, 1))
    w = {"weight_ih": torch.full((4, 1, 1, 1), 0.5, dtype=torch.float64),
         "weight_hh": torch.full((4, 1, 1, 1), 0.25, dtype=torch.float64),
         "bias_ih": torch.full((4,), 0.1, dtype=torch.float64)}
    x = torch.full((1, 1, 1, 1, 1), 2.0, dtype=torch.float64)
    zero = torch.zeros(1, 1, 1, 1, 1, dtype=torch.float64)
    out, (h, c), _ = registry.run_conv(spec, [w], x, (zero, zero), backend="conv-cpu")
    a = 0.5 * 2.0 + 0.1
    sig = 1 / (1 + math.exp(-a))
    c1 = sig * math.tanh(a)
    assert float(c) == pytest.approx(c1, rel=1e-14)
    assert float(h) == pytest.approx(sig * math.tanh(c1), rel=1e-14)
    assert float(out) == float(h)
