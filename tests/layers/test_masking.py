"""Masking: mask = any(x != mask_value, -1), padding steps zeroed."""
import pytest
import torch

import rnnkit.layers as L


def test_mask_and_zeroed_steps():
    x = torch.tensor([[[-1.0, -1.0], [2.0, -1.0], [-1.0, -1.0]]])
    m = L.Masking(mask_value=-1.0)
    assert m.compute_mask(x, None).tolist() == [[False, True, False]]
    torch.testing.assert_close(m(x), torch.tensor([[[0.0, 0.0], [2.0, -1.0], [0.0, 0.0]]]))
    assert m.compute_output_shape((3, 2)) == (3, 2) and m.get_weights() == []


def test_bad_mask_value():
    with pytest.raises(TypeError, match="argument `mask_value`"):
        L.Masking(mask_value="0")
