"""rnnkit.nn.{RNNCell, LSTMCell, GRUCell}: the registry's step kernels against
torch.nn's cells (outputs, states and every gradient, each backend), a spy
proving that auto runs the native step, and explicit backends that can't run."""
import pytest
import torch

import rnnkit.cells
import rnnkit.nn as rnn
from rnnkit.kernels import cpu

pytestmark = pytest.mark.usefixtures("one_thread")
B, I, H = 3, 5, 4
needs_cpu = pytest.mark.skipif(  # only without a toolchain: a failed build fails
    cpu.build.why_no_toolchain() is not None,
    reason=f"native kernel unavailable: {cpu.build.why_no_toolchain()}")

KINDS = {  # name: (torch.nn class, rnnkit.nn class, kwargs, spy key of the native step)
    "rnn_tanh": (torch.nn.RNNCell, rnn.RNNCell, {}, "rnn_tanh"),
    "rnn_relu": (torch.nn.RNNCell, rnn.RNNCell, {"nonlinearity": "relu"}, "rnn_relu"),
    "lstm": (torch.nn.LSTMCell, rnn.LSTMCell, {}, "lstm"),
    "gru": (torch.nn.GRUCell, rnn.GRUCell, {}, "gru"),
}
BACKENDS = ["auto", "reference", pytest.param("cpu", marks=needs_cpu)]


def _pair(kind, dtype, backend, bias=True):
    torch_cls, our_cls, kw, _ = KINDS[kind]
    torch.manual_seed(0)
    ref = torch_cls(I, H, bias=bias, **kw).to(dtype)
    ours = our_cls(I, H, bias=bias, **kw, backend=backend).to(dtype)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _inputs(kind, dtype):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(B, I, generator=g, dtype=dtype, requires_grad=True)
    hx = tuple(torch.randn(B, H, generator=g, dtype=dtype, requires_grad=True)
               for _ in range(2 if kind == "lstm" else 1))
    return x, hx


def test_the_drop_ins_are_rnnkit_nn_s_and_subclass_the_cells():
    for cls, base in [(rnn.LSTMCell, rnnkit.cells.LSTMCell), (rnn.GRUCell, rnnkit.cells.GRUCell),
                      (rnn.RNNCell, rnnkit.cells.RNNCell)]:
        assert cls.__module__ == "rnnkit.nn.cells" and issubclass(cls, base)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_matches_torch_nn_outputs_and_gradients(core, kind, backend, dtype, bias):
    ref, ours = _pair(kind, dtype, backend, bias)
    x, hx = _inputs(kind, dtype)
    state = hx if kind == "lstm" else hx[0]
    out_ref, out = ref(x, state), ours(x, state)
    assert core.max_abs_diff(out, out_ref) <= core.TOL[dtype]
    leaves = [x, *hx, *ours.parameters()]
    g_ours = core.grads(out, leaves)
    g_ref = core.grads(out_ref, [x, *hx, *ref.parameters()])
    assert core.max_abs_diff(g_ours, g_ref) <= core.TOL[dtype]
    assert all(g.abs().sum() > 0 for g in g_ours)  # every leaf really got a gradient


@pytest.mark.parametrize("kind", list(KINDS))
def test_no_grad_and_unbatched_match_torch_nn(core, kind):
    ref, ours = _pair(kind, torch.float32, "auto")
    x, hx = _inputs(kind, torch.float32)
    with torch.no_grad():
        for xs, st in [(x, hx), (x[0], tuple(s[0] for s in hx))]:  # (B, I) and (I,)
            st = st if kind == "lstm" else st[0]
            assert core.max_abs_diff(ours(xs, st), ref(xs, st)) <= 2e-5
        assert core.max_abs_diff(ours(x), ref(x)) <= 2e-5  # hx=None: zeros


@needs_cpu
@pytest.mark.parametrize("kind", list(KINDS))
def test_auto_runs_the_native_step(kind):
    """The spy: a broken fast path must not hide behind a silent fallback."""
    _, ours = _pair(kind, torch.float32, "auto")
    key = KINDS[kind][3]
    x, hx = _inputs(kind, torch.float32)
    before = cpu.calls[(key, "step")]
    with torch.no_grad():
        ours(x)
        ours(x)
    assert cpu.calls[(key, "step")] == before + 2
    assert ours.last_choice.kernel == "cpu" and "kernel: cpu" in ours.kernel_report()
    before = cpu.calls[(key, "train")]  # with a gradient: the fused kernel's BPTT
    ours(x)[0].sum().backward() if kind == "lstm" else ours(x).sum().backward()
    assert cpu.calls[(key, "train")] == before + 1


@needs_cpu
def test_reference_backend_does_not_call_the_native_step():
    _, ours = _pair("gru", torch.float32, "reference")
    before = sum(cpu.calls.values())
    with torch.no_grad():
        ours(torch.randn(B, I))
    assert sum(cpu.calls.values()) == before and ours.last_choice.kernel == "reference"


def test_explicit_cpu_with_layer_norm_raises_the_reason():
    cell = rnn.LSTMCell(I, H, layer_norm=True, backend="cpu")
    with pytest.raises(ValueError, match="backend='cpu' can't run.*layer normalisation"):
        cell(torch.randn(B, I))


def test_auto_with_layer_norm_runs_the_reference_and_says_why(core):
    cell = rnn.GRUCell(I, H, layer_norm=True)
    assert cell.kernel_report() == "no call yet"
    x = torch.randn(B, I, dtype=torch.float64)
    cell = cell.double()
    base = rnnkit.cells.GRUCell(I, H, layer_norm=True).double()
    base.load_state_dict(cell.state_dict())
    assert core.max_abs_diff(cell(x), base(x)) == 0.0
    assert cell.last_choice.kernel == "reference"
    assert "not cpu: the native step has no layer normalisation" in cell.kernel_report()


@needs_cpu
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_reset_before_and_after_native_equals_reference(core, reset_after):
    cells = [rnn.GRUCell(I, H, reset_after=reset_after, backend=b).double()
             for b in ("cpu", "reference")]
    cells[1].load_state_dict(cells[0].state_dict())
    x, hx = _inputs("gru", torch.float64)
    outs = [c(x, hx[0]) for c in cells]
    assert core.max_abs_diff(*outs) <= 1e-10
    assert core.max_abs_diff(core.grads(outs[0], [x, *hx, *cells[0].parameters()]),
                             core.grads(outs[1], [x, *hx, *cells[1].parameters()])) <= 1e-10


@needs_cpu
@pytest.mark.parametrize("kind", list(KINDS))
def test_gradcheck_float64_native_step(kind):
    _, ours = _pair(kind, torch.float64, "cpu")
    x, hx = _inputs(kind, torch.float64)
    params = list(ours.parameters())

    def f(x, *rest):
        st, ws = rest[:len(hx)], rest[len(hx):]
        names = [n for n, _ in ours.named_parameters()]
        return torch.func.functional_call(ours, dict(zip(names, ws)),
                                          (x, st if kind == "lstm" else st[0]))

    assert torch.autograd.gradcheck(f, (x, *hx, *[p.detach().requires_grad_() for p in params]))


def test_bad_backend_is_named():
    with pytest.raises(ValueError, match="`backend` must be one of .*'cpu'.*got 'fast'"):
        rnn.RNNCell(I, H, backend="fast")


@pytest.mark.parametrize("backend", BACKENDS)
def test_parametrized_weights_are_the_ones_used(core, backend):
    """torch's parametrize moves weight_hh behind a property; the step must read it there."""
    ref, ours = _pair("lstm", torch.float64, backend)
    for m in (ref, ours):
        torch.nn.utils.parametrize.register_parametrization(m, "weight_hh", _Double())
    x, hx = _inputs("lstm", torch.float64)
    assert core.max_abs_diff(ours(x, hx), ref(x, hx)) <= 1e-10
    # A cell holding the un-doubled weight_hh: what a step that missed the property computes.
    plain = rnn.LSTMCell(I, H, backend=backend).double()
    state = {k: v for k, v in ours.state_dict().items() if "parametrizations" not in k}
    plain.load_state_dict(dict(state, weight_hh=ours.parametrizations.weight_hh.original))
    assert core.max_abs_diff(ours(x, hx), plain(x, hx)) > 1e-3


class _Double(torch.nn.Module):
    def forward(self, w):
        return 2.0 * w


@pytest.mark.parametrize("kind", list(KINDS))
def test_last_choice_follows_a_dtype_change(kind):
    """last_choice is only reassigned when the registry's cached choice changes:
    a cell moved to bfloat16 must report the reference kernel and why."""
    _, ours = _pair(kind, torch.float32, "auto")
    x, hx = _inputs(kind, torch.float32)
    with torch.no_grad():
        ours(x.detach())
        first = ours.last_choice
        ours(x.detach())
        assert ours.last_choice is first  # cached: the same Choice object
        ours.to(torch.bfloat16)
        ours(x.detach().to(torch.bfloat16))
    assert ours.last_choice.kernel == "reference"
    assert "not cpu: runs float32 and float64 only" in ours.kernel_report()
