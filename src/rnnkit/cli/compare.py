"""`rnnkit compare`: RNN vs LSTM vs GRU on the same data, splits, budget and seeds.

Prints a table (test RMSE ± std, parameters, seconds per epoch, gradient flow) and
a recommendation with its reasons; with ``--out DIR`` also writes DIR/report.html
with learning curves, predictions and gradient-norm plots.
"""
from __future__ import annotations

import argparse

from rnnkit.cli._common import (add_data_args, add_quiet, add_threads, load_series_args,
                                positive_float, positive_int, progress_bar, torch_threads)

# The default budget keeps `rnnkit compare --dataset sunspots` (the `make demo`
# run) well under a minute on a 2-core CPU (about 17 s with the default --threads 1).
DEFAULTS = {"epochs": 80, "seeds": 3, "units": 32}


def add_parser(sub) -> argparse.ArgumentParser:
    from rnnkit.tools.names import CELLS, VARIANTS

    p = sub.add_parser(
        "compare", help="train RNN, LSTM and GRU on the same data and recommend one",
        description="Train RNN, LSTM and GRU (optionally their LayerNorm/peephole variants) "
                    "on the same data, splits, budget and seeds; print a table and a "
                    "recommendation; with --out write an HTML report.",
        epilog="example: rnnkit compare --dataset sunspots --out report/")
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
    return p


def run(args) -> int:
    from rnnkit.tools.compare import run_comparison
    from rnnkit.tools.forecast import prepare_forecast
    from rnnkit.tools.names import VARIANTS, parse_variant

    cells = list(dict.fromkeys(c.strip().lower() for c in args.cells))
    for c in cells:
        parse_variant(c)
    if args.variants:
        cells += [v for v in VARIANTS if v not in cells]
    values, target, columns, name, window = load_series_args(args)
    data = prepare_forecast(values, target, window, args.horizon, columns=columns,
                            target_name=name)
    total = len(cells) * args.seeds * args.epochs
    src = args.dataset or args.data
    if not args.quiet:
        print(f"comparing {', '.join(cells)} on {src} ({name}): {len(data.X['train'])} train / "
              f"{len(data.X['val'])} val / {len(data.X['test'])} test windows of {window} steps; "
              f"{args.seeds} seed(s) x {args.epochs} epochs each")
    with progress_bar(total, "compare", args.quiet) as bar, torch_threads(args.threads):
        cmp = run_comparison(data, cells, seeds=args.seeds, epochs=args.epochs, units=args.units,
                             layers=args.layers, batch_size=args.batch_size, lr=args.lr,
                             progress=bar.update)
    print(cmp.table())
    print(f"\nrecommendation: {cmp.recommendation}")
    for reason in cmp.reasons:
        print(f"  - {reason}")
    if args.out:
        from rnnkit.tools.report import write_report

        paths = write_report(cmp, args.out, title=f"RNN vs LSTM vs GRU on {src}")
        print(f"\nreport: {paths['report.html']}")
    return 0
