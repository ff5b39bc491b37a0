"""`rnnkit predict`: forecasts of a saved model for every window of a CSV file."""
from __future__ import annotations

import argparse
import io
import sys


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "predict", help="forecast with a saved model on a CSV file; CSV out",
        description="Read the model's feature columns from a CSV file, scale and window them as "
                    "in training, and write one forecast per window (the last window's "
                    "forecast goes beyond the end of the data). Output is CSV.")
    p.add_argument("model", metavar="MODEL.rnnkit", help="a model from `rnnkit train`")
    p.add_argument("--data", metavar="FILE.csv", required=True, help="the input CSV file")
    p.add_argument("--nan", choices=("raise", "drop", "fill"), default="raise",
                   help="rows with blank/NaN values: report them (default), drop, or fill")
    p.add_argument("--out", metavar="FILE.csv", help="write here (default: standard output)")
    return p


def run(args) -> int:
    from rnnkit.cli._common import load_forecaster, read_csv_series
    from rnnkit.util.atomic import write_text

    fc = load_forecaster(args.model)
    feats = fc.meta["features"]
    series = read_csv_series(args.data, feats[0], feats, args.nan)
    pred = fc.forecast(series.values)                       # (N, K)
    W, K = fc.window, fc.horizon
    buf = io.StringIO()
    name = fc.meta["target"]
    buf.write(",".join(["last_input_line"] + [f"{name}_t+{k + 1}" for k in range(K)]) + "\n")
    for i, row in enumerate(pred):
        buf.write(",".join([str(int(series.lines[i + W - 1]))] + [repr(float(v)) for v in row])
                  + "\n")
    if args.out:
        write_text(args.out, buf.getvalue())
        print(f"wrote {len(pred)} forecasts to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
    return 0
