"""Spoken-digit classification from MFCC frames (10 classes) with a GRU;
compare with the majority class.

    python examples/spoken_digits.py [--smoke]

Variable-length utterances (19-93 frames of 13 MFCCs) are padded at the end and
their lengths passed to the GRU, so the classifier reads each utterance's own
last state.  Test speakers are unseen in training (split by voice).  About 30 s
on a 2-core CPU; ``--smoke`` (or RNNKIT_SMOKE=1) trains one epoch.
"""
import argparse
import os

import numpy as np
import torch

from rnnkit import datasets
from rnnkit.data import pad_sequences
from rnnkit.tools.classifier import SequenceClassifier, accuracy, fit_classifier


def main(smoke: bool = False) -> dict:
    torch.manual_seed(0)
    ds = datasets.load("spoken_digits")
    voices = np.unique(ds["speaker"])
    test_voices = voices[np.random.default_rng(0).permutation(len(voices))[:4]]
    te = np.flatnonzero(np.isin(ds["speaker"], test_voices))
    tr = np.flatnonzero(~np.isin(ds["speaker"], test_voices))
    if smoke:
        tr = tr[:100]
    frames = ds["mfcc"]
    mean = np.concatenate([frames[i] for i in tr]).mean(0)      # train-only statistics
    std = np.concatenate([frames[i] for i in tr]).std(0)
    X, mask = pad_sequences([(f - mean) / std for f in frames], padding="post", dtype="float32")
    L, y = mask.sum(1), ds["labels"]
    model = SequenceClassifier("gru", 10, 16 if smoke else 64, input_size=13)
    losses = fit_classifier(model, X[tr], L[tr], y[tr], epochs=1 if smoke else 10)
    acc = accuracy(model, X[te], L[te], y[te])
    base = float((y[te] == np.bincount(y[tr]).argmax()).mean())
    print(f"spoken digits: {len(tr)} train / {len(te)} test utterances (test voices unseen); "
          f"training loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    print(f"  GRU accuracy {acc:.3f}   majority class {base:.3f}")
    return {"accuracy": acc, "majority": base}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few steps only (tests)")
    main(smoke=p.parse_args().smoke or os.environ.get("RNNKIT_SMOKE") == "1")
