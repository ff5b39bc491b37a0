"""A recurrent stack with a linear head: the many-to-one model that ``rnnkit
train``/``compare``/``diagnose`` fit to windows of a series.

    x (B, T, I) -> rnnkit.nn.{RNN, LSTM, GRU}(num_layers=L) -> h_T (B, H) -> Linear -> (B, K)

This is the tutorial's ``LSTM -> Dense`` model, built from the torch.nn drop-ins
(so every forward goes through the kernel registry).  Variants are named
``cell[-ln][-peephole]``: ``lstm-ln`` is the layer-normalised LSTM of Ba et al.
(2016), ``lstm-peephole`` the peephole LSTM of Gers & Schmidhuber (2000).
"""
from __future__ import annotations

from typing import Any, Dict

import torch
from torch import Tensor, nn

import rnnkit.nn as rnn
from rnnkit.tools.names import CELLS, VARIANTS, parse_variant

__all__ = ["CELLS", "VARIANTS", "parse_variant", "RecurrentRegressor"]


class RecurrentRegressor(nn.Module):
    """Recurrent stack + linear head on the last step's hidden state.

    Args:
        cell: ``"rnn"`` (tanh), ``"lstm"``, ``"gru"``, or a variant such as ``"lstm-ln"``.
        input_size: features per step, I.
        units: hidden units per layer, H (default 32).
        layers: stacked recurrent layers, L (default 1).
        output_size: values predicted per window, K (default 1).
        dropout: torch.nn's dropout between stacked layers (default 0).
    """

    def __init__(self, cell: str, input_size: int, units: int = 32, layers: int = 1,
                 output_size: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        opts = parse_variant(cell)
        self.cell = cell
        self.config = {"cell": cell, "input_size": int(input_size), "units": int(units),
                       "layers": int(layers), "output_size": int(output_size),
                       "dropout": float(dropout)}
        cls = {"rnn": rnn.RNN, "lstm": rnn.LSTM, "gru": rnn.GRU}[opts["cell"]]
        extra = {"layer_norm": True} if opts["layer_norm"] else {}
        if opts["peephole"]:
            extra["peephole"] = True
        self.rnn = cls(input_size, units, num_layers=layers, batch_first=True,
                       dropout=dropout if layers > 1 else 0.0, **extra)
        self.head = nn.Linear(units, output_size)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)           # (B, T, H)
        return self.head(out[:, -1])   # (B, K)

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "RecurrentRegressor":
        return cls(**config)
