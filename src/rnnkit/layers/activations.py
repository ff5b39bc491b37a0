"""Activations for layers: rnnkit.cells' names plus Keras's softmax family,
and Keras's Activation layer."""
from __future__ import annotations

import difflib
from typing import Any, Callable, Optional

import torch
from torch import Tensor

from rnnkit.cells.activations import activation_names, resolve_activation
from rnnkit.layers.base import Layer, register_layer


def softmax(x: Tensor) -> Tensor:
    """Keras's softmax: over the last axis."""
    return torch.softmax(x, dim=-1)


def log_softmax(x: Tensor) -> Tensor:
    return torch.log_softmax(x, dim=-1)


# torch.softmax needs a `dim`, so these can't come from resolve_activation's torch lookup.
_AXIS = {"softmax": softmax, "log_softmax": log_softmax}


def get_activation(act, arg: str = "activation") -> tuple[str, Callable[[Tensor], Tensor]]:
    """(name, fn) for a name, a callable or None (linear), with Keras's names."""
    if isinstance(act, str) and act.lower() in _AXIS:
        return act.lower(), _AXIS[act.lower()]
    try:
        return resolve_activation(act, arg)
    except ValueError:
        names = sorted(set(activation_names()) | set(_AXIS))
        close = difflib.get_close_matches(str(act).lower(), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"`{arg}` has unknown activation {act!r}{hint} Expected one of {names} "
                         "or a function name from torch / torch.nn.functional.") from None


@register_layer
class Activation(Layer):
    """Apply an activation elementwise (softmax: over the last axis). Masks pass through.

    Args:
        activation: a name (``"relu"``, ``"softmax"``, ...) or a callable.

    Example::

        >>> Activation("softmax")(torch.zeros(1, 4))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """

    def __init__(self, activation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation, self._act = get_activation(activation, "activation")

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        return self._act(x)

    def compute_mask(self, x, mask: Optional[Tensor]) -> Optional[Tensor]:
        return mask

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["activation"] = self.activation
        return cfg
