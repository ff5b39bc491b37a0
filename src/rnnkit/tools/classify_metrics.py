"""Scores of a sequence classifier and the paired test between two of them.

* accuracy = mean(pred == true)
* macro-F1 = mean over classes c of F1_c = 2·TP_c / (2·TP_c + FP_c + FN_c), taken
  over the classes that occur in ``true`` or ``pred`` (a class absent from both has
  no errors to score; counting it as 0 or 1 would move the mean by a choice, not
  by the data). Every class counts the same however rare it is, so always
  answering the majority class gets a low macro-F1 even when its accuracy is high.
* McNemar's exact test (McNemar 1947; the exact binomial form recommended for
  comparing two classifiers on one test set by Dietterich 1998, "Approximate
  statistical tests for comparing supervised classification learning algorithms").
  Of the test sequences where exactly one of models A and B is right, b are A's and
  c are B's. If both models were equally accurate, each such sequence would be
  A's with probability 1/2, so b ~ Binomial(b + c, 1/2). The two-sided p-value is
  p = min(1, 2 · P(X ≤ min(b, c))), X ~ Binomial(b + c, 1/2); p = 1 when b + c = 0.
"""
from __future__ import annotations

from math import comb
from typing import Dict

import numpy as np

__all__ = ["accuracy", "macro_f1", "confusion", "mcnemar_exact"]


def _pair(true, pred):
    t, p = np.asarray(true), np.asarray(pred)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"pred: expected one prediction per true label, shape {t.shape}, "
                         f"got {p.shape}")
    if len(t) == 0:
        raise ValueError("true: expected at least one labelled sequence, got none")
    return t, p


def accuracy(true, pred) -> float:
    t, p = _pair(true, pred)
    return float(np.mean(t == p))


def macro_f1(true, pred) -> float:
    t, p = _pair(true, pred)
    scores = []
    for c in np.union1d(t, p):
        tp = np.sum((p == c) & (t == c))
        fp = np.sum((p == c) & (t != c))
        fn = np.sum((p != c) & (t == c))
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def confusion(true, pred, n_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class id, column = predicted class id."""
    t, p = _pair(true, pred)
    out = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(out, (t.astype(np.int64), p.astype(np.int64)), 1)
    return out


def mcnemar_exact(correct_a, correct_b) -> Dict[str, float]:
    """McNemar's exact test on two models' per-sequence correctness (bool arrays).

    Returns {"a_only": b, "b_only": c, "p_value": p} (see the module docstring).
    """
    a, b = _pair(np.asarray(correct_a, bool), np.asarray(correct_b, bool))
    only_a = int(np.sum(a & ~b))
    only_b = int(np.sum(~a & b))
    n = only_a + only_b
    if n == 0:
        return {"a_only": 0, "b_only": 0, "p_value": 1.0}
    k = min(only_a, only_b)
    tail = sum(comb(n, i) for i in range(k + 1)) / 2 ** n     # P(X <= k), exact
    return {"a_only": only_a, "b_only": only_b, "p_value": float(min(1.0, 2 * tail))}
