"""Sequence classification: a recurrent encoder over padded, variable-length
sequences and a linear head on each sequence's last *valid* state.

    tokens (B, T) -> Embedding -> rnnkit.nn cell(lengths=L) -> h_n (B, H) -> Linear -> (B, C)
    or features (B, T, F) -> rnnkit.nn cell(lengths=L) -> ...

Sequences are padded at the end (``pad_sequences(padding='post')``) and their
lengths passed to the recurrent layer, so h_n is the state after each sequence's
own last step, not after the padding.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import Tensor, nn

import rnnkit.nn as rnn
from rnnkit.tools.names import parse_variant

__all__ = ["SequenceClassifier", "fit_classifier", "accuracy"]


class SequenceClassifier(nn.Module):
    """Args: cell, n_classes, units; either vocab_size (+ embed) for token ids or
    input_size for real-valued features; bidirectional concatenates both final states."""

    def __init__(self, cell: str, n_classes: int, units: int = 64, *,
                 vocab_size: Optional[int] = None, embed: int = 32,
                 input_size: Optional[int] = None, bidirectional: bool = False) -> None:
        super().__init__()
        if (vocab_size is None) == (input_size is None):
            raise ValueError("give exactly one of vocab_size (token ids) or input_size (features)")
        opts = parse_variant(cell)
        cls = {"rnn": rnn.RNN, "lstm": rnn.LSTM, "gru": rnn.GRU}[opts["cell"]]
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0) if vocab_size else None
        self.rnn = cls(embed if vocab_size else input_size, units, batch_first=True,
                       bidirectional=bidirectional,
                       **{k: True for k in ("layer_norm", "peephole") if opts[k]})
        self.head = nn.Linear(units * (2 if bidirectional else 1), n_classes)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if self.embed is not None:
            x = self.embed(x)                                   # (B, T, E)
        _, state = self.rnn(x, lengths=lengths)
        h_n = state[0] if isinstance(state, tuple) else state   # (D, B, H)
        return self.head(torch.cat(list(h_n), dim=-1))          # (B, C)


def fit_classifier(model: SequenceClassifier, X: np.ndarray, lengths: np.ndarray, y: np.ndarray,
                   epochs: int = 10, batch_size: int = 32, lr: float = 3e-3, seed: int = 0) -> list:
    """Adam + cross-entropy; returns the mean training loss per epoch."""
    X, L, y = torch.as_tensor(X), torch.as_tensor(lengths), torch.as_tensor(y)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        model.train()
        perm, total = torch.randperm(len(X), generator=gen), 0.0
        for i in range(0, len(X), batch_size):
            idx = perm[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(X[idx], L[idx]), y[idx])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training diverged: loss {float(loss)}")
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(X))
    return losses


def accuracy(model: SequenceClassifier, X: np.ndarray, lengths: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.as_tensor(X), torch.as_tensor(lengths)).argmax(-1).numpy()
    return float((pred == np.asarray(y)).mean())
