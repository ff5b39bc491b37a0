"""`rnnkit info FILE`: the layers, parameter count and origin of a model file."""
from __future__ import annotations

import argparse
import json
import os


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "info", help="describe a model file (Keras .keras/.h5 or rnnkit)",
        description="Print a model file's layers, parameter count, origin (which program "
                    "wrote it) and compile settings. Reads JSON and HDF5/safetensors only: "
                    "nothing is executed.")
    p.add_argument("file", metavar="FILE", help="a .keras, .h5 or rnnkit model file")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    return p


def run(args) -> int:
    from rnnkit.cli._common import CliError
    from rnnkit.models import load_model
    from rnnkit.models.keras_files import describe, file_kind

    if not os.path.isfile(args.file):
        raise CliError(f"FILE {args.file!r} is not a file")
    import warnings
    with warnings.catch_warnings(record=True) as caught:  # shown as the compile line below
        warnings.simplefilter("always")
        model = load_model(args.file, compile=True)
    if file_kind(args.file) == "other":
        from rnnkit.training.state import read_state_file
        from rnnkit.models.saving import FORMAT, WHAT
        header, _ = read_state_file(args.file, FORMAT, WHAT)
        version = json.loads(header.get("meta", "{}")).get("rnnkit_version", "?")
        model.origin = f"rnnkit {version} model file"
    info = describe(model)
    refused = [str(w.message) for w in caught if "compile config" in str(w.message)]
    if refused:
        info["compile"] = {"refused": refused[0]}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['class']} model {info['name']!r} ({info['origin']})")
    width = max([len(n) + len(c) + 3 for n, c, _ in info["layers"]] + [20])
    for name, cls, n in info["layers"]:
        print(f"  {f'{name} ({cls})':<{width}} {n:>10,}")
    print(f"  {'total parameters':<{width}} {info['params']:>10,}")
    cc = info["compile"]
    if cc is None:
        print("  not compiled")
    elif "refused" in cc:
        print(f"  compile config not reproducible by rnnkit: {cc['refused']}")
    else:
        print(f"  compiled: optimizer {cc['optimizer']}, loss {cc['loss']}, "
              f"metrics {cc['metrics'] or 'none'}")
    return 0
