"""A stratified random split of labelled sequences into train / validation / test.

Sequences are independent examples (unlike the steps of one series), so a random
split is sound; stratifying keeps each class's share about equal in the three parts,
so that a rare class is not left out of the test part by chance.

Per class with n members (shuffled with ``seed``): round(n * val) go to validation,
round(n * test) to test, the rest to training -- but training always keeps at least
one member of every class, so the model has seen every label it may be asked for.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

__all__ = ["stratified_split"]


def stratified_split(labels: Sequence, val: float = 0.2, test: float = 0.2,
                     seed: int = 0) -> Dict[str, np.ndarray]:
    """{"train", "val", "test"} -> sorted index arrays into ``labels``.

    Raises ValueError when the validation or test part would be empty.
    """
    for name, v in (("val", val), ("test", test)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
            raise ValueError(f"{name}: expected a fraction in (0, 1), got {v!r}")
    if val + test >= 1:
        raise ValueError(f"val + test: expected a sum below 1 (room for training), got "
                         f"{val + test}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for c in sorted(set(labels.tolist())):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n = len(idx)
        n_val, n_test = int(round(n * val)), int(round(n * test))
        while n - n_val - n_test < 1:          # training keeps one of each class
            if n_test >= n_val and n_test > 0:
                n_test -= 1
            else:
                n_val -= 1
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val:n_val + n_test])
        parts["train"].append(idx[n_val + n_test:])
    out = {k: np.sort(np.concatenate(v)).astype(np.int64) for k, v in parts.items()}
    for k in ("val", "test"):
        if len(out[k]) == 0:
            raise ValueError(f"labels: {len(labels)} sequences are too few to hold out a "
                             f"{k} part ({val:.0%} validation, {test:.0%} test per class); "
                             f"expected more sequences per class")
    return out
