"""The words of ``rnnkit compare``: the recommendation (validation part), the
headline (test part, baselines included) and the gradient-flow text.  Each
sentence is derived from numbers in the table, so none can contradict it.

* :func:`recommend` -- the cell with the best mean *validation* RMSE, unless
  another is within one standard deviation over seeds and cheaper per epoch.
* :func:`headline` -- the best model on the *test* part, a cell or a baseline,
  and whether the best cell beats the best baseline beyond noise: a
  Diebold–Mariano test over the test windows (:mod:`rnnkit.tools.significance`),
  not a standard deviation over seeds.
* :func:`versus` -- the best cell against every baseline, with the same test.
* :func:`gradient_text` -- the gradient ratios ‖∂L/∂h_1‖/‖∂L/∂h_T‖ of the cells
  side by side, read together with their test errors.
"""
from __future__ import annotations

import math
from typing import Tuple

from rnnkit.tools.forecast import rmse
from rnnkit.tools.significance import diebold_mariano

__all__ = ["VANISHED", "recommend", "headline", "versus", "gradient_text", "display"]

VANISHED = 1e-3  # gradient ratio below which we call the gradient "vanished"


def display(name: str) -> str:
    """How a model is named in sentences: cells upper case (GRU, LSTM-LN), baselines as is."""
    from rnnkit.tools.names import CELLS, VARIANTS

    return name.upper() if name in tuple(CELLS) + tuple(VARIANTS) else name


def _cost(r) -> tuple:
    sec = r.sec_per_epoch
    return (sec if math.isfinite(sec) else math.inf, r.params)


def recommend(cmp) -> Tuple[str, list]:
    """(cell, reasons), from the validation part only."""
    rows = sorted(cmp.results.values(), key=lambda r: r.val_mean)
    best = rows[0]
    close = [r for r in rows if r.val_mean - best.val_mean <= max(best.val_std, r.val_std)]
    choice = min(close, key=_cost)
    reasons = [f"{best.cell} has the lowest mean validation RMSE, {best.val_mean:.4g} ± "
               f"{best.val_std:.2g} over {len(best.val_rmse)} seed(s); the recommendation "
               f"uses the validation part only."]
    if choice is not best:
        reasons.append(
            f"{choice.cell} is within one standard deviation of it on validation "
            f"({choice.val_mean:.4g} ± {choice.val_std:.2g}) and cheaper: "
            f"{choice.sec_per_epoch:.3f} s/epoch and {choice.params} parameters against "
            f"{best.sec_per_epoch:.3f} s/epoch and {best.params}.")
    elif len(close) > 1:
        others = ", ".join(r.cell for r in close if r is not best)
        reasons.append(f"{others} within one standard deviation, but not cheaper per epoch.")
    else:
        reasons.append("No other cell is within one standard deviation of it.")
    truth_val = cmp.truth("val")
    base = {k: rmse(f.val, truth_val) for k, f in cmp.forecasts.items() if len(f.val)}
    if base:
        name, v = min(base.items(), key=lambda kv: kv[1])
        if choice.val_mean >= v:
            reasons.append(f"Caution: on the validation part the {name} baseline ({v:.4g}) is "
                           f"at least as good as {choice.cell}; see the headline before using "
                           f"any recurrent model here.")
        else:
            reasons.append(f"On the validation part {choice.cell} is "
                           f"{100 * (1 - choice.val_mean / v):.0f}% better than the best "
                           f"baseline, {name} ({v:.4g}).")
    return choice.cell, reasons


def headline(cmp) -> Tuple[str, str]:
    """(winner, sentence): the best model on the test part, cells and baselines alike."""
    best = min(cmp.results.values(), key=lambda r: r.rmse_mean)
    bname, bval = min(cmp.baselines.items(), key=lambda kv: kv[1])
    dm = cmp.dm_vs(best.cell, bname)
    test = f"Diebold-Mariano p = {dm.p_value:.2g} over {dm.n} test windows"
    cell = display(best.cell)
    if best.rmse_mean < bval:
        pct = 100 * (1 - best.rmse_mean / bval)
        if dm.significant:
            return best.cell, (f"{cell} is best on the test part, {pct:.0f}% better than "
                               f"{bname} (RMSE {best.rmse_mean:.4g} against {bval:.4g}; "
                               f"{test}).")
        return best.cell, (f"None of the recurrent cells beat {bname} beyond noise: the best "
                           f"cell, {cell}, has an RMSE {pct:.0f}% lower ({best.rmse_mean:.4g} "
                           f"against {bval:.4g}), but {test}.")
    noise = "" if dm.significant else "; the gap is within noise"
    return bname, (f"On this series no recurrent cell beat {bname} (RMSE {bval:.4g}); the "
                    f"best cell, {cell}, was {best.rmse_mean / bval:.2g}x worse ({test}"
                    f"{noise}).")


def versus(cmp) -> list:
    """One sentence per baseline: does the best cell (on test) beat it beyond noise?"""
    best = min(cmp.results.values(), key=lambda r: r.rmse_mean)
    out = []
    for name, v in sorted(cmp.baselines.items(), key=lambda kv: kv[1]):
        dm = cmp.dm_vs(best.cell, name)
        cell = display(best.cell)
        p = f"Diebold-Mariano p = {dm.p_value:.2g}"
        if dm.significant and best.rmse_mean < v:
            out.append(f"{cell} beats {name}: test RMSE {best.rmse_mean:.4g} against {v:.4g}, "
                       f"{100 * (1 - best.rmse_mean / v):.0f}% lower ({p}).")
        elif dm.significant:
            out.append(f"{cell} loses to {name}: test RMSE {best.rmse_mean:.4g} against "
                       f"{v:.4g}, {best.rmse_mean / v:.2g}x ({p}).")
        else:
            out.append(f"{cell} and {name} are within noise of each other: test RMSE "
                       f"{best.rmse_mean:.4g} against {v:.4g} ({p}).")
    return out


def gradient_text(cmp) -> str:
    """The cells' gradient ratios side by side, and what they say about the errors."""
    res = cmp.results
    ratios = "; ".join(f"{display(c)} {r.grad_ratio:.1e}" for c, r in res.items())
    text = f"‖∂L/∂h_1‖/‖∂L/∂h_T‖ over the {cmp.data.window}-step window: {ratios}."
    rnn = res.get("rnn")
    gated = [r for c, r in res.items() if c != "rnn"]
    if rnn is None or not gated:
        return text
    g = min(gated, key=lambda r: r.rmse_mean)                    # the best gated cell
    truth = cmp.truth()
    dm = diebold_mariano(rnn.errors(truth), g.errors(truth))
    worse = dm.significant and rnn.rmse_mean > g.rmse_mean
    better = dm.significant and rnn.rmse_mean < g.rmse_mean
    vanished = rnn.grad_ratio < VANISHED and rnn.grad_ratio < g.grad_ratio / 10
    ratio = rnn.rmse_mean / g.rmse_mean
    gap = (f"{ratio:.2g}x the test RMSE of {display(g.cell)}" if worse or better else
           f"within noise of {display(g.cell)}'s test RMSE")
    p = f"Diebold-Mariano p = {dm.p_value:.2g}"
    if vanished and worse:
        return text + (f" The tanh RNN's gradient vanishes before the start of the window "
                       f"while {display(g.cell)}'s does not, and the RNN has {gap} ({p}): "
                       f"consistent with vanishing gradients keeping it from the "
                       f"long-range part of the window.")
    if vanished:
        bname = min(cmp.baselines, key=cmp.baselines.get)
        learnt = cmp.dm_vs(g.cell, bname)
        if not (learnt.significant and g.rmse_mean < cmp.baselines[bname]):
            return text + (f" The tanh RNN's gradient vanishes before the start of the window, "
                           f"but no gated cell beats {bname} either ({p} against "
                           f"{display(g.cell)}): the errors cannot tell here whether the "
                           f"early steps matter.")
        return text + (f" The tanh RNN's gradient vanishes before the start of the window, "
                       f"yet its error is {gap} ({p}): what matters here lies in the last "
                       f"steps, which its gradient still reaches.")
    if worse:
        return text + (f" The tanh RNN's gradient still reaches the start of the window, "
                       f"yet it has {gap} ({p}): vanishing gradients do not explain the "
                       f"gap here; gating itself fits this series better.")
    return text + (f" The tanh RNN's gradient still reaches the start of the window and "
                   f"its error is {gap} ({p}).")
