"""A character-level language model (Karpathy's char-rnn, in miniature), as a
Sequential model of :mod:`rnnkit.layers`::

    ids (B, T) -> Embedding(V, E) -> L x {SimpleRNN, LSTM, GRU}(return_sequences=True)
               -> Dense(V) -> logits (B, T, V)

Trained with ``Sequential.fit`` and sparse categorical cross-entropy on the
logits to predict character t+1 from characters ..t, on consecutive chunks of
the first 90 % of the text; validation perplexity = exp(mean cross-entropy) on
the last 10 % (a held-out *end* of the text, not random chunks of it). Saved
with ``model.save``; the vocabulary travels in the file's JSON metadata.

Sampling carries the recurrent state from one character to the next (the
layers run ``stateful`` while sampling, Keras's idiom) and divides the logits
by a temperature before the softmax: < 1 sharper and more repetitive, > 1 more
random.
"""
from __future__ import annotations

import math
import os
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Tuple

import numpy as np
import torch

from rnnkit.data import Vocab
from rnnkit.tools.stacks import recurrent_layer

__all__ = ["KIND", "build_charlm", "train_charlm", "perplexity", "sample", "save_charlm",
           "load_charlm"]

KIND = "charlm"   # metadata["kind"] of files made by `rnnkit train --text`


def build_charlm(cell: str, vocab_size: int, units: int = 128, layers: int = 1,
                 embed: int = 32):
    """The built Sequential above: inputs (B, T) of ids in [0, vocab_size)."""
    from rnnkit.layers import Dense, Embedding
    from rnnkit.models import Sequential

    model = Sequential(name=f"char_{cell}")
    # N(0, 1) embeddings, as torch.nn.Embedding: with Keras's U(-0.05, 0.05) the inputs
    # start ~30x smaller and 3 epochs of Pride and Prejudice end at perplexity 12.0
    # instead of 8.6 (examples/char_language_model.py, measured).
    model.add(Embedding(vocab_size, embed, input_shape=(None,),
                        embeddings_initializer={"class_name": "RandomNormal",
                                                "config": {"stddev": 1.0}}))  # (B, T, E)
    for _ in range(layers):
        model.add(recurrent_layer(cell, units, return_sequences=True))  # (B, T, H)
    model.add(Dense(vocab_size))                                        # (B, T, V)
    return model


def _chunks(ids: np.ndarray, seq_len: int) -> Tuple[np.ndarray, np.ndarray]:
    """Consecutive chunks: X[i] = ids[i·T : i·T + T], Y[i] = the next characters; (N, T) each."""
    n = (len(ids) - 1) // seq_len
    if n < 1:
        raise ValueError(f"ids: need more than seq_len={seq_len} characters, got {len(ids)}")
    X = ids[:n * seq_len].reshape(n, seq_len)
    Y = ids[1:n * seq_len + 1].reshape(n, seq_len)
    return X, Y


def perplexity(model, ids: np.ndarray, seq_len: int = 128, batch: int = 64) -> float:
    """exp(mean cross-entropy) of predicting ids[t+1] from ids[..t], in chunks of ``seq_len``."""
    X, Y = _chunks(np.asarray(ids, dtype=np.int64), seq_len)
    total = 0.0
    for i in range(0, len(X), batch):
        logits = torch.from_numpy(model.predict(X[i:i + batch], batch_size=batch))  # (B, T, V)
        total += float(torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).double(),
            torch.from_numpy(Y[i:i + batch]).reshape(-1), reduction="sum"))
    return math.exp(total / Y.size)


def train_charlm(text: str, cell: str = "lstm", units: int = 128, layers: int = 1,
                 epochs: int = 3, seq_len: int = 64, batch_size: int = 32, lr: float = 3e-3,
                 steps_per_epoch: Optional[int] = None, seed: int = 0,
                 on_step: Optional[Callable[[], None]] = None):
    """Fit a :func:`build_charlm` model on ``text``; returns (model, vocab, perplexity
    per epoch), entry 0 measured before training.

    Adam(lr) with global gradient-norm clipping at 1.0; ``steps_per_epoch`` (default:
    all chunks, len(text)·0.9 / (batch_size·seq_len)) limits an epoch to that many
    batches of randomly chosen chunks. ``on_step()`` is called after every batch.
    """
    from rnnkit import set_random_seed
    from rnnkit.callbacks import LambdaCallback
    from rnnkit.losses import SparseCategoricalCrossentropy
    from rnnkit.optimizers import Adam

    if not isinstance(text, str) or len(text) < 20 * (seq_len + 1):
        raise ValueError(f"text: expected at least {20 * (seq_len + 1)} characters for "
                         f"seq_len={seq_len}, got {len(text) if isinstance(text, str) else text!r}")
    set_random_seed(seed)
    vocab = Vocab.build([text], level="char")
    ids = np.asarray(vocab.encode(text), dtype=np.int64)
    cut = int(len(ids) * 0.9)
    X, Y = _chunks(ids[:cut], seq_len)                                # (N, T)
    if steps_per_epoch is not None:
        pick = np.random.default_rng(seed).permutation(len(X))[:steps_per_epoch * batch_size]
        X, Y = X[pick], Y[pick]
    Xv, Yv = _chunks(ids[cut:], min(128, len(ids) - cut - 1))
    model = build_charlm(cell, len(vocab), units, layers)
    model.compile(optimizer=Adam(learning_rate=lr, global_clipnorm=1.0),
                  loss=SparseCategoricalCrossentropy(from_logits=True))
    ppl: List[float] = [math.exp(model.evaluate(Xv, Yv, batch_size=64, verbose=0))]
    callbacks = [LambdaCallback(on_train_batch_end=lambda b, logs: on_step())] if on_step else []
    hist = model.fit(X, Y, batch_size=batch_size, epochs=epochs, verbose=0,
                     validation_data=(Xv, Yv), validation_batch_size=64, callbacks=callbacks)
    ppl += [math.exp(v) for v in hist.history["val_loss"]]
    return model, vocab, ppl


@contextmanager
def _stateful(model) -> Iterator[None]:
    """Every recurrent layer carries its state from call to call, starting from zeros."""
    from rnnkit.layers import RecurrentLayer

    rec = [layer for layer in model.layers if isinstance(layer, RecurrentLayer)]
    before = [layer.stateful for layer in rec]
    for layer in rec:
        layer.stateful = True
        layer.reset_states()
    try:
        yield
    finally:
        for layer, was in zip(rec, before):
            layer.reset_states()
            layer.stateful = was


def sample(model, vocab: Vocab, prime: str = "", length: int = 200,
           temperature: float = 1.0, seed: Optional[int] = None) -> str:
    """``prime`` followed by ``length`` sampled characters."""
    if not temperature > 0:
        raise ValueError(f"temperature: expected a positive number, got {temperature!r}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ValueError(f"length: expected an integer >= 0, got {length!r}")
    gen = torch.Generator().manual_seed(seed if seed is not None else 0)
    ids = vocab.encode(prime) if prime else [vocab.token_to_id("\n")]
    out: List[int] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _stateful(model):
            nxt_logits = model(torch.as_tensor([ids]))[0, -1].double()     # (V,)
            for _ in range(length):
                nxt_logits[vocab.pad_id] = -math.inf      # never emit padding / unknown
                nxt_logits[vocab.unk_id] = -math.inf
                probs = torch.softmax(nxt_logits / temperature, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=gen))
                out.append(nxt)
                nxt_logits = model(torch.as_tensor([[nxt]]))[0, -1].double()
    finally:
        model.train(was_training)
    return prime + vocab.decode(out)


def save_charlm(model, vocab: Vocab, path, meta: Optional[dict] = None) -> None:
    """``model.save`` with the vocabulary (and ``meta``) in the file's metadata."""
    model.save(path, metadata={**(meta or {}), "kind": KIND, "vocab": vocab.to_dict()})


def load_charlm(path):
    """(model, vocab, metadata) of a file from :func:`save_charlm`, via ``load_model``."""
    from rnnkit.models import load_model

    model = load_model(path, compile=False)
    meta = model.metadata or {}
    if meta.get("kind") != KIND or "vocab" not in meta:
        what = f"a {meta['kind']!r} model" if meta.get("kind") else \
            "a Sequential model without a vocabulary"
        raise ValueError(f"model: {os.fspath(path)!r} is {what}; expected a character "
                         f"language model (made by `rnnkit train --text`)")
    from rnnkit.errors import InvalidModelFile, invalid_file

    with invalid_file(path, "its vocabulary is damaged"):  # metadata is untrusted too
        vocab = Vocab.from_dict(meta["vocab"])
    sizes = {getattr(model.layers[0], "input_dim", None), model.output_shape[-1]}
    if sizes != {len(vocab)}:
        raise InvalidModelFile(path, f"its vocabulary has {len(vocab)} tokens but its model "
                                     f"reads and predicts {sorted(sizes, key=str)}")
    model.eval()
    return model, vocab, meta
