"""rnnkit.util.checks: one module of argument checks, three message styles."""
import numpy as np
import pytest

from rnnkit.util import checks


@pytest.mark.parametrize("style,msg", [
    ("torch", "`units` must be a positive integer, got 0"),
    ("keras", "Received an invalid value for argument `units`, expected a positive integer, got 0"),
    ("plain", "units: expected a positive integer, got 0"),
])
def test_positive_int_names_the_argument_expected_and_received(style, msg):
    with pytest.raises(ValueError) as e:
        checks.positive_int(0, "units", style=style)
    assert str(e.value) == msg


@pytest.mark.parametrize("bad", [True, 2.0, "3", None])
def test_positive_int_refuses_other_types_with_a_type_error(bad):
    with pytest.raises(TypeError, match="positive integer"):
        checks.positive_int(bad, "units")


def test_positive_int_accepts_numpy_integers_and_returns_an_int():
    v = checks.positive_int(np.int64(3), "units")
    assert v == 3 and type(v) is int


def test_rate_is_half_open_and_probability_closed():
    assert checks.rate(0.0, "dropout") == 0.0 and checks.rate(np.float32(0.5), "dropout") == 0.5
    with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\), got 1"):
        checks.rate(1, "dropout")
    with pytest.raises(ValueError, match=r"expected a float in \[0, 1\), got -0.1"):
        checks.rate(-0.1, "dropout", style="keras")
    assert checks.probability(1.0, "teacher_forcing") == 1.0
    with pytest.raises(ValueError, match=r"`p` must be in \[0, 1\], got 1.5"):
        checks.probability(1.5, "p")
    with pytest.raises(TypeError, match="`p` must be a float in"):
        checks.probability(True, "p")


def test_integer_minimum_and_choice():
    assert checks.integer(0, "epochs", minimum=0) == 0
    with pytest.raises(ValueError, match="`epochs` must be >= 1, got 0"):
        checks.integer(0, "epochs", minimum=1)
    with pytest.raises(ValueError, match="n: expected an int >= 2, got 1"):
        checks.integer(1, "n", minimum=2, style="plain")
    assert checks.choice("a", "mode", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"mode: expected one of \['a', 'b'\], got 'c'"):
        checks.choice("c", "mode", ("a", "b"), style="plain")


def test_float_tensor_and_unknown_style():
    import torch

    with pytest.raises(TypeError, match="floating dtype"):
        checks.float_tensor(torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="`style` must be one of"):
        checks.positive_int(1, "n", style="tf")
