"""`rnnkit evaluate`: error of a saved model on a CSV file, beside the baselines.

By default only the held-out test part is scored: the file is cut with the
model's own split shares (the last 15% of the rows by default), and a window
counts when all its targets lie in that part -- as in training.  ``--all``
scores every window instead (training windows included: optimistic).
"""
from __future__ import annotations

import argparse
import json

from rnnkit.cli._common import add_task
from rnnkit.cli import classify


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "evaluate", help="metrics of a saved model on a CSV file, beside the baselines",
        description="Window the CSV as in training, forecast, and compare with the true "
                    "values on the held-out test part (the model's split; --all: every "
                    "window): RMSE and MAE of the model and of the persistence, seasonal "
                    "naive, mean and AR baselines.")
    add_task(p)
    p.add_argument("model", metavar="MODEL.rnnkit", help="a model from `rnnkit train`")
    p.add_argument("--data", metavar="FILE.csv", required=True,
                   help="a CSV with the model's feature and target columns")
    p.add_argument("--nan", choices=("raise", "drop", "fill"), default=None,
                   help="rows with blank/NaN values: report them, drop, or fill (default: "
                        "the model's, as in training)")
    p.add_argument("--all", action="store_true",
                   help="score every window, training ones included (default: the test part)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    classify.add_classify_args(p, "evaluate")
    return p


def run(args) -> int:
    if classify.wanted(args):
        return classify.evaluate(args)
    import numpy as np

    from rnnkit.cli._common import CliError, load_forecaster, read_csv_series
    from rnnkit.data import split_sizes
    from rnnkit.tools.forecast import (ar_forecast, mae, mean_forecast, persistence_forecast,
                                       rmse, seasonal_naive_forecast)

    if args.task != "forecast":
        raise CliError(f"--task {args.task} is not available in this build")
    fc = load_forecaster(args.model)
    series = read_csv_series(args.data, fc.meta["target"], fc.meta["features"],
                             args.nan or fc.meta.get("nan", "raise"), fc.meta.get("sep", ","))
    X, truth, start = fc.windows_with_truth(series.values, series.target)
    y, K = series.target, fc.horizon
    if not args.all:
        split = fc.meta.get("split", {"val": 0.15, "test": 0.15})
        n_tr, n_va, _ = split_sizes(len(y), split["val"], split["test"])
        keep = start >= n_tr + n_va
        if not keep.any():
            raise CliError(f"--data: its test part (the last {len(y) - n_tr - n_va} of "
                           f"{len(y)} rows) holds no whole window of {fc.window} + {K} steps; "
                           f"pass --all to score every window")
        X, truth, start = X[keep], truth[keep], start[keep]
    pred = fc.predict_windows(X, y[start - 1])
    models = {"model": pred, "persistence": persistence_forecast(y, start, K)}
    season = fc.meta.get("season")
    if season and (start - season >= 0).all():
        models["seasonal naive"] = seasonal_naive_forecast(y, start, K, int(season))
    if fc.meta.get("train_mean") is not None:
        models["mean"] = mean_forecast([fc.meta["train_mean"]], start, K)
    coef = fc.meta.get("ar_coef")
    if coef is not None and (start - (len(coef) - 1) >= 0).all():
        models[f"AR({len(coef) - 1})"] = ar_forecast(np.asarray(coef), y, start, K)
    part = "every window (training ones included)" if args.all else "the test part"
    metrics = {"part": "all" if args.all else "test", "windows": int(len(X)),
               "rmse": rmse(pred, truth), "mae": mae(pred, truth),
               "baselines": {k: {"rmse": rmse(v, truth), "mae": mae(v, truth)}
                             for k, v in models.items() if k != "model"}}
    metrics["persistence_rmse"] = metrics["baselines"]["persistence"]["rmse"]
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"{fc.meta.get('cell', 'model')} on {part} of {args.data}: {len(X)} windows")
    print(f"{'':<16}{'RMSE':>12}{'MAE':>12}")
    for k, v in sorted(models.items(), key=lambda kv: rmse(kv[1], truth)):
        print(f"{k:<16}{rmse(v, truth):>12.5g}{mae(v, truth):>12.5g}")
    return 0
