"""`rnnkit train`: fit a forecaster on a CSV/bundled series, or a character
language model on a text file (``--text``); save it as one ``.rnnkit`` file.

The model is a ``rnnkit.models.Sequential`` of ``rnnkit.layers`` (SimpleRNN /
LSTM / GRU, ``--layers`` of them stacked, then Dense), trained with
``Sequential.fit`` and saved with ``model.save``; the window, scalers, target
and feature columns (or the vocabulary) travel in the file's JSON metadata, so
``rnnkit.models.load_model(FILE)`` opens it from Python as well."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from rnnkit.cli._common import (DEFAULT_EPOCHS, CliError, add_data_args, add_quiet, add_task,
                                add_threads, load_series_args, positive_float, positive_int,
                                prepare, progress_bar, torch_threads)
from rnnkit.cli import classify


def add_parser(sub) -> argparse.ArgumentParser:
    from rnnkit.tools.names import CELLS, VARIANTS

    p = sub.add_parser(
        "train", help="train a forecaster (CSV / dataset) or a character language model (--text)",
        description="Train a recurrent forecaster on a CSV file or a bundled series, or a "
                    "character-level language model on a UTF-8 text file (--text), and save "
                    "it with everything needed to use it (window, scalers or vocabulary).",
        epilog="examples:\n  rnnkit train --data sales.csv --target sales --window 24 "
               "--cell gru --out sales.rnnkit\n  rnnkit train --text book.txt --epochs 3 "
               "--out book.rnnkit",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_task(p)
    add_data_args(p)
    p.add_argument("--text", metavar="FILE.txt",
                   help="train a character language model on this UTF-8 text instead")
    p.add_argument("--seq-len", type=positive_int, default=64,
                   help="characters per training sequence with --text (default 64)")
    p.add_argument("--max-chars", type=positive_int, default=200_000,
                   help="use at most this many characters of --text (default 200000)")
    m = p.add_argument_group("model and budget")
    m.add_argument("--cell", default="lstm", choices=list(CELLS) + list(VARIANTS),
                   help="recurrent cell (default lstm)")
    m.add_argument("--units", type=positive_int, default=None,
                   help="hidden units (default 32; 128 with --text)")
    m.add_argument("--layers", type=positive_int, default=1, help="stacked layers (default 1)")
    m.add_argument("--epochs", type=positive_int, default=None,
                   help=f"default {DEFAULT_EPOCHS}, as in `rnnkit compare` (3 with --text)")
    m.add_argument("--patience", type=positive_int, default=None, metavar="N",
                   help="stop after N epochs without a better validation loss (default: run "
                        "every epoch); the best validation epoch's weights are kept either way")
    m.add_argument("--batch-size", type=positive_int, default=32, help="default 32")
    m.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate (3e-3)")
    m.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    m.add_argument("--seeds", type=positive_int, default=1, metavar="K",
                   help="train K models, seeds SEED..SEED+K-1; the best on validation is the "
                        "model, all K are kept for `predict --future` intervals (default 1)")
    p.add_argument("--out", metavar="MODEL.rnnkit", default="model.rnnkit",
                   help="where to save the model (default model.rnnkit)")
    p.add_argument("--stream", action="store_true",
                   help="with --data: never load the whole CSV -- stream it in chunks into a "
                        "temporary memory-mapped file and read windows batch by batch (on by "
                        "itself for files over 512 MB)")
    p.add_argument("--nproc", type=positive_int, default=1, metavar="N",
                   help="train data-parallel in N processes on this machine (through "
                        "torch.distributed.run; --batch-size stays the global batch and must "
                        "divide by N; --threads is per process). Default 1")
    add_threads(p)
    add_quiet(p)
    classify.add_classify_args(p, "train")
    return p


def run(args) -> int:
    if args.task == "classify":
        return classify.train(args)
    from rnnkit.cli._common import CliError
    from rnnkit.distributed import read_env

    if args.nproc > 1 and args.text is not None:
        raise CliError("--nproc trains forecasters (--data/--dataset); the character language "
                       "model (--text) trains in one process")
    if args.nproc > 1 and read_env() is None:
        if args.batch_size % args.nproc:
            raise CliError(f"--batch-size {args.batch_size} is the global batch and must divide "
                           f"evenly among --nproc {args.nproc} processes")
        from rnnkit.distributed.launch import relaunch
        return relaunch(args.argv, args.nproc, args.threads)

    if args.text is not None:
        if args.data or args.dataset:
            raise CliError("--text trains a language model; don't combine it with --data/--dataset")
        if args.patience is not None:
            raise CliError("--patience stops forecaster training; a language model trains "
                           "for --epochs")
        from rnnkit.cli.generate import train_charlm
        with torch_threads(args.threads):
            return train_charlm(args)
    with torch_threads(args.threads):
        if args.data and (args.stream or _large(args.data)):
            return _train_streaming(args)
        return _train_forecaster(args)


STREAM_ABOVE = 512 * 2 ** 20  # bytes: a CSV this big is streamed even without --stream


def _large(path) -> bool:
    import os

    return os.path.isfile(path) and os.path.getsize(path) > STREAM_ABOVE


def _train_streaming(args) -> int:
    """--data big.csv: the CSV is never loaded whole (rnnkit.tools.stream_forecast)."""
    from rnnkit import set_random_seed
    from rnnkit.cli._common import CliError
    from rnnkit.distributed import is_writer
    from rnnkit.tools.fitting import fit_regressor
    from rnnkit.tools.forecaster import Forecaster
    from rnnkit.tools.stacks import build_regressor
    from rnnkit.tools.stream_forecast import stream_forecast, streamed_rmse

    if not args.target:
        raise CliError("--data needs --target COL (the column to predict)")
    if args.nan != "raise":
        raise CliError("--nan drop/fill needs the whole series; a streamed CSV must be clean "
                       "(it stops at the first missing value, naming its line)")
    args.epochs = args.epochs or 30
    window = args.window or 20
    features = list(args.features or [args.target])
    data = stream_forecast(args.data, args.target, features, window, args.horizon)
    try:
        writer = is_writer()
        args.quiet = args.quiet or not writer
        set_random_seed(args.seed)
        units = args.units or 32
        model = build_regressor(args.cell, (window, len(features)), units, args.layers,
                                args.horizon)
        val = data.parts.get("val")
        with progress_bar(args.epochs, f"train {args.cell}", args.quiet) as bar:
            hist = fit_regressor(model, data.parts["train"], None, val, None,
                                 epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                 patience=args.patience,
                                 on_epoch=lambda e, logs: bar.update(1))
        test, base = streamed_rmse(model, data, "test")
        if not writer:
            return 0
        fc = Forecaster(model, dict(data.meta))
        fc.meta.update(source=args.data, cell=args.cell, units=units, layers=args.layers,
                       test_rmse=test, persistence_rmse=base, best_epoch=hist["best_epoch"],
                       epochs=len(hist["loss"]), seed=args.seed, streamed=True)
        fc.save(args.out)
        print(f"trained {args.cell} ({model.count_params()} parameters) on {args.data} "
              f"({data.rows} rows, streamed): best validation epoch {hist['best_epoch']}/"
              f"{args.epochs}")
        print(f"test RMSE {test:.4f} (persistence baseline {base:.4f}) on "
              f"{len(data.parts['test'])} windows")
        print(f"saved {args.out}")
        return 0
    finally:
        data.close()


def _train_forecaster(args) -> int:
    from rnnkit import set_random_seed
    from rnnkit.tools.baselines import baseline_forecasts
    from rnnkit.tools.fitting import fit_regressor
    from rnnkit.tools.forecast import rmse
    from rnnkit.tools.forecaster import Forecaster, encode_weights
    from rnnkit.tools.stacks import build_regressor

    if args.task != "forecast":
        raise CliError(f"--task {args.task} is not available in this build")
    args.epochs = args.epochs or DEFAULT_EPOCHS
    s = load_series_args(args)
    data = prepare(s, args)
    from rnnkit.distributed import is_writer

    writer = is_writer()  # under --nproc / torchrun only rank 0 prints and saves
    args.quiet = args.quiet or not writer
    units = args.units or 32
    truth_val, truth = data.truth("val"), data.truth("test")
    runs = []                                   # (val RMSE, seed, model, history)
    with progress_bar(args.epochs * args.seeds, f"train {args.cell}", args.quiet) as bar:
        for seed in range(args.seed, args.seed + args.seeds):
            set_random_seed(seed)
            model = build_regressor(args.cell, (data.window, s.values.shape[1]), units,
                                    args.layers, args.horizon)
            hist = fit_regressor(model, data.X["train"], data.y["train"], data.X["val"],
                                 data.y["val"], epochs=args.epochs, batch_size=args.batch_size,
                                 lr=args.lr, patience=args.patience,
                                 on_epoch=lambda e, logs: bar.update(1))
            val = rmse(data.unscale(model.predict(data.X["val"], batch_size=256), "val"),
                       truth_val)
            runs.append((val, seed, model, hist))
    runs.sort(key=lambda r: r[0])               # the file's own model: the best on validation
    val, seed, model, hist = runs[0]
    base = baseline_forecasts(data)
    ar = next((k for k in base if k.startswith("AR(")), None)
    fc = Forecaster(model, data.meta())
    test = rmse(data.unscale(fc.predict_scaled(data.X["test"]), "test"), truth)
    base_val = {k: rmse(f.val, truth_val) for k, f in base.items()}
    base_test = {k: rmse(f.test, truth) for k, f in base.items()}
    ran = len(hist["loss"])
    fc.meta.update(
        source=s.source, cell=args.cell, units=units, layers=args.layers, seed=seed,
        seeds=args.seeds, nan=args.nan, sep=args.sep, time=s.time_name,
        choices=data.choice, val_rmse=val, test_rmse=test,
        persistence_rmse=base_test["persistence"],
        baselines_val=base_val, baselines_test=base_test, best_epoch=hist["best_epoch"],
        epochs=ran, train_mean=float(np.mean(data.target[:data.bounds[0]])),
        ar_coef=None if ar is None else base[ar].params["coef"],
        ensemble=[encode_weights(r[2].get_weights()) for r in runs[1:]])
    if not writer:
        return 0
    fc.save(args.out)
    stopped = f" (stopped early after {ran})" if ran < args.epochs else ""
    seeds = f"; best of {args.seeds} seeds (seed {seed})" if args.seeds > 1 else ""
    print(f"trained {args.cell} ({model.count_params()} parameters) on {fc.meta['source']}: "
          f"window {data.window}, pre-processing {data.norm.mode}{seeds}")
    print(f"best validation epoch {hist['best_epoch']}/{args.epochs}{stopped}; "
          f"validation RMSE {val:.4g}")
    print(f"test RMSE {test:.4g} on {len(data.X['test'])} windows (persistence "
          f"{base_test['persistence']:.4g}" + "".join(
              f", {k} {v:.4g}" for k, v in base_test.items() if k != "persistence") + ")")
    for name in ("persistence", "seasonal naive"):
        if name in base_val and val >= base_val[name]:
            print(f"warning: on the validation part the model (RMSE {val:.4g}) is no better "
                  f"than the {name} baseline ({base_val[name]:.4g}); try `rnnkit compare`, "
                  f"another --window or --preprocess, or use the baseline", file=sys.stderr)
    print(f"saved {args.out}")
    return 0

