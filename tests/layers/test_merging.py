"""Merge layers against Keras 3's, and their masks."""
import numpy as np
import pytest
import torch

import rnnkit as keras_like
import rnnkit.layers as L

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4, 5)).astype("float32")
Bx = rng.normal(size=(3, 4, 5)).astype("float32")
C = rng.normal(size=(3, 4, 5)).astype("float32")


@pytest.mark.parametrize("cls,kw,n", [("Add", {}, 3), ("Subtract", {}, 2), ("Multiply", {}, 3),
                                      ("Average", {}, 3), ("Maximum", {}, 3), ("Minimum", {}, 2),
                                      ("Concatenate", {}, 3), ("Concatenate", {"axis": 1}, 2),
                                      ("Dot", {"axes": 2}, 2), ("Dot", {"axes": (1, 1)}, 2),
                                      ("Dot", {"axes": 2, "normalize": True}, 2)])
def test_merge_matches_keras(keras, cls, kw, n):
    xs = [A, Bx, C][:n]
    got = getattr(L, cls)(**kw)([torch.from_numpy(x) for x in xs])
    want = getattr(keras.layers, cls)(**kw)(xs)
    np.testing.assert_allclose(got.numpy(), np.asarray(want), atol=1e-5)


def test_dot_of_vectors_is_b_by_1(keras):
    a, b = A[:, 0], Bx[:, 0]
    got = L.Dot(axes=1)([torch.from_numpy(a), torch.from_numpy(b)])
    assert got.shape == (3, 1)
    np.testing.assert_allclose(got.numpy(), (a * b).sum(-1, keepdims=True), atol=1e-5)


def test_masks_combine_as_keras():
    m1 = torch.tensor([[1, 1, 0, 0]], dtype=torch.bool)
    m2 = torch.tensor([[1, 0, 1, 0]], dtype=torch.bool)
    x = torch.zeros(1, 4, 2)
    assert L.Add().compute_mask([x, x], [m1, m2]).tolist() == [[True, False, False, False]]
    assert L.Add().compute_mask([x, x], [m1, None]).tolist() == m1.tolist()
    assert L.Add().compute_mask([x, x], None) is None
    assert L.Concatenate(axis=1).compute_mask([x, x], [m1, None]).tolist() == [
        [True, True, False, False, True, True, True, True]]
    assert L.Concatenate().compute_mask([x, x], [m1, m2]).tolist() == [[True, False, False, False]]


def test_bad_inputs_name_the_layer():
    with pytest.raises(ValueError, match="Subtract layer 'subtract' needs exactly 2 inputs, got 3"):
        L.Subtract()([torch.zeros(1, 2)] * 3)
    with pytest.raises(ValueError, match=r"Add layer 'add' needs inputs of compatible shapes, "
                                         r"got \[\(2,\), \(3,\)\]"):
        L.Add()([torch.zeros(1, 2), torch.zeros(1, 3)])
    with pytest.raises(TypeError, match="must be called on a list of tensors"):
        L.Add()(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="`axis`, expected a non-zero int"):
        L.Concatenate(axis=0)
    with pytest.raises(ValueError, match="Dot layer 'dot' needs equal sizes on the dot axes"):
        L.Dot(axes=1)([torch.zeros(1, 2), torch.zeros(1, 3)])


def test_lower_case_helpers_and_configs():
    a, b = keras_like.Input((4,)), keras_like.Input((4,))
    assert L.concatenate([a, b]).shape == (None, 8)
    assert L.add([a, b]).shape == (None, 4)
    assert L.dot([a, b], axes=1).shape == (None, 1)
    for layer in (L.Concatenate(axis=1), L.Dot(axes=[1, 2], normalize=True), L.Add()):
        clone = L.layer_from_config({"class_name": type(layer).__name__,
                                     "config": layer.get_config()})
        assert clone.get_config() == layer.get_config()
