"""Keras arguments that rnnkit accepts only at their default value.

A Keras config carries every argument of a layer, including ones rnnkit does
not implement (BatchNormalization's ``renorm``, MultiHeadAttention's
``use_gate``...). Such an argument at its Keras default changes nothing, so it
is accepted and dropped; any other value is refused with an error that names
the layer, the argument and the value, rather than silently ignored.
"""
from __future__ import annotations

from typing import Any


def pop_defaults(layer_cls: str, kwargs: dict, defaults: dict[str, Any]) -> None:
    """Remove ``defaults``' keys from ``kwargs``; raise if one holds another value."""
    for key, default in defaults.items():
        if key not in kwargs:
            continue
        value = kwargs.pop(key)
        same = value == default or (isinstance(default, tuple) and isinstance(value, list)
                                    and tuple(value) == default)
        if not same:
            raise ValueError(f"{layer_cls}: argument `{key}`={value!r} isn't supported by rnnkit "
                             f"(only the Keras default {default!r} is)")


def check_data_format(value, layer_cls: str) -> str:
    """Keras's ``data_format``: None means channels_last (Keras's default image_data_format)."""
    value = "channels_last" if value is None else value
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer_cls}: `data_format` must be 'channels_last' or "
                         f"'channels_first', got {value!r}")
    return value


def one_int(value, arg: str, layer_cls: str, minimum: int = 1) -> int:
    """Keras 1-D layers take an int or a 1-tuple (their configs store tuples)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"{layer_cls}: `{arg}` must be an int or a tuple of one int, "
                             f"got {value!r}")
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{layer_cls}: `{arg}` must be an int or a tuple of one int, got "
                        f"{value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{layer_cls}: `{arg}` must be >= {minimum}, got {value}")
    return int(value)
