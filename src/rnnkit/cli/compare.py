"""`rnnkit compare`: RNN vs LSTM vs GRU on the same data, splits, budget and seeds.

Prints a headline (the best model on the test part, baselines included, with a
Diebold-Mariano test), a table (test and validation RMSE, parameters, seconds per
epoch, gradient flow), the recommendation from the validation part with its
reasons, and the `rnnkit train` command that reproduces it; with ``--out DIR``
also writes DIR/report.html with its plots and results.json.
"""
from __future__ import annotations

import argparse

from rnnkit.cli._common import (DEFAULT_EPOCHS, add_data_args, add_quiet, add_task,
                                add_threads, load_series_args, positive_float, positive_int,
                                prepare, progress_bar, torch_threads)

# The default budget keeps `rnnkit compare --dataset sunspots` (the `make demo`
# run) well under a minute on a 2-core CPU (about 17 s with the default --threads 1).
DEFAULTS = {"epochs": DEFAULT_EPOCHS, "seeds": 3, "units": 32}
from rnnkit.cli import classify


def add_parser(sub) -> argparse.ArgumentParser:
    from rnnkit.tools.names import CELLS, VARIANTS

    p = sub.add_parser(
        "compare", help="train RNN, LSTM and GRU on the same data and recommend one",
        description="Train RNN, LSTM and GRU (optionally their LayerNorm/peephole variants) "
                    "on the same data, splits, budget and seeds; print a table and a "
                    "recommendation; with --out write an HTML report.",
        epilog="example: rnnkit compare --dataset sunspots --out report/")
    add_task(p)
    add_data_args(p)
    g = p.add_argument_group("budget")
    g.add_argument("--epochs", type=positive_int, default=DEFAULTS["epochs"],
                   help=f"epochs per run (default {DEFAULTS['epochs']})")
    g.add_argument("--seeds", type=positive_int, default=DEFAULTS["seeds"],
                   help=f"runs per cell, seeds 0..N-1 (default {DEFAULTS['seeds']})")
    g.add_argument("--units", type=positive_int, default=DEFAULTS["units"],
                   help=f"hidden units (default {DEFAULTS['units']})")
    g.add_argument("--layers", type=positive_int, default=1, help="stacked layers (default 1)")
    g.add_argument("--batch-size", type=positive_int, default=32, help="default 32")
    g.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate (3e-3)")
    p.add_argument("--cells", nargs="+", default=list(CELLS), metavar="CELL",
                   help=f"cells to compare (default: {' '.join(CELLS)}); variants: "
                        f"{', '.join(VARIANTS)}")
    p.add_argument("--variants", action="store_true",
                   help=f"also train {', '.join(VARIANTS)} (the native CPU kernel runs these too)")
    p.add_argument("--out", metavar="DIR", help="write report.html and plots into DIR")
    add_threads(p)
    add_quiet(p)
    classify.add_classify_args(p, "compare")
    return p


def run(args) -> int:
    if args.task == "classify":
        return classify.compare(args)
    from rnnkit.cli._common import CliError
    from rnnkit.tools.compare import run_comparison
    from rnnkit.tools.names import VARIANTS, parse_variant

    if args.task != "forecast":
        raise CliError(f"--task {args.task} is not available in this build")
    cells = list(dict.fromkeys(c.strip().lower() for c in args.cells))
    for c in cells:
        parse_variant(c)
    if args.variants:
        cells += [v for v in VARIANTS if v not in cells]
    s = load_series_args(args)
    data = prepare(s, args)
    total = len(cells) * args.seeds * args.epochs
    if not args.quiet:
        print(f"comparing {', '.join(cells)} on {s.source} ({s.target_name}): "
              f"{len(data.X['train'])} train / {len(data.X['val'])} val / "
              f"{len(data.X['test'])} test windows of {data.window} steps; "
              f"{args.seeds} seed(s) x {args.epochs} epochs each")
    with progress_bar(total, "compare", args.quiet) as bar, torch_threads(args.threads):
        cmp = run_comparison(data, cells, seeds=args.seeds, epochs=args.epochs, units=args.units,
                             layers=args.layers, batch_size=args.batch_size, lr=args.lr,
                             progress=bar.update)
    print(cmp.headline)
    for line in cmp.versus:
        print(f"  - {line}")
    print("\nset-up (from the training part):")
    for k, v in data.choice.items():
        print(f"  - {k}: {v}")
    print()
    print(cmp.table())
    print(f"\nrecommendation (validation part): {cmp.recommendation}")
    for reason in cmp.reasons:
        print(f"  - {reason}")
    print(f"\ngradient flow: {cmp.gradient_text}")
    print(f"\nto train the recommended model:\n  {train_command(args, cmp)}")
    if args.out:
        from rnnkit.tools.report import write_report

        paths = write_report(cmp, args.out, title=f"RNN vs LSTM vs GRU on {s.source}")
        print(f"\nreport: {paths['report.html']}")
    return 0


def train_command(args, cmp) -> str:
    """The `rnnkit train` line that reproduces the recommended model's set-up."""
    import shlex

    d = cmp.data
    argv = ["rnnkit", "train"]
    if args.dataset:
        argv += ["--dataset", args.dataset]
    else:
        argv += ["--data", args.data, "--target", d.target_name]
        if d.columns != [d.target_name]:
            argv += ["--features", *d.columns]
        if d.time_name:
            argv += ["--time", d.time_name]
        if args.sep != ",":
            argv += ["--sep", args.sep]
        if args.nan != "raise":
            argv += ["--nan", args.nan]
    st = cmp.settings
    argv += ["--cell", cmp.recommendation, "--window", str(d.window), "--horizon",
             str(d.horizon), "--preprocess", d.norm.mode, "--epochs", str(st["epochs"]),
             "--units", str(st["units"]), "--layers", str(st["layers"]), "--batch-size",
             str(st["batch_size"]), "--lr", str(st["lr"]), "--seeds", str(st["seeds"]),
             "--out", f"{cmp.recommendation}.rnnkit"]
    return " ".join(shlex.quote(a) for a in argv)
