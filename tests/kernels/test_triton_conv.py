"""The Triton gate kernels against their torch-ops twins and the cells, on outputs
and every gradient, run in Triton's interpreter on CPU tensors (TRITON_INTERPRET=1;
no GPU here: scripts/gpu_conv_check.py runs the compiled kernels on CUDA)."""
import pytest
import torch

pytest.importorskip("triton", reason="triton is not installed (pip install -e '.[gpu]')")

from rnnkit.cells.conv_base import conv_param_shapes  # noqa: E402
from rnnkit.cells.conv_gru import conv_gru_step  # noqa: E402
from rnnkit.cells.conv_lstm import conv_lstm_input, conv_lstm_step  # noqa: E402
from rnnkit.kernels import triton_conv as tc  # noqa: E402
from rnnkit.kernels.conv_spec import ConvSpec  # noqa: E402
from rnnkit.kernels.triton_conv_torch import (conv_gru_step_update,  # noqa: E402
                                              conv_lstm_step_update)

TOL = {torch.float32: dict(rtol=1e-5, atol=2e-6), torch.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture(autouse=True)
def interpret(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")


@pytest.fixture
def launches(monkeypatch):
    """Spy: the names of the Triton kernels launched (proves the fused path ran)."""
    seen = []
    real = tc._launch
    monkeypatch.setattr(tc, "_launch", lambda name, *a: (seen.append(name), real(name, *a)))
    return seen


def _rand(g, *shape, dtype=torch.float64, scale=1.5):
    return (torch.randn(*shape, generator=g, dtype=dtype) * scale).requires_grad_()


def _loss_grads(out, leaves):
    out = out if isinstance(out, tuple) else (out,)
    w = [torch.linspace(-2, 1, o.numel(), dtype=o.dtype).view(o.shape) for o in out]
    return torch.autograd.grad(sum((o * k).sum() for o, k in zip(out, w)), leaves)


def _same(got, want, dtype):
    for a, b in zip(got, want):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, **TOL[dtype])


# (B, F, S): numel not a multiple of the block, F = 1, 1-D and 3-D maps, two blocks with a
# sample split between them (2·3·29·31 = 5394 > 4096), an empty batch
SHAPES = [(3, 1, (5, 7)), (2, 3, (4, 3, 2)), (1, 2, (9,)), (2, 3, (29, 31)), (0, 2, (3, 3))]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("B,F,S", SHAPES)
def test_lstm_gates_match_torch(B, F, S, dtype, launches):
    g = torch.Generator().manual_seed(0)
    pre, c = _rand(g, B, 4 * F, *S, dtype=dtype), _rand(g, B, F, *S, dtype=dtype)
    got, want = tc.lstm_gates(pre, c), tc.lstm_gates_torch(pre, c)
    _same(got, want, dtype)
    _same(_loss_grads(got, [pre, c]), _loss_grads(want, [pre, c]), dtype)
    assert launches == (["lstm_fwd", "lstm_bwd"] if B else [])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("B,F,S", SHAPES)
def test_gru_gates_match_torch(B, F, S, reset_after, dtype, launches):
    g = torch.Generator().manual_seed(1)
    xg, hg = _rand(g, B, 3 * F, *S, dtype=dtype), _rand(g, B, 3 * F, *S, dtype=dtype)
    h = _rand(g, B, F, *S, dtype=dtype)
    got = tc.gru_gates(xg, hg, h, reset_after)
    want = tc.gru_gates_torch(xg, hg, h, reset_after)
    _same([got], [want], dtype)
    _same(_loss_grads(got, [xg, hg, h]), _loss_grads(want, [xg, hg, h]), dtype)
    assert launches == (["gru_fwd", "gru_bwd"] if B else [])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("B,F,S", SHAPES[:3])
def test_gru_reset_matches_torch(B, F, S, dtype):
    g = torch.Generator().manual_seed(2)
    xg, hg = _rand(g, B, 3 * F, *S, dtype=dtype), _rand(g, B, 2 * F, *S, dtype=dtype)
    h = _rand(g, B, F, *S, dtype=dtype)
    got, want = tc.gru_reset(xg, hg, h), tc.gru_reset_torch(xg, hg, h)
    _same([got], [want], dtype)
    _same(_loss_grads(got, [xg, hg, h]), _loss_grads(want, [xg, hg, h]), dtype)


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(3)
    pre, c = _rand(g, 2, 4, 1, 1), _rand(g, 2, 1, 1, 1)
    assert torch.autograd.gradcheck(tc.lstm_gates, (pre, c))
    xg, hg, h = _rand(g, 1, 3, 2, 1), _rand(g, 1, 3, 2, 1), _rand(g, 1, 1, 2, 1)
    for reset_after in (True, False):
        assert torch.autograd.gradcheck(lambda a, b, d: tc.gru_gates(a, b, d, reset_after),
                                        (xg, hg, h))
    assert torch.autograd.gradcheck(tc.gru_reset, (xg, hg, h))


def test_one_output_used_and_strided_inputs():
    """Autograd hands None for an unused output (materialised as zeros); inputs may be
    channel slices (read in place) or channels-last (copied) views."""
    g = torch.Generator().manual_seed(4)
    big = _rand(g, 2, 10, 4, 5)
    pre = big[:, 1:9]  # (2, 8, 4, 5): a channel slice, each sample's block contiguous
    c = _rand(g, 2, 5, 4, 2).permute(0, 3, 2, 1)  # (2, 2, 4, 5), not contiguous
    for pick in (0, 1):
        got = tc.lstm_gates(pre, c)[pick]
        want = tc.lstm_gates_torch(pre, c)[pick]
        _same([got], [want], torch.float64)
        _same(_loss_grads(got, [big, c]), _loss_grads(want, [big, c]), torch.float64)
    cl = _rand(g, 2, 8, 4, 5).contiguous(memory_format=torch.channels_last)
    _same(tc.lstm_gates(cl, c.detach()), tc.lstm_gates_torch(cl, c.detach()), torch.float64)


@pytest.mark.parametrize("dtype,tol", [(torch.float16, 2e-3), (torch.bfloat16, 2e-2)])
def test_half_precision_computes_in_float32(dtype, tol):
    g = torch.Generator().manual_seed(5)
    pre, c = torch.randn(2, 8, 3, 3, generator=g), torch.randn(2, 2, 3, 3, generator=g)
    h, c_new = tc.lstm_gates(pre.to(dtype), c.to(dtype))
    h32, c32 = tc.lstm_gates_torch(pre.to(dtype).float(), c.to(dtype).float())
    assert h.dtype == dtype
    torch.testing.assert_close(h.float(), h32, rtol=0, atol=tol)
    torch.testing.assert_close(c_new.float(), c32, rtol=0, atol=2 * tol)


def _cell_weights(mode, F, g):
    shapes = conv_param_shapes(mode, 2, F, (3, 3), bias_hh=True)
    return {n: (torch.randn(s, generator=g, dtype=torch.float64) * 0.4).requires_grad_()
            for n, s in shapes.items()}


CONV = dict(stride=(2, 1), padding="valid", dilation=(1, 2))  # the input convolution's


def test_lstm_step_with_triton_gates_is_the_cell(launches):
    """x -> the hoisted input convolution -> the step on the Triton gates, against the
    cell's own conv_lstm_step, on H, C and the gradients of x, H, C and every weight."""
    g = torch.Generator().manual_seed(6)
    w = _cell_weights("conv_lstm", 3, g)
    x, h, c = _rand(g, 2, 2, 11, 8), _rand(g, 2, 3, 5, 4), _rand(g, 2, 3, 5, 4)
    leaves = [x, h, c, *w.values()]
    want = conv_lstm_step(x, h, c, w, **CONV)
    got = conv_lstm_step_update(conv_lstm_input(x, w, **CONV), h, c, w, gates=tc.lstm_gates)
    _same(got, want, torch.float64)
    _same(_loss_grads(got, leaves), _loss_grads(want, leaves), torch.float64)
    assert launches == ["lstm_fwd", "lstm_bwd"]


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_step_with_triton_gates_is_the_cell(reset_after, launches):
    g = torch.Generator().manual_seed(7)
    w = _cell_weights("conv_gru", 2, g)
    x, h = _rand(g, 2, 2, 7, 10), _rand(g, 2, 2, 3, 6)
    leaves = [x, h, *w.values()]
    want = conv_gru_step(x, h, w, reset_after=reset_after, **CONV)
    got = conv_gru_step_update(conv_lstm_input(x, w, **CONV), h, w, reset_after=reset_after,
                               gates=tc.gru_gates, reset=tc.gru_reset)
    _same([got], [want], torch.float64)
    _same(_loss_grads(got, leaves), _loss_grads(want, leaves), torch.float64)
    fused = ["gru_fwd", "gru_bwd"] if reset_after else ["gru_reset_fwd", "gru_fwd", "gru_bwd",
                                                        "gru_reset_bwd"]
    assert launches == fused


def test_available_names_the_reason(monkeypatch):
    assert tc.available(torch.zeros(1)) is None
    assert tc.available(torch.zeros(1, dtype=torch.int64)).startswith(
        "dtype torch.int64 is not one of torch.float32")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    why = tc.available(torch.zeros(1))
    assert "cpu" in why and "TRITON_INTERPRET=1" in why
    with pytest.raises(ValueError, match="`pre` cannot use the Triton gate kernels.*cpu"):
        tc.lstm_gates(torch.zeros(1, 4, 2), torch.zeros(1, 1, 2))


def test_why_not_spec():
    base = dict(mode="conv_lstm", rank=2, in_channels=1, filters=2, kernel_size=(3, 3),
                stride=(1, 1), padding="same", dilation=(1, 1))
    assert tc.why_not_spec(ConvSpec(**base)) is None
    assert "peephole" in tc.why_not_spec(ConvSpec(**base, peephole=True))
    assert "layer_norm" in tc.why_not_spec(ConvSpec(**base, layer_norm=True))
    assert "relu is not tanh" in tc.why_not_spec(ConvSpec(**base, activation=torch.relu))
    assert "recurrent_activation" in tc.why_not_spec(
        ConvSpec(**base, recurrent_activation=torch.tanh))


def test_bad_input_names_the_argument():
    c = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"`pre` must have 4F \(i, f, g, o\) = 12 channels, got 11"):
        tc.lstm_gates(torch.zeros(2, 11, 4, 4), c)
    with pytest.raises(ValueError, match="`pre` has batch and spatial shape"):
        tc.lstm_gates(torch.zeros(2, 12, 4, 5), c)
    with pytest.raises(ValueError, match="`pre` is torch.float64 on cpu, expected torch.float32"):
        tc.lstm_gates(torch.zeros(2, 12, 4, 4, dtype=torch.float64), c)
    with pytest.raises(ValueError, match=r"`c_prev` must be \(B, C, \*S\)"):
        tc.lstm_gates(torch.zeros(2, 12), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"`h_prev` must be \(B, C, \*S\).*got shape \(3,\)"):
        tc.gru_gates(torch.zeros(2, 9, 4), torch.zeros(2, 9, 4), torch.zeros(3), False)
    with pytest.raises(TypeError, match="`c_prev` must be a torch.Tensor, got list"):
        tc.lstm_gates(torch.zeros(2, 12, 4), [0.0])
    with pytest.raises(ValueError, match=r"`hg` must be \(B, 3F, \*S\) with F = 3, got \(2, 6, 4, 4\)"):
        tc.gru_gates(torch.zeros(2, 9, 4, 4), torch.zeros(2, 6, 4, 4), c, True)
    with pytest.raises(ValueError, match=r"`xg` must have 3F \(r, z, n\) = 9 channels, got 6"):
        tc.gru_reset(torch.zeros(2, 6, 4, 4), torch.zeros(2, 6, 4, 4), c)
    with pytest.raises(TypeError, match="`reset_after` must be a bool, got str"):
        tc.gru_gates(torch.zeros(2, 9, 4, 4), torch.zeros(2, 9, 4, 4), c, "yes")


@pytest.mark.parametrize("reset_after", [True, False])
def test_batches_past_the_grid_limit_run_in_chunks(monkeypatch, launches, reset_after):
    """CUDA's grid holds at most 65535 samples on its second axis; more run in chunks."""
    monkeypatch.setattr(tc, "MAX_GRID_Y", 2)  # B = 5: chunks of 2, 2 and 1 samples
    g = torch.Generator().manual_seed(8)
    pre, c = _rand(g, 5, 8, 3, 2), _rand(g, 5, 2, 3, 2)
    got, want = tc.lstm_gates(pre, c), tc.lstm_gates_torch(pre, c)
    _same(got, want, torch.float64)
    _same(_loss_grads(got, [pre, c]), _loss_grads(want, [pre, c]), torch.float64)
    xg, hg, h = _rand(g, 5, 6, 3, 2), _rand(g, 5, 6, 3, 2), _rand(g, 5, 2, 3, 2)
    got, want = tc.gru_gates(xg, hg, h, reset_after), tc.gru_gates_torch(xg, hg, h, reset_after)
    _same([got], [want], torch.float64)
    _same(_loss_grads(got, [xg, hg, h]), _loss_grads(want, [xg, hg, h]), torch.float64)
