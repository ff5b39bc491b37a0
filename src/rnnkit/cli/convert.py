"""`rnnkit convert IN OUT`: a Keras model file <-> an rnnkit model file."""
from __future__ import annotations

import argparse
import os


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "convert", help="convert a Keras .keras/.h5 model to an rnnkit file, or back",
        description="Read IN (a Keras 3 .keras file, a legacy Keras/tf.keras .h5 file, or an "
                    "rnnkit model file) and write OUT: a Keras 3 .keras file when OUT ends in "
                    ".keras, else an rnnkit model file (safetensors). Reading uses JSON and "
                    "HDF5 only: nothing in IN is executed or unpickled.")
    p.add_argument("input", metavar="IN", help="the model file to read")
    p.add_argument("output", metavar="OUT", help="the file to write (.keras: Keras 3's format)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    return p


def run(args) -> int:
    from rnnkit.cli._common import CliError
    from rnnkit.models import load_model

    if not os.path.isfile(args.input):
        raise CliError(f"IN {args.input!r} is not a file")
    if os.path.exists(args.output) and not args.overwrite:
        raise CliError(f"OUT {args.output!r} exists; pass --overwrite to replace it")
    if os.path.abspath(args.input) == os.path.abspath(args.output):
        raise CliError("IN and OUT are the same file")
    # compile=True: the compile config travels too (optimizer, loss, metrics); what the
    # other format can't hold is named in a warning on stderr, and the model still converts.
    model = load_model(args.input, compile=True)
    model.save(args.output, overwrite=True)
    kind = "Keras 3 .keras" if args.output.lower().endswith(".keras") else "rnnkit"
    compiled = "compiled" if getattr(model, "compiled", False) else "not compiled"
    print(f"wrote {args.output} ({kind} file): {type(model).__name__} {model.name!r}, "
          f"{len(model.layers)} layers, {model.count_params():,} parameters, {compiled}")
    return 0
