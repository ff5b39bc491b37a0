"""BatchNormalization and LayerNormalization against Keras 3 (torch backend): outputs in
both modes, the moving statistics after a training step, weight order and counts."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L

X = np.random.default_rng(0).normal(loc=1.0, scale=2.0, size=(4, 5, 3)).astype("float32")
MASK = np.array([[1] * 5, [1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1]], bool)


def _np(t):
    return np.asarray(t.detach().cpu())


def _pair(keras, cls, shape, **kw):
    ours, theirs = getattr(L, cls)(**kw), getattr(keras.layers, cls)(**kw)
    theirs.build((None,) + shape)
    ours.maybe_build(shape)
    rng = np.random.default_rng(1)
    ws = [rng.uniform(0.5, 1.5, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    return ours, theirs


@pytest.mark.parametrize("kw", [dict(), dict(center=False), dict(scale=False, momentum=0.5),
                                dict(axis=1, epsilon=0.1)])
@pytest.mark.parametrize("masked", [False, True])
def test_batch_norm_matches_keras(keras, kw, masked):
    ours, theirs = _pair(keras, "BatchNormalization", X.shape[1:], **kw)
    m = MASK if masked and kw.get("axis", -1) == -1 else None
    mt = None if m is None else torch.from_numpy(m)
    for training in (False, True):
        got = ours(torch.from_numpy(X), mask=mt, training=training)
        want = theirs(X, mask=m, training=training)
        np.testing.assert_allclose(_np(got), _np(want), atol=2e-5)
    # The training call updated the moving statistics as Keras's did.
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-6)


def test_batch_norm_hand_computed():
    bn = L.BatchNormalization(momentum=0.5, epsilon=1e-8, center=False, scale=False)
    x = torch.tensor([[1.0], [3.0]])  # batch mean 2, biased variance 1
    y = bn(x, training=True)
    np.testing.assert_allclose(y.squeeze().tolist(), [-1.0, 1.0], atol=1e-6)
    mm, mv = bn.get_weights()
    np.testing.assert_allclose([mm[0], mv[0]], [0.5 * 0 + 0.5 * 2, 0.5 * 1 + 0.5 * 1])
    assert not bn.moving_mean.requires_grad and len(bn.trainable_weights) == 0


def test_frozen_batch_norm_uses_moving_statistics():
    bn = L.BatchNormalization()
    bn.maybe_build((3,))
    bn.trainable = False
    x = torch.randn(8, 3) * 5 + 2
    np.testing.assert_allclose(_np(bn(x, training=True)), _np(x / np.sqrt(1.001)), rtol=1e-5)
    assert bn.get_weights()[2].tolist() == [0.0, 0.0, 0.0]  # moving_mean untouched


# Keras warns that its rms_scaling divides by the variance; rnnkit matches what it computes.
@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
@pytest.mark.parametrize("kw", [dict(), dict(center=False), dict(rms_scaling=True),
                                dict(axis=[1, 2], epsilon=1e-5)])
def test_layer_norm_matches_keras(keras, kw):
    ours, theirs = _pair(keras, "LayerNormalization", X.shape[1:], **kw)
    np.testing.assert_allclose(_np(ours(torch.from_numpy(X))), _np(theirs(X)), atol=2e-5)


def test_layer_norm_hand_computed():
    ln = L.LayerNormalization(epsilon=1e-9)
    y = ln(torch.tensor([[1.0, 3.0]]))  # mean 2, biased variance 1
    np.testing.assert_allclose(y.tolist(), [[-1.0, 1.0]], atol=1e-6)


def test_normalization_bad_arguments():
    with pytest.raises(ValueError, match="renorm"):
        L.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="momentum"):
        L.BatchNormalization(momentum=2)
    with pytest.raises(ValueError, match="axis"):
        L.LayerNormalization(axis=0).maybe_build((3,))
    bn = L.BatchNormalization(renorm=False)  # Keras's default is accepted
    assert bn.get_config()["momentum"] == 0.99
