"""Argument checks for the public boundary, in one place.

Each check raises a TypeError for a value of the wrong type and a ValueError
for a value out of range, and its message names the argument, what was
expected and what was received (STYLE.md habit 5). Three message styles
follow the conventions of the API a user is calling:

- ``"torch"`` (rnnkit.cells, rnnkit.nn, kernels, models):
  "`hidden_size` must be a positive integer, got 0";
- ``"keras"`` (rnnkit.layers, as Keras 3 words it):
  "Received an invalid value for argument `units`, expected a positive integer, got 0";
- ``"plain"`` (rnnkit.data, rnnkit.tools): "units: expected a positive integer, got 0".
"""
from __future__ import annotations

import numbers
from typing import Iterable

__all__ = ["choice", "float_tensor", "integer", "positive_int", "probability", "rate"]

STYLES = ("torch", "keras", "plain")


def _type_error(arg: str, noun: str, value, style: str) -> TypeError:
    t = type(value).__name__
    if style == "keras":
        return TypeError(f"Received an invalid value for argument `{arg}`, expected {noun}, "
                         f"got {value!r} ({t})")
    if style == "plain":
        return TypeError(f"{arg}: expected {noun}, got {t} {value!r}")
    return TypeError(f"`{arg}` must be {noun}, got {t} {value!r}")


def _value_error(arg: str, noun: str, cond: str, value, style: str) -> ValueError:
    """``noun`` says what was expected ("a float in [0, 1)"); ``cond`` is the torch
    style's shorter wording after "must be" ("in [0, 1)")."""
    if style == "keras":
        return ValueError(f"Received an invalid value for argument `{arg}`, expected {noun}, "
                          f"got {value}")
    if style == "plain":
        return ValueError(f"{arg}: expected {noun}, got {value!r}")
    return ValueError(f"`{arg}` must be {cond}, got {value}")


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"`style` must be one of {list(STYLES)}, got {style!r}")


def integer(value, arg: str, *, minimum: int | None = None, style: str = "torch") -> int:
    """An integer (Python or numpy, not bool), at least ``minimum``; returned as an int."""
    _check_style(style)
    noun = "an int"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _type_error(arg, noun, value, style)
    if minimum is not None and value < minimum:
        raise _value_error(arg, f"an int >= {minimum}", f">= {minimum}", value, style)
    return int(value)


def positive_int(value, arg: str, *, style: str = "torch") -> int:
    """A positive integer (units, sizes, layers, steps); returned as an int."""
    _check_style(style)
    noun = "a positive integer"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _type_error(arg, noun, value, style)
    if value <= 0:
        raise _value_error(arg, noun, noun, value, style)
    return int(value)


def rate(value, arg: str, *, style: str = "torch") -> float:
    """A rate in [0, 1): dropout, zoneout, DropConnect (1 would drop everything)."""
    _check_style(style)
    noun = "a float in [0, 1)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _type_error(arg, noun, value, style)
    if not 0.0 <= float(value) < 1.0:
        raise _value_error(arg, noun, "in [0, 1)", value, style)
    return float(value)


def probability(value, arg: str, *, style: str = "torch") -> float:
    """A probability in [0, 1] (e.g. teacher forcing, where 1 is meaningful)."""
    _check_style(style)
    noun = "a float in [0, 1]"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _type_error(arg, noun, value, style)
    if not 0.0 <= float(value) <= 1.0:
        raise _value_error(arg, noun, "in [0, 1]", value, style)
    return float(value)


def choice(value, arg: str, choices: Iterable, *, style: str = "torch"):
    """One of ``choices``; returned unchanged."""
    _check_style(style)
    options = list(choices)
    if value not in options:
        if style == "plain":
            raise ValueError(f"{arg}: expected one of {options}, got {value!r}")
        raise _value_error(arg, f"one of {options}", f"one of {options}", repr(value), style)
    return value


def float_tensor(x, arg: str = "input"):
    """A torch.Tensor of a floating dtype; returned unchanged."""
    import torch  # here, so that importing the checks costs nothing for torch-free callers

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{arg}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{arg}` must have a floating dtype (float32/float64/...), got {x.dtype}")
    return x
