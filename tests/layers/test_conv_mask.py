"""Masks of the ConvLSTM layers (rnnkit.layers.conv_mask): a Masking layer over video
frames hands on one flag per pixel; Keras 3 (torch backend) is the oracle, weight for
weight, on outputs and states; the reference of the per-step path is a (B, T) mask."""
import numpy as np
import pytest
import torch

import rnnkit.layers as L
from rnnkit.kernels import registry
from rnnkit.layers.conv_mask import split_mask

F = 3
SHAPES = {"ConvLSTM1D": (4, 7, 2), "ConvLSTM2D": (4, 6, 6, 2), "ConvLSTM3D": (4, 3, 4, 5, 2)}


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _video(shape, holes, seed=1):
    """(2, *shape) frames with zeros where a Masking(0.0) should see padding: "end" pads
    sample 0's last frame, "middle" blanks sample 1's second frame, "pixels" adds single
    zero pixels (one flag per pixel then differs inside a frame)."""
    x = np.random.default_rng(seed).uniform(0.1, 1.0, size=(2,) + shape).astype("float32")
    if holes in ("end", "middle", "pixels"):
        x[0, -1] = 0.0
    if holes in ("middle", "pixels"):
        x[1, 1] = 0.0
    if holes == "pixels":
        x[0, 0, 1] = 0.0  # a row (1-D: one pixel) of the first frame
        x[(1, 2) + (0,) * (len(shape) - 2)] = 0.0  # one pixel of the third frame
        x[1, -1, -1] = 0.0
    return x


def _pair(keras, cls, **kw):
    shape = SHAPES[cls]
    ours = getattr(L, cls)(F, 3, padding="same", **kw)
    ours.maybe_build(shape)
    theirs = getattr(keras.layers, cls)(F, 3, padding="same", **kw)
    theirs.build((None,) + shape)
    rng = np.random.default_rng(0)
    ws = [rng.normal(scale=0.4, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(ws)
    ours.set_weights(ws)
    return ours, theirs


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("holes", ["end", "middle", "pixels"])
@pytest.mark.parametrize("cls", sorted(SHAPES))
def test_a_masking_layers_mask_matches_keras(keras, cls, holes, go_backwards):
    ours, theirs = _pair(keras, cls, return_sequences=True, return_state=True,
                         go_backwards=go_backwards)
    x = _video(SHAPES[cls], holes)
    k_mask = keras.layers.Masking(0.0).compute_mask(keras.ops.convert_to_tensor(x))
    r_mask = L.Masking(0.0).compute_mask(torch.from_numpy(x))
    assert tuple(r_mask.shape) == tuple(k_mask.shape) == (2,) + SHAPES[cls][:-1]  # per pixel
    np.testing.assert_array_equal(_np(r_mask), _np(k_mask))
    got = ours(torch.from_numpy(x), mask=r_mask)
    want = theirs(x, mask=k_mask)
    for g, w in zip(got, want):  # the sequence, h and c
        np.testing.assert_allclose(_np(g), _np(w), atol=3e-6)
    # the masked steps hold the state: an all-padding last frame changes nothing
    if holes == "end" and not go_backwards:
        np.testing.assert_array_equal(_np(got[0][0, -1]), _np(got[0][0, -2]))
    ours.return_sequences = theirs.return_sequences = False
    ours.return_state = theirs.return_state = False
    np.testing.assert_allclose(_np(ours(torch.from_numpy(x), mask=r_mask)),
                               _np(theirs(x, mask=k_mask)), atol=3e-6)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_zero_output_for_mask_per_pixel_matches_keras(keras, return_sequences):
    ours, theirs = _pair(keras, "ConvLSTM2D", return_sequences=return_sequences,
                         zero_output_for_mask=True)
    x = _video(SHAPES["ConvLSTM2D"], "pixels")
    m = L.Masking(0.0).compute_mask(torch.from_numpy(x))
    got, want = ours(torch.from_numpy(x), mask=m), theirs(x, mask=_np(m))
    np.testing.assert_allclose(_np(got), _np(want), atol=3e-6)
    if return_sequences:
        assert (_np(got)[1, 2, 0, 0] == 0).all()  # the zero pixel outputs zeros


def test_split_mask_per_step_per_pixel_and_refusals():
    B, T, S = 2, 4, (3, 3)
    frames = torch.ones(B, T, *S, dtype=torch.bool)
    frames[0, 3] = False  # whole frames: the per-step mask
    m, pixels = split_mask(frames, B, T, S, "channels_last", "ConvLSTM2D")
    assert pixels is None and m.shape == (T, B)
    assert m.tolist() == [[True, True], [True, True], [True, True], [False, True]]
    holes = frames.clone()
    holes[1, 0, 2, 2] = False
    m, pixels = split_mask(holes, B, T, S, "channels_last", "ConvLSTM2D")
    assert m is None and pixels.shape == (T, B) + S and not pixels[0, 1, 2, 2]
    with pytest.raises(ValueError, match=r"`mask`.*channels_last"):
        split_mask(holes, B, T, S, "channels_first", "ConvLSTM2D")
    with pytest.raises(ValueError, match=r"`mask`.*\(2, 4, 2, 2\)"):
        split_mask(holes, B, T, (2, 2), "channels_last", "ConvLSTM2D")
    with pytest.raises(ValueError, match=r"`mask` for ConvLSTM2D must have shape"):
        split_mask(torch.ones(B, T + 1, dtype=torch.bool), B, T, S, "channels_last",
                   "ConvLSTM2D")


def _spy(monkeypatch):
    calls = []
    real = registry.run_conv

    def counting(spec, weights, x, hx, mask=None, **kw):
        calls.append(None if mask is None else tuple(mask.shape))
        return real(spec, weights, x, hx, mask, **kw)

    monkeypatch.setattr(registry, "run_conv", counting)
    return calls


def test_whole_frame_masks_run_once_on_a_kernel_that_runs_masks(monkeypatch):
    """Padding frames need no per-pixel loop: one call with the (T, B) mask, on the fastest
    kernel that takes a mask with holes; the same numbers as the (B, T) mask itself."""
    torch.manual_seed(0)
    layer = L.ConvLSTM2D(F, 3, padding="same", return_sequences=True)
    x = torch.from_numpy(_video(SHAPES["ConvLSTM2D"], "middle"))
    pixel_mask = L.Masking(0.0).compute_mask(x)  # (2, 4, 6, 6), equal inside each frame
    calls = _spy(monkeypatch)
    y = layer(x, mask=pixel_mask)
    assert calls == [(4, 2)]  # one call, the per-step mask, time-first
    from rnnkit.kernels.cpu import build  # conv-cpu runs masks with holes in its joint form
    assert layer.last_choice.kernel == ("conv-cpu" if build.why_unavailable() is None else "conv")
    step_mask = torch.tensor([[True, True, True, False], [True, False, True, True]])
    torch.testing.assert_close(y, layer(x, mask=step_mask), rtol=0, atol=0)
    calls.clear()
    layer(torch.from_numpy(_video(SHAPES["ConvLSTM2D"], "pixels")),
          mask=L.Masking(0.0).compute_mask(torch.from_numpy(_video(SHAPES["ConvLSTM2D"],
                                                                   "pixels"))))
    assert calls == [None] * 4  # pixel by pixel: one call per step, no mask


def test_whole_frame_masks_where_keras_fails_on_the_shapes(keras):
    """padding="valid" and strides shrink the state, so Keras can't apply its per-pixel
    flags; whole-frame masks are still per step: Keras with the (B, T) mask is the oracle."""
    ours = L.ConvLSTM2D(F, 3, padding="valid", strides=1, return_sequences=True)
    ours.maybe_build(SHAPES["ConvLSTM2D"])
    theirs = keras.layers.ConvLSTM2D(F, 3, padding="valid", strides=1, return_sequences=True)
    theirs.build((None,) + SHAPES["ConvLSTM2D"])
    theirs.set_weights(ours.get_weights())
    x = _video(SHAPES["ConvLSTM2D"], "middle")
    step_mask = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)
    got = ours(torch.from_numpy(x), mask=L.Masking(0.0).compute_mask(torch.from_numpy(x)))
    np.testing.assert_allclose(_np(got), _np(theirs(x, mask=step_mask)), atol=3e-6)
    holes = torch.from_numpy(_video(SHAPES["ConvLSTM2D"], "pixels"))
    with pytest.raises(ValueError, match=r"`mask` of shape \(2, 4, 6, 6\) differs"):
        ours(holes, mask=L.Masking(0.0).compute_mask(holes))


def test_per_pixel_gradients_in_float64():
    torch.manual_seed(0)
    layer = L.ConvLSTM1D(2, 3, padding="same", return_sequences=True, return_state=True)
    layer.maybe_build((3, 5, 2))
    layer.double()
    mask = torch.ones(2, 3, 5, dtype=torch.bool)
    mask[0, 1, 2] = mask[1, 2, :2] = mask[1, 0, 4] = False
    x = torch.randn(2, 3, 5, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)

    def run(x, h0, c0, w_hh):
        out = torch.func.functional_call(layer, {"weight_hh": w_hh},
                                         (x,), {"mask": mask, "initial_state": [h0, c0]})
        return tuple(out)

    w_hh = layer.weight_hh.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(run, (x, h0, c0, w_hh))


def test_dropout_masks_are_drawn_once_per_sequence_per_pixel():
    """The per-pixel loop replays the generator before each step, so each step sees the
    dropout masks that the one-call path draws once for the whole sequence (Keras's)."""
    def layer():
        torch.manual_seed(0)
        out = L.ConvLSTM2D(F, 3, padding="same", return_sequences=True, dropout=0.4,
                           recurrent_dropout=0.4, seed=7, backend="conv")
        out.maybe_build(SHAPES["ConvLSTM2D"])
        return out

    x = torch.from_numpy(_video(SHAPES["ConvLSTM2D"], "none"))
    mask = torch.ones((2,) + SHAPES["ConvLSTM2D"][:-1], dtype=torch.bool)
    mask[0, -1, 0, 0] = False  # one pixel of the last frame: the per-pixel path
    whole = layer()(x, training=True)
    per_pixel = layer()(x, mask=mask, training=True)
    torch.testing.assert_close(per_pixel[:, :-1], whole[:, :-1], rtol=0, atol=1e-6)
    assert not torch.equal(per_pixel[0, -1, 0, 0], whole[0, -1, 0, 0])  # the held pixel
    torch.testing.assert_close(per_pixel[1, -1], whole[1, -1], rtol=0, atol=1e-6)
    assert not torch.equal(layer()(x, training=True), layer()(x, training=False))
