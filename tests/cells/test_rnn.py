"""rnnkit.cells.rnn: the Elman step by hand (tanh, relu, layer norm), torch.nn.RNNCell
parity, gradcheck."""
import math

import pytest
import torch
from torch.autograd import gradcheck

import rnnkit.nn as rnn
from rnnkit.cells import param_shapes, rnn_step

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64


def _const_weights():
    """W_ih = 0.1, W_hh = −0.2, bias_ih = [0.2, −1.0] (unit 2 goes negative), bias_hh = 0.2."""
    return {"weight_ih": torch.full((2, 2), 0.1, dtype=F64),
            "weight_hh": torch.full((2, 2), -0.2, dtype=F64),
            "bias_ih": torch.tensor([0.2, -1.0], dtype=F64),
            "bias_hh": torch.full((2,), 0.2, dtype=F64)}


# a_u = 0.1·(1 + 2) − 0.2·(0.5 + 0.5) + b_u + 0.2 = [0.5, −0.7]
A = [0.3 - 0.2 + 0.2 + 0.2, 0.3 - 0.2 - 1.0 + 0.2]


@pytest.mark.parametrize("name,fn", [("tanh", math.tanh), ("relu", lambda v: max(v, 0.0))])
def test_one_step_by_hand(name, fn):
    x, h0 = torch.tensor([[1.0, 2.0]], dtype=F64), torch.full((1, 2), 0.5, dtype=F64)
    expect = torch.tensor([[fn(a) for a in A]], dtype=F64)
    act = torch.tanh if name == "tanh" else torch.relu
    torch.testing.assert_close(rnn_step(x, h0, _const_weights(), act=act), expect,
                               rtol=0, atol=1e-14)
    cell = rnn.RNNCell(2, 2, nonlinearity=name).double()
    cell.load_state_dict(_const_weights())
    torch.testing.assert_close(cell(x, h0), expect, rtol=0, atol=1e-14)
    if name == "relu":
        assert cell(x, h0)[0, 1] == 0.0


def test_one_step_layer_norm_by_hand():
    # H = 3 with row-varying weights; γ_ih = [1, 2, 3], γ_hh = 0.5.
    x, h = [1.0, 2.0], [0.5, -0.3, 0.2]
    W_ih = [[0.1 * (q + 1) + 0.05 * j for j in range(2)] for q in range(3)]
    W_hh = [[0.2 * (q - 1) - 0.1 * u for u in range(3)] for q in range(3)]
    b_ih, b_hh = [0.1, -0.2, 0.3], [0.2, 0.2, 0.2]

    def ln(v, gain, eps=1e-5):
        mu = sum(v) / len(v)
        var = sum((a - mu) ** 2 for a in v) / len(v)
        return [(a - mu) / math.sqrt(var + eps) * g for a, g in zip(v, gain)]

    gx = ln([sum(w * v for w, v in zip(row, x)) for row in W_ih], [1.0, 2.0, 3.0])
    gh = ln([sum(w * v for w, v in zip(row, h)) for row in W_hh], [0.5] * 3)
    expect = [math.tanh(gx[q] + gh[q] + b_ih[q] + b_hh[q]) for q in range(3)]
    w = {"weight_ih": torch.tensor(W_ih, dtype=F64), "weight_hh": torch.tensor(W_hh, dtype=F64),
         "bias_ih": torch.tensor(b_ih, dtype=F64), "bias_hh": torch.tensor(b_hh, dtype=F64),
         "ln_ih": torch.tensor([1.0, 2.0, 3.0], dtype=F64), "ln_hh": torch.full((3,), 0.5, dtype=F64)}
    got = rnn_step(torch.tensor([x], dtype=F64), torch.tensor([h], dtype=F64), w, layer_norm=True)
    torch.testing.assert_close(got, torch.tensor([expect], dtype=F64), rtol=0, atol=1e-12)


def test_activation_overrides_nonlinearity():
    cell = rnn.RNNCell(2, 2, activation="softsign").double()
    cell.load_state_dict(_const_weights())
    x, h0 = torch.tensor([[1.0, 2.0]], dtype=F64), torch.full((1, 2), 0.5, dtype=F64)
    expect = torch.tensor([[a / (1 + abs(a)) for a in A]], dtype=F64)
    torch.testing.assert_close(cell(x, h0), expect, rtol=0, atol=1e-14)
    assert cell.activation == "softsign"


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_rnn_cell(core, nonlinearity, dtype, batched, bias):
    torch.manual_seed(0)
    ref = torch.nn.RNNCell(3, 4, bias=bias, nonlinearity=nonlinearity).to(dtype)
    ours = rnn.RNNCell(3, 4, bias=bias, nonlinearity=nonlinearity).to(dtype)
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


@pytest.mark.parametrize("act", [torch.tanh, torch.relu, torch.nn.functional.elu])
@pytest.mark.parametrize("layer_norm", [False, True])
def test_gradcheck(act, layer_norm):
    torch.manual_seed(3)
    I, H, B = 2, 3, 2
    shapes = param_shapes("rnn", I, H, layer_norm=layer_norm)
    names = list(shapes)
    ws = [torch.randn(s, dtype=F64, requires_grad=True) for s in shapes.values()]
    x = torch.randn(B, I, dtype=F64, requires_grad=True)
    h = torch.randn(B, H, dtype=F64, requires_grad=True)

    def fn(x, h, *w):
        return rnn_step(x, h, dict(zip(names, w)), act=act, layer_norm=layer_norm)

    assert gradcheck(fn, (x, h, *ws))
