"""What the subcommands share: error reporting, data arguments, progress bars.

Errors a user can fix (missing file, bad column, window too long, ...) are raised
as ``CliError`` or ValueError/OSError by the library; ``main`` prints them as
``rnnkit CMD: error: MESSAGE`` and exits with status 2, as argparse does for a
bad flag -- no traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from rnnkit.kernels.threads import between_fits, pinned

__all__ = ["CliError", "USER_ERRORS", "TASKS", "add_task", "add_data_args", "add_quiet",
           "add_threads", "SeriesInput", "load_series_args", "cli_message", "prepare",
           "load_forecaster", "progress_bar", "positive_int",
           "positive_float", "torch_threads"]


class CliError(Exception):
    """A problem with the user's input; printed without a traceback, exit status 2."""


# exceptions that mean "fix your input", not "rnnkit has a bug"
USER_ERRORS = (CliError, ValueError, OSError, FloatingPointError, UnicodeDecodeError)


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return v


def add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="torch CPU threads for the whole command (default: rnnkit's thread "
                        "policy inside training and prediction, chosen from the model's size "
                        "and the load other processes put on the CPUs, and 1 elsewhere; see "
                        "docs/threads.md)")


def torch_threads(n: Optional[int]):
    """The CLI's thread setting for a command: ``--threads N`` pins N for everything;
    without it, the thread policy runs inside fit / evaluate / predict and one thread
    elsewhere (rnnkit.kernels.threads)."""
    return between_fits(1) if n is None else pinned(n)


TASKS = ("forecast", "classify")
DEFAULT_EPOCHS = 80   # `compare` and `train` alike, so that train reproduces compare's runs


def add_task(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=TASKS, default="forecast",
                   help="forecast one series (default) or classify labelled sequences")


def add_data_args(p: argparse.ArgumentParser, window_default: Optional[int] = None) -> None:
    g = p.add_argument_group("data (a bundled dataset, or a CSV file)")
    g.add_argument("--dataset", metavar="NAME",
                   help="a bundled time series: sunspots, airline or ecg (see `rnnkit datasets`)")
    g.add_argument("--data", metavar="FILE.csv", help="a UTF-8 CSV file with a header row")
    g.add_argument("--target", metavar="COL",
                   help="the CSV column to predict (may be omitted when the file has one "
                        "numeric column)")
    g.add_argument("--features", metavar="COL", nargs="+",
                   help="input columns (default: the target alone)")
    g.add_argument("--time", metavar="COL",
                   help="the column of dates or indices that labels the rows (default: the "
                        "first column, when it is not the target or a feature); used in plots "
                        "and in predict's output")
    g.add_argument("--sep", default=",", metavar="CHAR",
                   help="field separator of the CSV file (default ','; e.g. ';')")
    g.add_argument("--nan", choices=("raise", "drop", "fill"), default="raise",
                   help="rows with blank/NaN values: report them (default), drop them, or "
                        "fill them with the last valid value")
    g.add_argument("--window", type=positive_int, default=window_default, metavar="N",
                   help="input steps per sample (default: the dataset's; for a CSV one "
                        "season found by autocorrelation on the training part, 20 without "
                        "one, between 8 and 200)")
    g.add_argument("--horizon", type=positive_int, default=1, metavar="K",
                   help="future steps predicted per sample, directly (default 1)")
    g.add_argument("--preprocess", choices=("auto", "level", "diff"), default="auto",
                   help="feed the network standardised levels, or changes from each window's "
                        "last value (diff); auto (default) chooses with a Dickey-Fuller test "
                        "on the training part")


@dataclass
class SeriesInput:
    values: np.ndarray              # (T, F)
    target: np.ndarray              # (T,)
    columns: List[str]
    target_name: str
    window: Optional[int]           # None: choose from the data
    time: Optional[np.ndarray]      # (T,) labels, or None
    time_name: Optional[str]
    source: str


def load_series_args(args) -> SeriesInput:
    """The series named by --dataset or --data/--target/--features/--time/--sep/--nan."""
    from rnnkit.tools.forecast import load_series, series_time

    if (args.dataset is None) == (args.data is None):
        raise CliError("give exactly one of --dataset NAME or --data FILE.csv")
    if args.dataset is not None:
        if args.target or args.features or args.time:
            raise CliError("--target/--features/--time go with --data FILE.csv, not --dataset")
        values, target, name, window = load_series(args.dataset)
        time, time_name = series_time(args.dataset)
        return SeriesInput(values, target, [name], name, args.window or window, time, time_name,
                           args.dataset)
    target = args.target or _only_numeric_column(args.data, args.sep)
    time = args.time or _default_time_column(args.data, args.sep, target, args.features)
    series = read_csv_series(args.data, target, args.features, args.nan, args.sep, time)
    if series.time is not None:
        check_time_order(series.time, series.lines, time, explicit=bool(args.time))
    return SeriesInput(series.values, series.target, series.columns, target, args.window,
                       series.time, series.time_name, args.data)


def check_time_order(labels, lines, name: str, explicit: bool) -> None:
    """The rows of a series must be in strictly increasing time order: a forecaster reads
    them in file order.  An explicit --time column must be numbers or dates."""
    from rnnkit.data.csv_loader import parse_time

    t = parse_time(labels)
    if t is None:
        if explicit:
            raise CliError(f"--time: column {name!r} holds neither numbers nor dates (e.g. "
                           f"{str(labels[0])!r}), so the rows cannot be checked to be in "
                           f"time order")
        return                                   # the guessed first column: labels only
    bad = np.flatnonzero(~(t[1:] > t[:-1]))
    if len(bad):
        i = int(bad[0])
        what = "repeats" if t[i + 1] == t[i] else "comes before"
        raise CliError(f"--time: the rows must be in increasing time order, but {name!r} on "
                       f"line {int(lines[i + 1])} ({labels[i + 1]}) {what} line "
                       f"{int(lines[i])} ({labels[i]}); sort the file by {name!r} first")


def _header(path, sep):
    from rnnkit.data.csv_loader import _read_frame

    try:
        return [str(c) for c in _read_frame(existing_file(path, "data"), sep).columns]
    except ValueError as e:
        raise CliError(cli_message(str(e))) from None


def _only_numeric_column(path, sep) -> str:
    from rnnkit.data import numeric_columns

    header = _header(path, sep)
    cols = numeric_columns(path, sep)
    if len(cols) == 1:
        return cols[0]
    hint = ""
    if len(header) == 1 and sep != ";" and ";" in header[0]:
        hint = "; the header looks separated by ';': pass --sep ';'"
    raise CliError(f"--data has {len(cols)} numeric columns {cols}; pass --target COL to name "
                   f"the one to predict{hint}")


def _default_time_column(path, sep, target, features) -> Optional[str]:
    header = _header(path, sep)
    used = {target, *(features or [])}
    return header[0] if len(header) > 1 and header[0] not in used else None


def cli_message(text: str) -> str:
    """A library message in the command line's words: option names, not argument names."""
    for lib, cli in (("pass nan_policy='drop' or 'fill'", "pass --nan drop or --nan fill"),
                     ("nan_policy='drop'", "--nan drop"), ("pass sep=", "pass --sep "),
                     ("path: ", ""), ("target: ", "--target: "), ("features: ", "--features: "),
                     ("time: ", "--time: "), ("preprocess: ", "--preprocess: ")):
        text = text.replace(lib, cli)
    for arg in ("window", "horizon"):               # the library's "window: ..." messages
        if text.startswith(f"{arg}: "):
            text = f"--{text}"
    return text


def prepare(s: "SeriesInput", args):
    """``prepare_forecast`` for the command line: its errors in the options' words."""
    from rnnkit.tools.forecast import prepare_forecast

    try:
        return prepare_forecast(s.values, s.target, s.window, args.horizon, columns=s.columns,
                                target_name=s.target_name, preprocess=args.preprocess,
                                time=s.time, time_name=s.time_name)
    except ValueError as e:
        raise CliError(cli_message(str(e))) from None


def read_csv_series(path, target, features, nan, sep=",", time=None):
    from rnnkit.data import load_csv_series

    try:
        return load_csv_series(path, target=target, features=features, nan_policy=nan, sep=sep,
                               time=time)
    except ValueError as e:
        # the library speaks Python; on the command line the options are --nan, --sep ...
        raise CliError(cli_message(str(e))) from None


def existing_file(path, what: str = "model") -> str:
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise CliError(f"{what} file not found: {p!r}" if not os.path.exists(p) else
                       f"{what}: expected a file, got the directory {p!r}")
    return p


def load_forecaster(path):
    """The Forecaster saved in ``path`` by `rnnkit train` (rnnkit.models.load_model +
    its metadata); any other file is a user error (exit status 2)."""
    from rnnkit.tools.forecaster import Forecaster

    return Forecaster.load(existing_file(path))


def progress_bar(total: int, desc: str, quiet: bool):
    """A tqdm bar on stderr (silent with --quiet)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=quiet, file=sys.stderr, leave=False,
                unit="epoch", dynamic_ncols=True)
