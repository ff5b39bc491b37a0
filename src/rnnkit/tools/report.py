"""The HTML report of ``rnnkit compare``: table, recommendation, and three plots.

Everything goes into one folder: report.html, learning_curves.png,
predictions.png, gradient_flow.png and results.json (the numbers behind them).
The HTML refers to the PNGs by relative name only, so the folder can be moved.
"""
from __future__ import annotations

import html
import json
import os
from typing import Dict

import numpy as np

from rnnkit._version import __version__
from rnnkit.util.atomic import write_text
from rnnkit.tools.compare import Comparison
from rnnkit.tools.plots import plot_gradient_flow, plot_learning_curves, plot_predictions

__all__ = ["write_report", "results_dict"]

_CSS = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ccc;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        ".choice{background:#e8f4e8}img{max-width:100%}")


def results_dict(cmp: Comparison) -> dict:
    return {
        "version": __version__, "settings": cmp.settings, "target": cmp.data.target_name,
        "recommendation": cmp.recommendation, "reasons": cmp.reasons,
        "baselines": cmp.baselines,
        "cells": {c: {"rmse": r.rmse, "rmse_mean": r.rmse_mean, "rmse_std": r.rmse_std,
                      "mae": r.mae, "params": r.params, "sec_per_epoch": r.sec_per_epoch,
                      "grad_ratio": r.grad_ratio,
                      "grad_norms": [float(g) for g in r.grad_norms]}
                  for c, r in cmp.results.items()},
    }


def write_report(cmp: Comparison, out_dir, title: str = "RNN vs LSTM vs GRU") -> Dict[str, str]:
    """Write the report files into ``out_dir`` (created if needed); returns name -> path."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {k: os.path.join(out_dir, k) for k in
             ("learning_curves.png", "predictions.png", "gradient_flow.png", "results.json",
              "report.html")}
    d = cmp.data
    plot_learning_curves({c: r.histories for c, r in cmp.results.items()},
                         paths["learning_curves.png"],
                         title=f"Learning curves (mean of {cmp.settings['seeds']} seeds)")
    start = d.start["test"]
    preds = {f"{c} (best seed)": r.test_pred[:, 0] for c, r in cmp.results.items()}
    plot_predictions(start, d.truth("test")[:, 0], preds, paths["predictions.png"],
                     title=f"Test period: one-step-ahead {d.target_name}",
                     ylabel=d.target_name)
    plot_gradient_flow({c: r.grad_norms for c, r in cmp.results.items()},
                       paths["gradient_flow.png"],
                       title=f"‖∂L/∂h_t‖ over the {d.window}-step window (test windows)")
    write_text(paths["results.json"], json.dumps(results_dict(cmp), indent=2))
    write_text(paths["report.html"], _html(cmp, title))
    return paths


def _html(cmp: Comparison, title: str) -> str:
    e = html.escape
    s = cmp.settings
    rows = []
    for r in sorted(cmp.results.values(), key=lambda r: r.rmse_mean):
        cls = ' class="choice"' if r.cell == cmp.recommendation else ""
        rows.append(f"<tr{cls}><td>{e(r.cell)}</td><td>{r.rmse_mean:.3f} ± {r.rmse_std:.3f}</td>"
                    f"<td>{np.mean(r.mae):.3f}</td><td>{r.params}</td>"
                    f"<td>{r.sec_per_epoch:.4f}</td><td>{r.grad_ratio:.2e}</td></tr>")
    for name, v in cmp.baselines.items():
        rows.append(f"<tr><td>{e(name)} (baseline)</td><td>{v:.3f}</td><td></td><td>0</td>"
                    f"<td></td><td></td></tr>")
    reasons = "".join(f"<li>{e(x)}</li>" for x in cmp.reasons)
    n = {k: len(v) for k, v in cmp.data.X.items()}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{e(title)}</h1>
<p>Target <b>{e(cmp.data.target_name)}</b>; windows of {s['window']} steps predicting
{s['horizon']} step(s); chronological split: {n['train']} train / {n['val']} validation /
{n['test']} test windows, scalers fitted on the training part only.
Budget per run: {s['epochs']} epochs, {s['units']} units x {s['layers']} layer(s),
batch {s['batch_size']}, Adam lr {s['lr']}, best-validation weights kept;
{s['seeds']} seed(s) per cell. Errors are in original units.</p>
<h2>Results</h2>
<table><tr><th>cell</th><th>test RMSE (mean ± std)</th><th>test MAE</th><th>parameters</th>
<th>s / epoch</th><th>‖∂L/∂h<sub>1</sub>‖ / ‖∂L/∂h<sub>T</sub>‖</th></tr>
{''.join(rows)}</table>
<h2>Recommendation: {e(cmp.recommendation)}</h2>
<ul>{reasons}</ul>
<h2>Learning curves</h2><img src="learning_curves.png" alt="learning curves">
<h2>Predictions against truth</h2><img src="predictions.png" alt="test predictions">
<h2>Gradient flow</h2>
<p>The norm of the gradient of the loss with respect to each hidden state h<sub>t</sub>
of the first recurrent layer (geometric mean over seeds, computed on the test windows). A steep fall towards
t = 1 is the vanishing-gradient problem (Bengio et al. 1994).</p>
<img src="gradient_flow.png" alt="gradient norm through time">
<p>Numbers: <a href="results.json">results.json</a>. Made by rnnkit {e(__version__)}.</p>
</body></html>
"""
