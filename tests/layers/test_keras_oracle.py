"""rnnkit.layers against Keras 3's own layers (on its torch backend), weight for
weight: the same get_weights arrays in, the same outputs and states out.

These cover the Keras semantics that are easy to get subtly wrong: masked
steps repeating the previous output, the last output under left padding,
go_backwards' reversed sequences, Bidirectional's zeroed masked steps."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L

B, T, I, U = 3, 6, 2, 4


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _pair(keras, cls, **kw):
    ours = getattr(L, cls)(U, **kw)
    ours.maybe_build((T, I))
    theirs = getattr(keras.layers, cls)(U, **kw)
    theirs.build((B if kw.get("stateful") else None, T, I))
    rng = np.random.default_rng(0)
    ws = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    return ours, theirs


MASKS = {
    "none": None,
    "right": np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 1 + [0] * 5], bool),
    "left": np.array([[1] * 6, [0] * 2 + [1] * 4, [0] * 5 + [1] * 1], bool),
    "holes": np.array([[1, 0, 1, 1, 0, 1], [0, 1, 1, 0, 1, 0], [0] * 6], bool),
}


@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("cls,kw", [
    ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}), ("SimpleRNN", {}),
    ("LSTM", {"go_backwards": True}), ("GRU", {"zero_output_for_mask": True}),
])
def test_recurrent_matches_keras(keras, cls, kw, mask):
    ours, theirs = _pair(keras, cls, return_sequences=True, return_state=True, **kw)
    x = np.random.default_rng(1).normal(size=(B, T, I)).astype("float32")
    m = MASKS[mask]
    got = ours(torch.from_numpy(x), mask=None if m is None else torch.from_numpy(m))
    want = theirs(x, mask=m)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), atol=2e-6)
    # The last output too (return_sequences=False).
    ours.return_sequences = theirs.return_sequences = False
    got = ours(torch.from_numpy(x), mask=None if m is None else torch.from_numpy(m))
    want = theirs(x, mask=m)
    np.testing.assert_allclose(_np(got[0]), _np(want[0]), atol=2e-6)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_matches_keras(keras, merge_mode, return_sequences):
    ours = L.Bidirectional(L.GRU(U, return_sequences=return_sequences, return_state=True),
                           merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(
        keras.layers.GRU(U, return_sequences=return_sequences, return_state=True),
        merge_mode=merge_mode)
    ours.maybe_build((T, I))
    theirs.build((None, T, I))
    rng = np.random.default_rng(2)
    ws = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    x = rng.normal(size=(B, T, I)).astype("float32")
    m = MASKS["left"]
    got = ours(torch.from_numpy(x), mask=torch.from_numpy(m))
    want = theirs(x, mask=m)
    assert len(got) == len(want)  # (output, h_fwd, h_bwd), or [y, y_rev, h_fwd, h_bwd]
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), atol=2e-6)


def test_stateful_matches_keras(keras):
    ours, theirs = _pair(keras, "LSTM", stateful=True)
    theirs_x = np.random.default_rng(3).normal(size=(2, B, T, I)).astype("float32")
    for chunk in theirs_x:
        np.testing.assert_allclose(_np(ours(torch.from_numpy(chunk))), _np(theirs(chunk)),
                                   atol=2e-6)
    ours.reset_states()
    theirs.reset_states()
    np.testing.assert_allclose(_np(ours(torch.from_numpy(theirs_x[1]))),
                               _np(theirs(theirs_x[1])), atol=2e-6)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "SimpleRNN"])
def test_default_initialisation_is_keras_shaped(keras, cls):
    ours = getattr(L, cls)(U)
    ours.maybe_build((T, I))
    theirs = getattr(keras.layers, cls)(U)
    theirs.build((None, T, I))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert ours.count_params() == theirs.count_params()
    # Deterministic parts of Keras's defaults: the bias (with LSTM's unit forget bias).
    np.testing.assert_array_equal(ours.get_weights()[2], theirs.get_weights()[2])
