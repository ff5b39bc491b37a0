"""The simple baselines a recurrent sequence classifier must beat.

* ``majority``: always the most frequent class of the training part.
* ``logistic regression on summary features``: multinomial logistic regression on
  order-free features of each sequence (``Preprocessing.summary``: mean, std, last,
  min and max of every feature; bag-of-words frequencies for text). If it matches
  the recurrent cells, the order of the steps carried no extra information that the
  cells used.

The logistic regression is written in torch (no scikit-learn dependency):

    logits = Z W + b,  Z = (S - mean_train(S)) / std_train(S)        S: (N, D) summaries
    loss   = mean_i CE(softmax(logits_i), y_i) + λ ‖W‖²                 (b not penalised)

minimised in float64 by L-BFGS with a strong-Wolfe line search (a convex problem:
any λ > 0 has one minimum). λ is chosen from ``LAMBDAS`` by validation accuracy
(ties: the larger λ, the simpler model); the model kept is the one fitted on the
training part with that λ. The test part is not looked at.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import numpy as np
import torch

__all__ = ["LAMBDAS", "majority_class", "LogisticRegression", "fit_logistic"]

LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def majority_class(y_train: np.ndarray) -> int:
    """The most frequent class id (the smallest id on a tie, as np.argmax)."""
    return int(np.argmax(np.bincount(np.asarray(y_train, dtype=np.int64))))


@dataclass
class LogisticRegression:
    """A fitted model: ``predict_proba(S)`` (N, C) for raw summaries S (N, D)."""

    mean: np.ndarray      # (D,)
    std: np.ndarray       # (D,)
    W: np.ndarray         # (D, C)
    b: np.ndarray         # (C,)
    lam: float

    def logits(self, S: np.ndarray) -> np.ndarray:
        Z = (np.asarray(S, dtype=np.float64) - self.mean) / self.std          # (N, D)
        return Z @ self.W + self.b                                             # (N, C)

    def predict_proba(self, S: np.ndarray) -> np.ndarray:
        z = self.logits(S)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, S: np.ndarray) -> np.ndarray:
        return self.logits(S).argmax(axis=1)


def _fit_one(Z: torch.Tensor, y: torch.Tensor, n_classes: int, lam: float,
             max_iter: int = 200):
    D = Z.shape[1]
    W = torch.zeros(D, n_classes, dtype=torch.float64, requires_grad=True)   # (D, C)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)      # (C,)
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9,
                            tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(Z @ W + b, y) + lam * (W * W).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach().numpy(), b.detach().numpy()


def fit_logistic(S: Dict[str, np.ndarray], y: Dict[str, np.ndarray],
                 n_classes: int) -> LogisticRegression:
    """Fit on ``S["train"]``, choose λ on ``S["val"]`` (see the module docstring)."""
    train = np.asarray(S["train"], dtype=np.float64)
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)                # a constant summary stays unscaled
    Z = torch.from_numpy((train - mean) / std)
    yt = torch.from_numpy(np.asarray(y["train"], dtype=np.int64))
    best = None
    for lam in LAMBDAS:
        W, b = _fit_one(Z, yt, n_classes, lam)
        m = LogisticRegression(mean, std, W, b, lam)
        acc = float(np.mean(m.predict(S["val"]) == y["val"]))
        if best is None or acc >= best[0]:
            best = (acc, m)
    return best[1]
