"""RNN vs LSTM vs GRU on labelled sequences: the same splits, budget and seeds for
every cell, scored against two baselines, with a paired test and honest timings.

For each cell and seed a classifier (:func:`~rnnkit.tools.classifier.build_classifier`)
is trained on the training part, its best-validation-loss weights kept, and scored
once on the test part: accuracy and macro-F1 (mean ± std over seeds). Baselines,
fitted on the same training part: the majority class, and a logistic regression
on per-sequence summary features (:mod:`rnnkit.tools.classify_baselines`).

* ``winner``: the model with the best test accuracy (mean over seeds for a cell;
  macro-F1 breaks a tie; on a full tie the baseline wins, being the simpler).
* Paired test: McNemar's exact test (:mod:`rnnkit.tools.classify_metrics`) between
  the winner and every other model on the test sequences. A cell enters it with its
  median seed (by test accuracy, the lower median for an even count), so the test
  compares one typical run of each model -- not the lucky one.
* ``recommendation``: the cell with the best mean VALIDATION accuracy (the cheaper
  one per epoch on a tie), so the choice of cell never looks at the test part.
* s/epoch: an untimed warm-up step first (:func:`~rnnkit.tools.classifier.warm_up`),
  then the median of a run's timed epochs, then the median over seeds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from rnnkit.seed import set_random_seed
from rnnkit.tools.classifier import (build_classifier, epoch_seconds, fit_classifier,
                                     softmax, warm_up)
from rnnkit.tools.classify_baselines import fit_logistic, majority_class
from rnnkit.tools.classify_data import PAD_VALUE, ClassifyData
from rnnkit.tools.classify_metrics import accuracy, macro_f1, mcnemar_exact
from rnnkit.tools.gradflow import gradient_flow
from rnnkit.tools.names import parse_variant

__all__ = ["CellScores", "ClassifyComparison", "run_classification", "SIGNIFICANCE",
           "LOGREG", "MAJORITY"]

SIGNIFICANCE = 0.05          # p-value below which a difference is called significant
MAJORITY = "majority class"
LOGREG = "logistic regression (summary features)"


@dataclass
class CellScores:
    cell: str
    accuracy: List[float] = field(default_factory=list)      # test, one per seed
    macro_f1: List[float] = field(default_factory=list)
    val_accuracy: List[float] = field(default_factory=list)
    epoch_time: List[float] = field(default_factory=list)    # median s/epoch, one per seed
    histories: List[dict] = field(default_factory=list)
    preds: List[np.ndarray] = field(default_factory=list)    # test class ids, one per seed
    params: int = 0
    grad_norms: Optional[np.ndarray] = None                  # (L,) geometric mean over seeds

    @property
    def grad_ratio(self) -> float:
        g = self.grad_norms
        return float(g[0] / g[-1]) if g is not None and g[-1] > 0 else float("nan")

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracy))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracy))

    @property
    def f1_mean(self) -> float:
        return float(np.mean(self.macro_f1))

    @property
    def sec_per_epoch(self) -> float:
        return float(np.median(self.epoch_time))

    @property
    def median_seed(self) -> int:
        order = np.argsort(self.accuracy, kind="stable")
        return int(order[(len(order) - 1) // 2])


@dataclass
class ClassifyComparison:
    data: ClassifyData
    results: Dict[str, CellScores]
    baselines: Dict[str, dict]          # name -> {"accuracy", "macro_f1", "pred"}
    settings: dict
    winner: str = ""
    recommendation: str = ""
    paired: List[dict] = field(default_factory=list)
    headline: str = ""
    reasons: List[str] = field(default_factory=list)

    def test_pred(self, name: str) -> np.ndarray:
        """The test predictions that enter the paired test (a cell's median seed)."""
        if name in self.results:
            r = self.results[name]
            return r.preds[r.median_seed]
        return self.baselines[name]["pred"]

    def scores(self) -> Dict[str, tuple]:
        """name -> (accuracy, macro-F1) on the test part, cells (seed means) and baselines."""
        out = {c: (r.mean, r.f1_mean) for c, r in self.results.items()}
        out.update({b: (v["accuracy"], v["macro_f1"]) for b, v in self.baselines.items()})
        return out

    def table(self) -> str:
        """Aligned text, best test accuracy first."""
        head = (f"{'model':<40}{'test accuracy':>18}{'macro-F1':>10}{'params':>9}"
                f"{'s/epoch':>9}{'grad h1/hT':>12}")
        lines = [head, "-" * len(head)]
        for r in sorted(self.results.values(), key=lambda r: -r.mean):
            lines.append(f"{r.cell:<40}{r.mean:>9.3f} ± {r.std:<6.3f}{r.f1_mean:>10.3f}"
                         f"{r.params:>9d}{r.sec_per_epoch:>9.3f}{r.grad_ratio:>12.2e}")
        for name, v in self.baselines.items():
            lines.append(f"{name:<40}{v['accuracy']:>9.3f}{'':>9}{v['macro_f1']:>10.3f}")
        return "\n".join(lines)


def run_classification(data: ClassifyData, cells: Sequence[str] = ("rnn", "lstm", "gru"),
                       seeds: int = 3, epochs: int = 30, units: int = 32, layers: int = 1,
                       batch_size: int = 32, lr: float = 3e-3,
                       progress: Optional[Callable[[int], None]] = None) -> ClassifyComparison:
    """Train every cell with seeds 0..seeds-1; score, test and choose (module docstring).

    ``progress(1)`` is called after every epoch (for a progress bar)."""
    for c in cells:
        parse_variant(c)                                   # fail before any training
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds: expected a positive integer, got {seeds!r}")
    y_test = data.y["test"]
    results: Dict[str, CellScores] = {}
    for cell in cells:
        res, flows = CellScores(cell), []
        warm_up(cell, data.prep, data.X["train"], data.y["train"], units, layers, batch_size)
        for seed in range(seeds):
            set_random_seed(seed)                          # weights and shuffling
            model = build_classifier(cell, data.prep, units, layers)
            hist = fit_classifier(model, data, epochs=epochs, batch_size=batch_size, lr=lr,
                                  on_epoch=(lambda e, logs: progress(1)) if progress else None)
            pred = _predict(model, data.X["test"])
            res.accuracy.append(accuracy(y_test, pred))
            res.macro_f1.append(macro_f1(y_test, pred))
            res.val_accuracy.append(accuracy(data.y["val"], _predict(model, data.X["val"])))
            res.epoch_time.append(epoch_seconds(hist["epoch_time"]))
            res.histories.append(hist)
            res.preds.append(pred)
            res.params = model.count_params()
            flow = _flow(model, data)
            if flow is not None:
                flows.append(flow)
        if flows:   # geometric mean over seeds: the norms span orders of magnitude
            res.grad_norms = np.exp(np.mean(np.log(np.maximum(flows, 1e-300)), axis=0))
        results[cell] = res
    cmp = ClassifyComparison(data, results, _baselines(data), {
        "seeds": seeds, "epochs": epochs, "units": units, "layers": layers,
        "batch_size": batch_size, "lr": lr, "significance": SIGNIFICANCE})
    _conclude(cmp)
    return cmp


def _predict(model, X: np.ndarray) -> np.ndarray:
    return softmax(model.predict(X, batch_size=256).astype(np.float64)).argmax(axis=1)


def flow_subset(data: ClassifyData) -> np.ndarray:
    """Indices of the test sequences that enter the gradient flow: those of the most
    common length (the longest such length on a tie), at least 2 steps. The flow is
    measured without padding (rnnkit.tools.gradflow), so all must have one length."""
    X = data.X["test"]
    pad = (X == PAD_VALUE).all(axis=-1) if X.ndim == 3 else X == 0       # (N, T)
    lengths = (~pad).sum(axis=1)                                          # (N,)
    counts = np.bincount(lengths)
    counts[:2] = 0
    if counts.max() == 0:
        return np.zeros(0, dtype=np.int64)
    best = int(np.flatnonzero(counts == counts.max())[-1])
    return np.flatnonzero(lengths == best)


def _flow(model, data: ClassifyData) -> Optional[np.ndarray]:
    """‖∂L/∂h_t‖ (L,) of the cross entropy on the test sequences of ``flow_subset``."""
    import torch

    idx = flow_subset(data)
    if len(idx) == 0:
        return None
    L = int(((data.X["test"][idx[0]] != PAD_VALUE).any(axis=-1) if data.X["test"].ndim == 3
             else data.X["test"][idx[0]] != 0).sum())
    x = data.X["test"][idx][:, :L]                                        # (n, L[, F])
    return gradient_flow(model, x, data.y["test"][idx],
                         loss_fn=torch.nn.functional.cross_entropy).norms


def _baselines(data: ClassifyData) -> Dict[str, dict]:
    y = data.y["test"]
    major = np.full(len(y), majority_class(data.y["train"]))
    logreg = fit_logistic(data.summary, data.y, data.n_classes).predict(data.summary["test"])
    return {name: {"accuracy": accuracy(y, p), "macro_f1": macro_f1(y, p), "pred": p}
            for name, p in ((MAJORITY, major), (LOGREG, logreg))}


def _conclude(cmp: ClassifyComparison) -> None:
    """Fill winner, paired tests, recommendation, headline and reasons."""
    scores = cmp.scores()
    # best accuracy, then macro-F1; baselines (listed last) win exact ties: simpler
    order = list(cmp.baselines) + list(cmp.results)
    winner = max(order, key=lambda n: scores[n])
    cmp.winner = winner
    y = cmp.data.y["test"]
    right = {n: cmp.test_pred(n) == y for n in scores}
    cmp.paired = [{"a": winner, "b": n, **mcnemar_exact(right[winner], right[n])}
                  for n in sorted(scores, key=lambda n: scores[n], reverse=True) if n != winner]
    p_of = {t["b"]: t["p_value"] for t in cmp.paired}
    cells = sorted(cmp.results.values(), key=lambda r: r.mean, reverse=True)
    best_cell = cells[0]
    best_base = max(cmp.baselines, key=lambda n: scores[n])
    n_test = len(y)
    acc = scores[winner][0]
    if winner in cmp.baselines:
        cmp.headline = (f"On these sequences no recurrent cell beat the {winner} baseline "
                        f"(test accuracy {acc:.3f}); the best cell, {best_cell.cell}, reached "
                        f"{best_cell.mean:.3f} (McNemar p = {p_of[best_cell.cell]:.2g}).")
    else:
        b_acc = scores[best_base][0]
        p = p_of[best_base]
        verdict = ("a significant difference" if p < SIGNIFICANCE else
                   "a difference within chance on this test set")
        cmp.headline = (f"{winner} is best: test accuracy {acc:.3f} against {b_acc:.3f} for "
                        f"the best baseline, {best_base} (McNemar p = {p:.2g} over {n_test} "
                        f"test sequences: {verdict}).")
        close = [r.cell for r in cells[1:] if p_of[r.cell] >= SIGNIFICANCE]
        if close:
            cmp.headline += (f" Its lead over {', '.join(close)} is within chance "
                             f"(McNemar p >= {SIGNIFICANCE}).")
    for t in cmp.paired:
        sig = "significant" if t["p_value"] < SIGNIFICANCE else "not significant"
        cmp.reasons.append(
            f"{t['a']} vs {t['b']}: right where the other is wrong on {t['a_only']} vs "
            f"{t['b_only']} of {n_test} test sequences, McNemar p = {t['p_value']:.2g} ({sig} "
            f"at {SIGNIFICANCE}).")
    flows = [r for r in cells if r.grad_norms is not None]
    if flows:
        idx = flow_subset(cmp.data)
        cmp.reasons.append(
            f"Gradient flow ‖∂L/∂h_1‖/‖∂L/∂h_T‖ on the {len(idx)} test sequences of "
            f"{len(flows[0].grad_norms)} steps (geometric mean over seeds): " +
            ", ".join(f"{r.cell} {r.grad_ratio:.1e}" for r in flows) +
            "; a ratio far below 1 means the first steps barely steer the loss.")
    rec = max(cells, key=lambda r: (round(float(np.mean(r.val_accuracy)), 12), -r.sec_per_epoch))
    cmp.recommendation = rec.cell
    cmp.reasons.append(
        f"Recommended cell, chosen on the validation part only: {rec.cell} (validation "
        f"accuracy {np.mean(rec.val_accuracy):.3f}, {rec.sec_per_epoch:.3f} s/epoch, "
        f"{rec.params} parameters).")
    if cmp.baselines[LOGREG]["accuracy"] >= best_cell.mean:
        cmp.reasons.append(
            "The logistic regression on order-free summaries does at least as well as every "
            "cell: the order of the steps did not help here, or the cells need a bigger "
            "budget (--epochs, --units).")
