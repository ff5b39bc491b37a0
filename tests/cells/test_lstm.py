"""rnnkit.cells.lstm: the docstring's equations by hand, torch.nn.LSTMCell parity, gradcheck.

The hand-computed cases use plain Python floats and ``math`` only, so the
reference engine and torch can't drift together past them.
"""
import math

import pytest
import torch
from torch.autograd import gradcheck

import rnnkit.nn as rnn
from rnnkit.cells import lstm_step

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64
X = [1.0, 2.0]  # x_t, I = 2
H = 2           # hidden units; h_{t-1} = c_{t-1} = 0.5 everywhere
GATE_BIAS = (0.1, 0.2, 0.3, 0.4)  # bias_ih per gate i, f, g, o: a swapped gate order shows


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def _ln(v, gain=1.0, shift=0.0, eps=1e-5):
    """LN over a Python list: (v − mean) / sqrt(var + eps) · gain + shift, var biased."""
    mu = sum(v) / len(v)
    var = sum((a - mu) ** 2 for a in v) / len(v)
    return [(a - mu) / math.sqrt(var + eps) * gain + shift for a in v]


def _const_weights(P=H):
    """W_ih = 0.1, W_hh = −0.2, bias_ih per gate, bias_hh = 0.2."""
    return {
        "weight_ih": torch.full((4 * H, 2), 0.1, dtype=F64),
        "weight_hh": torch.full((4 * H, P), -0.2, dtype=F64),
        "bias_ih": torch.tensor([b for b in GATE_BIAS for _ in range(H)], dtype=F64),
        "bias_hh": torch.full((4 * H,), 0.2, dtype=F64),
    }


def _state(P=H):
    x = torch.tensor([X], dtype=F64)
    return x, torch.full((1, P), 0.5, dtype=F64), torch.full((1, H), 0.5, dtype=F64)


def test_one_step_by_hand():
    # a = 0.1·(1 + 2) − 0.2·(0.5 + 0.5) + b_gate + 0.2 = 0.3 + b_gate
    a_i, a_f, a_g, a_o = (0.3 + b for b in GATE_BIAS)
    i, f, g, o = sig(a_i), sig(a_f), math.tanh(a_g), sig(a_o)
    c = f * 0.5 + i * g
    h = o * math.tanh(c)
    x, h0, c0 = _state()
    h1, c1 = lstm_step(x, h0, c0, _const_weights())
    torch.testing.assert_close(c1, torch.full((1, H), c, dtype=F64), rtol=0, atol=1e-14)
    torch.testing.assert_close(h1, torch.full((1, H), h, dtype=F64), rtol=0, atol=1e-14)


def test_one_step_peephole_by_hand():
    w = _const_weights()
    w.update(weight_ci=torch.full((H,), 0.3, dtype=F64), weight_cf=torch.full((H,), 0.4, dtype=F64),
             weight_co=torch.full((H,), 0.5, dtype=F64))
    a_i, a_f, a_g, a_o = (0.3 + b for b in GATE_BIAS)
    i = sig(a_i + 0.3 * 0.5)   # w_ci ⊙ c_{t-1}
    f = sig(a_f + 0.4 * 0.5)   # w_cf ⊙ c_{t-1}
    c = f * 0.5 + i * math.tanh(a_g)
    o = sig(a_o + 0.5 * c)     # w_co ⊙ c_t, the new cell (Gers & Schmidhuber 2000)
    h = o * math.tanh(c)
    x, h0, c0 = _state()
    h1, c1 = lstm_step(x, h0, c0, w, peephole=True)
    torch.testing.assert_close(c1, torch.full((1, H), c, dtype=F64), rtol=0, atol=1e-14)
    torch.testing.assert_close(h1, torch.full((1, H), h, dtype=F64), rtol=0, atol=1e-14)


def test_one_step_projection_by_hand():
    # proj_size P = 1: W_hh is (4H, 1), h_{t-1} = [0.5], W_hr = [[0.3, −0.6]].
    w = _const_weights(P=1)
    w["weight_hr"] = torch.tensor([[0.3, -0.6]], dtype=F64)
    a_i, a_f, a_g, a_o = (0.3 - 0.1 + b + 0.2 for b in GATE_BIAS)  # W_hh h = −0.2 · 0.5
    c = sig(a_f) * 0.5 + sig(a_i) * math.tanh(a_g)
    h_full = sig(a_o) * math.tanh(c)
    h = 0.3 * h_full - 0.6 * h_full
    x, h0, c0 = _state(P=1)
    h1, c1 = lstm_step(x, h0, c0, w)
    assert h1.shape == (1, 1) and c1.shape == (1, H)
    torch.testing.assert_close(c1, torch.full((1, H), c, dtype=F64), rtol=0, atol=1e-14)
    torch.testing.assert_close(h1, torch.tensor([[h]], dtype=F64), rtol=0, atol=1e-14)


def test_one_step_layer_norm_by_hand():
    # Rows differ so that LN has something to normalise: W_ih row r = 0.05 (r + 1),
    # W_hh row r = 0.02 (r − 3); gains γ_ih = 1.5, γ_hh = 0.5, γ_c = 0.8, β_c = 0.1.
    G = 4 * H
    w = {
        "weight_ih": torch.tensor([[0.05 * (r + 1)] * 2 for r in range(G)], dtype=F64),
        "weight_hh": torch.tensor([[0.02 * (r - 3)] * H for r in range(G)], dtype=F64),
        "bias_ih": torch.tensor([b for b in GATE_BIAS for _ in range(H)], dtype=F64),
        "bias_hh": torch.full((G,), 0.2, dtype=F64),
        "ln_ih": torch.full((G,), 1.5, dtype=F64), "ln_hh": torch.full((G,), 0.5, dtype=F64),
        "ln_c_weight": torch.full((H,), 0.8, dtype=F64), "ln_c_bias": torch.full((H,), 0.1, dtype=F64),
    }
    gx = [0.05 * (r + 1) * (1.0 + 2.0) for r in range(G)]
    gh = [0.02 * (r - 3) * (0.5 + 0.5) for r in range(G)]
    a = [p + q + GATE_BIAS[r // H] + 0.2
         for r, (p, q) in enumerate(zip(_ln(gx, 1.5), _ln(gh, 0.5)))]
    c, h = [], []
    for u in range(H):
        i, f, g, o = sig(a[u]), sig(a[H + u]), math.tanh(a[2 * H + u]), sig(a[3 * H + u])
        c.append(f * 0.5 + i * g)
    c_n = _ln(c, 0.8, 0.1)
    h = [sig(a[3 * H + u]) * math.tanh(c_n[u]) for u in range(H)]
    x, h0, c0 = _state()
    h1, c1 = lstm_step(x, h0, c0, w, layer_norm=True)
    # c_t is carried un-normalised; only h_t sees LN(c_t).
    torch.testing.assert_close(c1, torch.tensor([c], dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(h1, torch.tensor([h], dtype=F64), rtol=0, atol=1e-12)


def test_activations_are_the_ones_asked_for():
    # act = relu, σ = hard_sigmoid (relu6(v + 3) / 6): a = 0.3 + b as above.
    hs = lambda v: min(max(v + 3.0, 0.0), 6.0) / 6.0  # noqa: E731
    a_i, a_f, a_g, a_o = (0.3 + b for b in GATE_BIAS)
    c = hs(a_f) * 0.5 + hs(a_i) * max(a_g, 0.0)
    h = hs(a_o) * max(c, 0.0)
    x, h0, c0 = _state()
    cell = rnn.LSTMCell(2, H, activation="relu", recurrent_activation="hard_sigmoid").double()
    cell.load_state_dict(_const_weights())
    h1, c1 = cell(x, (h0, c0))
    torch.testing.assert_close(h1, torch.full((1, H), h, dtype=F64), rtol=0, atol=1e-14)
    torch.testing.assert_close(c1, torch.full((1, H), c, dtype=F64), rtol=0, atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_lstm_cell(core, dtype, batched, bias):
    torch.manual_seed(0)
    ref = torch.nn.LSTMCell(3, 4, bias=bias).to(dtype)
    ours = rnn.LSTMCell(3, 4, bias=bias).to(dtype)
    ours.load_state_dict(ref.state_dict())
    shape = (2, 3) if batched else (3,)
    x = torch.randn(shape, dtype=dtype, requires_grad=True)
    hx = tuple(torch.randn(shape[:-1] + (4,), dtype=dtype, requires_grad=True) for _ in range(2))
    results = []
    for m in (ref, ours):
        out = m(x, hx)
        results.append([*out, *core.grads(out, [x, *hx, *m.parameters()])])
    assert core.max_abs_diff(results[0], results[1]) <= core.TOL[dtype]
    # No hx: zeros, as torch.nn.
    assert core.max_abs_diff(ref(x), ours(x)) <= core.TOL[dtype]


def _gradcheck_step(P=0, bias=True, **opts):
    """gradcheck lstm_step over x, h, c and every weight, in float64."""
    from rnnkit.cells import param_shapes
    torch.manual_seed(1)
    I, Hh, B = 2, 3, 2
    shapes = param_shapes("lstm", I, Hh, bias=bias, proj_size=P,
                          layer_norm=opts.get("layer_norm", False),
                          peephole=opts.get("peephole", False))
    names = list(shapes)
    ws = [torch.randn(s, dtype=F64, requires_grad=True) for s in shapes.values()]
    x = torch.randn(B, I, dtype=F64, requires_grad=True)
    h = torch.randn(B, P or Hh, dtype=F64, requires_grad=True)
    c = torch.randn(B, Hh, dtype=F64, requires_grad=True)

    def fn(x, h, c, *w):
        return lstm_step(x, h, c, dict(zip(names, w)), **opts)

    assert gradcheck(fn, (x, h, c, *ws))


@pytest.mark.parametrize("opts", [
    {}, {"peephole": True}, {"layer_norm": True}, {"peephole": True, "layer_norm": True},
    {"act": torch.nn.functional.softsign, "ract": torch.nn.functional.hardsigmoid},
], ids=["plain", "peephole", "layer_norm", "peephole+layer_norm", "other_activations"])
def test_gradcheck(opts):
    _gradcheck_step(**opts)


def test_gradcheck_projection_without_bias():
    _gradcheck_step(P=2, bias=False, peephole=True, layer_norm=True)
