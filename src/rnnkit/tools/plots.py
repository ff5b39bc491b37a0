"""matplotlib figures of the tools (Agg backend: no display needed), saved atomically.

Each function takes plain numbers and a path and writes one PNG.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from rnnkit.util.atomic import atomic_path

__all__ = ["plot_learning_curves", "plot_predictions", "plot_gradient_flow"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window (servers, CI, tests)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    plt = _pyplot()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def plot_learning_curves(curves: Mapping[str, Sequence[dict]], path,
                         title: str = "Learning curves") -> None:
    """``curves[cell]`` = list of histories (one per seed) with 'loss' and 'val_loss'.

    Plots the mean over seeds: validation solid, training dashed, log scale.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, (cell, hists) in enumerate(curves.items()):
        color = f"C{k}"
        for key, style in (("val_loss", "-"), ("loss", "--")):
            runs = [h[key] for h in hists if h.get(key)]
            if runs:
                mean = np.mean(np.array(runs), axis=0)
                ax.plot(np.arange(1, len(mean) + 1), mean, style, color=color,
                        label=f"{cell} {'val' if key == 'val_loss' else 'train'}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (scaled units)")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    _save(fig, path)


def plot_predictions(x: np.ndarray, truth: np.ndarray, preds: Mapping[str, np.ndarray], path,
                     title: str = "Test predictions", ylabel: str = "value") -> None:
    """truth (N,) and each prediction (N,) against x (N,)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(x, truth, color="black", lw=2, label="truth")
    for k, (name, p) in enumerate(preds.items()):
        ax.plot(x, p, lw=1.2, label=name, color=f"C{k}", alpha=0.9)
    ax.set_xlabel("time step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_gradient_flow(norms: Mapping[str, np.ndarray], path,
                       title: str = "Gradient norm through time",
                       note: Optional[str] = None) -> None:
    """norms[cell] (T,) = ‖∂L/∂h_t‖ for t = 1..T, on a log scale."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, (cell, g) in enumerate(norms.items()):
        g = np.maximum(np.asarray(g, dtype=np.float64), 1e-300)
        ax.plot(np.arange(1, len(g) + 1), g, color=f"C{k}", marker="." if len(g) <= 40 else None,
                label=f"{cell} (h1/hT = {g[0] / g[-1]:.1e})")
    ax.set_yscale("log")
    ax.set_xlabel("time step t (T = last, where the loss is read)")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ax.set_title(title)
    if note:
        ax.text(0.01, 0.01, note, transform=ax.transAxes, fontsize=8, va="bottom")
    ax.legend(fontsize=8)
    _save(fig, path)
