"""A character-level language model (Karpathy's char-rnn, in miniature).

    ids (B, T) -> Embedding(V, E) -> rnnkit.nn.{RNN, LSTM, GRU} -> Linear(H, V) -> logits (B, T, V)

Trained with cross-entropy to predict character t+1 from characters ..t on random
chunks of the text; validation perplexity = exp(mean cross-entropy) on the last
10 % of the text (a held-out *end* of the text, not random chunks of it).
Sampling divides the logits by a temperature before the softmax: < 1 sharper and
more repetitive, > 1 more random.
"""
from __future__ import annotations

import math
from typing import Callable, List, Optional

import numpy as np
import torch
from torch import Tensor, nn

import rnnkit.nn as rnn
from rnnkit.data import Vocab
from rnnkit.tools.modelfile import load_model_file, save_model
from rnnkit.tools.names import parse_variant

__all__ = ["CharLM", "train_charlm", "perplexity", "sample"]


class CharLM(nn.Module):
    def __init__(self, cell: str, vocab_size: int, units: int = 128, layers: int = 1,
                 embed: int = 32) -> None:
        super().__init__()
        opts = parse_variant(cell)
        self.config = {"cell": cell, "vocab_size": int(vocab_size), "units": int(units),
                       "layers": int(layers), "embed": int(embed)}
        cls = {"rnn": rnn.RNN, "lstm": rnn.LSTM, "gru": rnn.GRU}[opts["cell"]]
        extra = {k: True for k in ("layer_norm", "peephole") if opts[k]}
        self.embed = nn.Embedding(vocab_size, embed)
        self.rnn = cls(embed, units, num_layers=layers, batch_first=True, **extra)
        self.head = nn.Linear(units, vocab_size)

    def forward(self, ids: Tensor, state=None):
        out, state = self.rnn(self.embed(ids), state)   # (B, T, H)
        return self.head(out), state                     # (B, T, V)

    def save(self, path, vocab: Vocab, meta: Optional[dict] = None) -> None:
        save_model(path, self, "charlm", self.config, {"vocab": vocab.to_dict(), **(meta or {})})

    @classmethod
    def load(cls, path):
        kind, config, meta, state = load_model_file(path)
        if kind != "charlm":
            raise ValueError(f"model: {str(path)!r} is a {kind!r} model, expected a character "
                             f"language model (made by `rnnkit train --text`)")
        model = cls(**config)
        model.load_state_dict(state)
        model.eval()
        return model, Vocab.from_dict(meta["vocab"]), meta


def perplexity(model: CharLM, ids: np.ndarray, seq_len: int = 128, batch: int = 64) -> float:
    """exp(mean cross-entropy) of predicting ids[t+1] from ids[..t], in chunks."""
    n = (len(ids) - 1) // seq_len
    if n < 1:
        raise ValueError(f"ids: need more than seq_len={seq_len} characters, got {len(ids)}")
    x = torch.as_tensor(ids[:n * seq_len].reshape(n, seq_len))             # (N, T)
    y = torch.as_tensor(ids[1:n * seq_len + 1].reshape(n, seq_len))
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, n, batch):
            logits, _ = model(x[i:i + batch])
            total += float(nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y[i:i + batch].reshape(-1), reduction="sum"))
    return math.exp(total / (n * seq_len))


def train_charlm(text: str, cell: str = "lstm", units: int = 128, layers: int = 1,
                 epochs: int = 3, seq_len: int = 64, batch_size: int = 32, lr: float = 3e-3,
                 steps_per_epoch: Optional[int] = None, seed: int = 0,
                 on_step: Optional[Callable[[], None]] = None):
    """Fit a :class:`CharLM` on ``text``; returns (model, vocab, val_perplexity per epoch).

    Entry 0 of the perplexity list is measured before training.
    """
    if not isinstance(text, str) or len(text) < 20 * (seq_len + 1):
        raise ValueError(f"text: expected at least {20 * (seq_len + 1)} characters for "
                         f"seq_len={seq_len}, got {len(text) if isinstance(text, str) else text!r}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    vocab = Vocab.build([text], level="char")
    ids = np.asarray(vocab.encode(text), dtype=np.int64)
    cut = int(len(ids) * 0.9)
    train, val = ids[:cut], ids[cut:]
    model = CharLM(cell, len(vocab), units, layers)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = steps_per_epoch or max(1, len(train) // (batch_size * seq_len))
    val_len = min(128, len(val) - 1)
    ppl: List[float] = [perplexity(model, val, val_len)]
    for _ in range(epochs):
        model.train()
        for _ in range(steps):
            starts = rng.integers(0, len(train) - seq_len - 1, size=batch_size)
            chunk = torch.as_tensor(np.stack([train[s:s + seq_len + 1] for s in starts]))
            logits, _ = model(chunk[:, :-1])                                    # (B, T, V)
            loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)),
                                               chunk[:, 1:].reshape(-1))
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training diverged: loss {float(loss)}")
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if on_step is not None:
                on_step()
        ppl.append(perplexity(model, val, val_len))
    return model, vocab, ppl


def sample(model: CharLM, vocab: Vocab, prime: str = "", length: int = 200,
           temperature: float = 1.0, seed: Optional[int] = None) -> str:
    """``prime`` followed by ``length`` sampled characters."""
    if not temperature > 0:
        raise ValueError(f"temperature: expected a positive number, got {temperature!r}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ValueError(f"length: expected an integer >= 0, got {length!r}")
    gen = torch.Generator().manual_seed(seed if seed is not None else 0)
    model.eval()
    ids = vocab.encode(prime) if prime else [vocab.token_to_id("\n")]
    out: List[int] = []
    with torch.no_grad():
        logits, state = model(torch.as_tensor([ids]))
        nxt_logits = logits[0, -1]
        for _ in range(length):
            nxt_logits = nxt_logits.clone()
            nxt_logits[vocab.pad_id] = -math.inf      # never emit padding / unknown
            nxt_logits[vocab.unk_id] = -math.inf
            probs = torch.softmax(nxt_logits / temperature, dim=-1)
            nxt = int(torch.multinomial(probs, 1, generator=gen))
            out.append(nxt)
            logits, state = model(torch.as_tensor([[nxt]]), state)
            nxt_logits = logits[0, -1]
    return prime + vocab.decode(out)
