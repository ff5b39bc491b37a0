"""Classify short quotations by their fortune file (6 classes) with a word-level
bidirectional GRU; compare with always predicting the majority class.

    python examples/text_classification.py [--smoke]

Stratification is not needed for a fair baseline: the majority-class accuracy is
measured on the same test split.  About 20 s on a 2-core CPU; ``--smoke`` (or
RNNKIT_SMOKE=1) trains one epoch on 200 texts.
"""
import argparse
import os

import numpy as np
import torch

from rnnkit import datasets
from rnnkit.data import Vocab, pad_sequences
from rnnkit.tools.classifier import SequenceClassifier, accuracy, fit_classifier


def main(smoke: bool = False) -> dict:
    torch.manual_seed(0)
    ds = datasets.load("fortunes")
    texts, labels = ds["texts"], ds["labels"]
    order = np.random.default_rng(0).permutation(len(texts))[:200 if smoke else None]
    cut = int(0.8 * len(order))
    tr, te = order[:cut], order[cut:]
    vocab = Vocab.build([texts[i] for i in tr], level="word", lower=True, min_freq=2)
    ids = [vocab.encode(texts[i]) or [vocab.unk_id] for i in range(len(texts))]
    X, mask = pad_sequences(ids, maxlen=48, padding="post", truncating="post", dtype="int64")
    L = mask.sum(1)
    model = SequenceClassifier("gru", len(ds["categories"]), 16 if smoke else 48,
                               vocab_size=len(vocab), embed=16 if smoke else 48, bidirectional=True)
    losses = fit_classifier(model, X[tr], L[tr], labels[tr], epochs=1 if smoke else 12)
    acc = accuracy(model, X[te], L[te], labels[te])
    majority = np.bincount(labels[tr]).argmax()
    base = float((labels[te] == majority).mean())
    print(f"fortunes: {len(tr)} train / {len(te)} test quotations, {len(vocab)} words, "
          f"{len(ds['categories'])} classes; training loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    print(f"  bidirectional GRU accuracy {acc:.3f}")
    print(f"  majority class ({ds['categories'][majority]}) {base:.3f}")
    return {"accuracy": acc, "majority": base, "losses": losses}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few steps only (tests)")
    main(smoke=p.parse_args().smoke or os.environ.get("RNNKIT_SMOKE") == "1")
