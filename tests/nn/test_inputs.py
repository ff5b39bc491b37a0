"""Bad input to rnnkit.nn's modules: a ValueError or TypeError that names the
argument, says what was expected and what came (rnnkit.nn.inputs and the
constructors)."""
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit.nn as rnn
from rnnkit.nn.inputs import build_mask, check_prob, to_time_first

pytestmark = pytest.mark.usefixtures("one_thread")
T, B, I, H = 5, 2, 3, 4
MODULES = [rnn.RNN, rnn.LSTM, rnn.GRU]


def _hx(cls, *shape, dtype=torch.float32):
    h = torch.zeros(shape, dtype=dtype)
    return (h, torch.zeros(shape, dtype=dtype)) if cls is rnn.LSTM else h


@pytest.mark.parametrize("cls", MODULES)
def test_wrong_input_rank(cls):
    with pytest.raises(ValueError, match=r"`input` must be 3-D \(T, B, I\).*got 4-D"):
        cls(I, H)(torch.randn(T, B, I, 1))
    with pytest.raises(ValueError, match=r"`input` must be 3-D \(B, T, I\).*got 1-D"):
        cls(I, H, batch_first=True)(torch.randn(I))


@pytest.mark.parametrize("cls", MODULES)
def test_wrong_feature_size(cls):
    with pytest.raises(ValueError, match="`input` has 5 features per step.*input_size=3"):
        cls(I, H)(torch.randn(T, B, 5))


@pytest.mark.parametrize("cls", MODULES)
def test_wrong_input_type_or_dtype(cls):
    with pytest.raises(TypeError, match="`input` must have a floating dtype.*int64"):
        cls(I, H)(torch.ones(T, B, I, dtype=torch.int64))
    with pytest.raises(TypeError, match="`input` must be a torch.Tensor or PackedSequence, got list"):
        cls(I, H)([[1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match="`input` has dtype torch.float64 but the module's parameters"):
        cls(I, H)(torch.randn(T, B, I, dtype=torch.float64))


@pytest.mark.parametrize("cls", MODULES)
def test_initial_state_of_wrong_shape_or_batch(cls):
    m = cls(I, H, num_layers=2)
    x = torch.randn(T, B, I)
    with pytest.raises(ValueError, match=r"`hx` \(h_0\) must have shape \(2, 2, 4\), got \(2, 3, 4\)"):
        m(x, _hx(cls, 2, 3, H))                      # wrong batch
    with pytest.raises(ValueError, match=r"`hx` \(h_0\) must have shape \(2, 2, 4\), got \(1, 2, 4\)"):
        m(x, _hx(cls, 1, B, H))                      # wrong number of layers
    with pytest.raises(ValueError, match=r"`hx` \(h_0\) must have shape \(2, 2, 4\), got \(2, 2, 5\)"):
        m(x, _hx(cls, 2, B, H + 1))                  # wrong size
    with pytest.raises(ValueError, match=r"`hx` \(h_0\) must have shape \(2, 4\), got \(2, 1, 4\)"):
        m(torch.randn(T, I), _hx(cls, 2, 1, H))      # unbatched input wants (L·D, H)
    with pytest.raises(TypeError, match=r"`hx` \(h_0\) must have the input's dtype torch.float32"):
        m(x, _hx(cls, 2, B, H, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"`hx` \(h_0\) must be a torch.Tensor, got list"):
        m(x, [[0.0]] if cls is not rnn.LSTM else ([[0.0]], [[0.0]]))


def test_lstm_state_parts():
    m = rnn.LSTM(I, H, proj_size=2)
    x = torch.randn(T, B, I)
    with pytest.raises(ValueError, match=r"`hx` must be \(h_0, c_0\) for LSTM, got 1 tensor"):
        m(x, torch.zeros(1, B, 2))
    with pytest.raises(ValueError, match=r"`hx` \(c_0\) must have shape \(1, 2, 4\), got \(1, 2, 2\)"):
        m(x, (torch.zeros(1, B, 2), torch.zeros(1, B, 2)))
    with pytest.raises(ValueError, match=r"`hx` must be h_0 for GRU, got 2 tensor"):
        rnn.GRU(I, H)(x, (torch.zeros(1, B, H), torch.zeros(1, B, H)))


@pytest.mark.parametrize("lengths,msg", [
    ([6, 2], r"`lengths` must lie in \[0, T=5\], got min 2 and max 6"),
    ([-1, 2], r"`lengths` must lie in \[0, T=5\], got min -1"),
    ([3], r"`lengths` must have shape \(2,\), one per sample, got \(1,\)"),
])
def test_bad_lengths(lengths, msg):
    with pytest.raises(ValueError, match=msg):
        rnn.LSTM(I, H)(torch.randn(T, B, I), lengths=torch.tensor(lengths))
    with pytest.raises(TypeError, match="`lengths` must hold integers"):
        rnn.LSTM(I, H)(torch.randn(T, B, I), lengths=torch.tensor([2.0, 3.0]))


def test_bad_mask():
    m, x = rnn.GRU(I, H, batch_first=True), torch.randn(B, T, I)
    with pytest.raises(ValueError, match=r"`mask` must have shape \(2, 5\), got \(5, 2\)"):
        m(x, mask=torch.ones(T, B, dtype=torch.bool))
    with pytest.raises(TypeError, match="`mask` must be a bool tensor"):
        m(x, mask=torch.ones(B, T))
    with pytest.raises(ValueError, match="either `lengths` or `mask`"):
        m(x, lengths=[T, T], mask=torch.ones(B, T, dtype=torch.bool))
    packed = pack_padded_sequence(x, [T, 3], batch_first=True)
    with pytest.raises(ValueError, match="PackedSequence carries its own lengths"):
        m(packed, lengths=[T, 3])


@pytest.mark.parametrize("cls", MODULES)
@pytest.mark.parametrize("arg,value,err", [
    ("hidden_size", 0, ValueError), ("hidden_size", -1, ValueError), ("hidden_size", 2.5, TypeError),
    ("input_size", 0, ValueError), ("num_layers", 0, ValueError),
])
def test_bad_sizes(cls, arg, value, err):
    kw = {"input_size": I, "hidden_size": H, arg: value}
    with pytest.raises(err, match=f"`{arg}` must be a positive integer, got"):
        cls(**kw)


def test_bad_proj_size():
    with pytest.raises(ValueError, match="`proj_size` must be smaller than hidden_size=4, got 4"):
        rnn.LSTM(I, H, proj_size=4)
    with pytest.raises(ValueError, match="`proj_size` must be an integer ≥ 0, got -1"):
        rnn.LSTM(I, H, proj_size=-1)


@pytest.mark.parametrize("cls,kw,arg", [
    (rnn.RNN, {"nonlinearity": "sigmoid"}, "nonlinearity"),
    (rnn.RNN, {"activation": "tanhh"}, "activation"),
    (rnn.LSTM, {"activation": "no_such_function"}, "activation"),
    (rnn.GRU, {"recurrent_activation": "sigmod"}, "recurrent_activation"),
])
def test_unknown_activation_names(cls, kw, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        cls(I, H, **kw)


@pytest.mark.parametrize("cls", MODULES)
@pytest.mark.parametrize("arg", ["dropout", "input_dropout", "recurrent_dropout", "zoneout",
                                 "dropconnect"])
@pytest.mark.parametrize("value", [1.0, -0.1, 1.5])
def test_rates_outside_0_1(cls, arg, value):
    with pytest.raises(ValueError, match=rf"`{arg}` must be in \[0, 1\), got {value}"):
        cls(I, H, **{arg: value})


def test_rate_of_wrong_type():
    with pytest.raises(TypeError, match="`dropout` must be a float in"):
        rnn.GRU(I, H, dropout="0.5")
    with pytest.raises(ValueError, match=r"`zoneout` must be in \[0, 1\), got 1.5"):
        rnn.LSTM(I, H, zoneout=(0.1, 1.5))


@pytest.mark.parametrize("cls", [rnn.GRU, rnn.RNN])
def test_peephole_is_lstm_only(cls):
    with pytest.raises(ValueError, match="`peephole` is an LSTM option"):
        cls(I, H, peephole=True)


# --- the helpers themselves -------------------------------------------------------------

def test_check_prob():
    assert check_prob(0, "dropout") == 0.0 and check_prob(0.5, "x") == 0.5
    with pytest.raises(TypeError, match="`p`"):
        check_prob(True, "p")


def test_to_time_first():
    x = torch.randn(B, T, I)
    y, lengths, unbatched, packed = to_time_first(x, batch_first=True, input_size=I)
    assert torch.equal(y, x.transpose(0, 1)) and lengths is None and not unbatched and packed is None
    y, _, unbatched, _ = to_time_first(x[0], batch_first=True, input_size=I)  # (T, I)
    assert y.shape == (T, 1, I) and unbatched
    p = pack_padded_sequence(x, torch.tensor([3, 5]), batch_first=True, enforce_sorted=False)
    y, lengths, _, packed = to_time_first(p, batch_first=True, input_size=I)
    assert y.shape == (T, B, I) and lengths.tolist() == [3, 5] and packed is p
    assert bool((y[3:, 0] == 0).all()) and torch.equal(y[:, 1], x[1])


def test_build_mask():
    x = torch.zeros(T, B, I)
    assert build_mask(x, batch_first=False) is None
    m = build_mask(x, lengths=[2, 5], batch_first=False)
    assert m.shape == (T, B) and m.sum(0).tolist() == [2, 5] and bool(m[:2, 0].all())
    bt = torch.tensor([[1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)  # (B, T)
    assert torch.equal(build_mask(x, mask=bt, batch_first=True), bt.t())
    assert torch.equal(build_mask(x, mask=bt.t(), batch_first=False), bt.t())


def test_reset_state_samples():
    m = rnn.GRU(I, H, stateful=True)
    m(torch.randn(T, B, I))
    with pytest.raises(ValueError, match=r"`samples` must index the carried batch of 2, got \[2\]"):
        m.reset_state([2])
    with pytest.raises(ValueError, match=r"`samples` as a bool mask must have shape \(2,\)"):
        m.reset_state(torch.tensor([True, False, True]))
    with pytest.raises(TypeError, match="`samples` must be sample indices"):
        m.reset_state(torch.tensor([0.0]))
    m.reset_state([-1])  # negative indices count from the end, as in Python
    m.reset_state([])
