"""The report of ``rnnkit compare --task classify``: one folder with report.html,
learning_curves.png and results.json (the numbers behind them).

results.json keeps the forecasting report's top-level keys: ``cells`` (per cell:
accuracy and macro-F1 per seed, mean, std, parameters, s/epoch), ``baselines``
(per baseline: accuracy, macro-F1) and ``winner`` (the best model on the test part,
a cell or a baseline), plus ``recommendation``, ``headline``, ``paired_tests`` and
the settings. The HTML refers to its PNG by relative name, so the folder can move.
"""
from __future__ import annotations

import html
import json
import os
from typing import Dict

import numpy as np

from rnnkit._version import __version__
from rnnkit.util.atomic import atomic_path, write_text
from rnnkit.tools.classify import ClassifyComparison
from rnnkit.tools.classify_metrics import confusion

__all__ = ["results_dict", "write_classify_report"]

_CSS = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ccc;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        ".winner{background:#e8f4e8}.headline{font-size:1.15em}img{max-width:100%}")


def results_dict(cmp: ClassifyComparison) -> dict:
    d = cmp.data
    return {
        "version": __version__, "task": "classify", "settings": cmp.settings,
        "classes": d.prep.classes, "input": d.prep.input,
        "sequences": {k: int(len(v)) for k, v in d.y.items()},
        "winner": cmp.winner, "recommendation": cmp.recommendation,
        "headline": cmp.headline, "reasons": cmp.reasons,
        "paired_tests": [{**t, "test": "McNemar exact"} for t in cmp.paired],
        "baselines": {n: {"accuracy": v["accuracy"], "macro_f1": v["macro_f1"]}
                      for n, v in cmp.baselines.items()},
        "cells": {c: {"accuracy": r.accuracy, "accuracy_mean": r.mean, "accuracy_std": r.std,
                      "macro_f1": r.macro_f1, "macro_f1_mean": r.f1_mean,
                      "val_accuracy": r.val_accuracy, "params": r.params,
                      "sec_per_epoch": r.sec_per_epoch, "sec_per_epoch_per_seed": r.epoch_time,
                      "best_epochs": [h["best_epoch"] for h in r.histories],
                      "grad_ratio": r.grad_ratio,
                      "grad_norms": (None if r.grad_norms is None else
                                     [float(g) for g in r.grad_norms])}
                  for c, r in cmp.results.items()},
    }


def _plot_curves(cmp: ClassifyComparison, path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for k, (cell, r) in enumerate(cmp.results.items()):
        color = f"C{k}"
        for key, style in (("val_loss", "-"), ("loss", "--")):
            curve = np.mean([h[key] for h in r.histories], axis=0)            # (E,)
            ax.plot(np.arange(1, len(curve) + 1), curve, style, color=color,
                    label=f"{cell} {'validation' if key == 'val_loss' else 'training'}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (mean over seeds)")
    ax.set_title("Learning curves")
    ax.legend(fontsize=8)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight")   # crisp on HiDPI
    plt.close(fig)


def write_classify_report(cmp: ClassifyComparison, out_dir,
                          title: str = "RNN vs LSTM vs GRU") -> Dict[str, str]:
    """Write the report files into ``out_dir`` (created if needed); returns name -> path."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {k: os.path.join(out_dir, k)
             for k in ("learning_curves.png", "results.json", "report.html")}
    _plot_curves(cmp, paths["learning_curves.png"])
    write_text(paths["results.json"], json.dumps(results_dict(cmp), indent=2))
    write_text(paths["report.html"], _html(cmp, title))
    return paths


def _confusion_table(cmp: ClassifyComparison) -> str:
    e = html.escape
    classes = cmp.data.prep.classes
    m = confusion(cmp.data.y["test"], cmp.test_pred(cmp.winner), len(classes))
    head = "".join(f"<th>{e(c)}</th>" for c in classes)
    rows = "".join(f"<tr><td>{e(c)}</td>" + "".join(f"<td>{v}</td>" for v in m[i]) + "</tr>"
                   for i, c in enumerate(classes))
    return f"<table><tr><th>true \\ predicted</th>{head}</tr>{rows}</table>"


def _html(cmp: ClassifyComparison, title: str) -> str:
    e = html.escape
    s = cmp.settings
    rows = []
    for r in sorted(cmp.results.values(), key=lambda r: -r.mean):
        cls = ' class="winner"' if r.cell == cmp.winner else ""
        rows.append(f"<tr{cls}><td>{e(r.cell)}</td><td>{r.mean:.3f} ± {r.std:.3f}</td>"
                    f"<td>{r.f1_mean:.3f}</td><td>{r.params}</td>"
                    f"<td>{r.sec_per_epoch:.4f}</td><td>{r.grad_ratio:.2e}</td></tr>")
    for name, v in cmp.baselines.items():
        cls = ' class="winner"' if name == cmp.winner else ""
        rows.append(f"<tr{cls}><td>{e(name)} (baseline)</td><td>{v['accuracy']:.3f}</td>"
                    f"<td>{v['macro_f1']:.3f}</td><td></td><td></td><td></td></tr>")
    reasons = "".join(f"<li>{e(x)}</li>" for x in cmp.reasons)
    n = {k: len(v) for k, v in cmp.data.y.items()}
    what = ("numeric sequences (features " + ", ".join(cmp.data.prep.features) +
            ", standardised with training statistics)" if cmp.data.prep.input == "long_csv"
            else "texts (a vocabulary from the training texts)")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{e(title)}</h1>
<p class="headline"><b>{e(cmp.headline)}</b></p>
<p>Sequence classification of {e(what)} into {len(cmp.data.prep.classes)} classes.
Stratified random split: {n['train']} train / {n['val']} validation / {n['test']} test.
Budget per run: {s['epochs']} epochs, {s['units']} units x {s['layers']} layer(s), batch
{s['batch_size']}, Adam lr {s['lr']}, best-validation-loss weights kept; {s['seeds']} seed(s)
per cell. The test part is scored once per run.</p>
<h2>Results on the test part</h2>
<table><tr><th>model</th><th>accuracy (mean ± std over seeds)</th><th>macro-F1</th>
<th>parameters</th><th>s / epoch</th>
<th>‖∂L/∂h<sub>1</sub>‖ / ‖∂L/∂h<sub>T</sub>‖</th></tr>
{''.join(rows)}</table>
<p>s / epoch: the median of each run's timed epochs, after an untimed warm-up step (so
building the native kernel never counts), then the median over seeds; measured on the
machine that made this report, under whatever else it was running. The gradient ratio
is the norm of the loss's gradient at the first hidden state over that at the last,
in float64, on the test sequences of the most common length (no padding), geometric
mean over seeds (Bengio et al. 1994: a ratio near 0 is a vanishing gradient).</p>
<h2>Paired tests and recommendation</h2>
<p>McNemar's exact test between the winner, {e(cmp.winner)}, and each other model, on the
test sequences where exactly one of the two is right (a cell enters with its median seed).</p>
<ul>{reasons}</ul>
<h2>Confusion matrix of {e(cmp.winner)} (test part)</h2>
{_confusion_table(cmp)}
<h2>Learning curves</h2><img src="learning_curves.png" alt="learning curves">
<p>Numbers: <a href="results.json">results.json</a>. Made by rnnkit {e(__version__)}.</p>
</body></html>
"""
