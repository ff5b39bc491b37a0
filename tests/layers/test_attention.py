"""Attention and AdditiveAttention against Keras 3 (torch backend)."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L

rng = np.random.default_rng(0)
Q = rng.normal(size=(3, 4, 5)).astype("float32")
V = rng.normal(size=(3, 6, 5)).astype("float32")
K = rng.normal(size=(3, 6, 5)).astype("float32")
QM = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 1, 1]], bool)
VM = np.array([[1] * 6, [1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1]], bool)


def _np(t):
    return np.asarray(t.detach().cpu())


def _pair(keras, cls, **kw):
    ours, theirs = getattr(L, cls)(**kw), getattr(keras.layers, cls)(**kw)
    theirs.build([(None, 4, 5), (None, 6, 5)])
    ours.maybe_build([(4, 5), (6, 5)])
    ws = [np.random.default_rng(1).uniform(0.5, 1.5, size=w.shape).astype("float32")
          for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    assert ours.count_params() == theirs.count_params()
    return ours, theirs


@pytest.mark.parametrize("cls,kw", [("Attention", {}), ("Attention", {"use_scale": True}),
                                    ("Attention", {"score_mode": "concat", "use_scale": True}),
                                    ("AdditiveAttention", {}),
                                    ("AdditiveAttention", {"use_scale": False})])
@pytest.mark.parametrize("with_key", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_attention_matches_keras(keras, cls, kw, with_key, masked):
    ours, theirs = _pair(keras, cls, **kw)
    xs = [Q, V, K] if with_key else [Q, V]
    mask = [QM, VM] if masked else None
    got = ours([torch.from_numpy(x) for x in xs],
               mask=None if mask is None else [torch.from_numpy(m) for m in mask],
               return_attention_scores=True)
    want = theirs(xs, mask=mask, return_attention_scores=True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), atol=1e-5)


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
def test_causal_attention_matches_keras(keras, cls):
    ours, theirs = _pair(keras, cls)
    x = [torch.from_numpy(Q), torch.from_numpy(Q)]
    got = ours(x, use_causal_mask=True)
    want = theirs([Q, Q], use_causal_mask=True)
    np.testing.assert_allclose(_np(got), _np(want), atol=1e-5)


def test_attention_hand_computed():
    # query [1, 0]; keys [1, 0] and [0, 1]: scores 1 and 0, weights e/(e+1), 1/(e+1)
    q = torch.tensor([[[1.0, 0.0]]])
    v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    out = L.Attention()([q, v])
    e = np.e
    np.testing.assert_allclose(out.squeeze().tolist(), [e / (e + 1), 1 / (e + 1)], rtol=1e-6)


def test_attention_bad_input():
    with pytest.raises(ValueError, match=r"\[query, value\]"):
        L.Attention()(torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="score_mode"):
        L.Attention(score_mode="general")
    with pytest.raises(ValueError, match="key has 2 steps but value has 3"):
        L.Attention()([torch.zeros(1, 2, 3), torch.zeros(1, 3, 3), torch.zeros(1, 2, 3)])
