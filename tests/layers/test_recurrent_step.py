"""layer.step(x_t, states): one time step of online inference, for SimpleRNN,
LSTM and GRU; stepping through a sequence equals the full-sequence output."""
import numpy as np
import pytest
import torch

from rnnkit.kernels import cpu
from rnnkit.layers import GRU, LSTM, SimpleRNN

B, T, I, U = 2, 6, 3, 4
needs_cpu = pytest.mark.skipif(  # only without a toolchain: a failed build fails
    cpu.build.why_no_toolchain() is not None,
    reason=f"native kernel unavailable: {cpu.build.why_no_toolchain()}")
LAYERS = {  # name: (class, kwargs, native spy key)
    "simple_rnn": (SimpleRNN, {}, "rnn_tanh"),
    "simple_rnn_relu": (SimpleRNN, {"activation": "relu"}, "rnn_relu"),
    "lstm": (LSTM, {}, "lstm"),
    "gru": (GRU, {}, "gru"),
    "gru_reset_before": (GRU, {"reset_after": False}, "gru"),
}


def _layer(name, **kw):
    cls, base, _ = LAYERS[name]
    torch.manual_seed(0)
    layer = cls(U, return_sequences=True, **base, **kw)
    layer.maybe_build((T, I))  # built first, so that .double() reaches the weights
    layer.double().eval()
    assert layer.weight_ih.dtype == torch.float64
    x = torch.randn(B, T, I, dtype=torch.float64)
    return layer, x


def _stepped(layer, x, states=None):
    outs = []
    for t in range(x.shape[1]):
        o, states = layer.step(x[:, t], states)  # x[:, t] is a non-contiguous view
        outs.append(o)
    return torch.stack(outs, 1), states


@pytest.mark.parametrize("backend", ["auto", "reference", pytest.param("cpu", marks=needs_cpu)])
@pytest.mark.parametrize("name", list(LAYERS))
def test_stepping_equals_the_full_sequence(name, backend):
    layer, x = _layer(name, backend=backend, return_state=True)
    with torch.no_grad():
        full, *final = layer(x)
        stepped, states = _stepped(layer, x)
    torch.testing.assert_close(stepped, full, rtol=0, atol=1e-10)
    assert len(states) == len(final)
    for s, f in zip(states, final):
        torch.testing.assert_close(s, f, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_given_states_continue_the_sequence(name):
    layer, x = _layer(name, return_state=True)
    with torch.no_grad():
        _, *mid = layer(x[:, :3])
        full = layer(x[:, 3:], initial_state=mid)[0]
        stepped, _ = _stepped(layer, x[:, 3:], [s.numpy() for s in mid])  # numpy states too
    torch.testing.assert_close(stepped, full, rtol=0, atol=1e-10)


@needs_cpu
@pytest.mark.parametrize("name", list(LAYERS))
def test_auto_step_runs_the_native_step(name):
    layer, x = _layer(name)
    key = (LAYERS[name][2], "step")
    before = cpu.calls[key]
    with torch.no_grad():
        layer.step(x[:, 0])
    assert cpu.calls[key] == before + 1
    assert "kernel: cpu" in layer.kernel_report()


def test_zoneout_and_layer_norm_step_with_the_reference_in_eval():
    for kw in ({"zoneout": 0.3}, {"layer_norm": True}, {"peephole": True}):
        layer, x = _layer("lstm", **kw)
        with torch.no_grad():
            full = layer(x)
            stepped, _ = _stepped(layer, x)
        torch.testing.assert_close(stepped, full, rtol=0, atol=1e-10)
        assert layer.last_choice.kernel == "reference"


def test_step_is_differentiable():
    layer, x = _layer("gru")
    x = x.requires_grad_(True)
    full = layer(x)
    stepped, _ = _stepped(layer, x)
    w = torch.randn_like(full)
    g_full = torch.autograd.grad((full * w).sum(), [x, *layer.parameters()])
    g_step = torch.autograd.grad((stepped * w).sum(), [x, *layer.parameters()])
    for a, b in zip(g_step, g_full):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_step_builds_an_unbuilt_layer_and_casts_to_its_dtype():
    layer = LSTM(U)
    out, states = layer.step(np.ones((B, I), dtype=np.float64))
    assert layer.built and out.shape == (B, U) and out.dtype == torch.float32
    assert len(states) == 2 and torch.equal(out, states[0])


def test_bad_input_names_x_t():
    layer, x = _layer("lstm")
    with pytest.raises(ValueError, match=r"`x_t` must be 2-D .*got 3-D"):
        layer.step(x)
    with pytest.raises(ValueError, match=r"`x_t` has 5 features but the layer was built for 3"):
        layer.step(torch.randn(B, 5, dtype=torch.float64))
    with pytest.raises(TypeError, match="`x_t` must be a torch.Tensor"):
        layer.step([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="`x_t` must hold floating values"):
        layer.step(torch.ones(B, I, dtype=torch.long))


def test_bad_states_are_named():
    layer, x = _layer("lstm")
    with pytest.raises(ValueError, match=r"`states` for LSTM must be \[h, c\], got 1"):
        layer.step(x[:, 0], [torch.zeros(B, U)])
    with pytest.raises(ValueError, match=r"`states`\[1\] must have shape .*\(2, 4\), got \(2, 3\)"):
        layer.step(x[:, 0], [torch.zeros(B, U), torch.zeros(B, 3)])


def test_torch_backend_has_no_step_and_says_so():
    layer, x = _layer("gru", backend="torch")
    with pytest.raises(ValueError, match="backend='torch' has no single-step kernel"):
        layer.step(x[:, 0])
