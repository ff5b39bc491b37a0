"""`rnnkit generate`: sample text from a character language model
(trained with ``rnnkit train --text FILE``; loaded with ``rnnkit.models.load_model``,
its vocabulary read from the file's metadata)."""
from __future__ import annotations

import argparse

from rnnkit.cli._common import positive_float, progress_bar


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "generate", help="sample text from a character language model",
        description="Sample characters from a model made by `rnnkit train --text FILE`.",
        epilog="example: rnnkit generate book.rnnkit --prime 'It is a truth' --length 300 "
               "--temperature 0.7")
    p.add_argument("model", metavar="MODEL.rnnkit", help="a character language model")
    p.add_argument("--prime", default="", help="text to start from (default: a newline)")
    p.add_argument("--length", type=int, default=200, help="characters to sample (default 200)")
    p.add_argument("--temperature", type=positive_float, default=0.8,
                   help="softmax temperature: lower = safer, higher = wilder (default 0.8)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return p


def run(args) -> int:
    from rnnkit.cli._common import CliError, existing_file
    from rnnkit.tools.charlm import load_charlm, sample

    if args.length < 0:
        raise CliError(f"--length: expected an integer >= 0, got {args.length}")
    model, vocab, _ = load_charlm(existing_file(args.model))
    unknown = sorted({c for c in args.prime if c not in vocab})
    if unknown:
        raise CliError(f"--prime: characters {unknown} never occur in the training text")
    print(sample(model, vocab, args.prime, args.length, args.temperature, args.seed))
    return 0


def train_charlm(args) -> int:
    """`rnnkit train --text FILE`: fit and save a character language model."""
    from rnnkit.data import load_text
    from rnnkit.tools.charlm import save_charlm
    from rnnkit.tools.charlm import train_charlm as fit

    text = load_text(args.text)[:args.max_chars]
    epochs = args.epochs or 3
    units = args.units or 128
    chunks = (int(len(text) * 0.9) - 1) // args.seq_len         # training sequences per epoch
    steps = max(1, -(-chunks // args.batch_size))
    with progress_bar(epochs * steps, "train charlm", args.quiet) as bar:
        bar.unit = "step"
        model, vocab, ppl = fit(text, args.cell, units, args.layers, epochs, args.seq_len,
                                args.batch_size, args.lr, seed=args.seed, on_step=lambda: bar.update(1))
    save_charlm(model, vocab, args.out, {"val_perplexity": ppl, "source": args.text,
                                         "cell": args.cell})
    print(f"trained a character {args.cell} ({model.count_params()} parameters, "
          f"{len(vocab)} symbols) on {len(text)} characters of {args.text}")
    print("validation perplexity by epoch: " + " -> ".join(f"{p:.2f}" for p in ppl))
    print(f"saved {args.out}")
    return 0
