"""Next-frame prediction on moving digits with a ConvLSTM; compare with repeating the last frame.

    python examples/video_next_frame.py [--smoke] [--out DIR]

The Keras-style model of the keras-io next-frame example, smaller: ConvLSTM2D
(12 filters, 3x3, "same", all steps returned) and a per-frame Conv2D(1, 3x3,
sigmoid) through TimeDistributed. It reads frames 1..T-1 and predicts frames
2..T, one step ahead at every step. Data: ``rnnkit.datasets.load("moving_digits")``
at 24x24 with one digit, generated on the spot (nothing downloaded).

It reports the test MSE and SSIM (Wang et al. 2004: 7x7 Gaussian window,
σ = 1.5, data range 1) of the last predicted frame against the baseline that
repeats the last seen frame, and writes a PNG strip (input, prediction, truth)
and an animated GIF of one test video to ``--out`` (needs matplotlib and
Pillow: ``pip install 'rnnkit[plot]'``; without them the figures are skipped,
and the script says so). About 1-2 minutes on two CPU cores;
``--smoke`` (or RNNKIT_SMOKE=1) trains a few batches.
"""
import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit import datasets, set_random_seed
from rnnkit.layers import Conv2D, ConvLSTM2D, TimeDistributed
from rnnkit.models import Sequential
from rnnkit.optimizers import Adam


def ssim(a: np.ndarray, b: np.ndarray, sigma: float = 1.5, size: int = 7) -> float:
    """Mean SSIM (Wang et al. 2004, eq. 13) of two stacks of images (N, H, W) in [0, 1]."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2  # (K1 L)^2, (K2 L)^2 with L = 1
    r = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-r ** 2 / (2 * sigma ** 2))
    win = (g[:, None] * g[None, :] / g.sum() ** 2).view(1, 1, size, size)
    x = torch.as_tensor(a, dtype=torch.float64).unsqueeze(1)  # (N, 1, H, W)
    y = torch.as_tensor(b, dtype=torch.float64).unsqueeze(1)
    blur = lambda t: F.conv2d(t, win)  # noqa: E731 -- "valid": no padded statistics
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return float(s.mean())


def save_figures(video, pred, out: Path) -> list:
    """A PNG strip (rows: input, prediction, truth) and an animated GIF of one video."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from PIL import Image
    except ImportError:
        print("  figures skipped: matplotlib and Pillow are needed (pip install 'rnnkit[plot]')")
        return []
    out.mkdir(parents=True, exist_ok=True)
    T = video.shape[0]
    rows = [("input", video[:-1]), ("prediction", pred), ("truth", video[1:])]
    fig, axes = plt.subplots(3, T - 1, figsize=(1.1 * (T - 1), 3.6))
    for r, (label, frames) in enumerate(rows):
        for t in range(T - 1):
            ax = axes[r, t]
            ax.imshow(frames[t], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if t == 0:
                ax.set_ylabel(label)
            if r == 0:
                ax.set_title(f"t={t + 1}->{t + 2}", fontsize=7)
    fig.tight_layout()
    png, gif = out / "video_next_frame.png", out / "video_next_frame.gif"
    tmp = png.with_name(png.name + ".tmp.png")  # no half-written figure on a crash
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(png)
    # GIF frames side by side: input | prediction | truth, 4x enlarged
    tiles = [np.concatenate([video[t], pred[t], video[t + 1]], axis=1) for t in range(T - 1)]
    images = [Image.fromarray((255 * np.clip(f, 0, 1)).astype(np.uint8)).resize(
        (f.shape[1] * 4, f.shape[0] * 4), Image.NEAREST) for f in tiles]
    tmp = gif.with_name(gif.name + ".tmp.gif")
    images[0].save(tmp, save_all=True, append_images=images[1:], duration=250, loop=0)
    tmp.replace(gif)
    return [png, gif]


def main(smoke: bool = False, out=None) -> dict:
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    set_random_seed(0)
    n_train, n_test, epochs = (16, 4, 1) if smoke else (128, 64, 12)
    data = datasets.load("moving_digits", sequences=n_train + n_test, frames=10, size=24,
                         digits=1, digit_size=10, speed=(1.0, 2.0), seed=0)["frames"]
    data = data[..., None]  # (N, T, 24, 24, 1), channels last as Keras
    x, y = data[:, :-1], data[:, 1:]  # frames 1..T-1 -> frames 2..T
    model = Sequential([
        ConvLSTM2D(12, (3, 3), padding="same", return_sequences=True, input_shape=x.shape[1:]),
        TimeDistributed(Conv2D(1, (3, 3), padding="same", activation="sigmoid")),
    ])
    model.compile(optimizer=Adam(1e-2), loss="binary_crossentropy")
    hist = model.fit(x[:n_train], y[:n_train], epochs=epochs, batch_size=16, verbose=0)
    pred = model.predict(x[n_train:])[..., 0]  # (n_test, T-1, 24, 24)
    truth, last = y[n_train:, -1, ..., 0], x[n_train:, -1, ..., 0]
    res = {"mse": float(((pred[:, -1] - truth) ** 2).mean()),
           "mse_repeat_last": float(((last - truth) ** 2).mean()),
           "ssim": ssim(pred[:, -1], truth), "ssim_repeat_last": ssim(last, truth)}
    losses = hist.history["loss"]
    print(f"moving digits 24x24: {n_train} train / {n_test} test videos of 10 frames; "
          f"training loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(f"  last frame  MSE  ConvLSTM {res['mse']:.4f}   repeat-last-frame {res['mse_repeat_last']:.4f}")
    print(f"              SSIM ConvLSTM {res['ssim']:.3f}    repeat-last-frame "
          f"{res['ssim_repeat_last']:.3f}")
    out = Path(out) if out is not None else (Path(tempfile.mkdtemp()) if smoke
                                             else Path("video_next_frame_out"))
    for f in save_figures(data[n_train, :, ..., 0], pred[0], out):
        print(f"  wrote {f}")
    return res


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few batches only (tests)")
    p.add_argument("--out", default=None, help="folder for the PNG strip and the GIF "
                                               "(default video_next_frame_out/)")
    a = p.parse_args()
    main(smoke=a.smoke or os.environ.get("RNNKIT_SMOKE") == "1", out=a.out)
