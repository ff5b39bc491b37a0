"""Keras's "same" padding, argument checks and the parameter table of the conv cells."""
import pytest
import torch
import torch.nn.functional as F

from rnnkit.cells.conv_base import as_tuple, conv_nd, conv_out_size, conv_param_shapes, same_pads


@pytest.mark.parametrize("size,k,s,d,want", [
    (7, 3, 1, 1, (1, 1)), (7, 4, 1, 1, (1, 2)),    # even kernel: the extra pixel at the end
    (7, 3, 2, 1, (1, 1)), (6, 3, 2, 1, (0, 1)),    # out = ceil(size / stride)
    (5, 3, 1, 2, (2, 2)), (4, 1, 3, 1, (0, 0)),
])
def test_same_pads_by_hand(size, k, s, d, want):
    assert same_pads(size, k, s, d) == want
    assert conv_out_size(size, k, s, "same", d) == -(-size // s)


def test_asymmetric_same_padding_pads_the_end():
    # A 1x2 kernel [0, 1] on "same" reads x[i + 1], with a zero past the end.
    x = torch.tensor([[[1.0, 2.0, 3.0]]])
    w = torch.tensor([[[0.0, 1.0]]])
    y = conv_nd(x, w, stride=(1,), padding="same", dilation=(1,))
    torch.testing.assert_close(y, torch.tensor([[[2.0, 3.0, 0.0]]]))
    torch.testing.assert_close(conv_nd(x, w, stride=(1,), padding="valid", dilation=(1,)),
                               F.conv1d(x, w))


def test_as_tuple_checks_length_type_and_minimum():
    assert as_tuple(3, 2, "kernel_size") == (3, 3)
    assert as_tuple([1, 2, 3], 3, "strides") == (1, 2, 3)
    with pytest.raises(ValueError, match="`strides` must have 2 value"):
        as_tuple((1, 2, 3), 2, "strides")
    with pytest.raises(ValueError, match="`kernel_size` values must be ≥ 1"):
        as_tuple(0, 2, "kernel_size")
    with pytest.raises(TypeError, match="`kernel_size`"):
        as_tuple("3", 2, "kernel_size")


def test_parameter_table():
    s = conv_param_shapes("conv_lstm", 3, 4, (3, 5), peephole=True, state_size=(6, 7),
                          layer_norm=True, bias_hh=True)
    assert s["weight_ih"] == (16, 3, 3, 5) and s["weight_hh"] == (16, 4, 3, 5)
    assert s["weight_ci"] == (4, 6, 7) and s["ln_c_weight"] == (4,) and s["bias_hh"] == (16,)
    g = conv_param_shapes("conv_gru", 3, 4, (3,))
    assert g == {"weight_ih": (12, 3, 3), "weight_hh": (12, 4, 3), "bias_ih": (12,)}
    with pytest.raises(ValueError, match="state_size"):
        conv_param_shapes("conv_lstm", 3, 4, (3,), peephole=True)
    with pytest.raises(ValueError, match="no cell state"):
        conv_param_shapes("conv_gru", 3, 4, (3,), peephole=True, state_size=(5,))
