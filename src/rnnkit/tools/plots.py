"""matplotlib figures of the tools (Agg backend: no display needed), saved atomically.

Each function takes plain numbers and a path and writes one PNG at 200 dpi, so
that it stays crisp on HiDPI screens (the HTML shows it at half its pixel size).
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from rnnkit.util.atomic import atomic_path

__all__ = ["DPI", "plot_learning_curves", "plot_predictions", "plot_forecasts", "plot_lead_time",
           "plot_gradient_flow"]

DPI = 200
_SPAN_COLORS = ("#dde8f5", "#f5ecd8", "#e4f2e0")   # train, validation, test


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window (servers, CI, tests)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    plt = _pyplot()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
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


def plot_forecasts(x, series, spans: Mapping[str, tuple], x_test, truth,
                   cells: Mapping[str, np.ndarray], baselines: Mapping[str, np.ndarray], path,
                   title: str = "Forecasts", ylabel: str = "value",
                   xlabel: str = "time step") -> None:
    """Two panels against the series' own time axis.

    Top: the whole ``series`` (T,) over ``x`` (T,), with the ``spans`` name -> (x0, x1)
    shaded (train / validation / test).  Bottom: the test period, ``truth`` (N,) over
    ``x_test`` (N,); ``cells[name]`` (S, N) -- one row per seed -- drawn as the seed
    mean with a band from the lowest to the highest seed; ``baselines[name]`` (N,)
    dashed.
    """
    plt = _pyplot()
    fig, (top, bot) = plt.subplots(2, 1, figsize=(9, 6.5), gridspec_kw={"height_ratios": [1, 1.6]})
    top.plot(x, series, color="black", lw=1)
    for k, (name, (a, b)) in enumerate(spans.items()):
        top.axvspan(a, b, color=_SPAN_COLORS[k % 3], label=name, zorder=0)
    top.set_ylabel(ylabel)
    top.set_title(title)
    top.legend(fontsize=8, loc="upper left")
    bot.plot(x_test, truth, color="black", lw=2, label="truth")
    for k, (name, runs) in enumerate(cells.items()):
        runs = np.atleast_2d(np.asarray(runs, dtype=np.float64))          # (S, N)
        bot.plot(x_test, runs.mean(0), color=f"C{k}", lw=1.3, label=f"{name} (mean of seeds)")
        if len(runs) > 1:
            bot.fill_between(x_test, runs.min(0), runs.max(0), color=f"C{k}", alpha=0.2,
                             lw=0)
    lo, hi = float(np.min(truth)), float(np.max(truth))
    pad = 0.3 * (hi - lo) if hi > lo else 1.0
    for j, (name, p) in enumerate(baselines.items()):
        bot.plot(x_test, p, ls="--", lw=1, color=f"C{len(cells) + j}", label=name)
    # a baseline far off (the training mean of a trending series) would flatten the rest
    bot.set_ylim(lo - pad, hi + pad)
    bot.set_xlabel(xlabel)
    bot.set_ylabel(ylabel)
    bot.legend(fontsize=7, ncol=2)
    if np.issubdtype(np.asarray(x).dtype, np.datetime64):
        fig.autofmt_xdate()
    _save(fig, path)


def plot_lead_time(errors: Mapping[str, np.ndarray], path,
                   title: str = "Test RMSE by lead time") -> None:
    """errors[name] (K,) = RMSE at lead times 1..K."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, (name, e) in enumerate(errors.items()):
        e = np.asarray(e, dtype=np.float64)
        ax.plot(np.arange(1, len(e) + 1), e, marker="o", color=f"C{k}", label=name,
                ls="-" if k < 10 else "--")
    ax.set_xlabel("lead time (steps ahead)")
    ax.set_ylabel("RMSE (original units)")
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
