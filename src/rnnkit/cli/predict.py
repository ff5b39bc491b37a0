"""`rnnkit predict`: forecasts of a saved model on a CSV file, or past its end.

Without ``--future``: one row per window of the file, labelled with the time
column of the window's last input step (the forecast origin; the CSV line when
the model has no time column), then for each lead time k the actual value
(blank beyond the end of the data) and the prediction.

With ``--future N``: the N steps after the end of the data, step by step; with
a seed ensemble (``train --seeds K``) also the lowest and highest of the K
seeds' forecasts.  Output is CSV or JSON (``--format``).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys

from rnnkit.cli._common import add_task, positive_int
from rnnkit.cli import classify


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "predict", help="forecast with a saved model on a CSV file, or past its end",
        description="Read the model's columns from a CSV file, pre-process and window them "
                    "as in training, and write one forecast per window with the actual "
                    "values beside it (blank where unknown); or, with --future N, the N "
                    "steps after the end of the data.")
    add_task(p)
    p.add_argument("model", metavar="MODEL.rnnkit", help="a model from `rnnkit train`")
    p.add_argument("--data", metavar="FILE.csv", required=True, help="the input CSV file")
    p.add_argument("--nan", choices=("raise", "drop", "fill"), default=None,
                   help="rows with blank/NaN values: report them, drop, or fill (default: "
                        "the model's, as in training)")
    p.add_argument("--future", type=positive_int, metavar="N",
                   help="forecast N steps past the end of the data (directly up to the "
                        "model's horizon, then recursively)")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="default csv")
    p.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    classify.add_classify_args(p, "predict")
    return p


def run(args) -> int:
    if classify.wanted(args):
        return classify.predict(args)
    from rnnkit.cli._common import CliError, load_forecaster, read_csv_series
    from rnnkit.util.atomic import write_text

    if args.task != "forecast":
        raise CliError(f"--task {args.task} is not available in this build")
    fc = load_forecaster(args.model)
    feats, name = fc.meta["features"], fc.meta["target"]
    time_col = fc.meta.get("time")
    nan = args.nan or fc.meta.get("nan", "raise")
    sep = fc.meta.get("sep", ",")
    has_target = _has_column(args.data, name, sep)
    try:
        series = read_csv_series(args.data, name if has_target else feats[0], feats, nan, sep,
                                 time_col if time_col and _has_column(args.data, time_col, sep)
                                 else None)
    except CliError as e:
        raise CliError(f"{e} (the model reads {feats})") from None
    labels = (series.time if series.time is not None else series.lines).tolist()
    label = series.time_name or "line"
    if args.future:
        paths = fc.future(series.values, args.future)                  # (S, N)
        # the seed ensemble's mean is the forecast; its lowest and highest seed the interval
        rows = [{"after": str(labels[-1]), "step": k + 1, "prediction": float(paths[:, k].mean())}
                for k in range(args.future)]
        if len(paths) > 1:
            for k, r in enumerate(rows):
                r.update(low=float(paths[:, k].min()), high=float(paths[:, k].max()))
    else:
        pred = fc.forecast(series.values)                              # (N, K)
        W, K, T = fc.window, fc.horizon, len(series.values)
        rows = []
        for i, row in enumerate(pred):
            r = {label: str(labels[i + W - 1])}
            for k in range(K):
                t = i + W + k
                r[f"{name}_t+{k + 1}"] = (float(series.target[t]) if has_target and t < T
                                          else None)
                r[f"pred_t+{k + 1}"] = float(row[k])
            rows.append(r)
    text = _render(rows, args.format)
    if args.out:
        write_text(args.out, text)
        print(f"wrote {len(rows)} forecasts to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _has_column(path, col, sep) -> bool:
    from rnnkit.cli._common import _header

    return col in _header(path, sep)


def _cell(v) -> str:
    if v is None:
        return ""                                 # unknown: beyond the end of the data
    if isinstance(v, (str, int)):
        return str(v)
    return repr(float(v))


def _render(rows, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=1) + "\n"
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    keys = list(rows[0]) if rows else []
    out.writerow(keys)
    for r in rows:
        out.writerow([_cell(r[k]) for k in keys])
    return buf.getvalue()
