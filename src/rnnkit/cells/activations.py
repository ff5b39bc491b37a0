"""Activation functions by name, as Keras and torch users spell them."""
from __future__ import annotations

import difflib
from functools import partial
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F

Activation = Union[str, Callable[[torch.Tensor], torch.Tensor], None]


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 3's hard_sigmoid: relu6(x + 3) / 6."""
    return F.relu6(x + 3.0) / 6.0


def linear(x: torch.Tensor) -> torch.Tensor:
    return x


_NAMED: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "linear": linear,
    "hard_sigmoid": hard_sigmoid,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "silu": F.silu,
    "swish": F.silu,
    "softsign": F.softsign,
    "softplus": F.softplus,
    "relu6": F.relu6,
    "leaky_relu": F.leaky_relu,
    "mish": F.mish,
    "hardtanh": F.hardtanh,
    "exponential": torch.exp,
    # Keras applies these over the last axis.
    "softmax": partial(torch.softmax, dim=-1),
    "log_softmax": partial(torch.log_softmax, dim=-1),
}


def _elementwise(name: str) -> Optional[Callable]:
    """A torch.nn.functional function, or a torch function that is also a
    non-in-place tensor method, that maps a tensor to a float tensor of the same
    shape; else None.

    Names come from saved model configs too, so nothing outside those two sets
    qualifies (never e.g. ``torch.load`` or ``torch.manual_seed``), and nothing that
    draws random numbers (``dropout``): an activation is deterministic.
    """
    if name.startswith("_") or name.endswith("_"):
        return None
    candidates = [getattr(F, name, None)]
    if hasattr(torch.Tensor, name):
        candidates.append(getattr(torch, name, None))
    probe = torch.linspace(-1.0, 1.0, 6).reshape(2, 3)
    for fn in candidates:
        if not callable(fn):
            continue
        # A function that draws random numbers (dropout, rrelu in training, ...) would make
        # predict random: it advances torch's global generator, which fork_rng then restores.
        with torch.random.fork_rng(devices=[]):
            before = torch.get_rng_state()
            try:
                out = fn(probe)
            except Exception:  # noqa: BLE001 - anything that can't take one tensor is not an activation
                continue
            draws = not torch.equal(before, torch.get_rng_state())
        if not draws and isinstance(out, torch.Tensor) and out.shape == probe.shape and \
                out.is_floating_point():
            return fn
    return None


def activation_names() -> list[str]:
    return sorted(_NAMED)


def resolve_activation(act: Activation, arg: str = "activation") -> tuple[str, Callable]:
    """Return ``(name, fn)`` for a name, a callable, or None (= linear).

    Names are Keras's (``"tanh"``, ``"hard_sigmoid"``, ...) or any elementwise
    function that ``torch`` or ``torch.nn.functional`` has. A callable is taken
    as is and named by its ``__name__``.
    """
    if act is None:
        return "linear", linear
    if callable(act) and not isinstance(act, str):
        return getattr(act, "__name__", type(act).__name__), act
    if not isinstance(act, str):
        raise TypeError(f"`{arg}` must be a name or a callable, got {type(act).__name__}")
    name = act.lower()
    if name in _NAMED:
        return name, _NAMED[name]
    fn = _elementwise(name)
    if fn is not None:
        return name, fn
    close = difflib.get_close_matches(name, _NAMED, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"`{arg}` has unknown activation {act!r}{hint}; expected one of {activation_names()} "
        "or a function name from torch / torch.nn.functional."
    )
