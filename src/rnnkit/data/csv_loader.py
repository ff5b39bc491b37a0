"""Load numeric columns of a CSV file as a time series, with errors a user can act on.

Every failure is a ValueError (or FileNotFoundError carrying the path) that names the
problem: missing column, non-numeric value (with its line), empty file, NaN rows (with
their 1-based line numbers in the file, the header being line 1).  pandas is needed
(extra ``rnnkit[data]``) and imported only when a CSV is read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from rnnkit.data._checks import check_choice

__all__ = ["CsvSeries", "load_csv_series", "numeric_columns", "parse_time"]


@dataclass(frozen=True)
class CsvSeries:
    """``values`` (T, F) float64 holds the feature columns, in ``columns`` order;
    ``target`` (T,) float64 the target column (named ``target_name``);
    ``lines`` (T,) the 1-based file line of each kept row; ``time`` (T,) the
    cells of the time column as written in the file (None without one)."""

    values: np.ndarray
    columns: List[str]
    target: np.ndarray
    target_name: str
    lines: np.ndarray
    time: Optional[np.ndarray] = None
    time_name: Optional[str] = None


def _read_frame(path, sep: str = ","):
    import pandas as pd

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or os.PathLike, got {type(path).__name__} {path!r}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: CSV file not found: {os.fspath(path)!r}")
    if os.path.isdir(path):
        raise ValueError(f"path: expected a CSV file, got a directory {os.fspath(path)!r}")
    try:
        # dtype=str keeps every cell verbatim, so we decide what is numeric ourselves;
        # skip_blank_lines=False keeps row i on file line i + 2 (header = line 1).
        return pd.read_csv(path, dtype=str, skip_blank_lines=False, keep_default_na=False,
                           encoding="utf-8", sep=sep)
    except pd.errors.EmptyDataError:
        raise ValueError(f"path: CSV file {os.fspath(path)!r} is empty (no header, no rows)") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"path: CSV file {os.fspath(path)!r} is not valid UTF-8 "
                         f"(byte {e.start}: {e.reason})") from None
    except pd.errors.ParserError as e:
        raise ValueError(f"path: could not parse CSV file {os.fspath(path)!r}: {e}") from None


def _to_float(frame, name: str, path) -> np.ndarray:
    """Column -> float64 with NaN for blank / NA cells; ValueError on anything else."""
    cells = frame[name].tolist()
    out = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        text = "" if cell is None else str(cell).strip()
        if text.lower() in ("", "nan", "na", "n/a", "null", "none"):
            out[i] = np.nan
            continue
        try:
            out[i] = float(text)
        except ValueError:
            raise ValueError(f"column {name!r} of {os.fspath(path)!r}: expected numbers, got "
                             f"{text!r} on line {i + 2}") from None
    return out


def _numeric(frame, name: str) -> bool:
    texts = [str(c).strip() for c in frame[name].tolist()]
    seen = False
    for t in texts:
        if t.lower() in ("", "nan", "na", "n/a", "null", "none"):
            continue
        try:
            float(t)
        except ValueError:
            return False
        seen = True
    return seen


def numeric_columns(path, sep: str = ",") -> List[str]:
    """Names of the columns of a CSV file whose every non-blank cell is a number."""
    frame = _read_frame(path, sep)
    return [str(c) for c in frame.columns if _numeric(frame, c)]


def _sep_hint(header, sep: str) -> str:
    for other in (";", "\t", "|"):
        if other != sep and len(header) == 1 and other in header[0]:
            shown = "\\t" if other == "\t" else other
            return f" (the header looks separated by {shown!r}; pass sep={shown!r})"
    return ""


def load_csv_series(path, target: str, features: Optional[Sequence[str]] = None,
                    nan_policy: str = "raise", sep: str = ",",
                    time: Optional[str] = None) -> CsvSeries:
    """Read ``target`` (and ``features``) from a CSV file as float64 arrays.

    Parameters
    ----------
    path : str or PathLike, a UTF-8 CSV file with a header row.
    target : name of the column to predict.
    features : input column names (default ``[target]``).
    nan_policy : what to do with rows where a used column is blank/NaN:
        ``'raise'`` (ValueError listing their line numbers), ``'drop'`` (remove the
        rows), ``'fill'`` (carry the last valid value forward; leading gaps take the
        first valid value; a column with no value at all still raises).
    sep : the field separator (default ``","``).
    time : the column that labels the steps (dates or an index), kept verbatim;
        ``None``: none.  Rows must be in time order already; it is not parsed.

    Returns
    -------
    CsvSeries with values (T, F), target (T,), lines (T,).
    """
    check_choice("nan_policy", nan_policy, ("raise", "drop", "fill"))
    if not isinstance(target, str):
        raise TypeError(f"target: expected a column name (str), got {type(target).__name__} {target!r}")
    features = [target] if features is None else list(features)
    if not features or not all(isinstance(f, str) for f in features):
        raise TypeError(f"features: expected a non-empty list of column names, got {features!r}")

    frame = _read_frame(path, sep)
    header = [str(c) for c in frame.columns]
    for arg, names in (("target", [target]), ("features", features),
                       ("time", [] if time is None else [time])):
        missing = [n for n in names if n not in header]
        if missing:
            raise ValueError(f"{arg}: column(s) {missing} not in {os.fspath(path)!r}; "
                             f"expected one of {header}{_sep_hint(header, sep)}")
    if len(frame) == 0:
        raise ValueError(f"path: CSV file {os.fspath(path)!r} has a header but no data rows")

    used = list(dict.fromkeys([target] + features))            # unique, order kept
    cols = {n: _to_float(frame, n, path) for n in used}        # each (T,)
    table = np.stack([cols[n] for n in used], axis=1)          # (T, U)
    lines = np.arange(len(frame)) + 2                          # header is line 1
    bad = np.isnan(table).any(axis=1)
    if bad.any():
        if nan_policy == "raise":
            shown = lines[bad][:20].tolist()
            more = f" (and {int(bad.sum()) - 20} more)" if bad.sum() > 20 else ""
            raise ValueError(f"path: {os.fspath(path)!r} has blank/NaN values on line(s) "
                             f"{shown}{more}; pass nan_policy='drop' or 'fill'")
        if nan_policy == "drop":
            table, lines = table[~bad], lines[~bad]
            if len(table) == 0:
                raise ValueError(f"path: every data row of {os.fspath(path)!r} has a blank/NaN "
                                 f"value; nothing left after nan_policy='drop'")
        else:
            table = _fill(table, used, path)
    pos = {n: k for k, n in enumerate(used)}
    stamps = None
    if time is not None:
        stamps = np.asarray([str(c).strip() for c in frame[time].tolist()], dtype=object)
        stamps = stamps[lines - 2]                              # the kept rows
    return CsvSeries(values=table[:, [pos[f] for f in features]], columns=features,
                     target=table[:, pos[target]], target_name=target, lines=lines,
                     time=stamps, time_name=time)


def _fill(table: np.ndarray, names, path) -> np.ndarray:
    """Forward-fill each column (T, U); back-fill its leading NaNs."""
    out = table.copy()
    for j in range(out.shape[1]):
        col = out[:, j]
        ok = ~np.isnan(col)
        if not ok.any():
            raise ValueError(f"column {names[j]!r} of {os.fspath(path)!r}: expected at least one "
                             f"number to fill from, got none")
        # index of the last valid entry at or before each step (first valid for the head)
        last = np.maximum.accumulate(np.where(ok, np.arange(len(col)), -1))
        last[last < 0] = np.flatnonzero(ok)[0]
        out[:, j] = col[last]
    return out


def parse_time(labels) -> Optional[np.ndarray]:
    """Time labels (T,) as float64 numbers, else as datetime64 (pandas), else None."""
    try:
        return np.asarray(labels, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    import warnings

    import pandas as pd

    try:
        with warnings.catch_warnings():   # "could not infer format": we only ask whether it parses
            warnings.simplefilter("ignore", UserWarning)
            return pd.to_datetime(pd.Series(list(labels)), errors="raise").to_numpy()
    except (ValueError, TypeError, OverflowError):
        return None
