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
from typing import Optional

from rnnkit.kernels.threads import between_fits, pinned

__all__ = ["CliError", "USER_ERRORS", "add_data_args", "add_quiet", "add_threads",
           "load_series_args", "load_forecaster", "progress_bar", "positive_int",
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


def add_data_args(p: argparse.ArgumentParser, window_default: Optional[int] = None) -> None:
    g = p.add_argument_group("data (a bundled dataset, or a CSV file)")
    g.add_argument("--dataset", metavar="NAME",
                   help="a bundled time series: sunspots, airline or ecg (see `rnnkit datasets`)")
    g.add_argument("--data", metavar="FILE.csv", help="a UTF-8 CSV file with a header row")
    g.add_argument("--target", metavar="COL", help="the CSV column to predict (with --data)")
    g.add_argument("--features", metavar="COL", nargs="+",
                   help="input columns (default: the target alone)")
    g.add_argument("--nan", choices=("raise", "drop", "fill"), default="raise",
                   help="rows with blank/NaN values: report them (default), drop them, or "
                        "fill them with the last valid value")
    g.add_argument("--window", type=positive_int, default=window_default, metavar="N",
                   help="input steps per sample (default: the dataset's, 20 for a CSV)")
    g.add_argument("--horizon", type=positive_int, default=1, metavar="K",
                   help="future steps predicted per sample (default 1)")


def load_series_args(args):
    """(values (T, F), target (T,), columns, target_name, window) from --dataset/--data."""
    from rnnkit.tools.forecast import load_series

    if (args.dataset is None) == (args.data is None):
        raise CliError("give exactly one of --dataset NAME or --data FILE.csv")
    if args.dataset is not None:
        if args.target or args.features:
            raise CliError("--target/--features go with --data FILE.csv, not --dataset")
        values, target, name, window = load_series(args.dataset)
        return values, target, [name], name, args.window or window
    if not args.target:
        raise CliError("--data needs --target COL (the column to predict)")
    series = read_csv_series(args.data, args.target, args.features, args.nan)
    return series.values, series.target, series.columns, args.target, args.window or 20


def read_csv_series(path, target, features, nan):
    from rnnkit.data import load_csv_series

    try:
        return load_csv_series(path, target=target, features=features, nan_policy=nan)
    except ValueError as e:
        # the library speaks Python; on the command line the option is --nan
        raise CliError(str(e).replace("pass nan_policy='drop' or 'fill'",
                                      "pass --nan drop or --nan fill")) from None


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
