"""Spoken-digit classification from MFCC frames (10 classes) with a GRU;
compare with the majority class.

    python examples/spoken_digits.py [--smoke]

Variable-length utterances (19-93 frames of 13 MFCCs) go to ``fit`` as a list of
(L_i, 13) arrays: it pads them at the end and passes the padding mask to the GRU,
so the classifier reads each utterance's own last state.  Test speakers are
unseen in training (split by voice).  About 5 s on a 2-core CPU; ``--smoke``
(or RNNKIT_SMOKE=1) trains one epoch.
"""
import argparse
import os

import numpy as np

from rnnkit import datasets, set_random_seed
from rnnkit.layers import GRU, Dense
from rnnkit.losses import SparseCategoricalCrossentropy
from rnnkit.models import Sequential
from rnnkit.optimizers import Adam
from rnnkit.tools.threads import torch_threads


def main(smoke: bool = False) -> dict:
    with torch_threads(1):   # small models: see rnnkit.tools.threads
        set_random_seed(0)
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
        X = [((f - mean) / std).astype(np.float32) for f in frames]  # N arrays (L_i, 13)
        y = ds["labels"]
        model = Sequential([GRU(16 if smoke else 64, input_shape=(None, 13)),   # (B, H) at each
                            Dense(10)])                                         # one's last frame
        model.compile(optimizer=Adam(3e-3, global_clipnorm=1.0),
                      loss=SparseCategoricalCrossentropy(from_logits=True))
        hist = model.fit([X[i] for i in tr], y[tr], epochs=1 if smoke else 10, batch_size=32,
                         verbose=0)
        losses = hist.history["loss"]
        acc = float((model.predict([X[i] for i in te]).argmax(-1) == y[te]).mean())
        base = float((y[te] == np.bincount(y[tr]).argmax()).mean())
        print(f"spoken digits: {len(tr)} train / {len(te)} test utterances (test voices unseen); "
              f"training loss {losses[0]:.3f} -> {losses[-1]:.3f}")
        print(f"  GRU accuracy {acc:.3f}   majority class {base:.3f}")
        return {"accuracy": acc, "majority": base}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few steps only (tests)")
    main(smoke=p.parse_args().smoke or os.environ.get("RNNKIT_SMOKE") == "1")
