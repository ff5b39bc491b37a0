"""rnnkit.kernels.merge: Keras's merge_mode for the two directions."""
import pytest
import torch

from rnnkit.kernels.merge import merge

F = torch.tensor([[1.0, -2.0]])
R = torch.tensor([[3.0, 0.5]])


@pytest.mark.parametrize("mode,expect", [
    ("concat", [[1.0, -2.0, 3.0, 0.5]]), ("sum", [[4.0, -1.5]]), ("mul", [[3.0, -1.0]]),
    ("ave", [[2.0, -0.75]]),
])
def test_merge_modes(mode, expect):
    assert merge(F, R, mode).tolist() == expect


def test_none_keeps_the_directions_apart():
    f, r = merge(F, R, None)
    assert f is F and r is R


def test_unknown_mode_is_an_internal_error():
    # RecurrentSpec validates merge_mode, so reaching merge with a bad one is a bug.
    with pytest.raises(AssertionError, match="'max'"):
        merge(F, R, "max")
