"""MultiHeadAttention against Keras 3 (torch backend), weight for weight."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L

rng = np.random.default_rng(0)
Q = rng.normal(size=(2, 4, 6)).astype("float32")
V = rng.normal(size=(2, 5, 3)).astype("float32")
K = rng.normal(size=(2, 5, 7)).astype("float32")
QM = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
VM = np.array([[1, 1, 1, 1, 1], [0, 1, 1, 1, 0]], bool)


def _np(t):
    return np.asarray(t.detach().cpu())


def _pair(keras, q, v, k=None, **kw):
    ours = L.MultiHeadAttention(**kw)
    theirs = keras.layers.MultiHeadAttention(**kw)
    theirs.build(q.shape, v.shape, None if k is None else k.shape)
    ours.build(q.shape[1:], v.shape[1:], None if k is None else k.shape[1:])
    ws = [np.random.default_rng(2).normal(scale=0.5, size=w.shape).astype("float32")
          for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    return ours, theirs


@pytest.mark.parametrize("kw", [dict(num_heads=2, key_dim=3),
                                dict(num_heads=3, key_dim=2, value_dim=4, output_shape=5),
                                dict(num_heads=1, key_dim=4, use_bias=False)])
@pytest.mark.parametrize("with_key", [False, True])
def test_mha_matches_keras(keras, kw, with_key):
    k = K if with_key else None
    ours, theirs = _pair(keras, Q, V, k, **kw)
    t = (lambda a: None if a is None else torch.from_numpy(a))
    got = ours(t(Q), t(V), t(k), return_attention_scores=True)
    want = theirs(Q, V, k, return_attention_scores=True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), atol=1e-5)


def test_mha_masks_match_keras(keras):
    ours, theirs = _pair(keras, Q, V, num_heads=2, key_dim=3)
    am = np.random.default_rng(3).random((2, 4, 5)) > 0.3
    # (Keras 3 reads the query's mask from the tensor, not from query_mask=, so the
    # query mask is compared in the functional test below.)
    got = ours(torch.from_numpy(Q), torch.from_numpy(V), value_mask=torch.from_numpy(VM),
               attention_mask=torch.from_numpy(am))
    want = theirs(Q, V, value_mask=VM, attention_mask=am)
    np.testing.assert_allclose(_np(got), _np(want), atol=1e-5)


def test_mha_causal_self_attention_matches_keras(keras):
    ours, theirs = _pair(keras, Q, Q, num_heads=2, key_dim=3)
    got = ours(torch.from_numpy(Q), torch.from_numpy(Q), use_causal_mask=True)
    want = theirs(Q, Q, use_causal_mask=True)
    np.testing.assert_allclose(_np(got), _np(want), atol=1e-5)


def test_mha_in_a_functional_model_with_a_mask_matches_keras(keras):
    from rnnkit import Input, Model
    tokens = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2]])

    def build(lib, inp):
        x = lib.layers.Embedding(10, 6, mask_zero=True, name="emb")(inp)
        y = lib.layers.MultiHeadAttention(2, 3, name="mha")(x, x)
        return lib.layers.GlobalAveragePooling1D()(y)

    kin = keras.Input((5,), dtype="int32")
    km = keras.Model(kin, build(keras, kin))
    rin = Input((5,), dtype="int32")
    import rnnkit
    rm = Model(rin, build(rnnkit, rin))
    ws = [np.random.default_rng(4).normal(size=w.shape).astype("float32") for w in km.get_weights()]
    km.set_weights(ws)
    rm.set_weights(ws)
    np.testing.assert_allclose(rm.predict(tokens, verbose=0), km.predict(tokens, verbose=0),
                               atol=1e-5)


def test_mha_bad_arguments():
    with pytest.raises(ValueError, match="attention_axes"):
        L.MultiHeadAttention(2, 3, attention_axes=(2,))
    with pytest.raises(ValueError, match="use_gate"):
        L.MultiHeadAttention(2, 3, use_gate=True)
    with pytest.raises(ValueError, match="key_dim"):
        L.MultiHeadAttention(2, 0)
    mha = L.MultiHeadAttention(2, 3)
    with pytest.raises(ValueError, match="`query` must"):
        mha(torch.zeros(2, 4), torch.zeros(2, 4))
