"""moving_digits: deterministic per seed, digits inside the frame, bounces, bad options."""
import numpy as np
import pytest

from rnnkit import datasets
from rnnkit.datasets.moving_digits import load_glyphs, moving_digits


def test_same_seed_same_videos_and_another_seed_others():
    a = moving_digits(sequences=3, frames=6, size=32, digit_size=12, seed=5)
    b = datasets.load("moving_digits", sequences=3, frames=6, size=32, digit_size=12, seed=5)
    for key in ("frames", "labels", "positions"):
        np.testing.assert_array_equal(a[key], b[key])
    c = moving_digits(sequences=3, frames=6, size=32, digit_size=12, seed=6)
    assert not np.array_equal(a["frames"], c["frames"])
    assert a["frames"].shape == (3, 6, 32, 32) and a["frames"].dtype == np.float32
    assert a["labels"].shape == (3, 2) and a["positions"].shape == (3, 6, 2, 2)


def test_glyph_file_is_the_uci_test_set():
    glyphs, labels = load_glyphs()
    assert glyphs.shape == (1797, 8, 8) and glyphs.dtype == np.uint8
    assert glyphs.max() == 16 and np.bincount(labels).tolist()[:3] == [178, 182, 177]


def test_digits_stay_inside_and_bounce():
    d = moving_digits(sequences=8, frames=40, size=20, digits=1, digit_size=8,
                      speed=(3.0, 3.0), seed=0)
    pos, frames = d["positions"], d["frames"]
    assert pos.min() >= 0 and pos.max() <= 12
    # over 40 frames at 3 px/frame in a 12-px room every digit bounces: some velocity flips
    v = np.diff(pos[:, :, 0], axis=1)  # (N, T-1, 2)
    assert (np.sign(v[:, 1:]) * np.sign(v[:, :-1]) < 0).any()
    # the frame's ink is one glyph's ink, wherever it is
    ink = frames.sum(axis=(2, 3))  # (N, T)
    np.testing.assert_allclose(ink, ink[:, :1].repeat(40, axis=1), rtol=1e-5)
    assert 0.0 <= frames.min() and frames.max() <= 1.0


@pytest.mark.parametrize("kwargs,err,match", [
    ({"digit_size": 70}, ValueError, "digit_size"),
    ({"frames": 0}, ValueError, "frames"),
    ({"sequences": 2.5}, TypeError, "sequences"),
    ({"speed": (3, 1)}, ValueError, "speed"),
])
def test_bad_options_name_the_argument(kwargs, err, match):
    with pytest.raises(err, match=match):
        moving_digits(**kwargs)


def test_datasets_without_options_refuse_them():
    with pytest.raises(TypeError, match="takes no options"):
        datasets.load("sunspots", seed=1)
