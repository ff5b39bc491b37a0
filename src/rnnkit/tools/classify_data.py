"""Labelled sequences made ready for a classifier, with the pre-processing that did it.

Two inputs (see ``rnnkit.data.long_format`` and ``rnnkit.data.labelled_text``):

* a long-format CSV -> one (L_i, F) numeric sequence per id. Features are scaled
  with a StandardScaler fitted on the training sequences' steps only, then padded
  at the end with ``PAD_VALUE`` to (N, T, F); the model's Masking layer turns that
  value into the mask, so a padded step never reaches the recurrent state.
* a ``label<TAB>text`` file -> token ids from a vocabulary built on the training
  texts only (id 0 = padding, 1 = unknown), padded at the end to (N, T); the
  model's Embedding(mask_zero=True) masks the padding.

``Preprocessing`` holds everything needed to repeat this on new data (columns,
NaN policy, scaler statistics, vocabulary, classes); it is a plain JSON dict in
the model file, so ``rnnkit predict``/``evaluate`` need only the model and the data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from rnnkit.data import StandardScaler, Vocab, pad_sequences, scaler_from_dict
from rnnkit.data.labelled_text import read_labelled_text
from rnnkit.data.long_format import read_long_csv
from rnnkit.data.stratified import stratified_split

__all__ = ["PAD_VALUE", "Labelled", "Preprocessing", "ClassifyData", "load_labelled",
           "prepare_classification", "describe", "SUMMARY_STATS"]

# Padding value of scaled numeric steps: a standardised feature would need to lie a
# billion training standard deviations below its mean to collide with it, and
# `encode` refuses a step that does. -1e9 is exact in float32.
PAD_VALUE = -1e9
SUMMARY_STATS = ("mean", "std", "last", "min", "max")
INPUTS = ("long_csv", "text")


@dataclass
class Labelled:
    """Raw examples: ``raw[i]`` is an (L_i, F) array (long_csv) or a str (text)."""

    input: str                         # one of INPUTS
    raw: list
    ids: List[str]                     # the id column's value, or "line N" of a text file
    labels: Optional[List[str]]
    features: List[str] = field(default_factory=list)


def load_labelled(path, *, id: Optional[str] = None, label: Optional[str] = None,
                  time: Optional[str] = None, features: Optional[Sequence[str]] = None,
                  nan_policy: str = "raise", require_label: bool = True) -> Labelled:
    """A long-format CSV when ``id`` is given, else a ``label<TAB>text`` file."""
    if id is None:
        for arg, v in (("label", label), ("time", time), ("features", features)):
            if v:
                raise ValueError(f"{arg}: given without an id column; a long-format CSV needs "
                                 f"--id COL (a label<TAB>text file needs neither)")
        t = read_labelled_text(path, require_label=require_label)
        return Labelled("text", t.texts, [f"line {n}" for n in t.lines], t.labels)
    if require_label and label is None:
        raise ValueError("label: a long-format CSV needs the label column (--label COL)")
    s = read_long_csv(path, id=id, label=label, time=time, features=features,
                      nan_policy=nan_policy, require_label=require_label)
    return Labelled("long_csv", s.sequences, s.ids, s.labels, s.features)


def _sort_classes(labels: Sequence[str]) -> List[str]:
    """Numeric labels in numeric order ("2" before "10"), others alphabetically."""
    uniq = sorted(set(labels))
    try:
        return sorted(uniq, key=float)
    except ValueError:
        return uniq


@dataclass
class Preprocessing:
    """What turns raw examples into model inputs; ``to_dict`` / ``from_dict`` for the file."""

    input: str
    classes: List[str]
    features: List[str] = field(default_factory=list)
    columns: Dict[str, Optional[str]] = field(default_factory=dict)   # id, time, label
    nan_policy: str = "raise"
    scaler: Optional[dict] = None
    vocab: Optional[dict] = None

    @classmethod
    def fit(cls, data: Labelled, train: np.ndarray, columns=None, nan_policy="raise",
            level: str = "word") -> "Preprocessing":
        classes = _sort_classes(data.labels)
        prep = cls(data.input, classes, list(data.features), dict(columns or {}), nan_policy)
        if data.input == "long_csv":
            steps = np.concatenate([data.raw[i] for i in train])              # (sum L, F)
            prep.scaler = StandardScaler().fit(steps).to_dict()
        elif data.input == "text":
            # words seen once in training become <unk>, so the model learns what <unk> means
            vocab = Vocab.build([data.raw[i] for i in train], level=level, lower=True,
                                min_freq=2 if level == "word" else 1)
            prep.vocab = vocab.to_dict()
        else:
            raise ValueError(f"input: expected one of {INPUTS}, got {data.input!r}")
        return prep

    def to_dict(self) -> Dict[str, Any]:
        return {"input": self.input, "classes": self.classes, "features": self.features,
                "columns": self.columns, "nan_policy": self.nan_policy,
                "scaler": self.scaler, "vocab": self.vocab}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Preprocessing":
        return cls(**{k: d[k] for k in ("input", "classes", "features", "columns",
                                        "nan_policy", "scaler", "vocab")})

    # --- applying --------------------------------------------------------------------
    def label_ids(self, labels: Sequence[str], ids: Sequence[str]) -> np.ndarray:
        """Class ids (N,); a label the model was not trained on is a ValueError."""
        pos = {c: k for k, c in enumerate(self.classes)}
        for lab, name in zip(labels, ids):
            if lab not in pos:
                raise ValueError(f"label: {name} has the label {lab!r}, which the model was "
                                 f"not trained on; its classes are {self.classes}")
        return np.array([pos[lab] for lab in labels], dtype=np.int64)

    def encode(self, raw: list) -> np.ndarray:
        """Model inputs: (N, T, F) float32 for long_csv, (N, T) int64 token ids for text."""
        if self.input == "text":
            vocab = Vocab.from_dict(self.vocab)
            ids = [vocab.encode(t) or [vocab.unk_id] for t in raw]
            X, _ = pad_sequences(ids, padding="post", dtype="int64")          # (N, T)
            return X
        scaler = scaler_from_dict(self.scaler)
        scaled = [scaler.transform(r) for r in raw]                            # each (L, F)
        for i, s in enumerate(scaled):
            if np.any(np.all(s == PAD_VALUE, axis=-1)):
                raise ValueError(f"values: sequence {i} has a step equal to the padding "
                                 f"value {PAD_VALUE} after scaling; rescale the data")
        X, _ = pad_sequences(scaled, padding="post", dtype="float32", value=PAD_VALUE)
        return X                                                               # (N, T, F)

    def summary(self, raw: list) -> np.ndarray:
        """Order-free features per sequence for the baseline: for numeric sequences
        mean, std, last, min, max of every scaled feature (N, 5F); for text the
        bag-of-words frequencies count(token) / length over the vocabulary (N, V)."""
        if self.input == "text":
            vocab = Vocab.from_dict(self.vocab)
            out = np.zeros((len(raw), len(vocab)))
            for i, t in enumerate(raw):
                ids = vocab.encode(t) or [vocab.unk_id]
                np.add.at(out[i], ids, 1.0 / len(ids))
            return out
        scaler = scaler_from_dict(self.scaler)
        rows = []
        for r in raw:
            s = scaler.transform(r)                                            # (L, F)
            rows.append(np.concatenate([s.mean(0), s.std(0), s[-1], s.min(0), s.max(0)]))
        return np.stack(rows)                                                  # (N, 5F)


@dataclass
class ClassifyData:
    """Split, encoded examples: ``X[part]``, ``y[part]`` (class ids), ``summary[part]``
    and ``ids[part]`` for part in train / val / test."""

    prep: Preprocessing
    X: Dict[str, np.ndarray]
    y: Dict[str, np.ndarray]
    summary: Dict[str, np.ndarray]
    ids: Dict[str, List[str]]

    @property
    def n_classes(self) -> int:
        return len(self.prep.classes)


def prepare_classification(data: Labelled, *, columns=None, nan_policy: str = "raise",
                           level: str = "word", seed: int = 0) -> ClassifyData:
    """Check the class counts, split (stratified, ``seed``), fit the pre-processing on
    the training part and encode all three parts."""
    if data.labels is None:
        raise ValueError("label: training needs labelled sequences, got none")
    classes = sorted(set(data.labels))
    if len(classes) < 2:
        raise ValueError(f"label: expected at least 2 classes, got only {classes}")
    if len(data.raw) < 3 * len(classes):
        # one per class for each of train / validation / test at the very least; fewer
        # usually means the label column names each sequence rather than its class
        raise ValueError(f"label: {len(data.raw)} sequences for {len(classes)} classes; "
                         f"expected at least 3 sequences per class (train, validation, "
                         f"test) -- is the label column right?")
    parts = stratified_split(data.labels, seed=seed)
    prep = Preprocessing.fit(data, parts["train"], columns, nan_policy, level)
    X, y, summ, ids = {}, {}, {}, {}
    for k, idx in parts.items():
        raw = [data.raw[i] for i in idx]
        names = [data.ids[i] for i in idx]
        X[k] = prep.encode(raw)
        y[k] = prep.label_ids([data.labels[i] for i in idx], names)
        summ[k] = prep.summary(raw)
        ids[k] = names
    return ClassifyData(prep, X, y, summ, ids)


def describe(data: ClassifyData) -> str:
    """One line: counts per part and class."""
    n = {k: len(v) for k, v in data.y.items()}
    what = "sequences" if data.prep.input == "long_csv" else "texts"
    return (f"{n['train']} train / {n['val']} val / {n['test']} test {what}, "
            f"{data.n_classes} classes {data.prep.classes}")
