"""Keras files of video models with masks and with Bidirectional(ConvLSTM), with Keras 3
(torch backend) as the oracle both ways: a Masking layer before ConvLSTM1D/2D/3D (its
per-pixel mask, with padding frames at the end, a blank frame in the middle and single
blank pixels), and Bidirectional around ConvLSTM1D/2D/3D in every merge mode; in .keras,
legacy .h5 and .weights.h5, in Sequential and functional models; and rnnkit's own files."""
import os

import numpy as np
import pytest
from _support import sibling

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import rnnkit  # noqa: E402
from rnnkit.models import load_model  # noqa: E402

KL = keras.layers


def _video(shape, pad=0.0, seed=0):
    """(2, T, *S, C) frames holding ``pad`` where a Masking(pad) should see padding."""
    x = np.random.default_rng(seed).uniform(0.1, 1.0, size=(2,) + shape).astype("float32")
    x[0, -1] = pad  # padding at the end
    x[1, 1] = pad  # a blank frame in the middle
    x[(0, 0) + (1,) * (len(shape) - 2)] = pad  # single blank pixels: one flag per pixel
    x[(1, 2) + (0,) * (len(shape) - 2)] = pad
    return x


def masked_sequential():
    return keras.Sequential([
        keras.Input((3, 6, 6, 2)), KL.Masking(0.0),
        KL.ConvLSTM2D(4, 3, padding="same", return_sequences=True),
        KL.ConvLSTM2D(3, 3, padding="same", go_backwards=True),
    ]), _video((3, 6, 6, 2))


def masked_next_frame():
    """keras-io's next-frame model behind a Masking layer (functional)."""
    inp = keras.Input((None, 6, 6, 1))
    x = KL.Masking(0.0)(inp)
    x = KL.ConvLSTM2D(4, 3, padding="same", return_sequences=True, activation="relu")(x)
    x = KL.BatchNormalization()(x)
    x = KL.ConvLSTM2D(4, 3, padding="same", return_sequences=True)(x)
    out = KL.Conv3D(1, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(inp, out), _video((3, 6, 6, 1))


def masked_1d_and_3d():
    """Masking with another mask_value, before a ConvLSTM1D and a ConvLSTM3D (functional,
    two inputs, states out)."""
    in1, in3 = keras.Input((3, 7, 2)), keras.Input((3, 3, 4, 4, 1))
    a, h, c = KL.ConvLSTM1D(3, 3, padding="same", return_state=True,
                            zero_output_for_mask=True)(KL.Masking(-1.0)(in1))
    b = KL.ConvLSTM3D(2, 2, padding="same", return_sequences=True)(KL.Masking(-1.0)(in3))
    return keras.Model([in1, in3], [a, h, c, b]), [_video((3, 7, 2), -1.0),
                                                   _video((3, 3, 4, 4, 1), -1.0, seed=1)]


def bidirectional_sequential():
    return keras.Sequential([
        keras.Input((3, 6, 6, 2)), KL.Masking(0.0),
        KL.Bidirectional(KL.ConvLSTM2D(3, 3, padding="same", return_sequences=True)),
        KL.Bidirectional(KL.ConvLSTM2D(2, 3, padding="same"), merge_mode="ave"),
    ]), _video((3, 6, 6, 2))


def bidirectional_functional():
    """Bidirectional(ConvLSTM1D) with merge_mode=None and its states; (ConvLSTM3D) with
    "mul" and "sum"."""
    in1, in3 = keras.Input((3, 7, 2)), keras.Input((3, 3, 4, 4, 1))
    y, y_rev, fh, fc, bh, bc = KL.Bidirectional(
        KL.ConvLSTM1D(3, 3, padding="same", return_sequences=True, return_state=True),
        merge_mode=None)(KL.Masking(0.0)(in1))
    z = KL.Bidirectional(KL.ConvLSTM3D(2, 2, padding="same", return_sequences=True),
                         merge_mode="mul")(in3)
    z = KL.Bidirectional(KL.ConvLSTM3D(2, 2, padding="same", go_backwards=False),
                         merge_mode="sum")(z)
    return keras.Model([in1, in3], [y, y_rev, fh, fc, bh, bc, z]), [
        _video((3, 7, 2)), _video((3, 3, 4, 4, 1), seed=1)]


MODELS = {f.__name__: f for f in (masked_sequential, masked_next_frame, masked_1d_and_3d,
                                  bidirectional_sequential, bidirectional_functional)}


def _sibling(name):
    return sibling(__file__, name)


_conv_files = _sibling("test_keras_files_conv")
_outs, _same = _conv_files._outs, _conv_files._same


def _randomize(model, seed=0):
    _conv_files._randomize(model, seed, scale=0.4)


pair = _conv_files.pair_fixture(MODELS, _randomize)


def test_keras_file_read_by_rnnkit_predicts_the_same(pair):
    name, k, x, ours = pair
    assert ours.count_params() == k.count_params()
    assert "Masking" in [type(lay).__name__ for lay in ours.layers]
    _same(ours, k, x)


def test_the_masks_matter(pair):
    """The models' outputs depend on the masks (else the tests above prove nothing): the
    same frames with the padding value nudged, so that no step or pixel is masked."""
    _, k, x, ours = pair
    nudged = [np.where(np.isin(v, (0.0, -1.0)), v + 1e-3, v) for v in
              (x if isinstance(x, list) else [x])]
    nudged = nudged if isinstance(x, list) else nudged[0]
    diff = max(float(np.abs(p - q).max()) for p, q in zip(_outs(ours, x), _outs(ours, nudged)))
    assert diff > 1e-2


# The round trips of tests/models/test_keras_files_conv.py, run on this module's `pair`
# (pytest resolves a test's fixtures in the module that holds it).
test_legacy_h5_read_by_rnnkit_predicts_the_same = \
    _conv_files.test_legacy_h5_read_by_rnnkit_predicts_the_same
test_rnnkit_keras_file_read_by_keras_predicts_the_same_with_the_same_config = \
    _conv_files.test_rnnkit_keras_file_read_by_keras_predicts_the_same_with_the_same_config
test_weights_h5_both_ways = _conv_files.test_weights_h5_both_ways


def test_rnnkit_files_round_trip(pair, tmp_path):
    _, _, x, ours = pair
    ours.save(tmp_path / "ours")
    _same(load_model(tmp_path / "ours"), ours, x, atol=0)


def test_models_built_in_rnnkit_match_keras_built_from_their_files(tmp_path):
    """Written from rnnkit code (Sequential and functional), read by Keras."""
    L = rnnkit.layers
    seq = rnnkit.Sequential([
        L.Input((3, 6, 6, 2)), L.Masking(0.0),
        L.Bidirectional(L.ConvLSTM2D(3, 3, padding="same", return_sequences=True),
                        merge_mode="sum"),
        L.ConvLSTM2D(2, 3, padding="same")])
    inp = L.Input((3, 7, 2))
    y = L.Bidirectional(L.ConvLSTM1D(2, 3, padding="same"))(L.Masking(0.0)(inp))
    fun = rnnkit.Model(inp, y)
    for model, x in ((seq, _video((3, 6, 6, 2))), (fun, _video((3, 7, 2)))):
        _randomize(model, seed=5)
        model.save(tmp_path / "r.keras")
        _same(keras.models.load_model(tmp_path / "r.keras"), model, x)
        model.save(tmp_path / "r")
        _same(load_model(tmp_path / "r"), model, x, atol=0)
