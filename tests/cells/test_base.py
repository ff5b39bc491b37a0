"""rnnkit.cells.base: parameter layouts and the single-step modules' argument checks."""
import pytest
import torch

import rnnkit.cells
import rnnkit.nn as rnn
from rnnkit.cells import param_shapes

pytestmark = pytest.mark.usefixtures("one_thread")


def test_param_shapes_are_torchs_layout():
    assert param_shapes("lstm", 3, 5) == {"weight_ih": (20, 3), "weight_hh": (20, 5),
                                           "bias_ih": (20,), "bias_hh": (20,)}
    assert param_shapes("gru", 3, 5, bias=False) == {"weight_ih": (15, 3), "weight_hh": (15, 5)}
    assert param_shapes("rnn", 3, 5, bias_hh=False) == {"weight_ih": (5, 3), "weight_hh": (5, 5),
                                                        "bias_ih": (5,)}
    assert param_shapes("lstm", 3, 5, proj_size=2, peephole=True, layer_norm=True) == {
        "weight_ih": (20, 3), "weight_hh": (20, 2), "bias_ih": (20,), "bias_hh": (20,),
        "weight_hr": (2, 5), "weight_ci": (5,), "weight_cf": (5,), "weight_co": (5,),
        "ln_ih": (20,), "ln_hh": (20,), "ln_c_weight": (5,), "ln_c_bias": (5,)}
    assert param_shapes("gru", 3, 5, layer_norm=True)["ln_hh"] == (15,)


@pytest.mark.parametrize("cls,torch_cls", [(rnn.LSTMCell, torch.nn.LSTMCell),
                                           (rnn.GRUCell, torch.nn.GRUCell),
                                           (rnn.RNNCell, torch.nn.RNNCell)])
def test_state_dict_names_match_torch(cls, torch_cls):
    ours, ref = cls(3, 4), torch_cls(3, 4)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
           {k: v.shape for k, v in ref.state_dict().items()}


CELLS = [rnn.LSTMCell, rnn.GRUCell, rnn.RNNCell]


@pytest.mark.parametrize("cls", CELLS)
def test_bad_input_rank(cls):
    with pytest.raises(ValueError, match="`input` must be 1-D"):
        cls(3, 4)(torch.randn(2, 2, 3))


@pytest.mark.parametrize("cls", CELLS)
def test_bad_feature_size(cls):
    with pytest.raises(ValueError, match="`input` has 5 features per step.*input_size=3"):
        cls(3, 4)(torch.randn(2, 5))


@pytest.mark.parametrize("cls", CELLS)
def test_non_float_input(cls):
    with pytest.raises(TypeError, match="`input` must have a floating dtype"):
        cls(3, 4)(torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="`input` must be a torch.Tensor"):
        cls(3, 4)([[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("cls", CELLS)
def test_input_dtype_must_match_parameters(cls):
    with pytest.raises(TypeError, match="`input` has dtype torch.float64.*float32"):
        cls(3, 4)(torch.randn(2, 3, dtype=torch.float64))


@pytest.mark.parametrize("cls", CELLS)
def test_bad_state_shape(cls):
    n = 2 if cls is rnn.LSTMCell else 1
    cell = cls(3, 4)

    def hx(*shape, dtype=torch.float32):
        parts = tuple(torch.zeros(shape, dtype=dtype) for _ in range(n))
        return parts if n == 2 else parts[0]

    with pytest.raises(ValueError, match=r"`hx`\[0\] must have shape \(2, 4\), got \(3, 4\)"):
        cell(torch.randn(2, 3), hx(3, 4))
    with pytest.raises(ValueError, match=r"`hx`\[0\] must have shape \(2, 4\), got \(2, 5\)"):
        cell(torch.randn(2, 3), hx(2, 5))
    with pytest.raises(ValueError, match=r"`hx`\[0\] must have shape \(4,\), got \(1, 4\)"):
        cell(torch.randn(3), hx(1, 4))  # unbatched input wants unbatched state, as torch
    with pytest.raises(TypeError, match=r"`hx`\[0\] must have the input's dtype"):
        cell(torch.randn(2, 3), hx(2, 4, dtype=torch.float64))


def test_lstm_cell_wants_two_states():
    with pytest.raises(ValueError, match="`hx` must hold 2 tensor"):
        rnn.LSTMCell(3, 4)(torch.randn(2, 3), torch.zeros(2, 4))


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("arg,value,err", [("input_size", 0, ValueError),
                                           ("hidden_size", 0, ValueError),
                                           ("hidden_size", -3, ValueError),
                                           ("hidden_size", 2.0, TypeError),
                                           ("hidden_size", True, TypeError)])
def test_bad_sizes(cls, arg, value, err):
    kw = {"input_size": 3, "hidden_size": 4, arg: value}
    with pytest.raises(err, match=f"`{arg}` must be a positive integer"):
        cls(**kw)


def test_bad_activation_names():
    with pytest.raises(ValueError, match="`nonlinearity` must be 'tanh' or 'relu'"):
        rnn.RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="`activation` has unknown activation"):
        rnn.GRUCell(3, 4, activation="tanhh")
    with pytest.raises(ValueError, match="`recurrent_activation` has unknown activation"):
        rnn.LSTMCell(3, 4, recurrent_activation="sigmod")


def test_extra_repr_lists_the_options():
    assert repr(rnn.LSTMCell(3, 4, bias=False, layer_norm=True, peephole=True)) == \
        "LSTMCell(3, 4, bias=False, layer_norm=True, peephole=True)"
    assert repr(rnn.GRUCell(3, 4)) == "GRUCell(3, 4)"


# --- the forward fast path: cheap checks first, the detailed ones only on a miss ---------

def _state(cls, *shape, dtype=torch.float32):
    parts = tuple(torch.randn(shape, dtype=dtype) for _ in range(2 if cls is rnn.LSTMCell else 1))
    return parts if cls is rnn.LSTMCell else parts[0]


@pytest.mark.parametrize("cls", CELLS + [rnnkit.cells.LSTMCell, rnnkit.cells.GRUCell,
                                         rnnkit.cells.RNNCell])
def test_well_formed_batched_call_skips_the_detailed_checks(cls, monkeypatch):
    """The spy: a plain (B, I) call with a (B, H) state must not reach _checked_forward,
    and gives bit-for-bit what the checked path gives."""
    torch.manual_seed(0)
    cell = cls(3, 4)
    x, hx = torch.randn(2, 3), _state(cls if cls in CELLS else _NN[cls], 2, 4)
    with torch.no_grad():
        checked = cell._checked_forward(x, hx)
        monkeypatch.setattr(cell, "_checked_forward", _fail)
        fast = cell(x, hx)
    fast, checked = (fast, checked) if isinstance(fast, tuple) else ((fast,), (checked,))
    assert len(fast) == len(checked) and all(torch.equal(a, b) for a, b in zip(fast, checked))


def _fail(*_):
    raise AssertionError("the fast path fell back to the checked path")


_NN = {rnnkit.cells.LSTMCell: rnn.LSTMCell, rnnkit.cells.GRUCell: rnn.GRUCell,
       rnnkit.cells.RNNCell: rnn.RNNCell}


@pytest.mark.parametrize("cls", CELLS)
def test_other_accepted_forms_match_the_fast_path(cls):
    """Unbatched, hx=None, a list state, a Tensor subclass: the checked path, same numbers."""
    torch.manual_seed(0)
    cell = cls(3, 4)
    x, hx = torch.randn(2, 3), _state(cls, 2, 4)
    with torch.no_grad():
        ref = cell(x, hx)
        as_list = cell(x, list(hx)) if cls is rnn.LSTMCell else cell(x, hx)
        sub = cell(torch.nn.Parameter(x, requires_grad=False), hx)
        unb = cell(x[0], tuple(s[0] for s in hx) if cls is rnn.LSTMCell else hx[0])
        zeros = cell(x, None)
        zero_state = cell(x, _zeros_like(hx))
    flat = (lambda o: o if isinstance(o, tuple) else (o,))
    for other in (as_list, sub):
        assert all(torch.equal(a, b) for a, b in zip(flat(other), flat(ref)))
    assert all(torch.allclose(a, b[0]) for a, b in zip(flat(unb), flat(ref)))
    assert all(torch.equal(a, b) for a, b in zip(flat(zeros), flat(zero_state)))


def _zeros_like(hx):
    return tuple(torch.zeros_like(s) for s in hx) if isinstance(hx, tuple) else torch.zeros_like(hx)


def test_lstm_second_state_is_checked_on_its_own():
    """h well-formed, c not: the cheap check must miss and the error name `hx`[1]."""
    cell = rnn.LSTMCell(3, 4)
    x, h = torch.randn(2, 3), torch.zeros(2, 4)
    with pytest.raises(ValueError, match=r"`hx`\[1\] must have shape \(2, 4\), got \(2, 5\)"):
        cell(x, (h, torch.zeros(2, 5)))
    with pytest.raises(TypeError, match=r"`hx`\[1\] must have the input's dtype"):
        cell(x, (h, torch.zeros(2, 4, dtype=torch.float64)))
    with pytest.raises(TypeError, match="`hx` must be a torch.Tensor"):
        cell(x, (h, [[0.0] * 4] * 2))
    with pytest.raises(ValueError, match="`hx` must hold 2 tensor"):
        cell(x, (h, h, h))


@pytest.mark.parametrize("cls", CELLS)
def test_dtype_follows_the_parameters_after_to(cls):
    """Nothing about the parameters is cached: after .double() float32 input is refused."""
    cell = cls(3, 4)
    with torch.no_grad():
        cell(torch.randn(2, 3), _state(cls, 2, 4))
        cell.double()
        with pytest.raises(TypeError, match="`input` has dtype torch.float32.*float64"):
            cell(torch.randn(2, 3), _state(cls, 2, 4))
        out = cell(torch.randn(2, 3, dtype=torch.float64), _state(cls, 2, 4, dtype=torch.float64))
    out = out if isinstance(out, tuple) else (out,)
    assert all(o.dtype == torch.float64 and o.shape == (2, 4) for o in out)


@pytest.mark.parametrize("cls", CELLS)
def test_state_rows_must_match_the_batch_on_the_fast_path(cls):
    cell = cls(3, 4)
    with pytest.raises(ValueError, match=r"`hx`\[0\] must have shape \(1, 4\), got \(2, 4\)"):
        cell(torch.randn(1, 3), _state(cls, 2, 4))


class _Double(torch.nn.Module):
    def forward(self, w):
        return 2.0 * w


@pytest.mark.parametrize("cls,torch_cls", [(rnnkit.cells.LSTMCell, torch.nn.LSTMCell),
                                           (rnnkit.cells.GRUCell, torch.nn.GRUCell),
                                           (rnnkit.cells.RNNCell, torch.nn.RNNCell)])
def test_weights_reads_parametrized_weights(cls, torch_cls):
    """weights() is built from _parameters, except under torch's parametrize, which moves
    weight_hh behind a property: the step must see the doubled weight, as torch.nn does."""
    torch.manual_seed(0)
    ref, ours = torch_cls(3, 4).double(), cls(3, 4).double()
    ours.load_state_dict(ref.state_dict())
    assert set(ours.weights()) == set(ref.state_dict())
    for m in (ref, ours):
        torch.nn.utils.parametrize.register_parametrization(m, "weight_hh", _Double())
    assert torch.equal(ours.weights()["weight_hh"], 2.0 * ref.parametrizations.weight_hh.original)
    x, hx = torch.randn(2, 3, dtype=torch.float64), _state(_NN[cls], 2, 4, dtype=torch.float64)
    out, want = ours(x, hx), ref(x, hx)
    out, want = (out, want) if isinstance(out, tuple) else ((out,), (want,))
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(out, want))
