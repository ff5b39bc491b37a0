"""The Keras-style Layer contract that every layer in rnnkit.layers follows and
that rnnkit.models.Sequential relies on.

- A Layer is a ``torch.nn.Module`` working on batch-first tensors (B, ...).
- It may be built lazily: ``build(input_shape)`` creates the parameters from
  the input shape *without* the batch axis, e.g. (T, I). Calling the layer on
  a tensor builds it first if needed. ``input_shape=`` in the constructor
  records the shape up front (Keras's first-layer idiom); ``build`` is then
  called by the model or on first use.
- ``forward(x, mask=None)``: mask is a (B, T) bool tensor, True = valid step,
  as Keras's. ``compute_mask(x, mask)`` returns the mask for the next layer
  (default: None, i.e. the layer consumes it; layers that keep the time axis
  pass it on).
- ``compute_output_shape(input_shape)`` works on shapes without the batch axis.
- ``get_weights()``/``set_weights()`` use Keras 3's numpy layouts and order.
- ``get_config()`` returns JSON-able constructor arguments; layers are
  registered by class name with :func:`register_layer` so that
  ``layer_from_config({"class_name": ..., "config": ...})`` rebuilds them
  (used by safe model loading: no pickle, ever).
"""
from __future__ import annotations

import difflib
import re
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.util import checks

_LAYERS: dict[str, type] = {}

# Keras arguments that rnnkit doesn't implement. Keras configs carry them as None,
# so None is accepted (and dropped); anything else is refused rather than ignored.
_KERAS_ONLY = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
               "activity_regularizer", "kernel_constraint", "recurrent_constraint",
               "bias_constraint", "embeddings_regularizer", "embeddings_constraint")


def register_layer(cls: type) -> type:
    _LAYERS[cls.__name__] = cls
    return cls


def layer_from_config(spec: dict) -> "Layer":
    name = spec.get("class_name")
    if name not in _LAYERS:
        close = difflib.get_close_matches(str(name), _LAYERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown layer class {name!r}{hint}")
    return _LAYERS[name].from_config(spec["config"])


def check_rate(value, arg: str) -> float:
    """A probability in [0, 1): dropout rates, zoneout (Keras's wording)."""
    return checks.rate(value, arg, style="keras")


def snake_case(class_name: str) -> str:
    """Keras's default layer names: SimpleRNN -> simple_rnn, TimeDistributed -> time_distributed."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", class_name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def check_units(units, arg: str = "units") -> int:
    """A positive integer (Keras's wording)."""
    return checks.positive_int(units, arg, style="keras")


class Layer(nn.Module):
    """Base class: lazy build, masks, Keras weights and configs."""

    def __init__(self, *, name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        super().__init__()
        for key in _KERAS_ONLY:
            if kwargs.get(key, None) is not None:
                raise ValueError(f"`{key}` isn't supported by rnnkit layers, got {kwargs[key]!r}; "
                                 "use the optimizer's weight_decay for L2 regularisation")
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s) {sorted(kwargs)}")
        self.name = name or snake_case(type(self).__name__)
        self.input_shape_arg = tuple(input_shape) if input_shape is not None else None
        self.trainable = trainable
        self.built = False

    # --- building -------------------------------------------------------------------
    def build(self, input_shape: tuple) -> None:
        """Create parameters for inputs of shape ``input_shape`` (no batch axis)."""
        self.built = True

    def maybe_build(self, input_shape: tuple) -> None:
        if not self.built:
            # None stays None: input_shape=(None, 1) is Keras's variable-length series.
            self.build(tuple(None if s is None else int(s) for s in input_shape))
            if not self.trainable:
                for p in self.parameters():
                    p.requires_grad_(False)

    def __call__(self, x, *args, **kwargs):
        if isinstance(x, np.ndarray):
            x = torch.as_tensor(x)  # Keras layers take numpy arrays too
        if isinstance(x, Tensor) and not self.built:
            self.maybe_build(tuple(x.shape[1:]))
            # A lazily built layer lives where its first input lives.
            if x.device != torch.device("cpu"):
                self.to(x.device)
        return super().__call__(x, *args, **kwargs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def compute_mask(self, x: Tensor, mask: Optional[Tensor]) -> Optional[Tensor]:
        return None

    # --- Keras weights ------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        return [p.detach().cpu().numpy().copy() for p in self.parameters()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        if len(weights):
            self._check_built_for("set_weights")
        params = list(self.parameters())
        if len(weights) != len(params):
            raise ValueError(f"`weights` for layer {self.name!r} must hold {len(params)} arrays, "
                             f"got {len(weights)}")
        with torch.no_grad():
            for p, w in zip(params, weights):
                w = np.asarray(w)
                if tuple(w.shape) != tuple(p.shape):
                    raise ValueError(f"`weights` for layer {self.name!r}: expected shape "
                                     f"{tuple(p.shape)}, got {tuple(w.shape)}")
                p.copy_(torch.as_tensor(w, dtype=p.dtype))

    def count_params(self) -> int:
        if not self.built:
            # As Keras: an unbuilt layer has no weights yet, and 0 would be a wrong count.
            raise ValueError(f"layer {self.name!r} isn't built yet, so it has no weights to count; "
                             "call it on an input, or build(input_shape) first")
        return sum(p.numel() for p in self.parameters())

    def _check_built_for(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"layer {self.name!r} isn't built yet, so `{what}` has no weights to "
                             "fill; call it on an input, or build(input_shape) first")

    # --- configs -----------------------------------------------------------------------
    def get_config(self) -> dict:
        cfg = {"name": self.name, "trainable": self.trainable}
        if self.input_shape_arg is not None:
            cfg["input_shape"] = list(self.input_shape_arg)
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)
