"""rnnkit.cells.init and the initialisers the torch-style modules use: forget bias,
chrono init (Tallec & Ollivier 2018), Keras's and torch's defaults."""
import math

import pytest
import torch

import rnnkit.nn as rnn
from rnnkit.cells import param_shapes, torch_default_init_
from rnnkit.cells.init import chrono_init_, forget_bias_, keras_default_init_

pytestmark = pytest.mark.usefixtures("one_thread")
H = 3


def _params(mode="lstm", I=2, **kw):
    torch.manual_seed(0)
    return {n: torch.randn(s) for n, s in param_shapes(mode, I, H, **kw).items()}


def test_forget_bias_sets_only_the_forget_slice():
    p = _params()
    before = {n: t.clone() for n, t in p.items()}
    forget_bias_(p, H, 2.5)
    # Gate order i, f, g, o: f is rows H..2H.
    assert torch.equal(p["bias_ih"][H:2 * H], torch.full((H,), 2.5))
    assert torch.equal(p["bias_hh"][H:2 * H], torch.zeros(H))  # so b_ih + b_hh = 2.5
    for n in ("bias_ih", "bias_hh"):
        assert torch.equal(p[n][:H], before[n][:H]) and torch.equal(p[n][2 * H:], before[n][2 * H:])
    assert torch.equal(p["weight_ih"], before["weight_ih"])
    single = _params(bias_hh=False)
    forget_bias_(single, H, 1.0)
    assert torch.equal(single["bias_ih"][H:2 * H], torch.ones(H)) and "bias_hh" not in single


def test_chrono_init_slices_and_range():
    T_max = 20.0
    p = _params()
    before = {n: t.clone() for n, t in p.items()}
    chrono_init_(p, H, T_max, generator=torch.Generator().manual_seed(5))
    b_f, b_i = p["bias_ih"][H:2 * H], p["bias_ih"][:H]
    assert bool(((b_f >= 0.0) & (b_f <= math.log(T_max - 1))).all())  # log U([1, T_max − 1])
    assert torch.equal(b_i, -b_f)
    assert torch.equal(p["bias_hh"][:2 * H], torch.zeros(2 * H))
    assert torch.equal(p["bias_ih"][2 * H:], before["bias_ih"][2 * H:])  # g, o untouched
    assert torch.equal(p["bias_hh"][2 * H:], before["bias_hh"][2 * H:])
    # The generator makes it reproducible; a different seed gives different biases.
    q, r = _params(), _params()
    chrono_init_(q, H, T_max, generator=torch.Generator().manual_seed(5))
    chrono_init_(r, H, T_max, generator=torch.Generator().manual_seed(6))
    assert torch.equal(q["bias_ih"], p["bias_ih"]) and not torch.equal(r["bias_ih"], p["bias_ih"])


def test_chrono_init_wants_more_than_two_steps():
    with pytest.raises(ValueError, match="`chrono_init`"):
        chrono_init_(_params(), H, 2.0)
    with pytest.raises(ValueError, match="`chrono_init`"):
        rnn.LSTM(2, H, chrono_init=1.5)


def _first_step_c(m: rnn.LSTM, c0: float) -> torch.Tensor:
    """c_1 of layer 0 with the weights zeroed (biases kept), x = 0, h_0 = 0, c_0 = c0."""
    with torch.no_grad():
        m.weight_ih_l0.zero_()
        m.weight_hh_l0.zero_()
        LD = m.num_layers * (2 if m.bidirectional else 1)
        _, (_, c) = m(torch.zeros(1, 1, 2), (torch.zeros(LD, 1, H), torch.full((LD, 1, H), c0)))
    return c[0, 0]


def test_lstm_forget_bias_reaches_the_forget_gate():
    torch.manual_seed(1)
    m = rnn.LSTM(2, H, num_layers=2, bidirectional=True, forget_bias=1.0)
    for name, p in m.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.equal(p[H:2 * H], torch.ones(H)), name
        elif name.startswith("bias_hh"):
            assert torch.equal(p[H:2 * H], torch.zeros(H)), name
    # Hand-computed: with g's and i's biases zeroed, g = tanh(0) = 0, so c_1 = σ(1) · c_0.
    with torch.no_grad():
        for n in ("bias_ih_l0", "bias_hh_l0"):
            b = getattr(m, n)
            b[:H].zero_()
            b[2 * H:].zero_()
    torch.testing.assert_close(_first_step_c(m, 2.0), torch.full((H,), 2.0 / (1 + math.exp(-1.0))))


def test_lstm_chrono_init_reaches_the_gates():
    torch.manual_seed(2)
    m = rnn.LSTM(2, H, bidirectional=True, chrono_init=10.0)
    for suffix in ("l0", "l0_reverse"):
        b_ih, b_hh = getattr(m, "bias_ih_" + suffix), getattr(m, "bias_hh_" + suffix)
        assert torch.equal(b_ih[:H], -b_ih[H:2 * H]) and torch.equal(b_hh[:2 * H], torch.zeros(2 * H))
        assert bool(((b_ih[H:2 * H] >= 0) & (b_ih[H:2 * H] <= math.log(9.0))).all())
    # σ(log u) = u / (1 + u): with g zeroed, c_1 = f · c_0 = u / (1 + u) · c_0.
    u = torch.exp(m.bias_ih_l0[H:2 * H].detach())
    with torch.no_grad():
        m.bias_ih_l0[2 * H:3 * H].zero_()
        m.bias_hh_l0[2 * H:3 * H].zero_()
    torch.testing.assert_close(_first_step_c(m, 1.0), u / (1 + u))


def test_forget_bias_options_conflict():
    with pytest.raises(ValueError, match="`forget_bias` or `chrono_init`"):
        rnn.LSTM(2, H, forget_bias=1.0, chrono_init=10.0)
    with pytest.raises(ValueError, match="`forget_bias`.*bias=False"):
        rnn.LSTM(2, H, bias=False, forget_bias=1.0)
    with pytest.raises(ValueError, match="`chrono_init`.*bias=False"):
        rnn.LSTM(2, H, bias=False, chrono_init=10.0)


def test_torch_default_init_bounds_and_layer_norm_gains():
    p = _params(layer_norm=True, peephole=True)
    torch_default_init_(p, H)
    k = 1 / math.sqrt(H)
    for n, t in p.items():
        if n in ("ln_ih", "ln_hh", "ln_c_weight"):
            assert torch.equal(t, torch.ones_like(t)), n
        elif n == "ln_c_bias":
            assert torch.equal(t, torch.zeros_like(t))
        else:
            assert bool((t.abs() <= k).all()) and t.abs().max() > k / 4, n


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn"])
def test_keras_default_init(mode):
    I = 4
    p = _params(mode, I=I, layer_norm=True)
    keras_default_init_(p, mode, H)
    G = {"lstm": 4, "gru": 3, "rnn": 1}[mode]
    limit = math.sqrt(6.0 / (I + G * H))  # glorot_uniform on Keras's (I, G·H) kernel
    assert bool((p["weight_ih"].abs() <= limit).all()) and p["weight_ih"].abs().max() > limit / 4
    # orthogonal on Keras's (H, G·H) recurrent kernel: its H rows are orthonormal.
    w = p["weight_hh"]  # torch layout (G·H, H)
    torch.testing.assert_close(w.t() @ w, torch.eye(H), atol=1e-5, rtol=0)
    b = torch.zeros(G * H)
    if mode == "lstm":
        b[H:2 * H] = 1.0  # unit_forget_bias
    assert torch.equal(p["bias_ih"], b) and torch.equal(p["bias_hh"], torch.zeros(G * H))
    assert torch.equal(p["ln_ih"], torch.ones(G * H))
