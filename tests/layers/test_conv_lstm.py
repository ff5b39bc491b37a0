"""ConvLSTM1D/2D/3D against Keras 3's (torch backend) weight for weight, and bad input."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L
from rnnkit.layers.base import layer_from_config

F = 3


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _pair(keras, cls, shape, **kw):
    ours = getattr(L, cls)(F, **kw)
    ours.maybe_build(shape)
    theirs = getattr(keras.layers, cls)(F, **kw)
    theirs.build((None,) + shape)
    rng = np.random.default_rng(0)
    ws = [rng.normal(scale=0.4, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    return ours, theirs


CASES = [
    ("ConvLSTM2D", (5, 7, 6, 2), dict(kernel_size=3, padding="same")),
    ("ConvLSTM2D", (5, 7, 6, 2), dict(kernel_size=(3, 2), padding="valid", strides=2)),
    ("ConvLSTM2D", (5, 2, 7, 6), dict(kernel_size=3, padding="same", dilation_rate=2,
                                      data_format="channels_first")),
    ("ConvLSTM2D", (5, 7, 6, 2), dict(kernel_size=3, padding="same", go_backwards=True,
                                      activation="relu", recurrent_activation="hard_sigmoid")),
    ("ConvLSTM1D", (5, 9, 2), dict(kernel_size=4, padding="same")),
    ("ConvLSTM1D", (5, 9, 2), dict(kernel_size=3, use_bias=False)),
    ("ConvLSTM3D", (5, 4, 5, 3, 2), dict(kernel_size=2, padding="same")),
]
MASK = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]], bool)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("cls,shape,kw", CASES)
def test_matches_keras(keras, cls, shape, kw, masked):
    ours, theirs = _pair(keras, cls, shape, return_sequences=True, return_state=True, **kw)
    x = np.random.default_rng(1).normal(size=(2,) + shape).astype("float32")
    m = MASK if masked else None
    got = ours(torch.from_numpy(x), mask=None if m is None else torch.from_numpy(m))
    want = theirs(x, mask=m)
    assert len(got) == len(want) == 3
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape)
        np.testing.assert_allclose(_np(g), _np(w), atol=3e-6)
    ours.return_sequences = theirs.return_sequences = False
    ours.return_state = theirs.return_state = False
    np.testing.assert_allclose(_np(ours(torch.from_numpy(x))), _np(theirs(x)), atol=3e-6)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_zero_output_for_mask_matches_keras(keras, return_sequences):
    """Masked steps output zeros (the last output too, when the last step is masked)
    instead of repeating the last valid output; the states are unaffected."""
    shape = (5, 6, 5, 2)
    ours, theirs = _pair(keras, "ConvLSTM2D", shape, kernel_size=3, padding="same",
                         return_sequences=return_sequences, return_state=True,
                         zero_output_for_mask=True, unroll=False)
    x = np.random.default_rng(2).normal(size=(2,) + shape).astype("float32")
    got = ours(torch.from_numpy(x), mask=torch.from_numpy(MASK))
    want = theirs(x, mask=MASK)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), atol=3e-6)
    out = _np(got[0])
    if return_sequences:
        assert (out[0, 3:] == 0).all() and (out[1, 0] == 0).all() and (out[0, 2] != 0).any()
    else:
        assert (out[0] == 0).all() and (out[1] != 0).any()  # sample 0's last step is masked
    assert ours.get_config()["zero_output_for_mask"] is True


def test_initial_state_and_stateful_streams_match_keras(keras):
    shape = (4, 5, 5, 1)
    ours, theirs = _pair(keras, "ConvLSTM2D", shape, padding="same", kernel_size=3,
                         return_state=True)
    x = np.random.default_rng(2).normal(size=(2,) + shape).astype("float32")
    h0 = np.random.default_rng(3).normal(size=(2, 5, 5, F)).astype("float32")
    got = ours(torch.from_numpy(x), initial_state=[torch.from_numpy(h0), torch.from_numpy(h0)])
    want = theirs(x, initial_state=[h0, h0])
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), atol=3e-6)
    # Two halves through a stateful layer = the whole sequence at once.
    s = L.ConvLSTM2D(F, 3, padding="same", stateful=True, return_sequences=True)
    s.maybe_build(shape)
    s.set_weights(ours.get_weights())
    whole = L.ConvLSTM2D(F, 3, padding="same", return_sequences=True)
    whole.maybe_build((8,) + shape[1:])
    whole.set_weights(ours.get_weights())
    xx = torch.from_numpy(np.concatenate([x, x[:, ::-1]], axis=1).copy())
    parts = torch.cat([s(xx[:, :4]), s(xx[:, 4:])], dim=1)
    torch.testing.assert_close(parts, whole(xx))


def test_the_extras_train_and_round_trip_their_weights_and_config():
    layer = L.ConvLSTM2D(2, 3, padding="same", peephole=True, layer_norm=True,
                         return_sequences=True)
    layer.maybe_build((3, 6, 5, 1))
    ws = layer.get_weights()
    assert [w.shape for w in ws[3:6]] == [(6, 5, 2)] * 3  # per-position peepholes, (H, W, F)
    twin = layer_from_config({"class_name": "ConvLSTM2D", "config": layer.get_config()})
    twin.maybe_build((3, 6, 5, 1))
    twin.set_weights(ws)
    x = torch.randn(2, 3, 6, 5, 1)
    torch.testing.assert_close(twin(x), layer(x))
    layer(x).square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in layer.parameters())


def test_keras_initialisation_shapes_and_forget_bias():
    layer = L.ConvLSTM2D(4, (3, 5))
    layer.maybe_build((2, 8, 8, 3))
    k, rk, b = layer.get_weights()
    assert k.shape == (3, 5, 3, 16) and rk.shape == (3, 5, 4, 16)
    np.testing.assert_array_equal(b, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    assert layer.compute_output_shape((2, 8, 8, 3)) == (6, 4, 4)


@pytest.mark.parametrize("make,x,match", [
    (lambda: L.ConvLSTM2D(2, 3), torch.zeros(2, 3, 8, 1), "rank 5"),
    (lambda: L.ConvLSTM2D(2, 3), torch.zeros(2, 3, 8, 8, 2), "2 channels but the layer was built for 1"),
    (lambda: L.ConvLSTM2D(2, (3, 3, 3)), None, "kernel_size.* 2 value"),
    (lambda: L.ConvLSTM3D(2, 3, strides=(1, 2)), None, "strides.* 3 value"),
    (lambda: L.ConvLSTM2D(2, 3, data_format="channels_middle"), None, "data_format"),
    (lambda: L.ConvLSTM2D(2, 3, padding="causal"), None, "padding"),
    (lambda: L.ConvLSTM2D(2, 3, strides=2, dilation_rate=2), None, "dilation_rate"),
    (lambda: L.ConvLSTM2D(2, 9), torch.zeros(2, 3, 8, 8, 1), "larger than the input"),
])
def test_bad_input_names_the_argument(make, x, match):
    with pytest.raises(ValueError, match=match):
        layer = make()
        if x is not None:
            if "channels" in match:
                layer.maybe_build((3, 8, 8, 1))
            layer(x)


def test_default_names_are_keras_names(keras):
    for cls in ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Conv2D", "Conv3D", "Conv2DTranspose"):
        assert getattr(L, cls)(2, 3).name == _keras_base_name(getattr(keras.layers, cls)(2, 3).name)
    for cls in ("MaxPooling2D", "MaxPooling3D", "UpSampling2D", "UpSampling3D"):
        assert getattr(L, cls)().name == _keras_base_name(getattr(keras.layers, cls)().name)


def _keras_base_name(name):
    """Keras numbers its default names (conv2d_3); the base is what a fresh session gives."""
    head, _, tail = name.rpartition("_")
    return head if tail.isdigit() else name


def test_a_video_model_saves_and_loads_without_pickle(tmp_path):
    from rnnkit.models import Sequential, load_model
    model = Sequential([L.ConvLSTM2D(3, 3, padding="same", return_sequences=True,
                                     input_shape=(4, 6, 6, 1)),
                        L.TimeDistributed(L.Conv2D(1, 3, padding="same", activation="sigmoid"))])
    assert L.ConvLSTM2D(3, 3).compute_output_shape((4, 6, 6, 1)) == (4, 4, 3)  # unbuilt
    x = np.random.default_rng(0).random((2, 4, 6, 6, 1)).astype("float32")
    want = model.predict(x)
    model.save(tmp_path / "video.rnnkit")
    got = load_model(tmp_path / "video.rnnkit").predict(x)
    np.testing.assert_array_equal(got, want)


def test_dropout_is_seeded_per_sequence_and_off_in_inference():
    def make():
        layer = L.ConvLSTM1D(2, 3, padding="same", dropout=0.4, recurrent_dropout=0.3, seed=3,
                             return_sequences=True)
        layer.maybe_build((4, 5, 2))
        layer.set_weights([np.full(w.shape, 0.3, "float32") for w in layer.get_weights()])
        return layer
    x = torch.rand(2, 4, 5, 2)
    a, b = make()(x, training=True), make()(x, training=True)
    torch.testing.assert_close(a, b)  # the same seed, the same masks
    plain = make()(x, training=False)
    assert float((a - plain).detach().abs().max()) > 1e-3
    torch.testing.assert_close(make().eval()(x), plain)  # eval mode: no dropout
