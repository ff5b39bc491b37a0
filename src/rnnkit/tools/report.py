"""The HTML report of ``rnnkit compare``: headline, table, recommendation, plots.

Everything goes into one folder: report.html, learning_curves.png,
predictions.png, gradient_flow.png, lead_time.png (horizon > 1 only) and
results.json (the numbers behind them; ``winner`` is the best model on the test
part, a cell or a baseline).
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
from rnnkit.tools.compare import Comparison, lead_rmse
from rnnkit.tools.forecast import mae, rmse
from rnnkit.tools.plots import (plot_forecasts, plot_gradient_flow, plot_lead_time,
                                plot_learning_curves)

__all__ = ["write_report", "results_dict", "time_axis"]

_CSS = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ccc;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        ".choice{background:#e8f4e8}img{max-width:100%}"
        ".headline{font-size:1.2em;padding:.5em;border-left:6px solid}"
        ".win{border-color:#3a3;background:#eef8ee}.lose{border-color:#c80;background:#fdf5e6}")


def time_axis(data) -> tuple:
    """(x (T,), label) for the plots: the series' own time labels -- numbers, or dates
    parsed by pandas -- else the step index."""
    t = data.time
    if t is None:
        return np.arange(len(data.target)), "time step"
    from rnnkit.data.csv_loader import parse_time

    x = parse_time(t)
    name = data.time_name or "time"
    if x is None:
        return np.arange(len(t)), f"row of the file ({name} is neither numbers nor dates)"
    return x, name


def _lead(cmp) -> Dict[str, list]:
    truth = cmp.truth()
    out = {c: [float(v) for v in np.mean([lead_rmse(p, truth) for p in r.preds], axis=0)]
           for c, r in cmp.results.items()}
    out.update({k: [float(v) for v in lead_rmse(f.test, truth)]
                for k, f in cmp.forecasts.items()})
    return out


def results_dict(cmp: Comparison) -> dict:
    truth = cmp.truth()
    best_base = min(cmp.baselines, key=cmp.baselines.get)
    lead = _lead(cmp)
    cells = {}
    for c, r in cmp.results.items():
        dm = cmp.dm_vs(c, best_base)
        cells[c] = {"rmse": r.rmse, "rmse_mean": r.rmse_mean, "rmse_std": r.rmse_std,
                    "mae": r.mae, "val_rmse": r.val_rmse, "rmse_by_lead": lead[c],
                    "params": r.params, "sec_per_epoch": r.sec_per_epoch,
                    "epoch_seconds": [h["epoch_time"] for h in r.histories],
                    "best_epoch": [h["best_epoch"] for h in r.histories],
                    "grad_ratio": r.grad_ratio,
                    "grad_norms": [float(g) for g in r.grad_norms],
                    "vs_best_baseline": {"baseline": best_base, "dm_statistic": dm.statistic,
                                         "p_value": dm.p_value}}
    base = {k: {"rmse": cmp.baselines[k], "mae": mae(f.test, truth),
                "val_rmse": rmse(f.val, cmp.truth("val")) if len(f.val) else None,
                "rmse_by_lead": lead[k], "note": f.note} for k, f in cmp.forecasts.items()}
    return {
        "version": __version__, "settings": cmp.settings, "target": cmp.data.target_name,
        "choices": cmp.data.choice, "winner": cmp.winner, "headline": cmp.headline,
        "versus_baselines": cmp.versus,
        "recommendation": cmp.recommendation, "reasons": cmp.reasons,
        "gradient_text": cmp.gradient_text,
        "baselines": dict(cmp.baselines), "baseline_details": base, "cells": cells,
        "split_windows": {k: int(len(v)) for k, v in cmp.data.X.items()},
    }


def write_report(cmp: Comparison, out_dir, title: str = "RNN vs LSTM vs GRU") -> Dict[str, str]:
    """Write the report files into ``out_dir`` (created if needed); returns name -> path."""
    os.makedirs(out_dir, exist_ok=True)
    names = ["learning_curves.png", "predictions.png", "gradient_flow.png"]
    if cmp.data.horizon > 1:
        names.append("lead_time.png")
    paths = {k: os.path.join(out_dir, k) for k in names + ["results.json", "report.html"]}
    d = cmp.data
    plot_learning_curves({c: r.histories for c, r in cmp.results.items()},
                         paths["learning_curves.png"],
                         title=f"Learning curves (mean of {cmp.settings['seeds']} seeds)")
    x, xlabel = time_axis(d)
    n_tr, n_va, _ = d.bounds
    T = len(d.target)
    spans = {"train": (x[0], x[n_tr - 1]), "validation": (x[n_tr], x[n_tr + n_va - 1]),
             "test": (x[n_tr + n_va], x[T - 1])}
    start = d.start["test"]
    plot_forecasts(x, d.target, spans, x[start], d.truth("test")[:, 0],
                   {c: np.stack(r.preds)[:, :, 0] for c, r in cmp.results.items()},
                   {k: f.test[:, 0] for k, f in cmp.forecasts.items()},
                   paths["predictions.png"],
                   title=f"{d.target_name}: train / validation / test, and one-step-ahead "
                         f"test forecasts", ylabel=d.target_name, xlabel=xlabel)
    plot_gradient_flow({c: r.grad_norms for c, r in cmp.results.items()},
                       paths["gradient_flow.png"],
                       title=f"‖∂L/∂h_t‖ over the {d.window}-step window (test windows)")
    if "lead_time.png" in paths:
        plot_lead_time(_lead(cmp), paths["lead_time.png"],
                       title=f"Test RMSE by lead time (direct {d.horizon}-step forecasts)")
    write_text(paths["results.json"], json.dumps(results_dict(cmp), indent=2))
    write_text(paths["report.html"], _html(cmp, title))
    return paths


def _html(cmp: Comparison, title: str) -> str:
    e = html.escape
    s = cmp.settings
    best_base = min(cmp.baselines, key=cmp.baselines.get)
    rows = []
    for r in sorted(cmp.results.values(), key=lambda r: r.rmse_mean):
        cls = ' class="choice"' if r.cell == cmp.recommendation else ""
        dm = cmp.dm_vs(r.cell, best_base)
        rows.append(f"<tr{cls}><td>{e(r.cell)}</td><td>{r.rmse_mean:.4g} ± {r.rmse_std:.2g}</td>"
                    f"<td>{np.mean(r.mae):.4g}</td><td>{r.val_mean:.4g}</td>"
                    f"<td>{dm.p_value:.2g}</td><td>{r.params}</td>"
                    f"<td>{r.sec_per_epoch:.4f}</td><td>{r.grad_ratio:.2e}</td></tr>")
    for name, v in sorted(cmp.baselines.items(), key=lambda kv: kv[1]):
        f = cmp.forecasts[name]
        vr = rmse(f.val, cmp.truth("val")) if len(f.val) else float("nan")
        rows.append(f"<tr><td>{e(name)} (baseline: {e(f.note)})</td><td>{v:.4g}</td>"
                    f"<td>{mae(f.test, cmp.truth()):.4g}</td><td>{vr:.4g}</td><td></td>"
                    f"<td>0</td><td></td><td></td></tr>")
    reasons = "".join(f"<li>{e(x)}</li>" for x in cmp.reasons)
    choices = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in cmp.data.choice.items())
    n = {k: len(v) for k, v in cmp.data.X.items()}
    cls = "win" if cmp.winner in cmp.results else "lose"
    lead = ('<h2>Error by lead time</h2><img src="lead_time.png" alt="RMSE by lead time">'
            if cmp.data.horizon > 1 else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{e(title)}</h1>
<p class="headline {cls}">{e(cmp.headline)}</p>
<ul>{"".join(f"<li>{e(x)}</li>" for x in cmp.versus)}</ul>
<p>Target <b>{e(cmp.data.target_name)}</b>; windows of {s['window']} steps predicting
{s['horizon']} step(s) directly; chronological split: {n['train']} train / {n['val']} validation /
{n['test']} test windows. Pre-processing fitted on the training part only:</p>
<ul>{choices}</ul>
<p>Budget per run: {s['epochs']} epochs, {s['units']} units x {s['layers']} layer(s),
batch {s['batch_size']}, Adam lr {s['lr']}, best-validation weights kept;
{s['seeds']} seed(s) per cell. Errors are in original units. s / epoch is the median
of the epochs after the first, which is an untimed warm-up.
The DM column is the two-sided p-value of a Diebold-Mariano test of the cell against
{e(best_base)}, the best baseline on the test part, over the test windows.</p>
<h2>Results (test part, scored once)</h2>
<table><tr><th>model</th><th>test RMSE (mean ± std over seeds)</th><th>test MAE</th>
<th>validation RMSE</th><th>DM p vs {e(best_base)}</th><th>parameters</th>
<th>s / epoch</th><th>‖∂L/∂h<sub>1</sub>‖ / ‖∂L/∂h<sub>T</sub>‖</th></tr>
{''.join(rows)}</table>
<h2>Recommendation (validation part): {e(cmp.recommendation)}</h2>
<ul>{reasons}</ul>
<h2>Forecasts against truth</h2><img src="predictions.png" alt="series and test forecasts">
{lead}
<h2>Learning curves</h2><img src="learning_curves.png" alt="learning curves">
<h2>Gradient flow</h2>
<p>{e(cmp.gradient_text)}</p>
<p>The norm of the gradient of the loss with respect to each hidden state h<sub>t</sub>
of the first recurrent layer (geometric mean over seeds, computed on the test windows). A steep fall towards
t = 1 is the vanishing-gradient problem (Bengio et al. 1994).</p>
<img src="gradient_flow.png" alt="gradient norm through time">
<p>Numbers: <a href="results.json">results.json</a>. Made by rnnkit {e(__version__)}.</p>
</body></html>
"""
