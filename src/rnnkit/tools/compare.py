"""RNN vs LSTM vs GRU on the same data, splits, budget and seeds -- against the
simple baselines, and a verdict drawn from the evidence.

For each cell and seed a Sequential model (:func:`~rnnkit.tools.stacks.build_regressor`)
is trained with ``Sequential.fit`` through :func:`~rnnkit.tools.fitting.fit_regressor`
(the same epochs for every run, best-validation weights restored), then scored
on the validation and the test part in original units.  Per cell we keep:
validation and test RMSE/MAE per seed, test RMSE per lead time, parameters,
seconds per epoch (median after an untimed warm-up epoch), learning curves, the
test forecasts of every seed, and the gradient flow ‖∂L/∂h_t‖ over the window.

What uses which part (so the test part is scored once, and chooses nothing):

* train -- weights; the pre-processing and window (:mod:`rnnkit.tools.seasonality`);
* validation -- early stopping, the AR order, and the recommendation
  (:func:`rnnkit.tools.verdict.recommend`);
* test -- the table, the winner and the headline (:func:`rnnkit.tools.verdict.headline`),
  with a Diebold–Mariano test over the test windows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from rnnkit.seed import set_random_seed
from rnnkit.tools.baselines import BaselineForecast, baseline_forecasts
from rnnkit.tools.fitting import fit_regressor, sec_per_epoch
from rnnkit.tools.forecast import ForecastData, mae, rmse
from rnnkit.tools.gradflow import gradient_flow
from rnnkit.tools.names import parse_variant
from rnnkit.tools.significance import diebold_mariano
from rnnkit.tools.stacks import build_regressor
from rnnkit.util import checks

__all__ = ["CellResult", "Comparison", "run_comparison"]


def lead_rmse(pred, truth) -> np.ndarray:
    """RMSE per lead time k = 1..K of forecasts (N, K): (K,)."""
    return np.sqrt(np.mean((np.asarray(pred) - np.asarray(truth)) ** 2, axis=0))


@dataclass
class CellResult:
    cell: str
    rmse: List[float] = field(default_factory=list)        # test, one per seed, original units
    mae: List[float] = field(default_factory=list)
    val_rmse: List[float] = field(default_factory=list)    # validation, one per seed
    params: int = 0
    epoch_time: List[float] = field(default_factory=list)  # s/epoch per seed (see sec_per_epoch)
    histories: List[dict] = field(default_factory=list)
    grad_norms: Optional[np.ndarray] = None                # (W,) geometric mean over seeds
    preds: List[np.ndarray] = field(default_factory=list)  # test forecasts (N, K) per seed

    @property
    def rmse_mean(self) -> float:
        return float(np.mean(self.rmse))

    @property
    def rmse_std(self) -> float:
        return float(np.std(self.rmse))

    @property
    def val_mean(self) -> float:
        return float(np.mean(self.val_rmse)) if self.val_rmse else math.nan

    @property
    def val_std(self) -> float:
        return float(np.std(self.val_rmse)) if self.val_rmse else math.nan

    @property
    def sec_per_epoch(self) -> float:
        t = [v for v in self.epoch_time if np.isfinite(v)]
        return float(np.median(t)) if t else math.nan

    @property
    def grad_ratio(self) -> float:
        g = self.grad_norms
        return float(g[0] / g[-1]) if g is not None and g[-1] > 0 else float("nan")

    @property
    def test_pred(self) -> Optional[np.ndarray]:
        """Mean test forecast over the seeds, (N, K)."""
        return np.mean(self.preds, axis=0) if self.preds else None

    def errors(self, truth: np.ndarray) -> np.ndarray:
        """Root of the seed-mean squared error per window and lead, (N, K): the paired
        errors of this cell in the Diebold-Mariano test."""
        return np.sqrt(np.mean([(p - truth) ** 2 for p in self.preds], axis=0))


@dataclass
class Comparison:
    data: ForecastData
    results: Dict[str, CellResult]
    baselines: Dict[str, float]           # name -> test RMSE
    settings: dict
    recommendation: str = ""
    reasons: List[str] = field(default_factory=list)
    forecasts: Dict[str, BaselineForecast] = field(default_factory=dict)
    winner: str = ""
    headline: str = ""
    versus: List[str] = field(default_factory=list)
    gradient_text: str = ""

    def truth(self, part: str = "test") -> np.ndarray:
        return self.data.truth(part)

    def baseline_errors(self, name: str) -> np.ndarray:
        return self.forecasts[name].test - self.truth()

    def dm_vs(self, cell: str, baseline: str):
        """Diebold-Mariano test of ``cell`` against ``baseline`` on the test windows."""
        return diebold_mariano(self.results[cell].errors(self.truth()),
                               self.baseline_errors(baseline))

    def table(self) -> str:
        """The comparison as aligned text, best mean test RMSE first, baselines below."""
        head = (f"{'model':<28}{'test RMSE':>22}{'test MAE':>10}{'val RMSE':>10}{'params':>8}"
                f"{'s/epoch':>9}{'grad h1/hT':>12}")
        lines = [head, "-" * len(head)]
        for r in sorted(self.results.values(), key=lambda r: r.rmse_mean):
            lines.append(f"{r.cell:<28}{r.rmse_mean:>11.4g} ± {r.rmse_std:<8.2g}"
                         f"{np.mean(r.mae):>10.4g}{r.val_mean:>10.4g}{r.params:>8d}"
                         f"{r.sec_per_epoch:>9.3f}{r.grad_ratio:>12.2e}")
        for name, v in sorted(self.baselines.items(), key=lambda kv: kv[1]):
            f = self.forecasts.get(name)
            m = mae(f.test, self.truth()) if f is not None else math.nan
            vr = rmse(f.val, self.truth("val")) if f is not None and len(f.val) else math.nan
            lines.append(f"{name + ' (baseline)':<28}{v:>11.4g}{'':>11}{m:>10.4g}{vr:>10.4g}"
                         f"{0:>8d}")
        return "\n".join(lines)


def run_comparison(data: ForecastData, cells: Sequence[str] = ("rnn", "lstm", "gru"),
                   seeds: int = 3, epochs: int = 40, units: int = 32, layers: int = 1,
                   batch_size: int = 32, lr: float = 3e-3,
                   progress: Optional[Callable[[int], None]] = None) -> Comparison:
    """Train every cell in ``cells`` with seeds 0..seeds-1 on ``data``; score and judge.

    ``progress(n)`` is called after every epoch with n = 1 (for a progress bar).
    """
    from rnnkit.tools.verdict import gradient_text, headline, recommend, versus

    for c in cells:
        parse_variant(c)                                   # fail before any training
    checks.positive_int(seeds, "seeds", style="plain")
    if len(data.X["val"]) == 0 or len(data.X["test"]) == 0:
        raise ValueError("data: the validation and test parts must hold at least one window")
    truth, truth_val = data.truth("test"), data.truth("val")      # (N, K) original units
    shape = data.X["train"].shape[1:]                              # (W, F)
    results: Dict[str, CellResult] = {}
    for cell in cells:
        res = CellResult(cell)
        flows = []
        for seed in range(seeds):
            set_random_seed(seed)                          # weights and shuffling
            model = build_regressor(cell, shape, units, layers, data.horizon)
            hist = fit_regressor(model, data.X["train"], data.y["train"], data.X["val"],
                                 data.y["val"], epochs=epochs, batch_size=batch_size, lr=lr,
                                 on_epoch=(lambda e, logs: progress(1)) if progress else None)
            pred = data.unscale(model.predict(data.X["test"], batch_size=256), "test")
            val = data.unscale(model.predict(data.X["val"], batch_size=256), "val")
            res.rmse.append(rmse(pred, truth))
            res.mae.append(mae(pred, truth))
            res.val_rmse.append(rmse(val, truth_val))
            res.epoch_time.append(sec_per_epoch(hist["epoch_time"]))
            res.histories.append(hist)
            res.params = model.count_params()
            res.preds.append(pred)
            flows.append(gradient_flow(model, data.X["test"], data.y["test"]).norms)
        res.grad_norms = np.exp(np.mean(np.log(np.maximum(flows, 1e-300)), axis=0))  # geo. mean
        results[cell] = res
    forecasts = baseline_forecasts(data)
    cmp = Comparison(data, results, {k: rmse(f.test, truth) for k, f in forecasts.items()},
                     {"seeds": seeds, "epochs": epochs, "units": units, "layers": layers,
                      "batch_size": batch_size, "lr": lr, "window": data.window,
                      "horizon": data.horizon, "preprocess": data.norm.mode,
                      "season": data.season},
                     forecasts=forecasts)
    cmp.recommendation, cmp.reasons = recommend(cmp)
    cmp.winner, cmp.headline = headline(cmp)
    cmp.versus = versus(cmp)
    cmp.gradient_text = gradient_text(cmp)
    return cmp
