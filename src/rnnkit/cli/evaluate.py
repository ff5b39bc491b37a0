"""`rnnkit evaluate`: error metrics of a saved model on a CSV file."""
from __future__ import annotations

import argparse
import json

from rnnkit.cli import classify


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "evaluate", help="metrics of a saved model on a CSV file",
        description="Window the CSV as in training, forecast, and compare with the true "
                    "target values: RMSE, MAE, and the persistence baseline's RMSE.")
    p.add_argument("model", metavar="MODEL.rnnkit", help="a model from `rnnkit train`")
    p.add_argument("--data", metavar="FILE.csv", required=True,
                   help="a CSV with the model's feature and target columns")
    p.add_argument("--nan", choices=("raise", "drop", "fill"), default="raise",
                   help="rows with blank/NaN values: report them (default), drop, or fill")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    classify.add_classify_args(p, "evaluate")
    return p


def run(args) -> int:
    if classify.wanted(args):
        return classify.evaluate(args)
    from rnnkit.cli._common import load_forecaster, read_csv_series
    from rnnkit.data import scaler_from_dict
    from rnnkit.tools.forecast import mae, persistence_forecast, rmse

    fc = load_forecaster(args.model)
    series = read_csv_series(args.data, fc.meta["target"], fc.meta["features"], args.nan)
    X, truth, start = fc.windows_with_truth(series.values, series.target)
    pred = scaler_from_dict(fc.meta["scaler_y"]).inverse_transform(fc.predict_scaled(X))
    metrics = {"windows": int(len(X)), "rmse": rmse(pred, truth), "mae": mae(pred, truth),
               "persistence_rmse": rmse(persistence_forecast(series.target, start, fc.horizon),
                                        truth)}
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        for k, v in metrics.items():
            print(f"{k:<17} {v:.6g}" if isinstance(v, float) else f"{k:<17} {v}")
    return 0
