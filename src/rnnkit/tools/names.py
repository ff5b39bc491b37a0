"""Cell names accepted by the tools and the command line (no torch import, so that
``rnnkit --help`` stays fast).

A variant is ``cell[-ln][-peephole]``: ``lstm-ln`` is the layer-normalised LSTM
of Ba et al. (2016), ``lstm-peephole`` the peephole LSTM of Gers & Schmidhuber (2000).
"""
from __future__ import annotations

from typing import Any, Dict

__all__ = ["CELLS", "VARIANTS", "parse_variant"]

CELLS = ("rnn", "lstm", "gru")
# the optional variants of ``rnnkit compare --variants``
VARIANTS = ("rnn-ln", "lstm-ln", "gru-ln", "lstm-peephole")


def parse_variant(name: str) -> Dict[str, Any]:
    """``"lstm-ln"`` -> {"cell": "lstm", "layer_norm": True, "peephole": False}."""
    if not isinstance(name, str):
        raise TypeError(f"cell: expected a str such as 'lstm' or 'lstm-ln', got {type(name).__name__}")
    parts = name.strip().lower().split("-")
    cell, extras = parts[0], set(parts[1:])
    unknown = extras - {"ln", "peephole"}
    if cell not in CELLS or unknown or ("peephole" in extras and cell != "lstm"):
        raise ValueError(f"cell: unknown cell {name!r}; expected one of "
                         f"{list(CELLS) + list(VARIANTS)}")
    return {"cell": cell, "layer_norm": "ln" in extras, "peephole": "peephole" in extras}
