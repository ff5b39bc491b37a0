"""A character-level LSTM language model on Pride and Prejudice: validation
perplexity falls epoch by epoch, then it writes some Austen-flavoured text.

    python examples/char_language_model.py [--smoke]

The first 100 000 characters, 3 epochs of chunks of 64 characters; the
validation text is the *end* of that excerpt.  A uniform guess over the ~75
symbols has perplexity ~75.  About 5 s on a 2-core CPU; ``--smoke`` (or
RNNKIT_SMOKE=1) trains a few steps on 20 000 characters.
"""
import argparse
import os

from rnnkit import datasets
from rnnkit.tools.charlm import sample, train_charlm
from rnnkit.tools.threads import torch_threads


def main(smoke: bool = False) -> dict:
    with torch_threads(1):   # small models: see rnnkit.tools.threads
        text = datasets.load("pride_and_prejudice")["text"][:20_000 if smoke else 100_000]
        model, vocab, ppl = train_charlm(text, "lstm", units=32 if smoke else 128,
                                         epochs=1 if smoke else 3,
                                         steps_per_epoch=5 if smoke else None, seed=0)
        print(f"{len(vocab)} symbols; validation perplexity by epoch: "
              + " -> ".join(f"{p:.2f}" for p in ppl))
        out = sample(model, vocab, "It is a truth universally", 200, temperature=0.7, seed=0)
        print("sample (temperature 0.7):\n" + out)
        return {"perplexity": ppl, "sample": out}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="a few steps only (tests)")
    main(smoke=p.parse_args().smoke or os.environ.get("RNNKIT_SMOKE") == "1")
