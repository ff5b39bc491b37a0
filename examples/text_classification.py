"""Classify short quotations by their fortune file (6 classes) with a word-level
bidirectional GRU; compare with always predicting the majority class.

    python examples/text_classification.py [--smoke]

Stratification is not needed for a fair baseline: the majority-class accuracy is
measured on the same test split.  About 8 s on a 2-core CPU; ``--smoke`` (or
RNNKIT_SMOKE=1) trains one epoch on 200 texts.
"""
import argparse
import os

import numpy as np

from rnnkit import datasets, set_random_seed
from rnnkit.data import Vocab, pad_sequences
from rnnkit.layers import GRU, Bidirectional, Dense, Embedding
from rnnkit.losses import SparseCategoricalCrossentropy
from rnnkit.models import Sequential
from rnnkit.optimizers import Adam
from rnnkit.tools.threads import torch_threads


def main(smoke: bool = False) -> dict:
    with torch_threads(1):   # small models: see rnnkit.tools.threads
        set_random_seed(0)
        ds = datasets.load("fortunes")
        texts, labels = ds["texts"], ds["labels"]
        order = np.random.default_rng(0).permutation(len(texts))[:200 if smoke else None]
        cut = int(0.8 * len(order))
        tr, te = order[:cut], order[cut:]
        vocab = Vocab.build([texts[i] for i in tr], level="word", lower=True, min_freq=2)
        ids = [vocab.encode(texts[i]) or [vocab.unk_id] for i in range(len(texts))]
        X, _ = pad_sequences(ids, maxlen=48, padding="post", truncating="post", dtype="int64")
        # id 0 is the vocabulary's <pad>: mask_zero=True hides the padding from the GRUs
        size = 16 if smoke else 48
        model = Sequential([Embedding(len(vocab), size, mask_zero=True, input_shape=(48,)),
                            Bidirectional(GRU(size)),                 # (B, 2H): both final states
                            Dense(len(ds["categories"]))])            # logits (B, C)
        model.compile(optimizer=Adam(3e-3, global_clipnorm=1.0),
                      loss=SparseCategoricalCrossentropy(from_logits=True))
        hist = model.fit(X[tr], labels[tr], epochs=1 if smoke else 12, batch_size=32, verbose=0)
        losses = hist.history["loss"]
        acc = float((model.predict(X[te]).argmax(-1) == labels[te]).mean())
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
