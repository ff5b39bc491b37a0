"""rnnkit.cells.activations: names resolve to the functions Keras and torch mean."""
import math

import pytest
import torch
import torch.nn.functional as F

from rnnkit.cells.activations import activation_names, hard_sigmoid, resolve_activation

V = torch.tensor([-4.0, -3.0, -1.5, 0.0, 1.5, 3.0, 4.0], dtype=torch.float64)


def test_hard_sigmoid_is_keras3s():
    # Keras 3: relu6(x + 3) / 6, i.e. 0 below −3, 1 above 3, x/6 + 1/2 between.
    expect = [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert hard_sigmoid(V).tolist() == expect
    assert resolve_activation("hard_sigmoid")[1](V).tolist() == expect


@pytest.mark.parametrize("name,scalar", [
    ("tanh", math.tanh),
    ("sigmoid", lambda v: 1 / (1 + math.exp(-v))),
    ("relu", lambda v: max(v, 0.0)),
    ("linear", lambda v: v),
    ("softsign", lambda v: v / (1 + abs(v))),
    ("softplus", lambda v: math.log1p(math.exp(v))),
    ("exponential", math.exp),
    ("elu", lambda v: v if v > 0 else math.exp(v) - 1),
    ("swish", lambda v: v / (1 + math.exp(-v))),
    ("relu6", lambda v: min(max(v, 0.0), 6.0)),
])
def test_named_activations_compute_what_their_names_say(name, scalar):
    got_name, fn = resolve_activation(name)
    assert got_name == name
    torch.testing.assert_close(fn(V), torch.tensor([scalar(v) for v in V.tolist()],
                                                   dtype=torch.float64), rtol=1e-12, atol=1e-12)


def test_names_are_case_insensitive_and_listed():
    assert resolve_activation("TanH")[1] is torch.tanh
    names = activation_names()
    assert names == sorted(names) and {"tanh", "sigmoid", "relu", "hard_sigmoid"} <= set(names)


def test_none_is_linear_and_callables_pass_through():
    name, fn = resolve_activation(None)
    assert name == "linear" and fn(V) is V

    def my_act(v):
        return v * 2

    assert resolve_activation(my_act) == ("my_act", my_act)


def test_any_torch_function_name_resolves():
    name, fn = resolve_activation("logsigmoid")  # torch.nn.functional.logsigmoid
    torch.testing.assert_close(fn(V), F.logsigmoid(V))
    assert resolve_activation("atan")[1] is torch.atan


def test_unknown_name_names_the_argument_and_suggests():
    with pytest.raises(ValueError, match=r"`recurrent_activation`.*'sigmoidd'.*did you mean 'sigmoid'"):
        resolve_activation("sigmoidd", "recurrent_activation")
    with pytest.raises(ValueError, match="`activation` has unknown activation 'no_such_fn'"):
        resolve_activation("no_such_fn")


def test_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="`activation` must be a name or a callable, got int"):
        resolve_activation(3)


def test_softmax_names_apply_over_the_last_axis():
    from rnnkit.cells.activations import resolve_activation
    x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    _, fn = resolve_activation("softmax")
    torch.testing.assert_close(fn(x).sum(-1), torch.ones(2))
    torch.testing.assert_close(fn(x)[1], torch.full((3,), 1 / 3))
    _, fn = resolve_activation("log_softmax")
    torch.testing.assert_close(fn(x).exp().sum(-1), torch.ones(2))


@pytest.mark.parametrize("name", ["load", "save", "manual_seed", "zero_", "numpy", "_C"])
def test_names_that_are_not_elementwise_functions_are_refused(name):
    # Activation names also come from saved configs: only elementwise functions may resolve.
    from rnnkit.cells.activations import resolve_activation
    with pytest.raises(ValueError, match="activation"):
        resolve_activation(name)


@pytest.mark.parametrize("name,expected", [("sin", math.sin(0.5)), ("logsigmoid", math.log(1 / (1 + math.exp(-0.5))))])
def test_torch_function_names_resolve(name, expected):
    from rnnkit.cells.activations import resolve_activation
    _, fn = resolve_activation(name)
    assert fn(torch.tensor([0.5])).item() == pytest.approx(expected, rel=1e-6)


def test_functions_that_draw_random_numbers_are_not_activations():
    """A saved config naming `dropout` would make predict random (issue #10)."""
    for name in ("dropout", "dropout1d"):  # training=True by default: random
        with pytest.raises(ValueError, match="unknown activation"):
            resolve_activation(name)
    state = torch.get_rng_state()
    resolve_activation("hardswish")  # deterministic names still resolve ...
    assert torch.equal(state, torch.get_rng_state())  # ... and the probe left no trace
