"""A recurrent sequence classifier that carries its own pre-processing.

The model is a :class:`rnnkit.models.Sequential` of :mod:`rnnkit.layers`::

    numeric: x (B, T, F) -> Masking(PAD_VALUE) -> L recurrent layers -> (B, H) -> Dense(C)
    text:    ids (B, T)  -> Embedding(V, E, mask_zero=True) -> L recurrent layers -> Dense(C)

Dense(C) gives logits; p = softmax(logits). The masks make the last layer's output
each sequence's state at its own last step, so padding never changes a prediction.
It is trained with Adam (global-norm clipping 1.0), the sparse categorical cross
entropy on logits, and the weights of the epoch with the lowest validation loss are
restored (``EarlyStopping(restore_best_weights=True)``).

``Classifier.save`` writes an ordinary rnnkit model file whose JSON metadata holds
the pre-processing (``Preprocessing.to_dict``), so ``load_model(path)`` also opens it.
"""
from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

import numpy as np

from rnnkit.callbacks import EarlyStopping
from rnnkit.tools.classify_data import PAD_VALUE, Preprocessing
from rnnkit.tools.fitting import EpochTimer
from rnnkit.tools.names import parse_variant
from rnnkit.tools.stacks import recurrent_layer

__all__ = ["KIND", "EMBED_DIM", "build_classifier", "fit_classifier", "warm_up",
           "epoch_seconds", "Classifier"]

KIND = "classifier"   # metadata["kind"] of files made by `rnnkit train --task classify`
EMBED_DIM = 32        # token vector size for text input


def build_classifier(cell: str, prep: Preprocessing, units: int = 32, layers: int = 1):
    """A built Sequential for ``prep``'s input kind and classes (see the module docstring)."""
    from rnnkit.layers import Dense, Embedding, Masking
    from rnnkit.models import Sequential

    parse_variant(cell)
    model = Sequential(name=f"{cell}_classifier")
    if prep.input == "text":
        model.add(Embedding(len(prep.vocab["tokens"]), EMBED_DIM, mask_zero=True,
                            input_shape=(None,)))
    elif prep.input == "long_csv":
        model.add(Masking(PAD_VALUE, input_shape=(None, len(prep.features))))
    else:
        raise ValueError(f"prep.input: expected 'long_csv' or 'text', got {prep.input!r}")
    for k in range(layers):
        model.add(recurrent_layer(cell, units, return_sequences=k < layers - 1))
    model.add(Dense(len(prep.classes)))
    return model


def _compile(model, lr: float) -> None:
    from rnnkit.losses import SparseCategoricalCrossentropy
    from rnnkit.optimizers import Adam

    model.compile(optimizer=Adam(learning_rate=lr, global_clipnorm=1.0),
                  loss=SparseCategoricalCrossentropy(from_logits=True))


def warm_up(cell: str, prep: Preprocessing, X: np.ndarray, y: np.ndarray, units: int,
            layers: int, batch_size: int) -> None:
    """One untimed training step of a throwaway model, so that what happens once per
    process (building the native kernel, torch's lazy initialisation) is not inside
    any timed epoch. Call it before seeding the model that is timed."""
    model = build_classifier(cell, prep, units, layers)
    _compile(model, 1e-3)
    n = min(len(X), batch_size)
    model.fit(X[:n], y[:n], batch_size=n, epochs=1, verbose=0)


def epoch_seconds(seconds) -> float:
    """The median of the timed epochs: robust to one slow epoch (another process, a
    page fault), where a mean would carry it."""
    if len(seconds) == 0:
        raise ValueError("seconds: expected at least one timed epoch, got none")
    return float(statistics.median(seconds))


def fit_classifier(model, data, *, epochs: int = 30, batch_size: int = 32, lr: float = 3e-3,
                   patience: Optional[int] = None,
                   on_epoch: Optional[Callable[[int, dict], None]] = None) -> dict:
    """Fit on ``data.X/y["train"]`` with ``data.X/y["val"]`` for early stopping.

    Returns {"loss", "val_loss", "epoch_time" (per epoch, s), "best_epoch" (1-based)}.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs: expected a positive integer, got {epochs!r}")
    timer = EpochTimer(on_epoch)
    stop = EarlyStopping(monitor="val_loss", restore_best_weights=True,
                         patience=epochs if patience is None else patience)
    _compile(model, lr)
    hist = model.fit(data.X["train"], data.y["train"], batch_size=batch_size, epochs=epochs,
                     verbose=0, validation_data=(data.X["val"], data.y["val"]),
                     callbacks=[stop, timer]).history
    out = {"loss": [float(v) for v in hist["loss"]],
           "val_loss": [float(v) for v in hist["val_loss"]], "epoch_time": timer.seconds}
    out["best_epoch"] = int(np.argmin(out["val_loss"])) + 1
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@dataclass
class Classifier:
    model: Any                # Sequential: inputs -> logits (N, C)
    meta: Dict[str, Any]      # {"prep": Preprocessing dict, "cell", "units", ...}

    @property
    def prep(self) -> Preprocessing:
        return Preprocessing.from_dict(self.meta["prep"])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (N, C) for encoded inputs X."""
        if len(X) == 0:
            return np.zeros((0, len(self.meta["prep"]["classes"])))
        return softmax(self.model.predict(X, batch_size=256).astype(np.float64))

    def save(self, path) -> None:
        self.model.save(path, metadata={**self.meta, "kind": KIND})

    @classmethod
    def load(cls, path) -> "Classifier":
        """Load with :func:`rnnkit.models.load_model`; ValueError for any other model file."""
        from rnnkit.models import load_model

        model = load_model(path, compile=False)
        meta = model.metadata or {}
        if meta.get("kind") != KIND or "prep" not in meta:
            what = f"a {meta['kind']!r} model" if meta.get("kind") else "a plain Sequential model"
            raise ValueError(f"model: {os.path.basename(os.fspath(path))!r} is {what}; expected "
                             f"a classifier (made by `rnnkit train --task classify`)")
        model.eval()
        return cls(model, dict(meta))
