"""rnnkit.nn.{RNN, LSTM, GRU} beyond torch.nn: stateful use, regularisers in
training and at eval, options that reach the kernels."""
import pytest
import torch
from torch.autograd import gradcheck
from torch.func import functional_call

import rnnkit.nn as rnn
from rnnkit.cells import lstm_step

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64
T, B, I, H = 6, 3, 2, 4


def _x(shape=(T, B, I), seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


@pytest.mark.parametrize("cls,kw", [(rnn.LSTM, {"num_layers": 2}), (rnn.GRU, {"layer_norm": True}),
                                    (rnn.RNN, {"batch_first": True}),
                                    (rnn.LSTM, {"proj_size": 2, "peephole": True})])
def test_stateful_halves_equal_one_pass(core, cls, kw):
    torch.manual_seed(0)
    full = cls(I, H, **kw).double()
    m = cls(I, H, stateful=True, **kw).double()
    m.load_state_dict(full.state_dict())
    bf = kw.get("batch_first", False)
    x = _x((B, T, I) if bf else (T, B, I))
    halves = x.split(T // 2, dim=1 if bf else 0)
    out, state = full(x)
    o1, _ = m(halves[0])
    o2, state2 = m(halves[1])
    assert core.max_abs_diff(torch.cat([o1, o2], dim=1 if bf else 0), out) <= 1e-12
    assert core.max_abs_diff(state2, state) <= 1e-12
    # Without stateful, the second half starts from zeros again: a different answer.
    assert core.max_abs_diff(full(halves[1])[0], o2) > 1e-3


def test_carried_state_is_detached():
    m = rnn.LSTM(I, H, stateful=True).double()
    x1, x2 = _x(seed=1).requires_grad_(True), _x(seed=2).requires_grad_(True)
    m(x1)
    assert all(s.grad_fn is None and not s.requires_grad for s in m._state)
    out, _ = m(x2)
    out.sum().backward()
    assert x1.grad is None and x2.grad is not None  # truncated BPTT: nothing flows back into x1


def test_reset_state_zeroes_only_the_given_samples():
    torch.manual_seed(0)
    m = rnn.GRU(I, H, num_layers=2, stateful=True).double()
    ref = rnn.GRU(I, H, num_layers=2).double()
    ref.load_state_dict(m.state_dict())
    x1, x2 = _x(seed=1), _x(seed=2)
    _, h1 = m(x1)
    m.reset_state([0, 2])
    out, _ = m(x2)
    h0 = h1.clone()
    h0[:, [0, 2]] = 0.0
    assert torch.allclose(out, ref(x2, h0)[0], atol=1e-12, rtol=0)
    assert not torch.allclose(out, ref(x2)[0], atol=1e-3)  # sample 1 kept its state
    _, h2 = m(x1)
    m.reset_state(torch.tensor([False, True, False]))       # a (B,) bool mask works too
    h0 = h2.clone()
    h0[:, 1] = 0.0
    assert torch.allclose(m(x2)[0], ref(x2, h0)[0], atol=1e-12, rtol=0)
    m.reset_state()
    assert torch.allclose(m(x2)[0], ref(x2)[0], atol=1e-12, rtol=0)


def test_stateful_batch_size_change_needs_a_reset():
    m = rnn.LSTM(I, H, stateful=True)
    m(torch.randn(T, B, I))
    with pytest.raises(ValueError, match="batch size 3 but `input` has batch size 2"):
        m(torch.randn(T, 2, I))
    m.reset_state()
    m(torch.randn(T, 2, I))


def test_explicit_hx_overrides_the_carried_state(core):
    m = rnn.GRU(I, H, stateful=True).double()
    m(_x(seed=1))
    h0 = torch.zeros(1, B, H, dtype=F64)
    plain = rnn.GRU(I, H).double()
    plain.load_state_dict(m.state_dict())
    assert core.max_abs_diff(m(_x(seed=2), h0), plain(_x(seed=2))) == 0.0


@pytest.mark.parametrize("cls", [rnn.LSTM, rnn.GRU, rnn.RNN])
def test_gradcheck_stateful(cls):
    """The second chunk's gradients, with the first chunk's carried state as a constant."""
    torch.manual_seed(0)
    m = cls(I, 3, stateful=True).double()
    names = [n for n, _ in m.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in m.parameters()]
    x1, x2 = _x((3, 2, I), seed=1), _x((3, 2, I), seed=2).requires_grad_(True)

    def fn(x2, *ps):
        m.reset_state()
        with torch.no_grad():
            m(x1)  # the carry comes from the module's own (unperturbed) weights
        out, state = functional_call(m, dict(zip(names, ps)), (x2,))
        return (out, *(state if isinstance(state, tuple) else (state,)))

    assert gradcheck(fn, (x2, *params))


REGULARISED = {"dropout": 0.4, "input_dropout": 0.4, "recurrent_dropout": 0.4, "dropconnect": 0.4}


@pytest.mark.parametrize("cls", [rnn.LSTM, rnn.GRU, rnn.RNN])
@pytest.mark.parametrize("name", sorted(REGULARISED))
def test_eval_turns_dropouts_off(core, cls, name):
    torch.manual_seed(0)
    m = cls(I, H, num_layers=2, **{name: REGULARISED[name]}).double()
    plain = cls(I, H, num_layers=2).double()
    plain.load_state_dict(m.state_dict())
    x = _x()
    want = plain.eval()(x)
    m.eval()
    assert core.max_abs_diff(m(x), want) == 0.0
    assert core.max_abs_diff(m(x), m(x)) == 0.0
    m.train()
    a = m(x, generator=torch.Generator().manual_seed(3))
    assert core.max_abs_diff(a, want) > 1e-3  # it does act in training ...
    assert core.max_abs_diff(a, m(x, generator=torch.Generator().manual_seed(3))) == 0.0  # ... reproducibly


def test_zoneout_at_eval_is_its_expectation(core):
    # Krueger et al. 2016: h_t = z_h·h_{t-1} + (1 − z_h)·h'_t, and likewise c with z_c.
    torch.manual_seed(0)
    zh, zc = 0.25, 0.5
    m = rnn.LSTM(I, H, zoneout=(zh, zc)).double().eval()
    x = _x()
    out, (h_n, c_n) = m(x)
    w = m.cell_weights()[0]
    h = c = torch.zeros(B, H, dtype=F64)
    outs = []
    for t in range(T):
        h_new, c_new = lstm_step(x[t], h, c, w)
        h, c = zh * h + (1 - zh) * h_new, zc * c + (1 - zc) * c_new
        outs.append(h)
    assert core.max_abs_diff((out, h_n[0], c_n[0]), (torch.stack(outs), h, c)) <= 1e-12
    # In training the units are kept or replaced, not averaged.
    m.train()
    assert core.max_abs_diff(m(x, generator=torch.Generator().manual_seed(0))[0], out) > 1e-3


def test_zoneout_pair_is_lstm_only_for_c():
    assert (rnn.LSTM(I, H, zoneout=(0.1, 0.2)).spec.zoneout_h,
            rnn.LSTM(I, H, zoneout=(0.1, 0.2)).spec.zoneout_c) == (0.1, 0.2)
    assert rnn.GRU(I, H, zoneout=0.3).spec.zoneout_c == 0.0
    with pytest.raises(ValueError, match="`zoneout` must be a float or a pair"):
        rnn.LSTM(I, H, zoneout=(0.1, 0.2, 0.3))


def test_options_reach_the_spec():
    m = rnn.GRU(I, H, num_layers=2, bidirectional=True, reset_after=False, layer_norm=True,
                activation="softsign", recurrent_activation="hard_sigmoid", dropout=0.1)
    s = m.spec
    assert (s.mode, s.num_layers, s.bidirectional, s.reset_after, s.layer_norm, s.dropout) == \
        ("gru", 2, True, False, True, 0.1)
    assert (s.activation, s.recurrent_activation) == ("softsign", "hard_sigmoid")
    assert rnn.RNN(I, H, nonlinearity="relu").spec.activation == "relu"
    assert rnn.RNN(I, H, nonlinearity="relu", activation="elu").spec.activation == "elu"
    assert {n for n, _ in rnn.LSTM(I, H, peephole=True, layer_norm=True).named_parameters()} == {
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ci_l0",
        "weight_cf_l0", "weight_co_l0", "ln_ih_l0", "ln_hh_l0", "ln_c_weight_l0", "ln_c_bias_l0"}


def test_extra_repr():
    assert repr(rnn.LSTM(3, 4, num_layers=2, batch_first=True, proj_size=2)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True, proj_size=2)"
    assert repr(rnn.GRU(3, 4)) == "GRU(3, 4)"


def test_torch_bookkeeping_calls_exist_and_match_torch():
    import torch
    import rnnkit.nn as rnn
    ours = rnn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    theirs = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    ours.flatten_parameters()  # torch code calls this; it must not fail
    assert [[tuple(p.shape) for p in layer] for layer in ours.all_weights] == \
        [[tuple(p.shape) for p in layer] for layer in theirs.all_weights]
    assert ours.all_weights[1][0] is ours.weight_ih_l0_reverse
