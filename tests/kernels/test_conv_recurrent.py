"""The conv fast path against the reference loop (outputs, final states, every
gradient), and both against an independent ConvLSTM written as people write it
(one convolution over the concatenated [x, h] per step)."""
import pytest
import torch
import torch.nn.functional as F

from rnnkit.cells.conv_base import conv_param_shapes
from rnnkit.kernels import registry
from rnnkit.kernels.conv_spec import ConvSpec

T, B = 4, 3


def _setup(mode="conv_lstm", rank=2, C=2, Fi=3, k=3, S=(5, 4), dtype=torch.float64, **kw):
    k = (k,) * rank if isinstance(k, int) else k
    spec = ConvSpec(mode, rank, C, Fi, k, kw.pop("stride", (1,) * rank), kw.pop("padding", "same"),
                    kw.pop("dilation", (1,) * rank), bias_hh=True, **kw)
    S_out = spec.out_size(S)
    if spec.peephole:
        spec = ConvSpec(**{**spec.__dict__, "state_size": S_out})
    g = torch.Generator().manual_seed(0)
    weights = []
    for layer in range(spec.num_layers):
        for _ in range(spec.num_directions):
            shapes = conv_param_shapes(mode, spec.layer_in_channels(layer), Fi, k, bias_hh=True,
                                       peephole=spec.peephole, state_size=S_out,
                                       layer_norm=spec.layer_norm)
            weights.append({n: (torch.randn(s, generator=g, dtype=dtype) * 0.3).requires_grad_()
                            for n, s in shapes.items()})
    x = torch.randn(T, B, C, *S, generator=g, dtype=dtype, requires_grad=True)
    L = spec.num_layers * spec.num_directions
    hx = tuple((torch.randn(L, B, Fi, *S_out, generator=g, dtype=dtype) * 0.5).requires_grad_()
               for _ in range(spec.n_states))
    return spec, weights, x, hx


def _all_grads(spec, weights, x, hx, mask, backend, **kw):
    out, state, choice = registry.run_conv(spec, weights, x, hx, mask, backend=backend, **kw)
    assert choice.kernel == backend
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view(out.shape)).sum()
    loss = loss + sum((s ** 2).sum() for s in state)
    leaves = [x, *hx] + [w for ws in weights for w in ws.values()]
    grads = torch.autograd.grad(loss, leaves)
    return out, state, grads


HOLES = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 1, 1], [1, 1, 0]], dtype=torch.bool)  # (T, B)

CASES = {
    "lstm": {},
    "lstm-peephole-ln": {"peephole": True, "layer_norm": True},
    "gru": {"mode": "conv_gru"},
    "gru-reset-before-ln": {"mode": "conv_gru", "reset_after": False, "layer_norm": True},
    "lstm-1d-even-kernel": {"rank": 1, "k": 4, "S": (7,)},
    "lstm-3d": {"rank": 3, "k": 2, "S": (3, 3, 2), "C": 1, "Fi": 2},
    "lstm-valid-strided": {"padding": "valid", "stride": (2, 1), "S": (7, 5)},
    "lstm-dilated": {"dilation": (2, 1)},
    "lstm-bidirectional-2-layers": {"num_layers": 2, "bidirectional": True},
}


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_fast_path_matches_the_reference(case, masked):
    spec, weights, x, hx = _setup(**CASES[case])
    mask = HOLES if masked else None
    o1, s1, g1 = _all_grads(spec, weights, x, hx, mask, "reference")
    o2, s2, g2 = _all_grads(spec, weights, x, hx, mask, "conv")
    torch.testing.assert_close(o2, o1, rtol=1e-10, atol=1e-12)
    for a, b in zip(s2, s1):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(g2, g1):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)
    if masked:  # masked steps output zeros
        assert float(o1.detach()[~HOLES].abs().max()) == 0.0


def test_fast_path_matches_the_reference_in_float32_with_dropout():
    spec, weights, x, hx = _setup(dtype=torch.float32, input_dropout=0.3, recurrent_dropout=0.2)
    outs = []
    for backend in ("reference", "conv"):
        g = torch.Generator().manual_seed(7)
        out, _, _ = registry.run_conv(spec, weights, x, hx, training=True, backend=backend,
                                      generator=g)
        outs.append(out)
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-6)
    eval_out, _, _ = registry.run_conv(spec, weights, x, hx, backend="conv")
    assert float((eval_out - outs[0]).detach().abs().max()) > 1e-3  # the masks did something


def test_auto_picks_the_fast_path_and_says_so():
    from rnnkit.kernels.cpu import build
    spec, weights, x, hx = _setup()
    _, _, choice = registry.run_conv(spec, weights, x, hx)
    # conv-cpu (tests/kernels/test_conv_fused.py) where the native kernel builds
    fastest = "conv-cpu" if build.why_unavailable() is None else "conv"
    assert choice.kernel == fastest and fastest in str(choice)
    _, _, choice = registry.run_conv(spec, weights, x, hx, HOLES)  # joint ConvLSTM: masks run
    assert choice.kernel == fastest
    spec, weights, x, hx = _setup(padding="valid", stride=(2, 1), S=(7, 5))
    _, _, choice = registry.run_conv(spec, weights, x, hx, HOLES)  # hoisted: conv-cpu refuses
    if fastest == "conv-cpu":
        assert choice.kernel == "conv" and "mask" in choice.rejected["conv-cpu"]
    with pytest.raises(ValueError, match="backend"):
        registry.run_conv(spec, weights, x, hx, backend="cuda-magic")


def _per_step_convlstm(x, h, c, w_cat, b):
    """A ConvLSTM as usually written: one conv2d over cat([x, h]) per step."""
    outs = []
    for t in range(x.shape[0]):
        a = F.conv2d(torch.cat([x[t], h], dim=1), w_cat, b, padding=w_cat.shape[-1] // 2)
        i, f, g, o = a.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs), h, c


def test_matches_an_independent_per_step_convlstm():
    spec, weights, x, hx = _setup()
    w = weights[0]
    out, (h, c), _ = registry.run_conv(spec, weights, x, hx)
    want, wh, wc = _per_step_convlstm(x, hx[0][0], hx[1][0],
                                      torch.cat([w["weight_ih"], w["weight_hh"]], dim=1),
                                      w["bias_ih"] + w["bias_hh"])
    torch.testing.assert_close(out, want)
    torch.testing.assert_close(h[0], wh)
    torch.testing.assert_close(c[0], wc)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("case", ["lstm", "lstm-peephole-ln", "gru-reset-before-ln",
                                  "lstm-bidirectional-2-layers", "lstm-valid-strided"])
def test_cuda_fast_path_matches_the_cpu_reference(case):
    spec, weights, x, hx = _setup(**CASES[case])
    cuda = torch.device("cuda")
    wc = [{k: v.detach().to(cuda).requires_grad_() for k, v in w.items()} for w in weights]
    xc = x.detach().to(cuda).requires_grad_()
    hc = tuple(h.detach().to(cuda).requires_grad_() for h in hx)
    o1, s1, _ = registry.run_conv(spec, weights, x, hx, HOLES, backend="reference")
    o2, s2, choice = registry.run_conv(spec, wc, xc, hc, HOLES.to(cuda))
    assert choice.kernel == "conv"
    torch.testing.assert_close(o2.cpu(), o1, rtol=1e-9, atol=1e-10)
    for a, b in zip(s2, s1):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-9, atol=1e-10)
    g1 = torch.autograd.grad(o1.sum() + s1[0].sum(), [x, *weights[0].values()])
    g2 = torch.autograd.grad(o2.sum() + s2[0].sum(), [xc, *wc[0].values()])
    for a, b in zip(g2, g1):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("mode,extra", [("conv_lstm", {"peephole": True, "layer_norm": True}),
                                        ("conv_gru", {"reset_after": False})])
def test_gradcheck_through_a_masked_sequence(mode, extra):
    from torch.autograd import gradcheck
    spec, weights, x, hx = _setup(mode=mode, rank=1, C=1, Fi=2, k=3, S=(3,), **extra)
    mask = torch.tensor([[1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=torch.bool)
    names = list(weights[0])

    def f(x, *rest):
        h = rest[:spec.n_states]
        w = dict(zip(names, rest[spec.n_states:]))
        out, state, _ = registry.run_conv(spec, [w], x, h, mask, backend="conv")
        return out, *state

    x3 = x[:, :3].detach().requires_grad_()
    h3 = tuple(h[:, :3].detach().requires_grad_() for h in hx)
    assert gradcheck(f, (x3, *h3, *[weights[0][n] for n in names]), eps=1e-6, atol=1e-5)


# --- the conv kernel's fused Triton gate update (CUDA; here in Triton's interpreter) -------
TRITON_CASES = {
    "lstm": {},
    "gru-reset-after": {"mode": "conv_gru"},
    "gru-reset-before": {"mode": "conv_gru", "reset_after": False},
    "lstm-bidirectional-2-layers-masked": {"num_layers": 2, "bidirectional": True},
}


@pytest.mark.parametrize("case", list(TRITON_CASES))
def test_conv_kernel_runs_the_triton_gates_and_matches_the_reference(case, monkeypatch):
    """The hoisted path hands the gate update to rnnkit.kernels.triton_conv on the devices
    of TRITON_DEVICES (CUDA). Here the CPU is added and Triton interprets the kernels:
    outputs, states and every gradient must equal the reference loop's, and a spy proves
    the Triton kernels ran."""
    pytest.importorskip("triton", reason="triton is not installed (pip install -e '.[gpu]')")
    from rnnkit.kernels import conv_recurrent, triton_conv as tc

    monkeypatch.setenv("TRITON_INTERPRET", "1")
    monkeypatch.setattr(conv_recurrent, "TRITON_DEVICES", frozenset({"cpu"}))
    launched = []
    real = tc._launch
    monkeypatch.setattr(tc, "_launch", lambda name, *a: (launched.append(name), real(name, *a)))
    opts = dict(TRITON_CASES[case])
    mask = HOLES if "masked" in case else None
    spec, weights, x, hx = _setup(S=(4, 3), **opts)
    o1, s1, g1 = _all_grads(spec, weights, x, hx, mask, "reference")
    assert not launched
    o2, s2, g2 = _all_grads(spec, weights, x, hx, mask, "conv")
    assert launched, "the conv kernel did not call the Triton gate kernels"
    torch.testing.assert_close(o2, o1, rtol=1e-10, atol=1e-12)
    for a, b in zip(s2, s1):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(g2, g1):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_conv_kernel_keeps_torch_ops_where_triton_does_not_apply(monkeypatch):
    """Peephole/layer norm (named by triton_conv.why_not_spec) and devices outside
    TRITON_DEVICES never reach the Triton kernels."""
    pytest.importorskip("triton", reason="triton is not installed (pip install -e '.[gpu]')")
    from rnnkit.kernels import conv_recurrent, triton_conv as tc

    monkeypatch.setenv("TRITON_INTERPRET", "1")
    launched = []
    monkeypatch.setattr(tc, "_launch", lambda name, *a: launched.append(name))
    spec, weights, x, hx = _setup(S=(4, 3))
    registry.run_conv(spec, weights, x, hx, backend="conv")  # CPU: not a Triton device
    monkeypatch.setattr(conv_recurrent, "TRITON_DEVICES", frozenset({"cpu"}))
    spec, weights, x, hx = _setup(S=(4, 3), peephole=True, layer_norm=True)
    registry.run_conv(spec, weights, x, hx, backend="conv")
    assert launched == []


def test_the_memory_layout_rule(monkeypatch):
    """2-D maps only; the joint form's training goes channels-last from
    JOINT_CHANNELS_LAST_MIN_FILTERS filters up (CPU); FORCE_CHANNELS_LAST overrides all."""
    from rnnkit.kernels import conv_recurrent as cr
    monkeypatch.setattr(cr, "FORCE_CHANNELS_LAST", None)
    n = cr.JOINT_CHANNELS_LAST_MIN_FILTERS
    assert cr.channels_last_for("cpu", n, 2, grad=True, joint=True) is True
    assert cr.channels_last_for("cpu", n - 1, 2, grad=True, joint=True) is False
    assert cr.channels_last_for("cpu", 64, 3, grad=True, joint=True) is False  # 3-D maps
    assert cr.channels_last_for("cpu", 8, 2, grad=False) is cr.CHANNELS_LAST["cpu"]
    assert cr.channels_last_for("cpu", 64, 2, grad=True) is cr.CHANNELS_LAST_TRAINING["cpu"]
    assert cr.channels_last_for("cuda", 64, 2, grad=True, joint=True) is False
    monkeypatch.setattr(cr, "FORCE_CHANNELS_LAST", True)
    assert cr.channels_last_for("cpu", 1, 2, grad=True, joint=True) is True
    assert cr.channels_last_for("cpu", 64, 1, grad=False) is False  # still 2-D only
