"""Bidirectional: shapes, every merge mode against a manual forward/backward run,
weight order, masks and states."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L

B, T, I, U = 2, 5, 3, 4


def _manual(bi, x, return_sequences):
    """The two directions by hand: plain layers loaded with each half of the weights;
    the backward one runs on the time-reversed input and is flipped back."""
    ws = bi.get_weights()
    n = len(ws) // 2
    outs = []
    for half, rev in ((ws[:n], False), (ws[n:], True)):
        plain = type(bi.forward_layer)(U, return_sequences=return_sequences)
        plain.maybe_build((T, I))
        plain.set_weights(half)
        y = plain(x.flip(1) if rev else x)
        outs.append(y.flip(1) if rev and return_sequences else y)
    return outs


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_every_merge_mode_against_manual_directions(merge_mode, return_sequences):
    torch.manual_seed(0)
    bi = L.Bidirectional(L.LSTM(U, return_sequences=return_sequences), merge_mode=merge_mode)
    x = torch.randn(B, T, I)
    out = bi(x)
    y, y_rev = _manual(bi, x, return_sequences)
    want = {"concat": torch.cat([y, y_rev], -1), "sum": y + y_rev, "mul": y * y_rev,
            "ave": (y + y_rev) / 2, None: [y, y_rev]}[merge_mode]
    step = (T,) if return_sequences else ()
    if merge_mode is None:
        assert isinstance(out, tuple) and len(out) == 2  # Keras 3 returns a tuple too
        for o, w in zip(out, want):
            torch.testing.assert_close(o, w)
        assert bi.compute_output_shape((T, I)) == [step + (U,)] * 2
    else:
        torch.testing.assert_close(out, want)
        width = 2 * U if merge_mode == "concat" else U
        assert out.shape == (B,) + step + (width,)
        assert bi.compute_output_shape((T, I)) == step + (width,)


def test_weights_forward_then_backward_and_count():
    bi = L.Bidirectional(L.GRU(U))
    bi.maybe_build((T, I))
    assert bi.count_params() == 2 * 3 * (I * U + U * U + 2 * U)
    assert bi.forward_layer.go_backwards is False and bi.backward_layer.go_backwards is True
    assert bi.forward_layer.name == "forward_gru" and bi.backward_layer.name == "backward_gru"
    rng = np.random.default_rng(0)
    ws = [rng.normal(size=w.shape).astype("float32") for w in bi.get_weights()]
    bi.set_weights(ws)
    for a, b in zip(bi.forward_layer.get_weights() + bi.backward_layer.get_weights(), ws):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="must hold 6 arrays"):
        bi.set_weights(ws[:3])


def test_masked_batch_equals_each_sequence_alone():
    torch.manual_seed(1)
    bi = L.Bidirectional(L.GRU(U, return_sequences=True))
    x = torch.randn(B, T, I)
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]], dtype=torch.bool)
    out = bi(x, mask=mask)
    assert bi.compute_mask(x, mask) is mask
    for b in range(B):
        alone = bi(x[b:b + 1, mask[b]])[0]
        torch.testing.assert_close(out[b, mask[b]], alone)
        assert not out[b, ~mask[b]].any()  # Keras zeroes masked steps inside Bidirectional


def test_return_state_forward_then_backward_states():
    torch.manual_seed(2)
    bi = L.Bidirectional(L.LSTM(U, return_state=True))
    x = torch.randn(B, T, I)
    out, fh, fc, bh, bc = bi(x)
    assert out.shape == (B, 2 * U) and all(s.shape == (B, U) for s in (fh, fc, bh, bc))
    torch.testing.assert_close(out, torch.cat([fh, bh], -1))
    assert bi.compute_output_shape((T, I)) == ((2 * U,), (U,), (U,), (U,), (U,))
    # initial_state: forward states first, then backward ones.
    zeros = [torch.zeros(B, U)] * 4
    torch.testing.assert_close(bi(x, initial_state=zeros)[0], out)
    ones = bi(x, initial_state=[torch.ones(B, U)] * 2 + zeros[:2])
    torch.testing.assert_close(ones[3], bh)
    assert not torch.allclose(ones[1], fh)


def test_input_shape_taken_from_the_wrapped_layer_and_stateful():
    bi = L.Bidirectional(L.SimpleRNN(2, input_shape=(T, I), stateful=True))
    assert bi.input_shape_arg == (T, I)
    bi(torch.randn(B, T, I))
    assert len(bi.states) == 2
    bi.reset_states()
    assert bi.states is None


def test_bad_arguments():
    with pytest.raises(TypeError, match="argument `layer`.*got Dense"):
        L.Bidirectional(L.Dense(2))
    with pytest.raises(ValueError, match="argument `merge_mode`.*got 'max'"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="different `go_backwards`"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2))
    with pytest.raises(ValueError, match="same `return_sequences`"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2, go_backwards=True,
                                                         return_sequences=True))


# --- Bidirectional(ConvLSTM1D/2D/3D), against Keras 3 (torch backend) -------------------
CONV = {"ConvLSTM1D": (3, 6, 2), "ConvLSTM2D": (3, 5, 6, 2), "ConvLSTM3D": (3, 3, 4, 4, 2)}


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _conv_pair(keras, cls, merge_mode, shape=None, **kw):
    shape = shape or CONV[cls]
    ours = L.Bidirectional(getattr(L, cls)(U, 3, padding="same", **kw), merge_mode=merge_mode)
    ours.maybe_build(shape)
    theirs = keras.layers.Bidirectional(getattr(keras.layers, cls)(U, 3, padding="same", **kw),
                                        merge_mode=merge_mode)
    theirs.build((None,) + shape)
    rng = np.random.default_rng(3)
    ws = [rng.normal(scale=0.4, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in ws]
    return ours, theirs


def _conv_masks(shape):
    """None, a per-step mask with a hole and end padding, and a per-pixel mask."""
    steps = np.array([[1, 1, 0], [1, 0, 1]], bool)
    pixels = np.ones((2,) + shape[:-1], bool)
    pixels[0, -1] = False
    pixels[(1, 1) + (0,) * (len(shape) - 2)] = False
    return {"none": None, "steps": steps, "pixels": pixels}


@pytest.mark.parametrize("masked", ["none", "steps", "pixels"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("cls", sorted(CONV))
def test_conv_lstm_every_merge_mode_and_mask_matches_keras(keras, cls, merge_mode, masked):
    x = np.random.default_rng(4).normal(size=(2,) + CONV[cls]).astype("float32")
    mask = _conv_masks(CONV[cls])[masked]
    for return_sequences in (True, False):
        ours, theirs = _conv_pair(keras, cls, merge_mode, return_state=True,
                                  return_sequences=return_sequences)
        got = ours(torch.from_numpy(x), mask=None if mask is None else torch.from_numpy(mask))
        want = theirs(x, mask=mask)
        assert len(got) == len(want) == (6 if merge_mode is None else 5)  # out(s), 2 x [h, c]
        for g, w in zip(got, want):
            assert tuple(g.shape) == tuple(w.shape)
            np.testing.assert_allclose(_np(g), _np(w), atol=3e-6)
        shapes = ours.compute_output_shape(CONV[cls])  # without the batch axis
        assert [tuple(s) for s in shapes] == [tuple(w.shape[1:]) for w in want]


def test_conv_lstm_channels_first_concatenates_on_the_last_axis_as_keras(keras):
    ours, theirs = _conv_pair(keras, "ConvLSTM2D", "concat", shape=(3, 2, 5, 6),
                              return_sequences=True, data_format="channels_first")
    x = np.random.default_rng(5).normal(size=(2, 3, 2, 5, 6)).astype("float32")
    got, want = ours(torch.from_numpy(x)), theirs(x)
    assert tuple(got.shape) == tuple(want.shape) == (2, 3, U, 5, 12)
    np.testing.assert_allclose(_np(got), _np(want), atol=3e-6)


def test_conv_lstm_stateful_continues_from_both_directions_states():
    torch.manual_seed(0)
    bi = L.Bidirectional(L.ConvLSTM1D(U, 3, padding="same", stateful=True, return_sequences=True))
    plain = L.Bidirectional(L.ConvLSTM1D(U, 3, padding="same", return_sequences=True))
    x1, x2 = torch.randn(2, 3, 6, 2), torch.randn(2, 3, 6, 2)
    bi(x1)
    plain.maybe_build((3, 6, 2))
    plain.set_weights(bi.get_weights())
    states = bi.states
    assert [tuple(s.shape) for s in states] == [(2, 6, U)] * 4  # fwd h, c, bwd h, c
    torch.testing.assert_close(bi(x2), plain(x2, initial_state=states))
    bi.reset_states()
    assert bi.states is None
    torch.testing.assert_close(bi(x2), plain(x2))


def test_conv_lstm_bad_wrap():
    with pytest.raises(TypeError, match="ConvLSTM1D/2D/3D layer, got Conv2D"):
        L.Bidirectional(L.Conv2D(2, 3))


def test_sequential_predict_with_merge_mode_none_matches_keras(keras):
    """The two outputs of a last Bidirectional(merge_mode=None) come out of predict as
    Keras 3's do: a tuple of arrays, equal after set_weights (batches of 4 over 6 samples)."""
    import rnnkit
    ours = rnnkit.Sequential([L.Input((T, I)), L.Bidirectional(L.LSTM(U, return_sequences=True),
                                                               merge_mode=None)])
    theirs = keras.Sequential([keras.Input((T, I)), keras.layers.Bidirectional(
        keras.layers.LSTM(U, return_sequences=True), merge_mode=None)])
    rng = np.random.default_rng(5)
    ws = [rng.normal(scale=0.4, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    x = rng.random((6, T, I)).astype("float32")
    got, want = ours.predict(x, batch_size=4, verbose=0), theirs.predict(x, batch_size=4, verbose=0)
    assert type(got) is type(want) is tuple and len(got) == len(want) == 2
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
