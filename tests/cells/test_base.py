"""rnnkit.cells.base: parameter layouts and the single-step modules' argument checks."""
import pytest
import torch

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
