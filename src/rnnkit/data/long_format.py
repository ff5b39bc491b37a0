"""Read a long-format CSV of labelled sequences: one row per time step, an id column
saying which sequence the row belongs to, an optional time column that orders the
steps, numeric feature columns and a label column that is constant per id.

    id,time,x,y,label
    a,1,0.1,2.0,up
    a,2,0.3,1.5,up
    b,1,0.2,0.1,down
    ...

Every problem a user can fix is a ValueError naming the argument and, where there
is one, the file line (the header is line 1): a missing column, a non-numeric
feature value, a time column that is neither numbers nor dates, two rows of one id
at the same time, blank/NaN values (``nan_policy``), an id of a single step (no
sequence to learn from) and a label that changes within an id.

pandas (extra ``rnnkit[data]``) reads the file; it is imported only when called.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from rnnkit.data._checks import check_choice
from rnnkit.data.csv_loader import _read_frame, _to_float

__all__ = ["LongSequences", "read_long_csv", "NAN_POLICIES"]

NAN_POLICIES = ("raise", "drop", "fill")
_SHOWN = 5   # how many offending ids / lines an error message lists


@dataclass(frozen=True)
class LongSequences:
    """``sequences[i]`` (L_i, F) float64 holds id ``ids[i]``'s steps in time order,
    features in ``features`` order; ``labels[i]`` its label as text (None when the
    file has no label column and none was required); ``lines[i]`` the file line of
    its first row, for messages."""

    sequences: List[np.ndarray]
    ids: List[str]
    labels: Optional[List[str]]
    features: List[str]
    lines: List[int]


def _fail(arg: str, path, what: str) -> ValueError:
    return ValueError(f"{arg}: {what} in {os.fspath(path)!r}")


def _text_column(frame, name: str, arg: str, path) -> np.ndarray:
    """Column as stripped str; blank cells are an error (an id or label must be known)."""
    cells = np.array(["" if c is None else str(c).strip() for c in frame[name].tolist()],
                     dtype=object)
    blank = np.flatnonzero(cells == "")
    if len(blank):
        raise _fail(arg, path, f"column {name!r} has blank cells on line(s) "
                               f"{(blank[:_SHOWN] + 2).tolist()}; every row needs one")
    return cells


def _numeric_columns(frame, exclude: Sequence[str], path) -> List[str]:
    """The columns (not in ``exclude``) whose every non-blank cell is a number."""
    out = []
    for name in frame.columns:
        if name in exclude:
            continue
        try:
            col = _to_float(frame, name, path)
        except ValueError:
            continue
        if not np.isnan(col).all():
            out.append(name)
    return out


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        return np.nan
    return v if np.isfinite(v) else np.nan


def _time_keys(frame, name: str, path) -> np.ndarray:
    """A sortable key per row: the numbers themselves, or datetimes as int64 ns.

    Anything else (text, a mix of numbers and words, blanks) is a ValueError naming
    the first offending line, because an order we guessed would be an order we made up.
    """
    import pandas as pd

    cells = [("" if c is None else str(c).strip()) for c in frame[name].tolist()]
    for i, c in enumerate(cells):
        if c == "":
            raise _fail("time", path, f"column {name!r} is blank on line {i + 2}; every step "
                                      f"needs a time to be ordered by")
    numbers = np.array([_number(c) for c in cells])                             # NaN: not one
    if not np.isnan(numbers).any():
        return numbers
    try:
        # format="mixed": ISO dates, "2024-01-05 10:00", "5 Jan 2024" ... each cell on its own
        parsed = pd.to_datetime(pd.Series(cells), format="mixed", errors="coerce", utc=True)
    except (ValueError, TypeError) as e:
        raise _fail("time", path, f"column {name!r} is not sortable: expected numbers or "
                                  f"dates, got values pandas cannot compare ({e})") from None
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        # name a cell that breaks the form most cells have: a word among numbers, or
        # a number among dates
        not_number = np.flatnonzero(np.isnan(numbers))
        i = int(not_number[0] if len(not_number) < len(bad) else bad[0])
        raise _fail("time", path, f"column {name!r} is not sortable: expected numbers or dates "
                                  f"in every row, got {cells[i]!r} on line {i + 2}")
    return parsed.astype("int64").to_numpy().astype(np.float64)


def _fill_within(block: np.ndarray) -> np.ndarray:
    """Forward-fill each column of one id's (L, F) block; leading gaps take the first
    valid value. Columns with no value at all stay NaN (the caller reports them)."""
    out = block.copy()
    for j in range(out.shape[1]):
        ok = ~np.isnan(out[:, j])
        if ok.any():
            last = np.maximum.accumulate(np.where(ok, np.arange(len(ok)), -1))
            last[last < 0] = np.flatnonzero(ok)[0]
            out[:, j] = out[last, j]
    return out


def read_long_csv(path, id: str, label: Optional[str] = None, time: Optional[str] = None,
                  features: Optional[Sequence[str]] = None, nan_policy: str = "raise",
                  require_label: bool = True) -> LongSequences:
    """Group the rows of a long-format CSV into one sequence per id.

    Parameters
    ----------
    path : a UTF-8 CSV file with a header row.
    id : the column naming each row's sequence. Sequences keep the order in which
        their ids first appear.
    label : the class column, constant within an id. With ``require_label=False`` a
        file without it is accepted (``labels`` is then None), as for prediction.
    time : optional column ordering the steps of an id (numbers or dates); without
        it the rows keep their file order.
    features : the numeric input columns (default: every other column that holds
        only numbers).
    nan_policy : rows with a blank/NaN feature: ``'raise'`` (list their lines),
        ``'drop'`` them, or ``'fill'`` each gap with the id's previous value (its first
        valid value for a leading gap).

    Returns
    -------
    LongSequences: sequences (each (L_i, F)), ids, labels, features, lines.
    """
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    for arg, v in (("id", id), ("label", label), ("time", time)):
        if v is not None and not isinstance(v, str):
            raise TypeError(f"{arg}: expected a column name (str), got {type(v).__name__} {v!r}")
    frame = _read_frame(path)
    header = [str(c) for c in frame.columns]
    frame.columns = header
    named = {"id": id, "time": time}
    if label is not None and (require_label or label in header):
        named["label"] = label
    for arg, name in named.items():
        if name is not None and name not in header:
            raise ValueError(f"{arg}: column {name!r} not in {os.fspath(path)!r}; expected one "
                             f"of {header}")
    roles = [n for n in (id, time, label) if n is not None]
    if features is None:
        features = _numeric_columns(frame, roles, path)
        if not features:
            raise _fail("features", path, f"no numeric column besides {roles}; expected at "
                                          f"least one feature column")
    features = list(features)
    missing = [f for f in features if f not in header]
    if missing:
        raise ValueError(f"features: column(s) {missing} not in {os.fspath(path)!r}; "
                         f"expected some of {header}")
    clash = [f for f in features if f in roles]
    if clash:
        raise ValueError(f"features: {clash} is also the id/time/label column; expected "
                         f"feature columns distinct from {roles}")
    if len(frame) == 0:
        raise _fail("path", path, "a header but no data rows")

    ids = _text_column(frame, id, "id", path)                                     # (R,)
    labels = _text_column(frame, label, "label", path) if "label" in named else None
    values = np.stack([_to_float(frame, f, path) for f in features], axis=1)      # (R, F)
    lines = np.arange(len(frame)) + 2
    keys = _time_keys(frame, time, path) if time is not None else None

    bad = np.isnan(values).any(axis=1)
    if bad.any() and nan_policy == "raise":
        raise _fail("nan_policy", path, f"blank/NaN feature values on line(s) "
                                        f"{lines[bad][:_SHOWN * 4].tolist()}; drop or fill them "
                                        f"(--nan drop / --nan fill)")
    if bad.any() and nan_policy == "drop":
        keep = ~bad
        ids, values, lines = ids[keep], values[keep], lines[keep]
        labels = labels[keep] if labels is not None else None
        keys = keys[keep] if keys is not None else None

    # group: order of first appearance; rows of one id in file order (stable)
    uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    order_ids = np.argsort(first, kind="stable")
    rank = np.empty_like(order_ids)
    rank[order_ids] = np.arange(len(order_ids))
    group = rank[inverse]                                                          # (R,)
    sort_by = (group, keys) if keys is not None else (group,)
    rows = np.lexsort(tuple(reversed(sort_by)))        # lexsort: the last key is primary
    bounds = np.flatnonzero(np.diff(group[rows])) + 1
    blocks = np.split(rows, bounds)

    seqs, out_ids, out_labels, out_lines, short = [], [], [], [], []
    for blk in blocks:
        name = str(ids[blk[0]])
        if keys is not None:
            dup = np.flatnonzero(np.diff(keys[blk]) == 0)
            if len(dup):
                a, b = sorted(lines[blk[dup[0]:dup[0] + 2]].tolist())
                raise _fail("time", path, f"id {name!r} has two rows at the same time "
                                          f"(lines {a} and {b}); the order of its steps is "
                                          f"ambiguous")
        if labels is not None:
            kinds = list(dict.fromkeys(labels[blk].tolist()))
            if len(kinds) > 1:
                other = blk[np.flatnonzero(labels[blk] != kinds[0])[0]]
                raise _fail("label", path,
                            f"column {label!r} must be constant within an id, but id {name!r} "
                            f"has {kinds[0]!r} on line {lines[blk[0]]} and "
                            f"{labels[other]!r} on line {lines[other]}")
            out_labels.append(kinds[0])
        block = values[blk]                                                        # (L, F)
        if nan_policy == "fill":
            block = _fill_within(block)
            empty = [features[j] for j in np.flatnonzero(np.isnan(block).all(axis=0))]
            if empty:
                raise _fail("nan_policy", path, f"id {name!r} has no value at all in "
                                                f"{empty}; nothing to fill from")
        if len(block) < 2:
            short.append(f"{name!r} (line {lines[blk[0]]})")
        seqs.append(block)
        out_ids.append(name)
        out_lines.append(int(lines[blk].min()))
    if short:
        more = f" and {len(short) - _SHOWN} more" if len(short) > _SHOWN else ""
        raise _fail("id", path, f"{len(short)} id(s) have a single step: "
                                f"{', '.join(short[:_SHOWN])}{more}; a sequence needs at least "
                                f"2 steps (is --id the right column?)")
    return LongSequences(seqs, out_ids, out_labels if labels is not None else None,
                         features, out_lines)
