"""rnnkit.cells.gru: both reset placements by hand, the seed's GRU identity,
torch.nn.GRUCell parity, gradcheck.

Hand-computed cases use plain Python floats and ``math`` only.
"""
import math

import pytest
import torch
from torch.autograd import gradcheck

import rnnkit.nn as rnn
from rnnkit.cells import gru_step, param_shapes

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64
GATE_BIAS = (0.1, 0.2, 0.3)  # bias_ih per gate r, z, n


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def _ln(v, gain, eps=1e-5):
    mu = sum(v) / len(v)
    var = sum((a - mu) ** 2 for a in v) / len(v)
    return [(a - mu) / math.sqrt(var + eps) * g for a, g in zip(v, gain)]


def _matvec(W, v):
    return [sum(a * b for a, b in zip(row, v)) for row in W]


def _const_weights(H=2):
    """W_ih = 0.1, W_hh = −0.2, bias_ih per gate, bias_hh = 0.5."""
    return {
        "weight_ih": torch.full((3 * H, 2), 0.1, dtype=F64),
        "weight_hh": torch.full((3 * H, H), -0.2, dtype=F64),
        "bias_ih": torch.tensor([b for b in GATE_BIAS for _ in range(H)], dtype=F64),
        "bias_hh": torch.full((3 * H,), 0.5, dtype=F64),
    }


@pytest.mark.parametrize("reset_after", [True, False])
def test_one_step_by_hand(reset_after):
    x, h0 = torch.tensor([[1.0, 2.0]], dtype=F64), torch.full((1, 2), 0.5, dtype=F64)
    # W_i· x = 0.1 · 3 = 0.3 per row; W_h· h = −0.2 · (0.5 + 0.5) = −0.2 per row.
    r = sig(0.3 + 0.1 - 0.2 + 0.5)
    z = sig(0.3 + 0.2 - 0.2 + 0.5)
    if reset_after:   # h̃ = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        n = math.tanh(0.3 + 0.3 + r * (-0.2 + 0.5))
    else:             # h̃ = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
        n = math.tanh(0.3 + 0.3 + (-0.2) * (r * 0.5 + r * 0.5) + 0.5)
    h = z * 0.5 + (1.0 - z) * n  # h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃
    h1 = gru_step(x, h0, _const_weights(), reset_after=reset_after)
    torch.testing.assert_close(h1, torch.full((1, 2), h, dtype=F64), rtol=0, atol=1e-14)


@pytest.mark.parametrize("reset_after", [True, False])
def test_one_step_layer_norm_by_hand(reset_after):
    # H = 3 and weights that vary by row and column, so that LN and r ⊙ h both matter.
    H, x, h = 3, [1.0, 2.0], [0.5, -0.3, 0.2]
    W_ih = [[0.05 * (q + 1) + 0.1 * j for j in range(2)] for q in range(3 * H)]
    W_hh = [[0.02 * (q - 4) + 0.03 * u for u in range(H)] for q in range(3 * H)]
    b_ih = [GATE_BIAS[q // H] for q in range(3 * H)]
    g_ih = [1.5] * (3 * H)
    g_hh = [0.5 + 0.1 * q for q in range(3 * H)]
    gx = _ln(_matvec(W_ih, x), g_ih)                         # over all 3H
    gh_rz = _ln(_matvec(W_hh[:2 * H], h), g_hh[:2 * H])      # over the 2H of r, z
    a_rz = [p + q + b + 0.5 for p, q, b in zip(gx[:2 * H], gh_rz, b_ih)]
    r, z = [sig(a) for a in a_rz[:H]], [sig(a) for a in a_rz[H:]]
    if reset_after:
        gh_n = _ln(_matvec(W_hh[2 * H:], h), g_hh[2 * H:])
        a_n = [gx[2 * H + u] + 0.3 + r[u] * (gh_n[u] + 0.5) for u in range(H)]
    else:
        gh_n = _ln(_matvec(W_hh[2 * H:], [ru * hu for ru, hu in zip(r, h)]), g_hh[2 * H:])
        a_n = [gx[2 * H + u] + 0.3 + gh_n[u] + 0.5 for u in range(H)]
    expect = [z[u] * h[u] + (1 - z[u]) * math.tanh(a_n[u]) for u in range(H)]
    w = {"weight_ih": torch.tensor(W_ih, dtype=F64), "weight_hh": torch.tensor(W_hh, dtype=F64),
         "bias_ih": torch.tensor(b_ih, dtype=F64), "bias_hh": torch.full((3 * H,), 0.5, dtype=F64),
         "ln_ih": torch.tensor(g_ih, dtype=F64), "ln_hh": torch.tensor(g_hh, dtype=F64)}
    got = gru_step(torch.tensor([x], dtype=F64), torch.tensor([h], dtype=F64), w,
                   reset_after=reset_after, layer_norm=True)
    torch.testing.assert_close(got, torch.tensor([expect], dtype=F64), rtol=0, atol=1e-12)


def _seed_gru(x, h, Wxz, Whz, bz, Wxr, Whr, br, Wxh, Whh, bh):
    """The seed's GRU, literally: x (T, B, I), h (B, H); returns (T, B, H)."""
    outs = []
    for x_t in x:
        z = torch.sigmoid(x_t @ Wxz.T + h @ Whz.T + bz)
        r = torch.sigmoid(x_t @ Wxr.T + h @ Whr.T + br)
        h_tilde = torch.tanh(x_t @ Wxh.T + (r * h) @ Whh.T + bh)
        h = (1 - z) * h + z * h_tilde
        outs.append(h)
    return torch.stack(outs)


def test_seed_gru_identity():
    """The seed's h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h̃ is our reset_after=False GRU with
    the z-gate's weights and biases negated (σ(−a) = 1 − σ(a))."""
    torch.manual_seed(0)
    I, H, T, B = 3, 4, 5, 2
    Wxz, Wxr, Wxh = (torch.randn(H, I, dtype=F64) * 0.5 for _ in range(3))
    Whz, Whr, Whh = (torch.randn(H, H, dtype=F64) * 0.5 for _ in range(3))
    bz, br, bh = (torch.randn(H, dtype=F64) * 0.5 for _ in range(3))
    x, h0 = torch.randn(T, B, I, dtype=F64), torch.randn(B, H, dtype=F64)
    expect = _seed_gru(x, h0, Wxz, Whz, bz, Wxr, Whr, br, Wxh, Whh, bh)

    def ours(sign):
        m = rnn.GRU(I, H, reset_after=False).double()
        m.load_state_dict({  # torch's gate order r, z, n
            "weight_ih_l0": torch.cat([Wxr, sign * Wxz, Wxh]),
            "weight_hh_l0": torch.cat([Whr, sign * Whz, Whh]),
            "bias_ih_l0": torch.cat([br, sign * bz, bh]),
            "bias_hh_l0": torch.zeros(3 * H, dtype=F64)})
        with torch.no_grad():
            return m(x, h0.unsqueeze(0))[0]

    torch.testing.assert_close(ours(-1.0), expect, rtol=0, atol=1e-12)
    # Without the negation the two conventions really differ.
    assert (ours(1.0) - expect).abs().max() > 1e-2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_gru_cell(core, dtype, batched, bias):
    torch.manual_seed(0)
    ref = torch.nn.GRUCell(3, 4, bias=bias).to(dtype)
    ours = rnn.GRUCell(3, 4, bias=bias).to(dtype)
    ours.load_state_dict(ref.state_dict())
    shape = (2, 3) if batched else (3,)
    x = torch.randn(shape, dtype=dtype, requires_grad=True)
    h = torch.randn(shape[:-1] + (4,), dtype=dtype, requires_grad=True)
    results = []
    for m in (ref, ours):
        out = m(x, h)
        results.append([out, *core.grads(out, [x, h, *m.parameters()])])
    assert core.max_abs_diff(results[0], results[1]) <= core.TOL[dtype]
    assert core.max_abs_diff(ref(x), ours(x)) <= core.TOL[dtype]


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck(reset_after, layer_norm, bias):
    torch.manual_seed(2)
    I, H, B = 2, 3, 2
    shapes = param_shapes("gru", I, H, bias=bias, layer_norm=layer_norm)
    names = list(shapes)
    ws = [torch.randn(s, dtype=F64, requires_grad=True) for s in shapes.values()]
    x = torch.randn(B, I, dtype=F64, requires_grad=True)
    h = torch.randn(B, H, dtype=F64, requires_grad=True)
    h_rec = torch.randn(B, H, dtype=F64, requires_grad=True)  # recurrent-dropout's masked h

    def fn(x, h, h_rec, *w):
        return gru_step(x, h, dict(zip(names, w)), reset_after=reset_after,
                        layer_norm=layer_norm, h_rec=h_rec)

    assert gradcheck(fn, (x, h, h_rec, *ws))
