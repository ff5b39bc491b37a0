"""``--task classify`` of `rnnkit compare`, `train`, `predict` and `evaluate`:
labelled sequences instead of one series.

Input: a long-format CSV (``--data FILE.csv --id COL --label COL [--time COL]
[--features A,B]``: one row per step, the label constant per id), or a file of
``label<TAB>text`` lines (``--data FILE.txt`` without ``--id``).

Each subcommand's own module adds these options with :func:`add_classify_args`
and hands over at the top of its ``run`` (``if args.task == "classify": ...``).
`predict` and `evaluate` also hand over when MODEL is a classifier, since the
model file says what it is; everything they need (columns, NaN policy, scaler,
vocabulary, classes) is stored in it by `train`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

from rnnkit.cli._common import CliError, existing_file, progress_bar, torch_threads

__all__ = ["add_classify_args", "wanted", "compare", "train", "predict", "evaluate"]

# library argument names -> the options a command-line user typed
_OPTION = {"path": "--data", "id": "--id", "label": "--label", "time": "--time",
           "features": "--features", "nan_policy": "--nan", "values": "--data"}


def _add_once(p, *flags, **kw) -> None:
    """Add an option unless the command already has it (the forecasting side may
    define --task, --time, --future, --format or --all itself)."""
    try:
        p.add_argument(*flags, **kw)
    except argparse.ArgumentError:
        pass


def add_classify_args(p: argparse.ArgumentParser, command: str) -> None:
    """``--task`` and the labelled-sequence options of ``command``; call it last in
    the subcommand's ``add_parser``."""
    _add_once(p, "--task", choices=("forecast", "classify"), default="forecast",
              help="forecast a series (default) or classify labelled sequences")
    if command in ("compare", "train"):
        g = p.add_argument_group("labelled sequences (with --task classify)")
        _add_once(g, "--id", metavar="COL",
                  help="long-format CSV: the column naming each row's sequence")
        _add_once(g, "--label", metavar="COL", help="the class column, constant per id")
        _add_once(g, "--time", metavar="COL",
                  help="the column ordering each sequence's rows (numbers or dates; "
                       "default: file order)")
        _add_once(g, "--level", choices=("word", "char"), default="word",
                  help="tokens of a label<TAB>text file (default word)")
    if command == "predict":
        _add_once(p, "--future", type=int, metavar="N",
                  help="forecast N steps past the end of the data (forecasters only)")
        _add_once(p, "--format", choices=("csv", "json"), default="csv",
                  help="output format (default csv)")
    if command == "evaluate":
        _add_once(p, "--all", action="store_true",
                  help="score every sequence, also those the model was trained on")


def _model_kind(path):
    """metadata["kind"] of an rnnkit model file, or None for anything else."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(os.fspath(path), framework="numpy") as f:
            meta = json.loads((f.metadata() or {}).get("meta", "{}"))
    except (OSError, ValueError, SafetensorError):
        return None
    return (meta.get("metadata") or {}).get("kind") if isinstance(meta, dict) else None


def wanted(args) -> bool:
    """True for ``--task classify``, or when MODEL (predict/evaluate) is a classifier."""
    from rnnkit.tools.classifier import KIND

    if getattr(args, "task", "forecast") == "classify":
        return True
    model = getattr(args, "model", None)
    return model is not None and os.path.isfile(model) and _model_kind(model) == KIND


def _cli_error(e: ValueError) -> CliError:
    """The library's "arg: message" with the option the user typed instead of ``arg``."""
    text = str(e)
    head, sep, rest = text.partition(": ")
    return CliError(f"{_OPTION[head]}: {rest}" if sep and head in _OPTION else text)


def _features(args):
    raw = getattr(args, "features", None)
    if not raw:
        return None
    items = [raw] if isinstance(raw, str) else list(raw)
    return [f.strip() for item in items for f in item.split(",") if f.strip()]


def _load(args, path, **kw):
    from rnnkit.tools.classify_data import load_labelled

    try:
        return load_labelled(existing_file(path, "data"), **kw)
    except ValueError as e:
        raise _cli_error(e) from None


def _prepare(args):
    """(Labelled, ClassifyData) from --data and the column options."""
    from rnnkit.tools.classify_data import prepare_classification

    if getattr(args, "dataset", None):
        raise CliError("--dataset names a bundled series; with --task classify give "
                       "--data FILE (a long-format CSV or label<TAB>text lines)")
    if not getattr(args, "data", None):
        raise CliError("--task classify needs --data FILE: a long-format CSV with --id and "
                       "--label, or a file of label<TAB>text lines")
    if getattr(args, "target", None):
        raise CliError("--target is for forecasting; with --task classify give --label COL")
    if getattr(args, "text", None):
        raise CliError("--text trains a language model; with --task classify give --data")
    nan = getattr(args, "nan", None) or "raise"
    labelled = _load(args, args.data, id=args.id, label=args.label, time=args.time,
                     features=_features(args), nan_policy=nan)
    columns = {"id": args.id, "time": args.time, "label": args.label}
    try:
        data = prepare_classification(labelled, columns=columns, nan_policy=nan,
                                      level=args.level)
    except ValueError as e:
        raise _cli_error(e) from None
    return labelled, data


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _cells(args):
    from rnnkit.tools.names import VARIANTS, parse_variant

    cells = list(dict.fromkeys(c.strip().lower() for c in args.cells))
    for c in cells:
        parse_variant(c)
    if args.variants:
        cells += [v for v in VARIANTS if v not in cells]
    return cells


def compare(args) -> int:
    """`rnnkit compare --task classify`."""
    from rnnkit.tools.classify import run_classification
    from rnnkit.tools.classify_data import describe

    cells = _cells(args)
    _, data = _prepare(args)
    if not args.quiet:
        print(f"comparing {', '.join(cells)} on {args.data}: {describe(data)}; "
              f"{args.seeds} seed(s) x {args.epochs} epochs each")
    total = len(cells) * args.seeds * args.epochs
    with progress_bar(total, "compare", args.quiet) as bar, torch_threads(args.threads):
        cmp = run_classification(data, cells, seeds=args.seeds, epochs=args.epochs,
                                 units=args.units, layers=args.layers,
                                 batch_size=args.batch_size, lr=args.lr, progress=bar.update)
    print(cmp.table())
    print(f"\n{cmp.headline}")
    for reason in cmp.reasons:
        print(f"  - {reason}")
    cols = " ".join(f"--{k} {v}" for k, v in (("id", args.id), ("label", args.label),
                                               ("time", args.time)) if v)
    print(f"\nto train the recommended cell: rnnkit train --task classify --data {args.data} "
          f"{cols + ' ' if cols else ''}--cell {cmp.recommendation} --units {args.units} "
          f"--layers {args.layers} --epochs {args.epochs} --out model.rnnkit")
    if args.out:
        from rnnkit.tools.classify_report import write_classify_report

        paths = write_classify_report(cmp, args.out, title=f"RNN vs LSTM vs GRU on {args.data}")
        print(f"\nreport: {paths['report.html']}")
    return 0


def train(args) -> int:
    """`rnnkit train --task classify`: fit one cell and save it with its pre-processing."""
    from rnnkit import set_random_seed
    from rnnkit.cli.compare import DEFAULTS
    from rnnkit.tools.classifier import Classifier, build_classifier, fit_classifier, softmax
    from rnnkit.tools.classify_baselines import fit_logistic, majority_class
    from rnnkit.tools.classify_metrics import accuracy, macro_f1

    epochs = args.epochs or DEFAULTS["epochs"]
    units = args.units or DEFAULTS["units"]
    _, data = _prepare(args)
    with torch_threads(args.threads):
        set_random_seed(args.seed)
        model = build_classifier(args.cell, data.prep, units, args.layers)
        with progress_bar(epochs, f"train {args.cell}", args.quiet) as bar:
            hist = fit_classifier(model, data, epochs=epochs, batch_size=args.batch_size,
                                  lr=args.lr, patience=args.patience,
                                  on_epoch=lambda e, logs: bar.update(1))
        pred = {k: softmax(model.predict(data.X[k], batch_size=256)).argmax(1)
                for k in ("val", "test")}
        logreg = fit_logistic(data.summary, data.y, data.n_classes)
    major = majority_class(data.y["train"])
    y = data.y
    scores = {"val_accuracy": accuracy(y["val"], pred["val"]),
              "test_accuracy": accuracy(y["test"], pred["test"]),
              "test_macro_f1": macro_f1(y["test"], pred["test"]),
              "majority_test_accuracy": accuracy(y["test"], [major] * len(y["test"])),
              "logreg_test_accuracy": accuracy(y["test"],
                                               logreg.predict(data.summary["test"]))}
    ran = len(hist["loss"])
    meta = {"task": "classify", "prep": data.prep.to_dict(), "cell": args.cell, "units": units,
            "layers": args.layers, "seed": args.seed, "epochs": ran,
            "best_epoch": hist["best_epoch"], "majority_class": data.prep.classes[major],
            "source": os.path.basename(args.data), "source_sha256": _sha256(args.data),
            "test_ids": data.ids["test"], **scores}
    Classifier(model, meta).save(args.out)
    stopped = f" (stopped early after {ran})" if ran < epochs else ""
    print(f"trained {args.cell} ({model.count_params()} parameters) on {args.data}: best "
          f"validation epoch {hist['best_epoch']}/{epochs}{stopped}, validation accuracy "
          f"{scores['val_accuracy']:.3f}")
    print(f"test accuracy {scores['test_accuracy']:.3f}, macro-F1 {scores['test_macro_f1']:.3f} "
          f"on {len(y['test'])} held-out sequences (majority class "
          f"{scores['majority_test_accuracy']:.3f}, logistic regression on summary features "
          f"{scores['logreg_test_accuracy']:.3f})")
    # the saved model is kept either way (exit status 0), but not silently
    val_base = {f"always answering {data.prep.classes[major]!r}":
                accuracy(y["val"], [major] * len(y["val"])),
                "the logistic regression on summary features":
                accuracy(y["val"], logreg.predict(data.summary["val"]))}
    for what, acc in val_base.items():
        if scores["val_accuracy"] <= acc:
            print(f"warning: on validation the model ({scores['val_accuracy']:.3f}) is no "
                  f"better than {what} ({acc:.3f}); try more --epochs, another --cell or "
                  f"`rnnkit compare --task classify`", file=sys.stderr)
    print(f"saved {args.out}")
    return 0


def predict(args) -> int:
    """`rnnkit predict` with a classifier (:mod:`rnnkit.cli.classify_use`)."""
    from rnnkit.cli.classify_use import predict_sequences

    return predict_sequences(args)


def evaluate(args) -> int:
    """`rnnkit evaluate` with a classifier (:mod:`rnnkit.cli.classify_use`)."""
    from rnnkit.cli.classify_use import evaluate_sequences

    return evaluate_sequences(args)
