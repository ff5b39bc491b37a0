"""Is forecaster A really better than B on the same test windows?  The
Diebold–Mariano test (Diebold & Mariano 1995), paired over windows.

With e_A, e_B the errors of the two forecasts on the same N windows (each (N, K)),
the loss differential of window t is the difference of the squared errors,
averaged over the K lead times::

    d_t = mean_k (e_A[t, k]² − e_B[t, k]²)          d̄ = (1/N) Σ_t d_t

Its variance is the long-run (HAC) one, since overlapping windows and multi-step
errors are autocorrelated: Bartlett weights (Newey & West 1987) up to
L = max(K − 1, ⌊N^{1/3}⌋) lags::

    S = γ_0 + 2 Σ_{l=1..L} (1 − l/(L+1)) γ_l        DM = d̄ / √(S / N)

with the small-sample factor of Harvey, Leybourne & Newbold (1997),
√((N + 1 − 2K + K(K−1)/N) / N).  DM < 0 means A has the smaller squared error.
The two-sided p-value uses the standard normal, DM's asymptotic law (scipy is not
a dependency; with N ≥ 30 windows the t-correction changes p by under 0.01).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DMResult", "diebold_mariano", "SIGNIFICANCE"]

SIGNIFICANCE = 0.05    # the level at which the report calls a difference real


@dataclass(frozen=True)
class DMResult:
    statistic: float     # < 0: the first forecast has the smaller squared error
    p_value: float       # two-sided
    mean_diff: float     # d̄, in squared original units
    n: int               # windows

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE


def diebold_mariano(err_a, err_b) -> DMResult:
    """DM test of the errors ``err_a`` and ``err_b`` (N,) or (N, K) of two forecasts of
    the same N windows (same order)."""
    a = np.asarray(err_a, dtype=np.float64)
    b = np.asarray(err_b, dtype=np.float64)
    a = a[:, None] if a.ndim == 1 else a
    b = b[:, None] if b.ndim == 1 else b
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"err_b: expected the shape of err_a {a.shape} (N or N x K), "
                         f"got {b.shape}")
    n, k = a.shape
    if n < 3:
        raise ValueError(f"err_a: expected at least 3 paired windows, got {n}")
    d = np.mean(a ** 2 - b ** 2, axis=1)                               # (N,)
    dbar = float(d.mean())
    c = d - dbar
    lags = min(n - 1, max(k - 1, int(n ** (1 / 3))))
    s = float(c @ c) / n
    for lag in range(1, lags + 1):
        s += 2 * (1 - lag / (lags + 1)) * float(c[lag:] @ c[:-lag]) / n
    if s <= 0:                                   # identical forecasts (or d constant)
        stat = 0.0 if dbar == 0 else math.copysign(math.inf, dbar)
    else:
        hln = math.sqrt(max(n + 1 - 2 * k + k * (k - 1) / n, 1.0) / n)
        stat = hln * dbar / math.sqrt(s / n)
    p = math.erfc(abs(stat) / math.sqrt(2)) if math.isfinite(stat) else 0.0
    return DMResult(statistic=float(stat), p_value=float(p), mean_diff=dbar, n=n)
