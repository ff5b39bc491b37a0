"""Moving digits: Moving-MNIST-style videos (Srivastava et al. 2015, §3) generated
from the bundled 8x8 handwritten digit glyphs, deterministically per seed.

Each sequence places ``digits`` glyphs, chosen at random from the 1797 bundled
ones and enlarged to ``digit_size`` pixels (bilinear), at random positions with
a random direction and a speed in ``speed``; each moves in a straight line and
bounces off the frame's edges (reflecting the velocity component that would
leave the frame). Overlapping digits combine by their maximum, as in Moving
MNIST. Nothing is downloaded: the glyphs are ``digit_glyphs_8x8.npz``
(scikit-learn's copy of the UCI digits; source and licence in README.md).
"""
from __future__ import annotations

import io
from typing import Any, Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.datasets._base import read_package_bytes

GLYPHS_FILE = "digit_glyphs_8x8.npz"


def _int_arg(value, arg: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{arg}` must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"`{arg}` must be an integer ≥ {minimum}, got {value}")
    return int(value)


def load_glyphs() -> Tuple[np.ndarray, np.ndarray]:
    """The bundled glyphs (1797, 8, 8) uint8 in 0..16 and their labels (1797,) int64."""
    with np.load(io.BytesIO(read_package_bytes(GLYPHS_FILE))) as z:
        return z["glyphs"], z["labels"]


def _enlarge(glyphs: np.ndarray, size: int) -> np.ndarray:
    """(N, 8, 8) in 0..16 -> (N, size, size) float32 in [0, 1], bilinear."""
    g = torch.from_numpy(glyphs.astype(np.float32) / 16.0).unsqueeze(1)  # (N, 1, 8, 8)
    big = F.interpolate(g, size=(size, size), mode="bilinear", align_corners=False)
    return big.squeeze(1).clamp_(0.0, 1.0).numpy()


def moving_digits(sequences: int = 128, frames: int = 20, size: int = 64, digits: int = 2,
                  digit_size: int = 24, speed: Tuple[float, float] = (2.0, 4.0),
                  seed: int = 0) -> Dict[str, Any]:
    """Generate moving-digit videos.

    Args:
        sequences: how many videos, N (default 128).
        frames: frames per video, T (default 20, as Moving MNIST: 10 in, 10 to predict).
        size: frame height and width in pixels (default 64, as Moving MNIST).
        digits: digits per video (default 2).
        digit_size: a digit's height and width in pixels (default 24; ≤ size).
        speed: (low, high) pixels per frame, drawn uniformly per digit (default (2, 4)).
        seed: the same seed gives the same videos, on every machine (default 0).

    Returns a dict: ``frames`` (N, T, size, size) float32 in [0, 1]; ``labels``
    (N, digits) int64, the digit classes; ``positions`` (N, T, digits, 2) float32,
    each digit's top-left corner (row, column) per frame.
    """
    N = _int_arg(sequences, "sequences", 1)
    T = _int_arg(frames, "frames", 1)
    S = _int_arg(size, "size", 1)
    D = _int_arg(digits, "digits", 1)
    ds = _int_arg(digit_size, "digit_size", 1)
    if ds > S:
        raise ValueError(f"`digit_size` must be ≤ size={S}, got {ds}")
    if not (isinstance(speed, (tuple, list)) and len(speed) == 2
            and 0 <= float(speed[0]) <= float(speed[1])):
        raise ValueError(f"`speed` must be a pair (low, high) with 0 ≤ low ≤ high, got {speed!r}")
    seed = _int_arg(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    glyphs, glyph_labels = load_glyphs()
    pick = rng.integers(0, len(glyphs), size=(N, D))  # (N, D)
    images = _enlarge(glyphs[pick.ravel()], ds).reshape(N, D, ds, ds)
    room = float(S - ds)  # the top-left corner stays in [0, room]
    pos = rng.uniform(0.0, room, size=(N, D, 2))
    angle = rng.uniform(0.0, 2 * np.pi, size=(N, D))
    v = rng.uniform(speed[0], speed[1], size=(N, D))[..., None] * np.stack(
        [np.sin(angle), np.cos(angle)], axis=-1)  # (N, D, 2) rows/frame, columns/frame
    video = np.zeros((N, T, S, S), dtype=np.float32)
    positions = np.zeros((N, T, D, 2), dtype=np.float32)
    for t in range(T):
        positions[:, t] = pos
        corner = np.rint(pos).astype(np.int64)  # (N, D, 2)
        for n in range(N):
            for d in range(D):
                r, c = corner[n, d]
                view = video[n, t, r:r + ds, c:c + ds]
                np.maximum(view, images[n, d], out=view)
        pos = pos + v
        # bounce: reflect a coordinate that left [0, room] and flip that velocity
        low, high = pos < 0.0, pos > room
        pos = np.where(low, -pos, np.where(high, 2 * room - pos, pos))
        v = np.where(low | high, -v, v)
        pos = np.clip(pos, 0.0, room)  # a speed above the room itself
    return {"frames": video, "labels": glyph_labels[pick].astype(np.int64),
            "positions": positions}
